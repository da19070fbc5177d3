/**
 * The public types of `@medvault/sdk`: records, grants, audit entries, options and progress events.
 *
 * @module
 */
import type { Purpose } from '@medvault/chain'
import type { CID } from 'multiformats/cid'
import type { Address, Hash, Hex } from 'viem'
import type { DatasetProgressEvent } from './datasets.ts'

/** Events reported through `onProgress`. Byte counts are running totals of plaintext. */
export type VaultProgressEvent =
  | { type: 'records:put:bytes'; bytes: number }
  /** `total` is the record's plaintext size as its envelope states it (checked at the end of the read). */
  | { type: 'records:get:bytes'; bytes: number; total: number }
  | { type: 'records:stored'; cid: CID }
  | { type: 'records:split'; stored: number; total: number }
  | { type: 'chain:transaction'; action: string; hash: Hash }
  | { type: 'keys:published' }
  | { type: 'grants:kfrags'; entries: number; proxies: number }
  | { type: 'access:request'; proxy: Address; reason: 'initial' | 'failure' | 'delay' }
  | { type: 'access:answer'; proxy: Address; ok: boolean; code?: string }
  | DatasetProgressEvent

/** Options every async call takes. */
export interface CallOptions {
  /** Cancels the call; it rejects with the signal's reason. A transaction already sent may still be mined. */
  signal?: AbortSignal | undefined
  /** Told about progress (bytes, transactions, proxies asked). */
  onProgress?: ((event: VaultProgressEvent) => void) | undefined
}

/** JSON values `records.put` accepts (stored as UTF-8 JSON). */
export type JsonValue = string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue }

/**
 * Record content: bytes, a string (UTF-8), a `Blob`, a web `ReadableStream`, any (async) iterable of byte
 * chunks (a Node stream, a generator) — streamed in constant memory — or a JSON object or array.
 */
export type RecordContent =
  | Uint8Array
  | ArrayBuffer
  | string
  | Blob
  | ReadableStream<Uint8Array>
  | AsyncIterable<Uint8Array>
  | Iterable<Uint8Array>
  | { [key: string]: JsonValue }
  | JsonValue[]

export interface PutOptions extends CallOptions {
  /**
   * The media type, kept encrypted in the record's metadata. Default: `application/fhir+json` for a JSON
   * object with a `resourceType`, `application/json` for other JSON, `text/plain; charset=utf-8` for a
   * string, `application/octet-stream` otherwise.
   */
  mediaType?: string
  /**
   * A category (`'labs'`, `'imaging'`): grants by tag cover every record of the category, also later ones.
   * The chain sees only an opaque 8-byte HMAC of it; the name itself stays in the encrypted metadata.
   */
  tag?: string
  /** A name or title, kept encrypted in the metadata. */
  name?: string
  /** Plaintext bytes per encrypted segment (16 B … 16 MiB). Default 256 KiB. */
  segmentSize?: number
  /**
   * A FHIR Bundle is stored whole, as one record, unless `bundle: 'split'` ({@link SplitPutOptions}) asks
   * for one record per entry.
   */
  bundle?: 'whole' | undefined
  /**
   * Validate FHIR content as FHIR R4 before storing it (default true). `false` is for content already
   * validated elsewhere: it is still parsed and stored as FHIR, unchecked.
   */
  validate?: boolean | undefined
}

/**
 * `records.put(bundle, { bundle: 'split' })`: one record per entry resource of a FHIR Bundle, with the
 * references between them kept resolvable (see `SplitBundleResult`), so each can be granted alone. `tag`
 * goes on every record (one tag grant covers the whole Bundle), as does `name`. Refused for anything but a
 * Bundle.
 */
export interface SplitPutOptions extends Omit<PutOptions, 'bundle'> {
  bundle: 'split'
}

export interface UpdateOptions extends CallOptions {
  /** Default: the previous version's media type. */
  mediaType?: string
  /** As for `put`: validate FHIR content first (default true). */
  validate?: boolean | undefined
  /** Default: the previous version's name. */
  name?: string
  segmentSize?: number
}

export interface ReadOptions extends CallOptions {
  /** Which version (1 = first); default the current one. Only the owner can read earlier versions. */
  version?: number
  /** Read under a grant of this purpose only (default: any grant that covers the record). */
  purpose?: Purpose | number
}

