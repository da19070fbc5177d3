/**
 * The worker pool with real Umbral: a job re-encrypts in a worker thread and the cfrag verifies and opens the
 * data key; each way a kfrag can be wrong is reported as its failure kind, with no bytes.
 */
import { eciesEncrypt, getPublicKey } from '@medvault/crypto'
import {
  CapsuleFrag,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  SecretKey,
  Signer,
} from '@medvault/crypto/umbral'
import { afterAll, describe, expect, test } from 'vitest'
import { type ReencryptJob, VerifiedKfragCache } from './reencrypt.ts'
import { createWorkerPool } from './worker-pool.ts'

const delegating = SecretKey.random()
const receiving = SecretKey.random()
const signer = new Signer(SecretKey.random())
const proxySecret = SecretKey.random().toBEBytes()
const dek = crypto.getRandomValues(new Uint8Array(32))
const [capsule, wrapped] = encrypt(delegating.publicKey(), dek)
const [kfrag] = generateKFrags(delegating, receiving.publicKey(), signer, 1, 1, true, true)
const aad = new TextEncoder().encode('medvault/kfrag/v1/test')

const job = (overrides: Partial<ReencryptJob> = {}): ReencryptJob => ({
  sealedKfrag: eciesEncrypt(getPublicKey(proxySecret), kfrag!.toBytes(), aad),
  aad,
  capsule: capsule.toBytesSimple(),
  verifyingKey: signer.verifyingKey().toCompressedBytes(),
  delegatingKey: delegating.publicKey().toCompressedBytes(),
  receivingKey: receiving.publicKey().toCompressedBytes(),
  ...overrides,
})

const pool = createWorkerPool({ size: 2, eciesSecretKey: proxySecret })
afterAll(async () => {
  await pool.close()
})

describe('createWorkerPool', () => {
  test('default: a job re-encrypts in a worker; the cfrag verifies and opens the data key', async () => {
    const outcome = await pool.run(job())
    expect(outcome.ok).toBe(true)
    if (!outcome.ok) return
    const verified = CapsuleFrag.fromBytes(outcome.cfrag).verify(
      capsule,
      signer.verifyingKey(),
      delegating.publicKey(),
      receiving.publicKey(),
    )
    expect(decryptReencrypted(receiving, delegating.publicKey(), capsule, [verified], wrapped)).toEqual(dek)
  })

  test('behavior: many jobs at once, spread over the threads, all answered', async () => {
    const outcomes = await Promise.all(Array.from({ length: 8 }, () => pool.run(job())))
    expect(outcomes.every((o) => o.ok)).toBe(true)
  })

  test('error: a kfrag sealed with another AAD (another slot or grant) does not open', async () => {
    const other = eciesEncrypt(getPublicKey(proxySecret), kfrag!.toBytes(), new TextEncoder().encode('other'))
    expect(await pool.run(job({ sealedKfrag: other }))).toEqual({ ok: false, failure: 'kfrag_sealed' })
  })

  test('error: a kfrag made for another receiving key, delegating key or signer does not verify', async () => {
    const elsewhere = SecretKey.random().publicKey().toCompressedBytes()
    for (const key of ['receivingKey', 'delegatingKey', 'verifyingKey'] as const) {
      expect(await pool.run(job({ [key]: elsewhere }))).toEqual({ ok: false, failure: 'kfrag_unverified' })
    }
  })

  test('error: bytes that are no capsule are refused', async () => {
    expect(await pool.run(job({ capsule: new Uint8Array(98).fill(7) }))).toEqual({
      ok: false,
      failure: 'capsule_invalid',
    })
  })

  test('error: a closed pool refuses jobs (WorkerPoolClosedError)', async () => {
    const closed = createWorkerPool({ size: 1, eciesSecretKey: proxySecret })
    await closed.close()
    await expect(closed.run(job())).rejects.toMatchObject({ name: 'WorkerPoolClosedError' })
  })
})

