// The README's example, step for step, with assertions in place of its console.log calls.
import { eciesDecrypt, eciesEncrypt, getPublicKey, seal } from '@medvault/crypto'
import {
  Capsule,
  CapsuleFrag,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  KeyFrag,
  PublicKey,
  reencrypt,
  SecretKey,
  Signer,
} from '@medvault/crypto/umbral'
import { CID } from 'multiformats/cid'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { expect, test } from 'vitest'
import {
  accessReceiptTypedData,
  accessRequestBody,
  accessRequestTypedData,
  accessResponseBody,
  capsuleHash,
  capsuleOf,
  checkFreshness,
  dagCborCid,
  decodeKfragBundle,
  decodeRecordEnvelope,
  encodeKfragBundle,
  encodeRecordEnvelope,
  hashAccessRequest,
  kfragAad,
  kfragFor,
  parseAccessRequestBody,
  parseAccessResponseBody,
  randomNonce,
  receiptHash,
  verifyAccessRequest,
  verifyReceipt,
  wrappedKeyOf,
} from './index.ts'

test('default: the README example', async () => {
  const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const
  const patient = privateKeyToAccount(generatePrivateKey())
  const doctor = privateKeyToAccount(generatePrivateKey())
  const operator = privateKeyToAccount(generatePrivateKey())
  const proxyEcies = crypto.getRandomValues(new Uint8Array(32))
  const recordKey = SecretKey.random() // the record's delegating key (derived from the patient's account)
  const allKey = SecretKey.random()
  const doctorKey = SecretKey.random()
  const signer = new Signer(SecretKey.random())

  // The patient writes a record envelope …
  const dek = crypto.getRandomValues(new Uint8Array(32))
  const [recordCapsule, recordWrapped] = encrypt(recordKey.publicKey(), dek)
  const [allCapsule, allWrapped] = encrypt(allKey.publicKey(), dek)
  const envelopeBytes = encodeRecordEnvelope({
    v: 1,
    content: CID.parse('bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e'),
    size: 11,
    segment: 65_536,
    epoch: 0,
    capsules: { record: recordCapsule.toBytesSimple(), all: allCapsule.toBytesSimple() },
    wrappedKeys: { record: recordWrapped, all: allWrapped },
    meta: seal(dek, new TextEncoder().encode('{"mediaType":"text/plain"}')),
  })
  expect(dagCborCid(envelopeBytes).toString()).toMatch(/^bafyrei/) // what registerRecord takes
  const recordId = `0x${'a1'.repeat(32)}` as const // as registered on chain

  // … and grants the doctor this record through one proxy.
  const grantId = `0x${'77'.repeat(32)}` as const
  const scope = { kind: 'record', recordId } as const
  const [kfrag] = generateKFrags(recordKey, doctorKey.publicKey(), signer, 1, 1, true, true)
  const bundleBytes = encodeKfragBundle({
    v: 1,
    grantId,
    grantor: patient.address,
    grantee: doctor.address,
    threshold: 1,
    proxies: [operator.address],
    verifyingKey: signer.verifyingKey().toCompressedBytes(),
    receivingKey: doctorKey.publicKey().toCompressedBytes(),
    entries: [
      {
        scope,
        delegatingKey: recordKey.publicKey().toCompressedBytes(),
        kfrags: [
          eciesEncrypt(
            getPublicKey(proxyEcies),
            kfrag!.toBytes(),
            kfragAad({ grantId, scope, index: 0, proxy: operator.address }),
          ),
        ],
      },
    ],
  })

  // The doctor signs an access request for the proxy.
  const envelope = decodeRecordEnvelope(envelopeBytes)
  const request = {
    proxy: operator.address,
    grantId,
    recordId,
    capsuleHash: capsuleHash(capsuleOf(envelope, 'record')),
    purpose: 1,
    issuedAt: Math.floor(Date.now() / 1000),
    nonce: randomNonce(),
  }
  const signature = await doctor.signTypedData(accessRequestTypedData(domain, request))
  const body = JSON.stringify(accessRequestBody(request, signature))

  // The proxy checks it (and, in a real node, the chain), re-encrypts, and signs a receipt.
  const parsed = parseAccessRequestBody(body)
  const requester = await verifyAccessRequest({ domain, proxy: operator.address, ...parsed })
  checkFreshness(parsed.request.issuedAt, Math.floor(Date.now() / 1000))
  const bundle = decodeKfragBundle(bundleBytes) // fetched by the grant's kfragsCid
  const slot = kfragFor(bundle, { recordId, proxy: operator.address })
  const verified = KeyFrag.fromBytes(eciesDecrypt(proxyEcies, slot.sealedKfrag, slot.aad)).verify(
    PublicKey.fromCompressedBytes(bundle.verifyingKey),
    PublicKey.fromCompressedBytes(slot.delegatingKey),
    PublicKey.fromCompressedBytes(bundle.receivingKey),
  )
  // The capsule comes from the registered envelope, never from the request; the request must name it.
  if (capsuleHash(capsuleOf(envelope, slot.level)) !== parsed.request.capsuleHash)
    throw new Error('stale envelope')
  const capsule = Capsule.fromBytesSimple(capsuleOf(envelope, slot.level))
  const receipt = {
    proxy: operator.address,
    grantId,
    recordId,
    requester,
    capsuleHash: request.capsuleHash,
    requestHash: hashAccessRequest(domain, parsed.request),
    at: Math.floor(Date.now() / 1000),
  }
  const response = JSON.stringify(
    accessResponseBody({
      cfrag: reencrypt(capsule, verified).toBytes(),
      receipt,
      signature: await operator.signTypedData(accessReceiptTypedData(domain, receipt)),
    }),
  )
  expect(receiptHash(domain, receipt)).toMatch(/^0x[0-9a-f]{64}$/) // into the proxy's next anchored tree

  // The doctor checks the receipt, verifies the cfrag and opens the data key.
  const answer = parseAccessResponseBody(response)
  await verifyReceipt({
    domain,
    receipt: answer.receipt,
    signature: answer.signature,
    proxy: operator.address,
  })
  const cfrag = CapsuleFrag.fromBytes(answer.cfrag).verify(
    capsule,
    signer.verifyingKey(),
    recordKey.publicKey(),
    doctorKey.publicKey(),
  )
  const opened = decryptReencrypted(
    doctorKey,
    recordKey.publicKey(),
    capsule,
    [cfrag],
    wrappedKeyOf(envelope, 'record'),
  )
  expect(opened).toEqual(dek)
  expect(requester).toBe(doctor.address)
})
