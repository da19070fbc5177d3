/**
 * The kfrag bundle, version 1: the DAG-CBOR object whose CID a grant registers. It binds the grant's
 * parties, threshold, proxy list and keys, and holds, per scope entry, one kfrag per proxy, each
 * ECIES-sealed to that proxy with {@link kfragAad} as associated data.
 *
 * @module
 */
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes } from 'viem'
import { decodeCanonical, encodeValue, reencode } from './cbor.ts'
import { MAX_BUNDLE_BYTES, MAX_BUNDLE_ENTRIES, MAX_PROXIES, SEALED_KFRAG_LENGTH } from './constants.ts'
import { InvalidFieldError, ProxyNotInBundleError, ScopeNotInBundleError } from './errors.ts'
import {
  expectAddress,
  expectArray,
  expectBytes,
  expectHex,
  expectKeys,
  expectObject,
  expectPoint,
  expectString,
  expectUint,
  expectVersion,
  type Fields,
  own,
} from './fields.ts'
import { type BundleScope, formatScope, type ScopeLevel } from './scope.ts'

const FORMAT = 'kfrag bundle'

/** The kfrag bundle versions this build reads. */
export const KFRAG_BUNDLE_VERSIONS: readonly number[] = [1]

/** The kfrags of one scope. */
export interface KfragBundleEntry {
  /** What these kfrags re-encrypt: one record's capsule, the tag capsule or the all-records capsule. */
  scope: BundleScope
  /** The grantor's Umbral delegating public key of this scope (33 bytes): the kfrags were made from its secret. */
  delegatingKey: Uint8Array
  /** One kfrag per proxy, in the order of `proxies`, each `eciesEncrypt`ed to that proxy (359 bytes). */
  kfrags: Uint8Array[]
}

/** A kfrag bundle, version 1. Ids and addresses are hex here, 32- and 20-byte strings in the encoding. */
export interface KfragBundle {
  v: 1
  /** The grant id, as registered on chain. */
  grantId: Hex
  /** Who granted (the account whose keys made the kfrags). */
  grantor: Address
  /** Who may read. */
  grantee: Address
  /** M: how many proxies must re-encrypt; 1 ≤ threshold ≤ proxies.length. */
  threshold: number
  /** The grant's proxy set, in set order (operator addresses, distinct). */
  proxies: Address[]
  /** The grantor's kfrag verifying (signer) public key, 33 bytes; must equal the one the KeyRegistry publishes. */
  verifyingKey: Uint8Array
  /** The grantee's Umbral receiving public key the kfrags were made for, 33 bytes. */
  receivingKey: Uint8Array
  /** One entry per record of a record or records-list grant, or a single tag or all entry. */
  entries: KfragBundleEntry[]
}

/** Where a proxy finds its kfrag: see {@link kfragFor}. */
export interface KfragSlot {
  /** The entry's scope. */
  scope: BundleScope
  /** The capsule level the kfrag re-encrypts (`capsuleOf(envelope, level)`). */
  level: ScopeLevel
  /** The delegating public key to verify the kfrag and the cfrags against. */
  delegatingKey: Uint8Array
  /** The proxy's index in `proxies`. */
  index: number
  /** The ECIES-sealed kfrag. */
  sealedKfrag: Uint8Array
  /** The associated data it was sealed with. */
  aad: Uint8Array
}

const utf8 = new TextEncoder()

/**
 * The associated data a kfrag is ECIES-sealed with:
 * UTF-8 of `medvault/kfrag/v1/<grantId>/<scope>/<index>/<proxy>`, hex lowercase, `<scope>` as in
 * {@link formatScope}, `<index>` decimal.
 *
 * It binds the sealed kfrag to its grant, scope and slot: a proxy that opens it under another grant, scope,
 * index or address fails to decrypt, so a kfrag cannot be replayed from another bundle or entry.
 *
 * @example
 * ```ts
 * eciesEncrypt(proxyPublicKey, kfrag.toBytes(), kfragAad({ grantId, scope, index: 0, proxy }))
 * ```
 */