/** A record version as the vault knows it. */
export interface RecordInfo {
  /** The record id (32 bytes, random), registered on chain. */
  id: Hex
  owner: Address
  /** 1 for the first version. */
  version: number
  /** The envelope's CID (dag-cbor): what the chain registers. */
  cid: CID
  /** The encrypted content's CID (UnixFS). */
  contentCid: CID
  /** Plaintext size in bytes. */
  size: number
  /** The key epoch: 0 for the first data key, +1 per `rotate`. */
  epoch: number
  /** The category, when the record has one and the reader can open the metadata. */
  tag: string | undefined
  /** The opaque 8-byte tag registered on chain, when the record has one. */
  chainTag: Hex | undefined
  /** From the encrypted metadata (undefined when the reader did not open it). */
  mediaType: string | undefined
  name: string | undefined
  /** The previous version's envelope CID. */
  prev: CID | undefined
  /** For a FHIR record whose metadata the reader opened: its type, id and resolvable references. */
  fhir?: FhirRecordInfo | undefined
}

/** What the encrypted metadata of a FHIR record says about it. */
export interface FhirRecordInfo {
  resourceType: string
  /** The resource's `id`, when it has one. */
  id: string | undefined
  /** The `fullUrl` of the Bundle entry it was split from. */
  fullUrl: string | undefined
  /**
   * Where this resource's references lead: each `reference` string exactly as written in the resource (e.g.
   * `urn:uuid:…` or `Patient/123`) that names another resource stored by the same put → that record's id.
   * Empty unless the record was split from a Bundle.
   */
  references: Readonly<Record<string, Hex>>
}

/** One entry of `records.history`. */
export interface RecordVersionInfo {
  version: number
  cid: CID
  /** Who registered it (the owner or a delegate). */
  author: Address
  blockNumber: bigint
  transactionHash: Hash
  /** From the envelope: */
  size: number
  epoch: number
  prev: CID | undefined
}

/** What a grant covers. */
export type GrantScopeInfo =
  | { kind: 'record'; records: Hex[] }
  | { kind: 'records'; records: Hex[] }
  | { kind: 'tag'; chainTag: Hex; tag?: string }
  | { kind: 'all' }

/** A grant as the chain lists it. */
export interface Grant {
  id: Hex
  grantor: Address
  grantee: Address
  scope: GrantScopeInfo
  purpose: Purpose | number
  /** Unix seconds (0: from the start). */
  notBefore: number
  /** Unix seconds. */
  expiresAt: number
  threshold: number
  proxySet: number
  /** The kfrag bundle's CID. */
  bundleCid: CID
  revoked: boolean
  /**
   * Revoked, expired or not yet valid, judged at the chain's latest block time. A break-glass grant that is
   * active still lets its grantee read only while an emergency window runs.
   */
  active: boolean
  /**
   * Present on a break-glass grant (`vault.breakGlass.authorize`): the time box of each emergency window, in
   * seconds. It lets nobody read until its grantee opens a window (`vault.breakGlass.open`).
   */
  breakGlass?: { maxDuration: number } | undefined
  blockNumber: bigint
  transactionHash: Hash
}

/** One event of the audit trail. `at` is the block (or receipt) time, Unix seconds. */
export type AuditEntry =
  | {
      kind: 'record-registered'
      recordId: Hex
      version: number
      cid: CID
      by: Address
      at: number
      transactionHash: Hash
    }
  | {
      kind: 'grant'
      grantId: Hex
      grantee: Address
      scope: GrantScopeInfo
      purpose: Purpose | number
      expiresAt: number
      at: number
      transactionHash: Hash
    }
  | { kind: 'revocation'; grantId: Hex; grantee: Address; by: Address; at: number; transactionHash: Hash }
  | {
      kind: 'break-glass'
      grantId: Hex
      recordId: Hex
      grantee: Address
      reason: Purpose | number
      startedAt: number
      endsAt: number
      endedAt: number | undefined
      at: number
      transactionHash: Hash
    }
  | {
      kind: 'read'
      grantId: Hex
      recordId: Hex
      reader: Address
      proxy: Address
      at: number
      /** The receipt's EIP-712 hash (the leaf value of the proxy's anchored Merkle tree). */
      receiptHash: Hex
      /** Whether the proxy's anchored root on chain proves this receipt. */
      anchored: boolean
    }
