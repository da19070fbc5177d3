/**
 * The golden vectors in test/vectors, checked against independent code: DAG-CBOR bytes decoded with
 * @ipld/dag-cbor directly and compared field by field with the JSON, CIDs recomputed with OpenSSL's SHA-256
 * (node:crypto), EIP-712 digests computed by hand (keccak256 over encodeAbiParameters, not hashTypedData),
 * signatures recovered with @noble/curves; and the randomised inputs checked to be real (capsules open with
 * the fixed keys, kfrags open under their AAD and verify).
 */
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as dagCbor from '@ipld/dag-cbor'
import { eciesDecrypt, open } from '@medvault/crypto'
import { Capsule, decryptOriginal, KeyFrag, PublicKey, SecretKey } from '@medvault/crypto/umbral'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import {
  type Address,
  bytesToHex,
  concat,
  encodeAbiParameters,
  encodePacked,
  getAddress,
  type Hex,
  hexToBytes,
  keccak256,
  stringToBytes,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, test } from 'vitest'
import {
  accessReceiptTypedData,
  accessRequestTypedData,
  decodeKfragBundle,
  decodeRecordEnvelope,
  encodeKfragBundle,
  encodeRecordEnvelope,
  hashAccessRequest,
  kfragAad,
  parseAccessReceiptBody,
  parseAccessRequestBody,
  receiptHash,
  verifyAccessRequest,
  verifyReceipt,
} from './index.ts'

const dir = join(import.meta.dirname, '..', 'test', 'vectors')
const load = <T>(name: string): T => JSON.parse(readFileSync(join(dir, name), 'utf8')) as T

type EnvelopeJson = {
  v: number
  content: string
  size: number
  segment: number
  epoch: number
  capsules: Record<string, Hex>
  wrappedKeys: Record<string, Hex>
  meta: Hex
  prev?: string
}
type EnvelopeVectors = {
  keys: { dek: Hex[]; delegating: Record<string, Hex> }
  recordId: Hex
  metaAad: string
  metaPlaintext: string[]
  vectors: Array<{ name: string; dek: number; envelope: EnvelopeJson; cbor: Hex; cid: string }>
}
type BundleJson = {
  v: number
  grantId: Hex
  grantor: Address
  grantee: Address
  threshold: number
  proxies: Address[]
  verifyingKey: Hex
  receivingKey: Hex
  entries: Array<{
    scope: { kind: 'record'; recordId: Hex } | { kind: 'tag'; tag: Hex } | { kind: 'all' }
    delegatingKey: Hex
    kfrags: Hex[]
    aads: string[]
  }>
}
type BundleVectors = {
  keys: {
    delegating: Record<string, Hex>
    receiving: Hex
    signer: Hex
    accounts: Record<string, Hex>
    proxyEcies: Hex[]
  }
  salt: Hex
  vectors: Array<{ name: string; bundle: BundleJson; cbor: Hex; cid: string }>
}
type Domain = { name: string; version: string; chainId: number; verifyingContract: Address }
type RequestVector = {
  domain: Domain
  request: {
    proxy: Address
    grantId: Hex
    recordId: Hex
    capsuleHash: Hex
    purpose: number
    issuedAt: number
    nonce: Hex
  }
  signerPrivateKey: Hex
  signer: Address
  typeString: string
  digest: Hex
  otherDigests: { chainId1: Hex; otherConsentRegistry: Hex }
  signature: Hex
  body: string
}
type ReceiptVector = {
  domain: Domain
  receipt: {
    proxy: Address
    grantId: Hex
    recordId: Hex
    requester: Address
    capsuleHash: Hex
    requestHash: Hex
    at: number
  }
  signerPrivateKey: Hex
  signer: Address
  typeString: string
  receiptHash: Hex
  leaf: Hex
  signature: Hex
  body: string
}

/** CIDv1 dag-cbor sha2-256, with SHA-256 from OpenSSL rather than the package's @noble/hashes. */
const opensslCid = (bytes: Uint8Array): string =>
  CID.createV1(0x71, createDigest(0x12, createHash('sha256').update(bytes).digest())).toString()