export function kfragAad(parameters: {
  grantId: Hex
  scope: BundleScope
  index: number
  proxy: Address
}): Uint8Array {
  const { grantId, scope, index, proxy } = parameters
  return utf8.encode(
    `medvault/kfrag/v1/${grantId.toLowerCase()}/${formatScope(scope)}/${index}/${proxy.toLowerCase()}`,
  )
}

/**
 * Encodes a kfrag bundle as canonical DAG-CBOR (store it with `storage.putEnvelope(kfragBundleToIpld(b))`
 * or as these bytes; both give the CID {@link dagCborCid} computes).
 *
 * @throws {InvalidFieldError | MissingFieldError | UnexpectedFieldError | UnsupportedFormatVersionError}
 */
export function encodeKfragBundle(bundle: KfragBundle): Uint8Array {
  return encodeValue(kfragBundleToIpld(bundle))
}

/**
 * Decodes and checks a kfrag bundle: canonical DAG-CBOR, a known version, exactly its fields, lengths,
 * keys on the curve, distinct proxies, `1 ≤ threshold ≤ proxies`, one kfrag per proxy in every entry, either
 * distinct record entries or a single tag/all entry.
 *
 * The checks are structural. A proxy must still check the bundle against the chain (grant id, parties,
 * proxy set, verifying key) and verify its kfrag (`KeyFrag.verify`) with `verifyingKey`, the entry's
 * `delegatingKey` and `receivingKey`.
 *
 * @param bytes - at most {@link MAX_BUNDLE_BYTES}.
 * @throws {MalformedEncodingError | TooLargeError | UnsupportedFormatVersionError | MissingFieldError |
 *   UnexpectedFieldError | InvalidFieldError}
 */
export function decodeKfragBundle(bytes: Uint8Array): KfragBundle {
  return checkBundle(decodeCanonical(FORMAT, bytes, MAX_BUNDLE_BYTES))
}

/** Checks a value already decoded from DAG-CBOR (e.g. `await storage.getEnvelope(cid)`) as {@link decodeKfragBundle} does. */
export function parseKfragBundle(value: unknown): KfragBundle {
  return decodeKfragBundle(reencode(FORMAT, value))
}

/**
 * The IPLD value of a bundle (ids and addresses as bytes), for `storage.putEnvelope`. Checked as the
 * decoder checks.
 */
export function kfragBundleToIpld(bundle: KfragBundle): Fields {
  const b = expectObject(FORMAT, bundle as unknown)
  expectVersion(FORMAT, b, '', KFRAG_BUNDLE_VERSIONS)
  expectKeys(FORMAT, b, '', BUNDLE_FIELDS)
  const entries = expectArray(FORMAT, own(b, 'entries'), 'entries', 1, MAX_BUNDLE_ENTRIES)
  const value = {
    v: 1,
    grantId: hexToBytes(expectHex(FORMAT, own(b, 'grantId'), 'grantId', 32)),
    grantor: hexToBytes(expectAddress(FORMAT, own(b, 'grantor'), 'grantor')),
    grantee: hexToBytes(expectAddress(FORMAT, own(b, 'grantee'), 'grantee')),
    threshold: own(b, 'threshold'),
    proxies: expectArray(FORMAT, own(b, 'proxies'), 'proxies', 1, MAX_PROXIES).map((p, i) =>
      hexToBytes(expectAddress(FORMAT, p, `proxies[${i}]`)),
    ),
    verifyingKey: own(b, 'verifyingKey'),
    receivingKey: own(b, 'receivingKey'),
    entries: entries.map((e, i) => {
      const entry = expectObject(FORMAT, e, `entries[${i}]`)
      expectKeys(FORMAT, entry, `entries[${i}]`, ENTRY_FIELDS)
      return {
        scope: scopeToIpld(own(entry, 'scope'), `entries[${i}].scope`),
        delegatingKey: own(entry, 'delegatingKey'),
        kfrags: own(entry, 'kfrags'),
      }
    }),
  }
  // One set of rules: the value is checked by the decoder's own function.
  checkBundle(value)
  return value
}

