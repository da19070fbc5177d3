/**
 * Regenerates the golden vectors beside this file. Run from the repository root:
 *   npx -y pnpm@10 exec node packages/protocol/test/vectors/generate.ts [--fresh]
 *
 * Every secret is a fixed, published test value. Umbral encapsulation, kfrag generation, `seal` and ECIES draw
 * fresh randomness, so their outputs cannot be re-derived from the keys: they were produced once by this script
 * with real @medvault/crypto and are kept in inputs.json, which later runs reuse (`--fresh` makes new ones and
 * so changes every encoding, CID and digest below). Everything else — DAG-CBOR bytes, CIDs, AAD strings,
 * EIP-712 digests, RFC 6979 signatures — is a deterministic function of those inputs. See README.md.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { eciesEncrypt, getPublicKey, seal } from '@medvault/crypto'
import { encrypt, generateKFrags, SecretKey, Signer } from '@medvault/crypto/umbral'
import { sha256 } from '@noble/hashes/sha2.js'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { type Address, bytesToHex, encodeAbiParameters, type Hex, hexToBytes, keccak256 } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import {
  type AccessReceipt,
  type AccessRequest,
  accessReceiptBody,
  accessReceiptTypedData,
  accessRequestBody,
  accessRequestTypedData,
  type BundleScope,
  capsuleHash,
  dagCborCid,
  encodeKfragBundle,
  encodeRecordEnvelope,
  hashAccessRequest,
  type KfragBundle,
  kfragAad,
  type ProtocolDomain,
  type RecordEnvelope,
  receiptHash,
} from '../../src/index.ts'

const dir = import.meta.dirname
const utf8 = new TextEncoder()
const FILES = ['inputs.json', 'envelope.json', 'kfrag-bundle.json', 'access-request.json', 'receipt.json']
const fresh = process.argv.includes('--fresh')
const key = (byte: number): Hex => bytesToHex(new Uint8Array(32).fill(byte))

/** Fixed secrets: published test values, never used anywhere else. */
export const KEYS = {
  dek: [
    bytesToHex(Uint8Array.from({ length: 32 }, (_, i) => i)),
    bytesToHex(Uint8Array.from({ length: 32 }, (_, i) => 32 + i)),
  ],
  delegating: { record: key(0x11), tag: key(0x12), all: key(0x13), record2: key(0x14) },
  receiving: key(0x23),
  signer: key(0x24),
  accounts: {
    grantor: key(0x21),
    grantee: key(0x22),
    proxy0: key(0x31),
    proxy1: key(0x32),
    proxy2: key(0x33),
  },
  proxyEcies: [key(0x41), key(0x42), key(0x43)],
} as const

const sk = (hex: Hex) => SecretKey.fromBEBytes(hexToBytes(hex))
const pk = (hex: Hex) => sk(hex).publicKey()
const address = (hex: Hex): Address => privateKeyToAccount(hex).address
const proxies = [address(KEYS.accounts.proxy0), address(KEYS.accounts.proxy1), address(KEYS.accounts.proxy2)]
const grantor = address(KEYS.accounts.grantor)
const grantee = address(KEYS.accounts.grantee)
/** The metadata of each envelope vector: JSON sealed under the dek with AAD `medvault/meta/v1/<recordId>`. */
const META = [
  '{"mediaType":"application/fhir+json","name":"observation.json"}',
  '{"mediaType":"application/fhir+json","tag":"laboratory","name":"observation.json"}',
]

// ---------------------------------------------------------------------------------------------------------
// Randomised inputs: made once with real crypto, then kept.

type Inputs = {
  envelopes: Array<{ capsules: Record<string, Hex>; wrappedKeys: Record<string, Hex>; meta: Hex }>
  bundles: Array<{ kfrags: Hex[][] }>
}
const inputsFile = join(dir, 'inputs.json')
const RECORD_1: Hex = `0x${'a1'.repeat(32)}`
const RECORD_2: Hex = `0x${'a2'.repeat(32)}`
const TAG: Hex = '0x5e1ec7ed0000beef'
const SALT: Hex = `0x${'5a'.repeat(32)}`
const grantId = keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [grantor, SALT]))

