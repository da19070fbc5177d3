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
import type { ReencryptJob } from './reencrypt.ts'
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