/**
 * The entry that holds the kfrags for `recordId`: its record entry, or the single tag or all entry.
 *
 * For a tag or all entry this does not prove the record is in scope: the proxy checks that on chain
 * (the grant covers the record) before it re-encrypts.
 *
 * @throws {ScopeNotInBundleError} when a records bundle has no entry for the record.
 */
export function bundleEntryFor(bundle: KfragBundle, recordId: Hex): KfragBundleEntry {
  const id = recordId.toLowerCase()
  for (const entry of bundle.entries) {
    if (entry.scope.kind !== 'record' || entry.scope.recordId.toLowerCase() === id) return entry
  }
  throw new ScopeNotInBundleError({ recordId: id })
}

/**
 * What proxy `proxy` needs to re-encrypt `recordId`: its sealed kfrag, the AAD to open it with, the capsule
 * level and the delegating key.
 *
 * @throws {ProxyNotInBundleError} when `proxy` is not in `bundle.proxies`.
 * @throws {ScopeNotInBundleError} when no entry covers the record.
 */
export function kfragFor(bundle: KfragBundle, parameters: { recordId: Hex; proxy: Address }): KfragSlot {
  const proxy = parameters.proxy.toLowerCase()
  const index = bundle.proxies.findIndex((p) => p.toLowerCase() === proxy)
  if (index < 0) throw new ProxyNotInBundleError({ proxy: getAddress(parameters.proxy) })
  const entry = bundleEntryFor(bundle, parameters.recordId)
  return {
    scope: entry.scope,
    level: entry.scope.kind,
    delegatingKey: entry.delegatingKey,
    index,
    sealedKfrag: entry.kfrags[index]!,
    aad: kfragAad({ grantId: bundle.grantId, scope: entry.scope, index, proxy: bundle.proxies[index]! }),
  }
}

const BUNDLE_FIELDS = [
  'v',
  'grantId',
  'grantor',
  'grantee',
  'threshold',
  'proxies',
  'verifyingKey',
  'receivingKey',
  'entries',
] as const
const ENTRY_FIELDS = ['scope', 'delegatingKey', 'kfrags'] as const

function scopeToIpld(value: unknown, path: string): Fields {
  const scope = expectObject(FORMAT, value, path)
  const kind = expectString(FORMAT, own(scope, 'kind'), `${path}.kind`, ['record', 'tag', 'all'])
  switch (kind) {
    case 'record':
      expectKeys(FORMAT, scope, path, ['kind', 'recordId'])
      return { kind, id: hexToBytes(expectHex(FORMAT, own(scope, 'recordId'), `${path}.recordId`, 32)) }
    case 'tag':
      expectKeys(FORMAT, scope, path, ['kind', 'tag'])
      return { kind, id: hexToBytes(expectHex(FORMAT, own(scope, 'tag'), `${path}.tag`, 8)) }
    default:
      expectKeys(FORMAT, scope, path, ['kind'])
      return { kind }
  }
}

function scopeFromIpld(value: unknown, path: string): BundleScope {
  const scope = expectObject(FORMAT, value, path)
  const kind = expectString(FORMAT, own(scope, 'kind'), `${path}.kind`, ['record', 'tag', 'all'])
  switch (kind) {
    case 'record':
      expectKeys(FORMAT, scope, path, ['kind', 'id'])
      return { kind, recordId: bytesToHex(expectBytes(FORMAT, own(scope, 'id'), `${path}.id`, 32)) }
    case 'tag': {
      expectKeys(FORMAT, scope, path, ['kind', 'id'])
      const tag = expectBytes(FORMAT, own(scope, 'id'), `${path}.id`, 8)
      // The chain refuses a zero tag: an untagged record has no tag at all.
      if (tag.every((b) => b === 0)) {
        throw new InvalidFieldError({
          format: FORMAT,
          field: `${path}.id`,
          expected: 'a non-zero 8-byte tag',
        })
      }
      return { kind, tag: bytesToHex(tag) }
    }
    default:
      expectKeys(FORMAT, scope, path, ['kind'])
      return { kind: 'all' }
  }
}