/** The bundle vectors' shapes: scope entries (with the delegating key of each) and proxy count. */
const BUNDLES: Array<{
  name: string
  threshold: number
  proxies: number
  entries: Array<[BundleScope, Hex]>
}> = [
  {
    name: 'records grant: two records, 2-of-2 proxies',
    threshold: 2,
    proxies: 2,
    entries: [
      [{ kind: 'record', recordId: RECORD_1 }, KEYS.delegating.record],
      [{ kind: 'record', recordId: RECORD_2 }, KEYS.delegating.record2],
    ],
  },
  {
    name: 'tag grant: 1-of-1 proxy',
    threshold: 1,
    proxies: 1,
    entries: [[{ kind: 'tag', tag: TAG }, KEYS.delegating.tag]],
  },
  {
    name: 'all-records grant: 2-of-3 proxies',
    threshold: 2,
    proxies: 3,
    entries: [[{ kind: 'all' }, KEYS.delegating.all]],
  },
]

function makeInputs(): Inputs {
  const wrap = (dek: Hex, level: Hex) => {
    const [capsule, wrapped] = encrypt(pk(level), hexToBytes(dek))
    return { capsule: bytesToHex(capsule.toBytesSimple()), wrapped: bytesToHex(wrapped) }
  }
  const envelope = (dek: Hex, levels: Record<string, Hex>, meta: string) => {
    const capsules: Record<string, Hex> = {}
    const wrappedKeys: Record<string, Hex> = {}
    for (const [level, delegating] of Object.entries(levels)) {
      const w = wrap(dek, delegating)
      capsules[level] = w.capsule
      wrappedKeys[level] = w.wrapped
    }
    const sealed = seal(hexToBytes(dek), utf8.encode(meta), utf8.encode(`medvault/meta/v1/${RECORD_1}`))
    return { capsules, wrappedKeys, meta: bytesToHex(sealed) }
  }
  const { record, tag, all } = KEYS.delegating
  return {
    envelopes: [
      envelope(KEYS.dek[0], { record, all }, META[0]!),
      envelope(KEYS.dek[1], { record, tag, all }, META[1]!),
    ],
    bundles: BUNDLES.map((b) => ({
      kfrags: b.entries.map(([scope, delegating]) =>
        generateKFrags(
          sk(delegating),
          pk(KEYS.receiving),
          new Signer(sk(KEYS.signer)),
          b.threshold,
          b.proxies,
          true,
          true,
        ).map((kfrag, i) =>
          bytesToHex(
            eciesEncrypt(
              getPublicKey(hexToBytes(KEYS.proxyEcies[i]!)),
              kfrag.toBytes(),
              kfragAad({ grantId, scope, index: i, proxy: proxies[i]! }),
            ),
          ),
        ),
      ),
    })),
  }
}

const inputs: Inputs =
  !fresh && existsSync(inputsFile) ? (JSON.parse(readFileSync(inputsFile, 'utf8')) as Inputs) : makeInputs()
write('inputs.json', {
  description:
    'Randomised outputs of real @medvault/crypto for the fixed keys of generate.ts (Umbral capsules and wrapped keys, sealed metadata, ECIES-sealed kfrags). Kept so the vectors are stable; see README.md.',
  ...inputs,
})

// ---------------------------------------------------------------------------------------------------------
// Record envelopes.

const bytesOf = (o: Record<string, Hex>): unknown =>
  Object.fromEntries(Object.entries(o).map(([k, v]) => [k, hexToBytes(v)]))