describe('opened kfrag cache', () => {
  // One thread, so every job of a test meets the same cache.
  const single = createWorkerPool({ size: 1, eciesSecretKey: proxySecret })
  afterAll(async () => {
    await single.close()
  })
  const sealed = eciesEncrypt(getPublicKey(proxySecret), kfrag!.toBytes(), aad)
  const later = Math.floor(Date.now() / 1000) + 3600
  const cachedJob = (overrides: Partial<ReencryptJob> = {}) =>
    job({ sealedKfrag: sealed, grantId: '0xaa', cacheUntil: later, ...overrides })
  const opens = (outcome: Awaited<ReturnType<typeof single.run>>) => {
    if (!outcome.ok) return false
    const verified = CapsuleFrag.fromBytes(outcome.cfrag).verify(
      capsule,
      signer.verifyingKey(),
      delegating.publicKey(),
      receiving.publicKey(),
    )
    return equal(decryptReencrypted(receiving, delegating.publicKey(), capsule, [verified], wrapped), dek)
  }
  const equal = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])

  test('behavior: a kfrag is opened once and kept; the next jobs of the grant give fresh cfrags that verify', async () => {
    const first = await single.run(cachedJob())
    expect(await single.cachedKfrags()).toBe(1)
    const second = await single.run(cachedJob())
    expect(await single.cachedKfrags()).toBe(1)
    expect(opens(first)).toBe(true)
    expect(opens(second)).toBe(true)
    // Each re-encryption draws its own proof nonce: the cache keeps the kfrag, not an answer.
    expect(first.ok && second.ok && equal(first.cfrag, second.cfrag)).toBe(false)
  })

  test('error: attack — the kept kfrag is not applied for another key: the same sealed bytes with another receiving, delegating or verifying key, or another AAD, are refused as without a cache', async () => {
    expect((await single.run(cachedJob())).ok).toBe(true)
    const elsewhere = SecretKey.random().publicKey().toCompressedBytes()
    for (const key of ['receivingKey', 'delegatingKey', 'verifyingKey'] as const) {
      expect(await single.run(cachedJob({ [key]: elsewhere }))).toEqual({
        ok: false,
        failure: 'kfrag_unverified',
      })
    }
    const otherAad = new TextEncoder().encode('medvault/kfrag/v1/another-slot')
    expect(await single.run(cachedJob({ aad: otherAad }))).toEqual({ ok: false, failure: 'kfrag_sealed' })
    // Nothing that failed was kept.
    expect(await single.cachedKfrags()).toBe(1)
  })

  test('behavior: forget(grantId) drops that grant’s kfrags (any case of hex) and keeps the others', async () => {
    const other = eciesEncrypt(getPublicKey(proxySecret), kfrag!.toBytes(), aad)
    await single.run(cachedJob())
    await single.run(cachedJob({ sealedKfrag: other, grantId: '0xbb' }))
    expect(await single.cachedKfrags()).toBe(2)
    single.forget('0xAA')
    expect(await single.cachedKfrags()).toBe(1)
    single.forget('0xbb')
    expect(await single.cachedKfrags()).toBe(0)
    // Forgotten (its grant was revoked, for good): a late job still opens the kfrag, which is not kept again.
    expect(opens(await single.run(cachedJob()))).toBe(true)
    expect(await single.cachedKfrags()).toBe(0)
  })

  test('behavior: a kfrag of a grant already past its expiry is applied but not kept; size 0 keeps none', async () => {
    const past = Math.floor(Date.now() / 1000) - 1
    expect(opens(await single.run(cachedJob({ cacheUntil: past })))).toBe(true)
    expect(await single.cachedKfrags()).toBe(0)
    const uncached = createWorkerPool({ size: 1, eciesSecretKey: proxySecret, kfragCacheSize: 0 })
    try {
      expect(opens(await uncached.run(cachedJob()))).toBe(true)
      expect(await uncached.cachedKfrags()).toBe(0)
    } finally {
      await uncached.close()
    }
  })
})

describe('VerifiedKfragCache', () => {
  const verified = kfrag!
  test('behavior: least recently used out at capacity; an entry leaves at its expiry', () => {
    let now = 1_000_000
    const cache = new VerifiedKfragCache(2, () => now)
    cache.set('a', verified, '0x1', 0)
    cache.set('b', verified, '0x1', 0)
    expect(cache.get('a')).toBe(verified) // a is now the most recent
    cache.set('c', verified, '0x2', 0)
    expect([cache.get('a'), cache.get('b'), cache.get('c')]).toEqual([verified, undefined, verified])
    cache.set('d', verified, '0x3', now / 1000 + 10)
    expect(cache.get('d')).toBe(verified)
    now += 10_000
    expect(cache.get('d')).toBeUndefined()
    cache.forget('0x2')
    expect(cache.size).toBe(0)
  })

  test('attack: a request checked just before a revocation that reaches the thread after its forget does not cache the kfrag again', () => {
    const cache = new VerifiedKfragCache(8)
    cache.set('a', verified, '0xAB', 0)
    cache.forget('0xab')
    expect(cache.size).toBe(0)
    // The late job of the revoked grant opens its kfrag and would keep it until expiry.
    cache.set('a', verified, '0xab', 0)
    expect(cache.get('a')).toBeUndefined()
    expect(cache.size).toBe(0)
    // Other grants are cached as before.
    cache.set('b', verified, '0xcd', 0)
    expect(cache.get('b')).toBe(verified)
  })
})
