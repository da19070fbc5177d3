/**
 * The demo's re-encryption proxy (examples/demo/src/proxy.ts) against a real devnet and a real embedded
 * store: an honest request is answered, and every request it must refuse is refused — a replayed (stale)
 * request, a request signed by someone who is not the grantee, a request altered after signing, a grant
 * that has expired, and a kfrag copied from another grant's bundle.
 */
import { computeGrantId, createDevnet, type Devnet, type DevnetWalletClient } from '@medvault/chain'
import {
  deriveDelegatingKey,
  deriveKeysFromPrivateKey,
  eciesEncrypt,
  getPublicKey,
  publicKeys,
} from '@medvault/crypto'
import {
  type Capsule,
  CapsuleFrag,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  SecretKey,
  Signer,
} from '@medvault/crypto/umbral'
import { createStorage, type Storage } from '@medvault/storage'
import { bytesToHex, type Hex, hexToBytes } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { accessRequestMessage, type KfragBundle, kfragAad } from '../../examples/demo/src/formats.ts'
import { type AccessRequest, DemoProxy, MAX_REQUEST_AGE_SECONDS } from '../../examples/demo/src/proxy.ts'

let devnet: Devnet
let storage: Storage
let proxy: DemoProxy
let setId: number
let recordId: Hex
let capsule: Capsule
let wrappedKey: Uint8Array
const dek = crypto.getRandomValues(new Uint8Array(32))

const patient = () => devnet.walletClients[1] as DevnetWalletClient
const clinician = () => devnet.walletClients[2] as DevnetWalletClient
const stranger = () => devnet.walletClients[3] as DevnetWalletClient
const operator = () => devnet.walletClients[4] as DevnetWalletClient
const keysOf = (i: number) => deriveKeysFromPrivateKey(hexToBytes(devnet.anvil.accounts[i]!.privateKey))
const receivingKey = (i: number) => SecretKey.fromBEBytes(keysOf(i).receivingSecretKey)
/** The patient's (account 1) delegating key of the one record. */
const recordKey = () => SecretKey.fromBEBytes(deriveDelegatingKey(keysOf(1), { record: recordId }))
const chainNow = async () => Number((await devnet.publicClient.getBlock()).timestamp)

/** A 1-of-1 grant to the clinician; `kfrag` replaces the sealed kfrag of the bundle when given. */
async function grant(options: { expiresIn?: number; kfrag?: Uint8Array } = {}) {
  const salt = bytesToHex(crypto.getRandomValues(new Uint8Array(32)))
  const grantId = computeGrantId(patient().account.address, salt)
  const signer = new Signer(SecretKey.fromBEBytes(keysOf(1).signingSecretKey))
  const [kfrag] = generateKFrags(recordKey(), receivingKey(2).publicKey(), signer, 1, 1, true, true)
  const sealed = eciesEncrypt(getPublicKey(keysOf(4).eciesSecretKey), kfrag!.toBytes(), kfragAad(grantId, 0))
  const bundle: KfragBundle = {
    v: 1,
    verifyingKey: signer.verifyingKey().toCompressedBytes(),
    delegatingKey: recordKey().publicKey().toCompressedBytes(),
    kfrags: [options.kfrag ?? sealed],
  }
  const kfragsCid = await storage.putEnvelope(bundle)
  await patient().grantAccess({
    grantee: clinician().account.address,
    scope: { kind: 'record', recordId },
    purpose: 'TREAT',
    expiry: (await chainNow()) + (options.expiresIn ?? 3600),
    threshold: 1,
    proxySetId: setId,
    kfragsCid,
    salt,
  })
  return { grantId, sealed }
}

/** An access request for `grantId`, signed by `who` (the clinician unless given). */
async function request(
  grantId: Hex,
  options: { who?: DevnetWalletClient; issuedAt?: number } = {},
): Promise<AccessRequest> {
  const base = {
    grantId,
    recordId,
    purpose: 'TREAT' as const,
    issuedAt: options.issuedAt ?? Math.floor(Date.now() / 1000),
  }
  const signature = await (options.who ?? clinician()).account.signMessage({
    message: accessRequestMessage(base),
  })
  return { ...base, capsule: capsule.toBytes(), signature }
}