const first: RecordEnvelope = {
  v: 1,
  content: rawCid(new TextEncoder().encode('medvault golden vector: content, version 1')),
  size: 42,
  segment: 65_536,
  epoch: 0,
  capsules: bytesOf(inputs.envelopes[0]!.capsules) as RecordEnvelope['capsules'],
  wrappedKeys: bytesOf(inputs.envelopes[0]!.wrappedKeys) as RecordEnvelope['wrappedKeys'],
  meta: hexToBytes(inputs.envelopes[0]!.meta),
}
const firstBytes = encodeRecordEnvelope(first)
const second: RecordEnvelope = {
  v: 1,
  content: CID.parse('QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n'),
  size: 12_345_678,
  segment: 262_144,
  epoch: 1,
  capsules: bytesOf(inputs.envelopes[1]!.capsules) as RecordEnvelope['capsules'],
  wrappedKeys: bytesOf(inputs.envelopes[1]!.wrappedKeys) as RecordEnvelope['wrappedKeys'],
  meta: hexToBytes(inputs.envelopes[1]!.meta),
  prev: dagCborCid(firstBytes),
}
write('envelope.json', {
  description:
    'Record envelope v1: fields (bytes as hex, CIDs as strings) → canonical DAG-CBOR and CIDv1 (dag-cbor, sha2-256). Each capsule opens with the delegating secret key of its level to the dek (Umbral decryptOriginal); meta opens with the dek (open) and the AAD metaAad, to metaPlaintext[i].',
  keys: {
    dek: KEYS.dek,
    delegating: { record: KEYS.delegating.record, tag: KEYS.delegating.tag, all: KEYS.delegating.all },
  },
  recordId: RECORD_1,
  metaAad: `medvault/meta/v1/${RECORD_1}`,
  metaPlaintext: META,
  vectors: [
    {
      name: 'first version, untagged, raw-leaf content',
      dek: 0,
      envelope: envelopeJson(first),
      cbor: bytesToHex(firstBytes),
      cid: dagCborCid(firstBytes).toString(),
    },
    (() => {
      const bytes = encodeRecordEnvelope(second)
      return {
        name: 'rotated (epoch 1), tagged, CIDv0 content, prev = the first',
        dek: 1,
        envelope: envelopeJson(second),
        cbor: bytesToHex(bytes),
        cid: dagCborCid(bytes).toString(),
      }
    })(),
  ],
})

// ---------------------------------------------------------------------------------------------------------
// Kfrag bundles.

write('kfrag-bundle.json', {
  description:
    'Kfrag bundle v1: fields (ids and addresses as hex, keys and kfrags as hex) → canonical DAG-CBOR and CID. Each kfrags[i] opens with eciesDecrypt(proxyEcies[i], kfrag, UTF-8(aads[i])) and verifies with verifyingKey, the entry delegatingKey and receivingKey.',
  keys: {
    delegating: KEYS.delegating,
    receiving: KEYS.receiving,
    signer: KEYS.signer,
    accounts: KEYS.accounts,
    proxyEcies: KEYS.proxyEcies,
  },
  salt: SALT,
  vectors: BUNDLES.map((b, n) => {
    const bundle: KfragBundle = {
      v: 1,
      grantId,
      grantor,
      grantee,
      threshold: b.threshold,
      proxies: proxies.slice(0, b.proxies),
      verifyingKey: new Signer(sk(KEYS.signer)).verifyingKey().toCompressedBytes(),
      receivingKey: pk(KEYS.receiving).toCompressedBytes(),
      entries: b.entries.map(([scope, delegating], e) => ({
        scope,
        delegatingKey: pk(delegating).toCompressedBytes(),
        kfrags: inputs.bundles[n]!.kfrags[e]!.map((k) => hexToBytes(k)),
      })),
    }
    const bytes = encodeKfragBundle(bundle)
    return {
      name: b.name,
      bundle: {
        ...bundle,
        verifyingKey: bytesToHex(bundle.verifyingKey),
        receivingKey: bytesToHex(bundle.receivingKey),
        entries: bundle.entries.map((e) => ({
          scope: e.scope,
          delegatingKey: bytesToHex(e.delegatingKey),
          kfrags: e.kfrags.map((k) => bytesToHex(k)),
          aads: e.kfrags.map((_, i) =>
            new TextDecoder().decode(
              kfragAad({ grantId, scope: e.scope, index: i, proxy: bundle.proxies[i]! }),
            ),
          ),
        })),
      },
      cbor: bytesToHex(bytes),
      cid: dagCborCid(bytes).toString(),
    }
  }),
})

// ---------------------------------------------------------------------------------------------------------
// Access request and receipt (EIP-712).