function checkBundle(value: unknown): KfragBundle {
  const obj = expectObject(FORMAT, value)
  expectVersion(FORMAT, obj, '', KFRAG_BUNDLE_VERSIONS)
  expectKeys(FORMAT, obj, '', BUNDLE_FIELDS)

  const grantId = bytesToHex(expectBytes(FORMAT, own(obj, 'grantId'), 'grantId', 32))
  const grantor = address(own(obj, 'grantor'), 'grantor')
  const grantee = address(own(obj, 'grantee'), 'grantee')
  const proxies = expectArray(FORMAT, own(obj, 'proxies'), 'proxies', 1, MAX_PROXIES).map((p, i) =>
    address(p, `proxies[${i}]`),
  )
  const seen = new Set<string>()
  for (const [i, p] of proxies.entries()) {
    if (seen.has(p)) {
      throw new InvalidFieldError({
        format: FORMAT,
        field: `proxies[${i}]`,
        expected: 'an address not listed before',
      })
    }
    seen.add(p)
  }
  const threshold = expectUint(FORMAT, own(obj, 'threshold'), 'threshold', 1, proxies.length)
  const verifyingKey = expectPoint(FORMAT, own(obj, 'verifyingKey'), 'verifyingKey')
  const receivingKey = expectPoint(FORMAT, own(obj, 'receivingKey'), 'receivingKey')

  const rawEntries = expectArray(FORMAT, own(obj, 'entries'), 'entries', 1, MAX_BUNDLE_ENTRIES)
  const entries: KfragBundleEntry[] = rawEntries.map((e, i) => {
    const path = `entries[${i}]`
    const entry = expectObject(FORMAT, e, path)
    expectKeys(FORMAT, entry, path, ENTRY_FIELDS)
    const scope = scopeFromIpld(own(entry, 'scope'), `${path}.scope`)
    const delegatingKey = expectPoint(FORMAT, own(entry, 'delegatingKey'), `${path}.delegatingKey`)
    const kfrags = expectArray(
      FORMAT,
      own(entry, 'kfrags'),
      `${path}.kfrags`,
      proxies.length,
      proxies.length,
    ).map((k, j) => expectBytes(FORMAT, k, `${path}.kfrags[${j}]`, SEALED_KFRAG_LENGTH))
    return { scope, delegatingKey, kfrags }
  })
  const records = new Set<string>()
  for (const [i, entry] of entries.entries()) {
    if (entry.scope.kind !== 'record') {
      if (entries.length !== 1) {
        throw new InvalidFieldError({
          format: FORMAT,
          field: `entries[${i}].scope`,
          expected: 'a record scope (a tag or all entry is the only entry of its bundle)',
        })
      }
    } else if (records.has(entry.scope.recordId)) {
      throw new InvalidFieldError({
        format: FORMAT,
        field: `entries[${i}].scope`,
        expected: 'a record not listed before',
      })
    } else {
      records.add(entry.scope.recordId)
    }
  }
  return { v: 1, grantId, grantor, grantee, threshold, proxies, verifyingKey, receivingKey, entries }
}

function address(value: unknown, field: string): Address {
  const bytes = expectBytes(FORMAT, value, field, 20)
  if (bytes.every((b) => b === 0)) {
    throw new InvalidFieldError({ format: FORMAT, field, expected: 'a non-zero 20-byte address' })
  }
  return getAddress(bytesToHex(bytes))
}