const refusal = (promise: Promise<unknown>) =>
  promise.then(
    () => 'accepted',
    (err: Error) => err.name,
  )

beforeAll(async () => {
  devnet = await createDevnet({ accounts: 5 })
  storage = await createStorage()
  for (const i of [1, 2]) {
    const { receiving, verifying } = publicKeys(keysOf(i))
    await devnet.walletClients[i]!.publishKeys({ receivingKey: receiving, verifyingKey: verifying })
  }
  await operator().registerProxy({
    publicKey: getPublicKey(keysOf(4).eciesSecretKey),
    endpoint: 'http://127.0.0.1/proxy-0',
  })
  ;({ setId } = await patient().createProxySet({ members: [operator().account.address] }))
  recordId = bytesToHex(crypto.getRandomValues(new Uint8Array(32)))
  ;[capsule, wrappedKey] = encrypt(recordKey().publicKey(), dek)
  const envelopeCid = await storage.putEnvelope({ v: 1, capsule: capsule.toBytes(), wrappedKey })
  await patient().registerRecord({ cid: envelopeCid, recordId })
  proxy = new DemoProxy(
    { client: devnet.publicClient, storage },
    { operator: operator().account.address, index: 0, secretKey: keysOf(4).eciesSecretKey },
  )
})
afterAll(async () => {
  await storage?.stop()
  await devnet?.stop()
})

describe('DemoProxy', () => {
  test('default: the grantee’s fresh request is answered with a cfrag that opens the data key', async () => {
    const { grantId } = await grant()
    const cfrag = CapsuleFrag.fromBytes(await proxy.reencrypt(await request(grantId))).verify(
      capsule,
      new Signer(SecretKey.fromBEBytes(keysOf(1).signingSecretKey)).verifyingKey(),
      recordKey().publicKey(),
      receivingKey(2).publicKey(),
    )
    expect(
      decryptReencrypted(receivingKey(2), recordKey().publicKey(), capsule, [cfrag], wrappedKey),
    ).toEqual(dek)
    expect(proxy.receipts.at(-1)).toMatchObject({ grantId, recordId, grantee: clinician().account.address })
  })

  test('error: a replayed request older than the allowed age, or one dated in the future, is refused', async () => {
    const { grantId } = await grant()
    const now = Math.floor(Date.now() / 1000)
    const answered = proxy.receipts.length
    for (const issuedAt of [now - MAX_REQUEST_AGE_SECONDS - 60, now + MAX_REQUEST_AGE_SECONDS + 60]) {
      await expect(proxy.reencrypt(await request(grantId, { issuedAt }))).rejects.toMatchObject({
        name: 'ProxyRefusedError',
        message: expect.stringContaining('too old'),
      })
    }
    // the same grant, asked afresh, is answered: the age alone made the difference
    await proxy.reencrypt(await request(grantId))
    expect(proxy.receipts.length).toBe(answered + 1)
  })

  test('error: a request signed by someone else, or altered after signing, is refused by the chain check', async () => {
    const { grantId } = await grant()
    const byStranger = await refusal(proxy.reencrypt(await request(grantId, { who: stranger() })))
    const signed = await request(grantId)
    const altered = await refusal(proxy.reencrypt({ ...signed, issuedAt: signed.issuedAt - 1 }))
    expect([byStranger, altered]).toEqual(['GranteeMismatchError', 'GranteeMismatchError'])
  })

  test('error: a kfrag copied from another grant’s bundle does not open for this grant', async () => {
    const original = await grant()
    await proxy.reencrypt(await request(original.grantId)) // it opens for its own grant
    const { grantId } = await grant({ kfrag: original.sealed })
    expect(await refusal(proxy.reencrypt(await request(grantId)))).toBe('DecryptionError')
  })

  test('error: a request under an expired grant is refused', async () => {
    const { grantId } = await grant({ expiresIn: 600 })
    await proxy.reencrypt(await request(grantId)) // answered while the grant holds
    await devnet.testClient.increaseTime({ seconds: 700 })
    await devnet.testClient.mine({ blocks: 1 })
    expect(await refusal(proxy.reencrypt(await request(grantId)))).toBe('GrantExpiredError')
  })
})