describe('golden vectors', () => {
  describe('envelope.json', () => {
    const file = load<EnvelopeVectors>('envelope.json')

    test('default: there are vectors', () => {
      expect(file.vectors.length).toBeGreaterThanOrEqual(2)
    })

    test.each(file.vectors)('$name: raw DAG-CBOR decode matches the JSON field by field', (vector) => {
      const bytes = hexToBytes(vector.cbor)
      const raw = dagCbor.decode(bytes) as Record<string, unknown>
      const json = vector.envelope
      expect(Object.keys(raw).sort()).toEqual(Object.keys(json).sort())
      expect(raw.v).toBe(1)
      expect(String(CID.asCID(raw.content))).toBe(json.content)
      expect(raw.size).toBe(json.size)
      expect(raw.segment).toBe(json.segment)
      expect(raw.epoch).toBe(json.epoch)
      for (const field of ['capsules', 'wrappedKeys'] as const) {
        const map = raw[field] as Record<string, Uint8Array>
        expect(Object.keys(map).sort()).toEqual(Object.keys(json[field]).sort())
        for (const [level, value] of Object.entries(map)) expect(bytesToHex(value)).toBe(json[field][level])
      }
      expect(bytesToHex(raw.meta as Uint8Array)).toBe(json.meta)
      if (json.prev !== undefined) expect(String(CID.asCID(raw.prev))).toBe(json.prev)
      // Keys in DAG-CBOR order: shorter first, then bytewise.
      const keys = Object.keys(raw)
      expect(keys).toEqual([...keys].sort((a, b) => a.length - b.length || (a < b ? -1 : 1)))
    })

    test.each(file.vectors)(
      '$name: CID (OpenSSL SHA-256), decoder and encoder agree with the bytes',
      (vector) => {
        const bytes = hexToBytes(vector.cbor)
        expect(opensslCid(bytes)).toBe(vector.cid)
        const decoded = decodeRecordEnvelope(bytes)
        expect(encodeRecordEnvelope(decoded)).toEqual(bytes)
        expect(decoded.content.toString()).toBe(vector.envelope.content)
      },
    )

    test.each(file.vectors)(
      '$name: the inputs are real — every capsule opens to the dek, meta opens',
      (vector) => {
        const envelope = decodeRecordEnvelope(hexToBytes(vector.cbor))
        const dek = hexToBytes(file.keys.dek[vector.dek]!)
        for (const level of ['record', 'tag', 'all'] as const) {
          const capsule = envelope.capsules[level]
          if (capsule === undefined) continue
          const sk = SecretKey.fromBEBytes(hexToBytes(file.keys.delegating[level]!))
          expect(decryptOriginal(sk, Capsule.fromBytesSimple(capsule), envelope.wrappedKeys[level]!)).toEqual(
            dek,
          )
        }
        expect(file.metaAad).toBe(`medvault/meta/v1/${file.recordId}`)
        const meta = open(dek, envelope.meta, stringToBytes(file.metaAad))
        expect(new TextDecoder().decode(meta)).toBe(file.metaPlaintext[vector.dek])
      },
    )

    test('behavior: the second version links the first by CID', () => {
      const [first, second] = file.vectors
      expect(second!.envelope.prev).toBe(first!.cid)
    })
  })

  describe('kfrag-bundle.json', () => {
    const file = load<BundleVectors>('kfrag-bundle.json')

    test('default: there are record, tag and all vectors', () => {
      expect(file.vectors.map((v) => v.bundle.entries[0]!.scope.kind)).toEqual(['record', 'tag', 'all'])
    })

    test.each(file.vectors)('$name: raw DAG-CBOR decode matches the JSON field by field', (vector) => {
      const raw = dagCbor.decode(hexToBytes(vector.cbor)) as Record<string, unknown>
      const json = vector.bundle
      expect(Object.keys(raw).sort()).toEqual(
        [
          'v',
          'grantId',
          'grantor',
          'grantee',
          'threshold',
          'proxies',
          'verifyingKey',
          'receivingKey',
          'entries',
        ].sort(),
      )
      expect(raw.v).toBe(1)
      expect(bytesToHex(raw.grantId as Uint8Array)).toBe(json.grantId)
      expect(getAddress(bytesToHex(raw.grantor as Uint8Array))).toBe(json.grantor)
      expect(getAddress(bytesToHex(raw.grantee as Uint8Array))).toBe(json.grantee)
      expect(raw.threshold).toBe(json.threshold)
      expect((raw.proxies as Uint8Array[]).map((p) => getAddress(bytesToHex(p)))).toEqual(json.proxies)
      expect(bytesToHex(raw.verifyingKey as Uint8Array)).toBe(json.verifyingKey)
      expect(bytesToHex(raw.receivingKey as Uint8Array)).toBe(json.receivingKey)
      const entries = raw.entries as Array<{
        scope: { kind: string; id?: Uint8Array }
        delegatingKey: Uint8Array
        kfrags: Uint8Array[]
      }>
      expect(entries.length).toBe(json.entries.length)
      for (const [i, entry] of entries.entries()) {
        const expected = json.entries[i]!
        expect(entry.scope.kind).toBe(expected.scope.kind)
        const id =
          expected.scope.kind === 'record'
            ? expected.scope.recordId
            : expected.scope.kind === 'tag'
              ? expected.scope.tag
              : undefined
        expect(entry.scope.id === undefined ? undefined : bytesToHex(entry.scope.id)).toBe(id)
        expect(bytesToHex(entry.delegatingKey)).toBe(expected.delegatingKey)
        expect(entry.kfrags.map((k) => bytesToHex(k))).toEqual(expected.kfrags)
      }
    })

    test.each(file.vectors)(
      '$name: CID, decoder and encoder agree; the grant id is keccak256(abi.encode(grantor, salt))',
      (vector) => {
        const bytes = hexToBytes(vector.cbor)
        expect(opensslCid(bytes)).toBe(vector.cid)
        const decoded = decodeKfragBundle(bytes)
        expect(encodeKfragBundle(decoded)).toEqual(bytes)
        expect(decoded.grantId).toBe(
          keccak256(
            encodeAbiParameters(
              [{ type: 'address' }, { type: 'bytes32' }],
              [vector.bundle.grantor, file.salt],
            ),
          ),
        )
      },
    )

    test.each(file.vectors)(
      '$name: AAD strings as specified; each kfrag opens under its own AAD only and verifies',
      (vector) => {
        const b = vector.bundle
        const verifyingKey = PublicKey.fromCompressedBytes(hexToBytes(b.verifyingKey))
        const receivingKey = PublicKey.fromCompressedBytes(hexToBytes(b.receivingKey))
        for (const entry of b.entries) {
          const scopeText =
            entry.scope.kind === 'record'
              ? `record:${entry.scope.recordId}`
              : entry.scope.kind === 'tag'
                ? `tag:${entry.scope.tag}`
                : 'all'
          for (const [i, sealed] of entry.kfrags.entries()) {
            // Built here from the spec's template, not with kfragAad …
            const aad = `medvault/kfrag/v1/${b.grantId}/${scopeText}/${i}/${b.proxies[i]!.toLowerCase()}`
            expect(entry.aads[i]).toBe(aad)
            // … which must give the same bytes.
            expect(
              kfragAad({ grantId: b.grantId, scope: entry.scope, index: i, proxy: b.proxies[i]! }),
            ).toEqual(stringToBytes(aad))
            const proxySk = hexToBytes(file.keys.proxyEcies[i]!)
            const kfrag = KeyFrag.fromBytes(eciesDecrypt(proxySk, hexToBytes(sealed), stringToBytes(aad)))
            kfrag.verify(
              verifyingKey,
              PublicKey.fromCompressedBytes(hexToBytes(entry.delegatingKey)),
              receivingKey,
            )
            expect(() => eciesDecrypt(proxySk, hexToBytes(sealed), stringToBytes(`${aad}0`))).toThrow()
          }
        }
      },
    )
  })

  describe('access-request.json', () => {
    const v = load<RequestVector>('access-request.json')
    const domainParams = { chainId: v.domain.chainId, verifyingContract: v.domain.verifyingContract }

    test('default: the digest computed by hand (keccak256 over encodeAbiParameters) is the vector and the package’s', () => {
      const r = v.request
      const typeHash = keccak256(stringToBytes(v.typeString))
      const structHash = keccak256(
        encodeAbiParameters(
          [
            { type: 'bytes32' },
            { type: 'address' },
            { type: 'bytes32' },
            { type: 'bytes32' },
            { type: 'bytes32' },
            { type: 'uint8' },
            { type: 'uint64' },
            { type: 'bytes32' },
          ],
          [typeHash, r.proxy, r.grantId, r.recordId, r.capsuleHash, r.purpose, BigInt(r.issuedAt), r.nonce],
        ),
      )
      const digest = keccak256(concat(['0x1901', domainSeparator(v.domain), structHash]))
      expect(digest).toBe(v.digest)
      expect(hashAccessRequest(domainParams, r)).toBe(v.digest)
      expect(hashAccessRequest({ ...domainParams, chainId: 1 }, r)).toBe(v.otherDigests.chainId1)
      expect(new Set([v.digest, v.otherDigests.chainId1, v.otherDigests.otherConsentRegistry]).size).toBe(3)
    })

    test('behavior: the signature recovers (noble) to the signer; RFC 6979 re-signing gives the same bytes', async () => {
      expect(recoverWithNoble(v.digest, v.signature)).toBe(v.signer)
      expect(privateKeyToAccount(v.signerPrivateKey).address).toBe(v.signer)
      expect(
        await privateKeyToAccount(v.signerPrivateKey).signTypedData(
          accessRequestTypedData(domainParams, v.request),
        ),
      ).toBe(v.signature)
    })

    test('behavior: the body parses to the request and verifies at its proxy', async () => {
      const parsed = parseAccessRequestBody(v.body)
      expect(parsed).toEqual({ request: v.request, signature: v.signature })
      expect(await verifyAccessRequest({ domain: domainParams, proxy: v.request.proxy, ...parsed })).toBe(
        v.signer,
      )
    })
  })

  describe('receipt.json', () => {
    const v = load<ReceiptVector>('receipt.json')
    const domainParams = { chainId: v.domain.chainId, verifyingContract: v.domain.verifyingContract }

    test('default: the receipt hash computed by hand is the vector and the package’s; the leaf is keccak256 of it', () => {
      const r = v.receipt
      const typeHash = keccak256(stringToBytes(v.typeString))
      const structHash = keccak256(
        encodeAbiParameters(
          [
            { type: 'bytes32' },
            { type: 'address' },
            { type: 'bytes32' },
            { type: 'bytes32' },
            { type: 'address' },
            { type: 'bytes32' },
            { type: 'bytes32' },
            { type: 'uint64' },
          ],
          [typeHash, r.proxy, r.grantId, r.recordId, r.requester, r.capsuleHash, r.requestHash, BigInt(r.at)],
        ),
      )
      const digest = keccak256(concat(['0x1901', domainSeparator(v.domain), structHash]))
      expect(digest).toBe(v.receiptHash)
      expect(receiptHash(domainParams, r)).toBe(v.receiptHash)
      // AuditAnchors: leaf = keccak256(abi.encodePacked(bytes32 receiptHash)).
      expect(keccak256(encodePacked(['bytes32'], [v.receiptHash]))).toBe(v.leaf)
    })

    test('behavior: signed by the proxy operator; the stored body parses and verifies', async () => {
      expect(recoverWithNoble(v.receiptHash, v.signature)).toBe(v.signer)
      expect(v.signer).toBe(v.receipt.proxy)
      expect(
        await privateKeyToAccount(v.signerPrivateKey).signTypedData(
          accessReceiptTypedData(domainParams, v.receipt),
        ),
      ).toBe(v.signature)
      const parsed = parseAccessReceiptBody(v.body)
      expect(parsed).toEqual({ receipt: v.receipt, signature: v.signature })
      expect(await verifyReceipt({ domain: domainParams, ...parsed })).toBe(v.signer)
    })

    test('behavior: the receipt answers the access request vector', () => {
      const request = load<RequestVector>('access-request.json')
      expect(v.receipt.requestHash).toBe(request.digest)
      expect(v.receipt.requester).toBe(request.signer)
      expect(v.receipt.capsuleHash).toBe(request.request.capsuleHash)
    })
  })
})

function domainSeparator(domain: Domain): Hex {
  return keccak256(
    encodeAbiParameters(
      [
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'bytes32' },
        { type: 'uint256' },
        { type: 'address' },
      ],
      [
        keccak256(
          stringToBytes('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'),
        ),
        keccak256(stringToBytes(domain.name)),
        keccak256(stringToBytes(domain.version)),
        BigInt(domain.chainId),
        domain.verifyingContract,
      ],
    ),
  )
}

function recoverWithNoble(digest: Hex, signature: Hex): Address {
  const bytes = hexToBytes(signature)
  const recovered = secp256k1.Signature.fromBytes(bytes.subarray(0, 64), 'compact')
    .addRecoveryBit(bytes[64]! - 27)
    .recoverPublicKey(hexToBytes(digest))
  // The address: the last 20 bytes of keccak256 of the uncompressed point without its 0x04 prefix.
  return getAddress(`0x${keccak256(recovered.toBytes(false).subarray(1)).slice(-40)}`)
}