// anvil's chain id, and the address anvil's account #0 gives its first contract.
const domain: ProtocolDomain = {
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
}
const request: AccessRequest = {
  proxy: proxies[0]!,
  grantId,
  recordId: RECORD_1,
  capsuleHash: capsuleHash(hexToBytes(inputs.envelopes[0]!.capsules.record!)),
  purpose: 1,
  issuedAt: 1_750_000_000,
  nonce: `0x${'c0'.repeat(32)}`,
}
const requestSignature = await privateKeyToAccount(KEYS.accounts.grantee).signTypedData(
  accessRequestTypedData(domain, request),
)
const requestHash = hashAccessRequest(domain, request)
write('access-request.json', {
  description:
    "EIP-712 access request: domain and message → digest (keccak256(0x1901 ‖ domainSeparator ‖ hashStruct)); the grantee's RFC 6979 signature (viem) and the JSON body.",
  domain: { name: 'medvault', version: '1', ...domain },
  request,
  signerPrivateKey: KEYS.accounts.grantee,
  signer: grantee,
  typeString:
    'AccessRequest(address proxy,bytes32 grantId,bytes32 recordId,bytes32 capsuleHash,uint8 purpose,uint64 issuedAt,bytes32 nonce)',
  digest: requestHash,
  otherDigests: {
    chainId1: hashAccessRequest({ ...domain, chainId: 1 }, request),
    otherConsentRegistry: hashAccessRequest(
      { ...domain, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' },
      request,
    ),
  },
  signature: requestSignature,
  body: JSON.stringify(accessRequestBody(request, requestSignature)),
})

const receipt: AccessReceipt = {
  proxy: proxies[0]!,
  grantId,
  recordId: RECORD_1,
  requester: grantee,
  capsuleHash: request.capsuleHash,
  requestHash,
  at: 1_750_000_002,
}
const receiptSignature = await privateKeyToAccount(KEYS.accounts.proxy0).signTypedData(
  accessReceiptTypedData(domain, receipt),
)
const hash = receiptHash(domain, receipt)
write('receipt.json', {
  description:
    "EIP-712 access receipt, signed by the proxy operator: domain and message → receiptHash (the digest); the Merkle leaf anchored on chain is keccak256(receiptHash); the operator's signature and the JSON of a stored receipt.",
  domain: { name: 'medvault', version: '1', ...domain },
  receipt,
  signerPrivateKey: KEYS.accounts.proxy0,
  signer: proxies[0],
  typeString:
    'AccessReceipt(address proxy,bytes32 grantId,bytes32 recordId,address requester,bytes32 capsuleHash,bytes32 requestHash,uint64 at)',
  receiptHash: hash,
  leaf: keccak256(hash),
  signature: receiptSignature,
  body: JSON.stringify(accessReceiptBody(receipt, receiptSignature)),
})

// The repository's formatter has the last word on layout, so a re-run changes no byte.
execFileSync(
  join(dir, '../../../../node_modules/.bin/biome'),
  ['format', '--write', ...FILES.map((f) => join(dir, f))],
  {
    stdio: 'ignore',
  },
)

// ---------------------------------------------------------------------------------------------------------

function envelopeJson(e: RecordEnvelope) {
  const hex = (o: Record<string, Uint8Array | undefined>) =>
    Object.fromEntries(Object.entries(o).map(([k, v]) => [k, bytesToHex(v!)]))
  return {
    v: e.v,
    content: e.content.toString(),
    size: e.size,
    segment: e.segment,
    epoch: e.epoch,
    capsules: hex({ ...e.capsules }),
    wrappedKeys: hex({ ...e.wrappedKeys }),
    meta: bytesToHex(e.meta),
    ...(e.prev === undefined ? {} : { prev: e.prev.toString() }),
  }
}

/** A one-block raw-leaf UnixFS file's CID is its raw block's: CIDv1, raw, sha2-256. */
function rawCid(bytes: Uint8Array): CID {
  return CID.createV1(0x55, createDigest(0x12, sha256(bytes)))
}

function write(name: string, value: unknown): void {
  writeFileSync(join(dir, name), `${JSON.stringify(value, null, 2)}\n`)
}
