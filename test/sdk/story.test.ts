/**
 * The SDK's story, end to end on a local network: real anvil, real Helia, three real HTTP re-encryption
 * proxies on 127.0.0.1. A patient stores a FHIR Bundle, grants a clinician TREAT access 2-of-3, the clinician
 * reads it byte for byte — with a proxy down, with a proxy lying — a stranger is refused, the patient
 * revokes (refused), rotates (the revoked grantee's kfrags, even in colluding proxies' hands, open nothing
 * new), and the audit trail shows it all.
 */
import { readFile } from 'node:fs/promises'
import { deriveKeysFromPrivateKey, eciesDecrypt } from '@medvault/crypto'
import {
  Capsule,
  decryptReencrypted,
  KeyFrag,
  PublicKey,
  reencrypt,
  SecretKey,
} from '@medvault/crypto/umbral'
import {
  accessRequestBody,
  accessRequestTypedData,
  capsuleHash,
  capsuleOf,
  type KfragBundle,
  kfragAad,
  parseKfragBundle,
  parseRecordEnvelope,
  type RecordEnvelope,
  randomNonce,
  type ScopeLevel,
  wrappedKeyOf,
} from '@medvault/protocol'
import {
  createLocalNetwork,
  type Grant,
  GrantRevokedError,
  type LocalNetwork,
  NoGrantError,
  NotEnoughProxiesError,
  type RecordInfo,
  type Vault,
  type VaultProgressEvent,
} from '@medvault/sdk'
import type { CID } from '@medvault/storage'
import { type Hex, hexToBytes } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const bundleFile = new URL('../../examples/demo/data/patient-bundle.json', import.meta.url)

let net: LocalNetwork
let patient: Vault
let clinic: Vault
let stranger: Vault
let bundle: Uint8Array
let rec: RecordInfo
let grant: Grant

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 3 })
  ;[patient, clinic, stranger] = await Promise.all([net.vault(0), net.vault(1), net.vault(2)])
  bundle = new Uint8Array(await readFile(bundleFile))
})

afterAll(async () => {
  await net?.stop()
})

const envelopeOf = async (cid: CID): Promise<RecordEnvelope> =>
  parseRecordEnvelope(await net.storage.getEnvelope(cid))

describe('the story', () => {
  test('default: put a FHIR Bundle, grant TREAT 2-of-3, the clinician reads it byte for byte', async () => {
    rec = await patient.records.put(bundle, { mediaType: 'application/fhir+json', tag: 'summary' })
    grant = await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '30d',
      threshold: 2,
    })
    expect(grant).toMatchObject({
      grantor: patient.address,
      grantee: clinic.address,
      threshold: 2,
      purpose: 'TREAT',
      active: true,
    })
    const events: VaultProgressEvent[] = []
    const read = await clinic.records.get(rec.id, { onProgress: (e) => events.push(e) })
    expect(read).toEqual(bundle)
    // Exactly two proxies were needed and answered.
    expect(events.filter((e) => e.type === 'access:answer' && e.ok)).toHaveLength(2)
    expect(await clinic.records.info(rec.id)).toMatchObject({
      mediaType: 'application/fhir+json',
      tag: 'summary',
    })
  })

  test('behavior: a proxy down: the read still works (hedged to the third)', async () => {
    await net.proxies[0]!.stop()
    try {
      // Reads start at a random member: read until the stopped one was among those asked.
      let asked = false
      for (let i = 0; i < 30 && !asked; i++) {
        const events: VaultProgressEvent[] = []
        expect(await clinic.records.get(rec.id, { onProgress: (e) => events.push(e) })).toEqual(bundle)
        const answer = events.find((e) => e.type === 'access:answer' && e.proxy === net.proxies[0]!.address)
        if (answer !== undefined) {
          expect(answer).toMatchObject({ ok: false, code: 'unreachable' })
          asked = true
        }
      }
      expect(asked).toBe(true)
    } finally {
      await net.proxies[0]!.start()
    }
  })

  test('behavior: a proxy lying (its cfrags fail their proofs): detected, skipped, the read still works', async () => {
    net.proxies[1]!.lie()
    try {
      let asked = false
      for (let i = 0; i < 30 && !asked; i++) {
        const events: VaultProgressEvent[] = []
        expect(await clinic.records.get(rec.id, { onProgress: (e) => events.push(e) })).toEqual(bundle)
        // Whenever the liar was asked, its answer was refused by its proof, never used.
        const answer = events.find((e) => e.type === 'access:answer' && e.proxy === net.proxies[1]!.address)
        if (answer !== undefined) {
          expect(answer).toMatchObject({ ok: false, code: 'bad_cfrag' })
          asked = true
        }
      }
      expect(asked).toBe(true)
    } finally {
      net.proxies[1]!.lie(false)
    }
  })

  test('error: one down and one lying of 2-of-3: one honest proxy is not enough, and the error says why', async () => {
    await net.proxies[0]!.stop()
    net.proxies[1]!.lie()
    try {
      const err = await clinic.records.get(rec.id).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(NotEnoughProxiesError)
      const e = err as NotEnoughProxiesError
      expect(e).toMatchObject({ needed: 2, verified: 1 })
      expect(Object.fromEntries(e.failures.map((f) => [f.proxy, f.code]))).toEqual({
        [net.proxies[0]!.address]: 'unreachable',
        [net.proxies[1]!.address]: 'bad_cfrag',
      })
      expect(e.message).toContain('Retry later')
    } finally {
      net.proxies[1]!.lie(false)
      await net.proxies[0]!.start()
    }
  })

  test('error: a stranger is refused by the SDK (no grant) and by the proxies (not the grantee)', async () => {
    await expect(stranger.records.get(rec.id)).rejects.toBeInstanceOf(NoGrantError)
    // Even asking a proxy directly under the clinician's grant, signed by the stranger, is refused.
    const envelope = await envelopeOf(rec.cid)
    const account = privateKeyToAccount(net.accounts[2]!.privateKey)
    const request = {
      proxy: net.proxies[0]!.address,
      grantId: grant.id,
      recordId: rec.id,
      capsuleHash: capsuleHash(capsuleOf(envelope, 'record')),
      purpose: 1,
      issuedAt: Math.floor(Date.now() / 1000),
      nonce: randomNonce(),
    }
    const domain = { chainId: net.devnet.chain.id, verifyingContract: net.devnet.addresses.consentRegistry }
    const signature = await account.signTypedData(accessRequestTypedData(domain, request))
    const response = await fetch(`${net.proxies[0]!.url}/v1/reencrypt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(accessRequestBody(request, signature)),
    })
    expect(response.status).toBe(403)
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('not_grantee')
  })

  test('error: after revoke the clinician is refused with GrantRevokedError; rotate makes the old kfrags useless', async () => {
    await patient.grants.revoke(grant.id)
    const err = await clinic.records.get(rec.id).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GrantRevokedError)
    expect((err as GrantRevokedError).grantId).toBe(grant.id)
    expect(await patient.grants.list({ given: true, record: rec.id })).toMatchObject([
      { id: grant.id, revoked: true, active: false },
    ])

    const { record: rotated, reissued } = await patient.records.rotate(rec.id)
    expect(rotated.epoch).toBe(1)
    expect(reissued).toEqual([]) // the only grant was revoked: nothing to re-issue
    expect(await patient.records.get(rec.id)).toEqual(bundle)
    await expect(clinic.records.get(rec.id)).rejects.toBeInstanceOf(GrantRevokedError)

    // Collusion: the revoked grant's bundle, every proxy's kfrag opened with that proxy's own key (as proxies
    // that ignore the revocation could), re-encrypting the rotated version's capsules at every level.
    const kfragBundle = parseKfragBundle(await net.storage.getEnvelope(grant.bundleCid))
    const clinicKeys = deriveKeysFromPrivateKey(hexToBytes(net.accounts[1]!.privateKey))
    const openWith = (envelope: RecordEnvelope, level: ScopeLevel) =>
      colludingOpen(kfragBundle, envelope, level, clinicKeys.receivingSecretKey)
    // Control: on the version the grant was made for, the colluders do recover the data key (what the grantee
    // may already have read cannot be taken back; docs say so).
    const before = await envelopeOf(rec.cid)
    expect(openWith(before, 'record')).toHaveLength(32)
    // On the rotated version: nothing opens, at any level.
    const after = await envelopeOf(rotated.cid)
    for (const level of ['record', 'tag', 'all'] as const)
      expect(() => openWith(after, level), level).toThrow()
  })
})

/** What proxies colluding with a grantee could do with a bundle: open every kfrag and re-encrypt a capsule. */
function colludingOpen(
  bundle: KfragBundle,
  envelope: RecordEnvelope,
  level: ScopeLevel,
  receivingSecretKey: Uint8Array,
): Uint8Array {
  const entry = bundle.entries[0]!
  const capsule = Capsule.fromBytesSimple(capsuleOf(envelope, level))
  const verifying = PublicKey.fromCompressedBytes(bundle.verifyingKey)
  const delegating = PublicKey.fromCompressedBytes(entry.delegatingKey)
  const receiving = SecretKey.fromBEBytes(receivingSecretKey)
  const cfrags = bundle.proxies.map((proxy, index) => {
    const operatorKey = net.devnet.anvil.accounts.find(
      (a) => a.address.toLowerCase() === proxy.toLowerCase(),
    )!.privateKey as Hex
    const ecies = deriveKeysFromPrivateKey(hexToBytes(operatorKey)).eciesSecretKey
    const kfragBytes = eciesDecrypt(
      ecies,
      entry.kfrags[index]!,
      kfragAad({ grantId: bundle.grantId, scope: entry.scope, index, proxy }),
    )
    const kfrag = KeyFrag.fromBytes(kfragBytes).verify(verifying, delegating, receiving.publicKey())
    return reencrypt(capsule, kfrag)
  })
  return decryptReencrypted(receiving, delegating, capsule, cfrags, wrappedKeyOf(envelope, level))
}
