/**
 * A record's bytes on their way in and out: content sources, the encrypted stream, the envelope with its
 * capsules per scope level, the sealed metadata, and every integrity check on the way back.
 *
 * Bindings (documented in the README's "Formats" section):
 * - content: `encryptStream(dek, plaintext, { aad: utf8("medvault/content/v1/" + recordId) })`;
 * - metadata: `seal(dek, utf8(JSON.stringify(meta)), utf8("medvault/meta/v1/" + recordId))` with
 *   `meta = { mediaType, tag?, name?, fhir? }`;
 * - capsules: the data key encapsulated (Umbral `encrypt`) to the record's delegating key of its epoch, to
 *   its tag's delegating key when tagged, and to the owner's all-records key.
 * The record id is lower-case `0x` hex in both strings.
 *
 * @module
 */

import { RecordNotFoundError as ChainRecordNotFoundError, getRecord } from '@medvault/chain'
import {
  BaseError as CryptoBaseError,
  DecryptionError,
  type DerivedKeys,
  decryptStream,
  deriveDelegatingKey,
  encryptedStreamLength,
  encryptStream,
  InvalidHeaderError,
  open,
  seal,
  tagFor,
} from '@medvault/crypto'
import { Capsule, decryptOriginal, encrypt, type PublicKey, SecretKey } from '@medvault/crypto/umbral'
import { parseRecordEnvelope, type RecordEnvelope, type ScopedBytes } from '@medvault/protocol'
import {
  BlockVerificationError,
  MalformedBlockError,
  NotAFileError,
  UnverifiableCidError,
} from '@medvault/storage/errors'
import { CID } from 'multiformats/cid'
import { type Address, bytesToHex, concat, type Hex, hexToBytes, keccak256, numberToHex } from 'viem'
import type { VaultContext } from './context.ts'
import { IntegrityError, InvalidOptionError, RecordNotFoundError } from './errors.ts'
import { type FhirMeta, parseFhirMeta } from './fhir-records.ts'
import type { JsonValue, RecordContent, VaultProgressEvent } from './types.ts'

const utf8 = new TextEncoder()

/** The metadata sealed in every envelope. */
export interface RecordMeta {
  mediaType: string
  tag?: string
  name?: string
  /** For FHIR records: what the resource is and where its references lead (see fhir-records.ts). */
  fhir?: FhirMeta
}

/** The scope id of a record's delegating key in `epoch`: the record id itself, then keccak256(id ‖ uint32 epoch). */
export function recordScopeId(recordId: Hex, epoch: number): Hex {
  if (epoch === 0) return recordId
  return keccak256(concat([recordId, numberToHex(epoch, { size: 4 })]))
}

/** The 32-byte HMAC tag of a category and the 8 bytes of it the chain stores. */
export function tagOf(keys: DerivedKeys, category: string): { tag32: Uint8Array; chainTag: Hex } {
  const tag32 = tagFor(keys.tagKey, category)
  const chainTag = bytesToHex(tag32.slice(0, 8))
  // The chain reads a zero tag as "untagged"; an HMAC starting with eight zero bytes is a 2^-64 event.
  if (/^0x0{16}$/.test(chainTag))
    throw new InvalidOptionError({ option: 'tag', expected: 'another category name' })
  return { tag32, chainTag }
}

export function contentAad(recordId: Hex): Uint8Array {
  return utf8.encode(`medvault/content/v1/${recordId.toLowerCase()}`)
}

export function metaAad(recordId: Hex): Uint8Array {
  return utf8.encode(`medvault/meta/v1/${recordId.toLowerCase()}`)
}

/** Turns record content into chunks and the media type it implies. */
export function contentSource(content: RecordContent): {
  chunks: AsyncIterable<Uint8Array>
  mediaType: string
} {
  if (content instanceof Uint8Array) return { chunks: once(content), mediaType: 'application/octet-stream' }
  if (content instanceof ArrayBuffer) {
    return { chunks: once(new Uint8Array(content)), mediaType: 'application/octet-stream' }
  }
  if (typeof content === 'string')
    return { chunks: once(utf8.encode(content)), mediaType: 'text/plain; charset=utf-8' }
  if (typeof Blob !== 'undefined' && content instanceof Blob) {
    return {
      chunks: checked(readable(content.stream())),
      mediaType: content.type || 'application/octet-stream',
    }
  }
  if (content !== null && typeof content === 'object') {
    if (Array.isArray(content)) return json(content)
    if (
      typeof (content as unknown as ReadableStream).getReader === 'function' &&
      !(Symbol.asyncIterator in content)
    ) {
      return {
        chunks: checked(readable(content as unknown as ReadableStream<Uint8Array>)),
        mediaType: 'application/octet-stream',
      }
    }
    if (Symbol.asyncIterator in content || Symbol.iterator in content) {
      return {
        chunks: checked(content as AsyncIterable<Uint8Array> | Iterable<Uint8Array>),
        mediaType: 'application/octet-stream',
      }
    }
    return json(content as { [key: string]: JsonValue })
  }
  throw new InvalidOptionError({
    option: 'content',
    expected:
      'bytes, a string, a Blob, a ReadableStream, an (async) iterable of Uint8Array chunks, or a JSON object',
  })
}

function json(value: JsonValue[] | { [key: string]: JsonValue }): {
  chunks: AsyncIterable<Uint8Array>
  mediaType: string
} {
  let text: string | undefined
  try {
    text = JSON.stringify(value)
  } catch (cause) {
    throw new InvalidOptionError({
      option: 'content',
      expected: 'a JSON-serialisable object or array',
      cause,
    })
  }
  if (text === undefined)
    throw new InvalidOptionError({ option: 'content', expected: 'a JSON-serialisable object' })
  const fhir = !Array.isArray(value) && typeof value.resourceType === 'string'
  return { chunks: once(utf8.encode(text)), mediaType: fhir ? 'application/fhir+json' : 'application/json' }
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

async function* readable(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader()
  try {
    while (true) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } finally {
    await reader.cancel().catch(() => {})
    reader.releaseLock()
  }
}

async function* checked(source: AsyncIterable<unknown> | Iterable<unknown>): AsyncGenerator<Uint8Array> {
  for await (const chunk of source as AsyncIterable<unknown>) {
    if (!(chunk instanceof Uint8Array)) {
      throw new InvalidOptionError({ option: 'content', expected: 'a stream of Uint8Array chunks' })
    }
    yield chunk
  }
}

/**
 * Encrypts `chunks` under `dek` and stores the ciphertext as a UnixFS file, streaming (memory stays at a few
 * segments whatever the size). Returns the content CID and the plaintext size.
 */
export async function encryptToStorage(
  ctx: VaultContext,
  parameters: {
    recordId: Hex
    dek: Uint8Array
    chunks: AsyncIterable<Uint8Array>
    segmentSize: number
    signal?: AbortSignal | undefined
    onProgress?: ((event: VaultProgressEvent) => void) | undefined
  },
): Promise<{ content: CID; size: number }> {
  const { signal, onProgress } = parameters
  let size = 0
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of parameters.chunks) {
      signal?.throwIfAborted()
      size += chunk.length
      yield chunk
      onProgress?.({ type: 'records:put:bytes', bytes: size })
    }
  }
  const ciphertext = encryptStream(parameters.dek, counted(), {
    segmentSize: parameters.segmentSize,
    aad: contentAad(parameters.recordId),
    ...(signal === undefined ? {} : { signal }),
  })
  const content = await ctx.storage.putStream(ciphertext, signal === undefined ? {} : { signal })
  return { content, size }
}

/**
 * Public delegating keys that do not change for an account (its all-records key, one per tag), by derived
 * keys: every put needs them, and a base-point multiplication per put and level is the put's largest CPU cost
 * after the content's encryption.
 */
const stablePublicKeys = new WeakMap<DerivedKeys, Map<string, PublicKey>>()

/** The public key of a delegating key, from the Umbral backend (WebAssembly when loaded, constant time). */
function delegatingPublicKey(keys: DerivedKeys, scope: Parameters<typeof deriveDelegatingKey>[1]): PublicKey {
  const sk = deriveDelegatingKey(keys, scope)
  try {
    return SecretKey.fromBEBytes(sk).publicKey()
  } finally {
    sk.fill(0)
  }
}

function stablePublicKey(keys: DerivedKeys, scope: 'all' | { tag: Uint8Array }): PublicKey {
  let cache = stablePublicKeys.get(keys)
  if (cache === undefined) {
    cache = new Map()
    stablePublicKeys.set(keys, cache)
  }
  const id = scope === 'all' ? 'all' : bytesToHex(scope.tag)
  let pk = cache.get(id)
  if (pk === undefined) {
    pk = delegatingPublicKey(keys, scope)
    cache.set(id, pk)
  }
  return pk
}

function delegatingKeysOf(
  keys: DerivedKeys,
  parameters: { recordId: Hex; epoch: number; tag32: Uint8Array | undefined },
): { record: PublicKey; tag: PublicKey | undefined; all: PublicKey } {
  return {
    record: delegatingPublicKey(keys, { record: recordScopeId(parameters.recordId, parameters.epoch) }),
    tag: parameters.tag32 === undefined ? undefined : stablePublicKey(keys, { tag: parameters.tag32 }),
    all: stablePublicKey(keys, 'all'),
  }
}

/** The public delegating keys of a record's three scope levels in `epoch`. */
export function delegatingPublicKeys(
  keys: DerivedKeys,
  parameters: { recordId: Hex; epoch: number; tag32: Uint8Array | undefined },
): { record: Uint8Array; tag: Uint8Array | undefined; all: Uint8Array } {
  const pks = delegatingKeysOf(keys, parameters)
  return {
    record: pks.record.toCompressedBytes(),
    tag: pks.tag?.toCompressedBytes(),
    all: pks.all.toCompressedBytes(),
  }
}

/**
 * Capsules parsed from an envelope's bytes, by those bytes (the envelope's own `Uint8Array`, never handed to an
 * app). Parsing checks the capsule's proof and costs as much as opening it (≈0.13 ms), and a vault reads the
 * envelopes it keeps in memory (see {@link rememberEnvelope}) again and again; an envelope it built has its
 * capsules here from the start.
 */
const parsedCapsules = new WeakMap<Uint8Array, Capsule>()

/** The capsule in `bytes`, parsed and checked once per envelope in memory. */
export function parsedCapsule(bytes: Uint8Array): Capsule {
  let capsule = parsedCapsules.get(bytes)
  if (capsule === undefined) {
    capsule = Capsule.fromBytesSimple(bytes)
    parsedCapsules.set(bytes, capsule)
  }
  return capsule
}

/** Builds a version-1 envelope: the data key encapsulated at each scope level, the metadata sealed. */
export function buildEnvelope(
  keys: DerivedKeys,
  parameters: {
    recordId: Hex
    epoch: number
    tag32: Uint8Array | undefined
    dek: Uint8Array
    content: CID
    size: number
    segment: number
    meta: RecordMeta
    prev: CID | undefined
  },
): RecordEnvelope {
  const pks = delegatingKeysOf(keys, parameters)
  const capsules: Partial<ScopedBytes> = {}
  const wrappedKeys: Partial<ScopedBytes> = {}
  for (const level of ['record', 'tag', 'all'] as const) {
    const pk = pks[level]
    if (pk === undefined) continue
    const [capsule, wrapped] = encrypt(pk, parameters.dek)
    const bytes = capsule.toBytesSimple()
    parsedCapsules.set(bytes, capsule)
    capsules[level] = bytes
    wrappedKeys[level] = wrapped
  }
  const meta: RecordMeta = { mediaType: parameters.meta.mediaType }
  if (parameters.meta.tag !== undefined) meta.tag = parameters.meta.tag
  if (parameters.meta.name !== undefined) meta.name = parameters.meta.name
  if (parameters.meta.fhir !== undefined) meta.fhir = parameters.meta.fhir
  return {
    v: 1,
    content: parameters.content,
    size: parameters.size,
    segment: parameters.segment,
    epoch: parameters.epoch,
    capsules: capsules as ScopedBytes,
    wrappedKeys: wrappedKeys as ScopedBytes,
    meta: seal(parameters.dek, utf8.encode(JSON.stringify(meta)), metaAad(parameters.recordId)),
    ...(parameters.prev === undefined ? {} : { prev: parameters.prev }),
  }
}

/** The owner opens the data key with the record's own delegating key of the envelope's epoch. */
export function openAsOwner(keys: DerivedKeys, recordId: Hex, envelope: RecordEnvelope): Uint8Array {
  const skBytes = deriveDelegatingKey(keys, { record: recordScopeId(recordId, envelope.epoch) })
  try {
    const sk = SecretKey.fromBEBytes(skBytes)
    return decryptOriginal(sk, parsedCapsule(envelope.capsules.record), envelope.wrappedKeys.record)
  } catch (cause) {
    throw new IntegrityError({
      target: 'data key',
      recordId,
      reason: 'the data key does not open with the record key',
      cause,
    })
  } finally {
    skBytes.fill(0)
  }
}

/** Opens the sealed metadata. */
export function openMeta(dek: Uint8Array, recordId: Hex, envelope: RecordEnvelope): RecordMeta {
  let value: unknown
  try {
    value = JSON.parse(
      new TextDecoder('utf-8', { fatal: true }).decode(open(dek, envelope.meta, metaAad(recordId))),
    )
  } catch (cause) {
    throw new IntegrityError({
      target: 'metadata',
      recordId,
      reason: 'the metadata does not authenticate',
      cause,
    })
  }
  const meta = value as Partial<RecordMeta> | null
  if (meta === null || typeof meta !== 'object' || typeof meta.mediaType !== 'string') {
    throw new IntegrityError({ target: 'metadata', recordId, reason: 'the metadata has no media type' })
  }
  const out: RecordMeta = { mediaType: meta.mediaType }
  if (typeof meta.tag === 'string') out.tag = meta.tag
  if (typeof meta.name === 'string') out.name = meta.name
  const fhir = parseFhirMeta(meta.fhir)
  if (fhir !== undefined) out.fhir = fhir
  return out
}

/** A record's chain facts and the envelope of one of its versions, checked. */
export interface LoadedRecord {
  recordId: Hex
  owner: Address
  /** The current version on chain. */
  currentVersion: number
  /** The version loaded. */
  version: number
  chainTag: Hex | undefined
  cid: CID
  envelope: RecordEnvelope
}

/**
 * Reads a record from the chain (owner, current version, tag) and the envelope of the version asked for from
 * storage (each block checked against its CID, the envelope decoded strictly). The version's CID comes from
 * the vault's read index: from memory when known, else from the record's events (see read-index.ts). When a
 * CID is remembered, its envelope is fetched while the chain is asked, and used only if the chain's answer
 * makes it the version wanted.
 */
export async function loadRecord(
  ctx: VaultContext,
  recordId: Hex,
  options: { version?: number | undefined; signal?: AbortSignal | undefined } = {},
): Promise<LoadedRecord> {
  const guess = options.version === undefined ? ctx.index.latestKnown(recordId) : undefined
  const early =
    guess === undefined
      ? undefined
      : loadEnvelope(ctx, cidFromHex(guess.cid, recordId), recordId, options.signal).then(
          (envelope) => ({ ok: true as const, envelope }),
          (error: unknown) => ({ ok: false as const, error }),
        )
  let record: Awaited<ReturnType<typeof getRecord>>
  try {
    record = await getRecord(ctx.publicClient, { addresses: ctx.addresses, recordId })
  } catch (err) {
    if (err instanceof ChainRecordNotFoundError) throw new RecordNotFoundError({ recordId, cause: err })
    throw err
  }
  options.signal?.throwIfAborted()
  const version = options.version ?? record.version
  if (!Number.isInteger(version) || version < 1 || version > record.version) {
    throw new InvalidOptionError({ option: 'version', expected: `a version from 1 to ${record.version}` })
  }
  const entry = (await ctx.index.versions(recordId, version))[version - 1]
  if (entry === undefined || entry.version !== version) {
    throw new IntegrityError({
      target: 'envelope',
      recordId,
      reason: `no registration event for version ${version}`,
    })
  }
  const cid = cidFromHex(entry.cid, recordId)
  let envelope: RecordEnvelope
  const prefetched = guess !== undefined && guess.version === version ? await early : undefined
  if (prefetched === undefined) envelope = await loadEnvelope(ctx, cid, recordId, options.signal)
  else if (prefetched.ok) envelope = prefetched.envelope
  else throw prefetched.error
  return {
    recordId,
    owner: record.owner,
    currentVersion: record.version,
    version,
    chainTag: /^0x0{16}$/.test(record.tag) ? undefined : record.tag,
    cid,
    envelope,
  }
}

export function cidFromHex(hex: Hex, recordId?: Hex): CID {
  try {
    return CID.decode(hexToBytes(hex))
  } catch (cause) {
    throw new IntegrityError({
      target: 'envelope',
      ...(recordId === undefined ? {} : { recordId }),
      reason: 'the CID registered on chain does not decode',
      cause,
    })
  }
}

/**
 * Envelopes this vault already checked, by CID: an envelope is named by the hash of its bytes, so the one
 * decoded and checked once (or built and stored by this vault) is the one any later read of that CID would
 * decode. A record read again, or read back after its put, then skips the block read and the envelope checks
 * (their curve point decoding is most of a small read's CPU). A block altered on disk afterwards is not read
 * by this vault again; what it returns is still the authentic envelope. Bounded; least recently used out.
 */
const checkedEnvelopes = new WeakMap<VaultContext, Map<string, RecordEnvelope>>()
const CHECKED_ENVELOPES_MAX = 512

function envelopeCache(ctx: VaultContext): Map<string, RecordEnvelope> {
  let cache = checkedEnvelopes.get(ctx)
  if (cache === undefined) {
    cache = new Map()
    checkedEnvelopes.set(ctx, cache)
  }
  return cache
}

/** Keeps an envelope known to be the one `cid` names (decoded from its verified block, or encoded to it). */
export function rememberEnvelope(ctx: VaultContext, cid: CID, envelope: RecordEnvelope): void {
  const cache = envelopeCache(ctx)
  const key = cid.toString()
  cache.delete(key)
  cache.set(key, envelope)
  if (cache.size > CHECKED_ENVELOPES_MAX) cache.delete(cache.keys().next().value as string)
}

/** Fetches and strictly decodes an envelope; a block that does not match its CID is an IntegrityError. */
export async function loadEnvelope(
  ctx: VaultContext,
  cid: CID,
  recordId: Hex,
  signal: AbortSignal | undefined,
): Promise<RecordEnvelope> {
  const cache = envelopeCache(ctx)
  const key = cid.toString()
  const known = cache.get(key)
  if (known !== undefined) {
    cache.delete(key)
    cache.set(key, known)
    return known
  }
  const envelope = await fetchEnvelope(ctx, cid, recordId, signal)
  rememberEnvelope(ctx, cid, envelope)
  return envelope
}

async function fetchEnvelope(
  ctx: VaultContext,
  cid: CID,
  recordId: Hex,
  signal: AbortSignal | undefined,
): Promise<RecordEnvelope> {
  let value: unknown
  try {
    value = await ctx.storage.getEnvelope(cid, signal === undefined ? {} : { signal })
  } catch (err) {
    throw storageIntegrity(err, 'envelope', recordId)
  }
  try {
    return parseRecordEnvelope(value)
  } catch (cause) {
    throw new IntegrityError({
      target: 'envelope',
      recordId,
      reason: 'the envelope is not a valid record envelope',
      cause,
    })
  }
}

/** Storage errors that mean "these are not the registered bytes" become IntegrityError; others pass. */
export function storageIntegrity(
  err: unknown,
  target: 'envelope' | 'content' | 'kfrag bundle',
  recordId?: Hex,
): unknown {
  if (err instanceof BlockVerificationError || err instanceof UnverifiableCidError) {
    return new IntegrityError({
      target,
      ...(recordId === undefined ? {} : { recordId }),
      reason: 'a block does not match its CID',
      cause: err,
    })
  }
  // A block can match its CID and still not be what the chain registered: a CID of malformed dag-pb or
  // dag-cbor, or of something that is not a file, registered by a careless or hostile writer.
  if (err instanceof MalformedBlockError || err instanceof NotAFileError) {
    return new IntegrityError({
      target,
      ...(recordId === undefined ? {} : { recordId }),
      reason: 'a block is not the kind of block the record format requires',
      cause: err,
    })
  }
  return err
}

/** Bytes read from storage per request: what is in memory of the ciphertext at any time, at most. */
const READ_WINDOW = 4 * 1024 * 1024

/**
 * The ciphertext of the envelope's content, read window by window. A single read of a whole UnixFS file lets
 * the exporter fetch every block of a DAG layer ahead of the consumer (a 1 GiB file would end up in memory
 * while decryption catches up); byte ranges bound it to the window. The file must be exactly as long as the
 * envelope's size implies: the last window asks for one byte more, and a file that has it is refused (one
 * request, not a second one for the byte after the end).
 */
async function* readWindows(
  ctx: VaultContext,
  envelope: RecordEnvelope,
  recordId: Hex,
  signal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const length = encryptedStreamLength(envelope.size, envelope.segment)
  const options = signal === undefined ? {} : { signal }
  let offset = 0
  while (true) {
    const window = Math.min(READ_WINDOW, length - offset)
    const last = offset + window === length
    let got = 0
    for await (const chunk of ctx.storage.get(envelope.content, {
      ...options,
      offset,
      length: last ? window + 1 : window,
    })) {
      if (got + chunk.length > window) {
        if (got < window) yield chunk.subarray(0, window - got)
        throw new IntegrityError({
          target: 'content',
          recordId,
          reason: 'the content is longer than the envelope says',
        })
      }
      got += chunk.length
      yield chunk
    }
    // A shorter file: decryption of what was read fails as truncated.
    if (last || got < window) return
    offset += got
  }
}

/**
 * Decrypts a record's content as it streams in. Every segment is authenticated; the end checks that the
 * stream was complete and had the envelope's size. Any failure is an {@link IntegrityError}, thrown before
 * the stream ends, so a consumer never sees a silently truncated record.
 */
export async function* decryptContent(
  ctx: VaultContext,
  parameters: {
    recordId: Hex
    envelope: RecordEnvelope
    dek: Uint8Array
    signal?: AbortSignal | undefined
    onProgress?: ((event: VaultProgressEvent) => void) | undefined
  },
): AsyncGenerator<Uint8Array, void, undefined> {
  const { recordId, envelope, dek, signal, onProgress } = parameters
  const ciphertext = readWindows(ctx, envelope, recordId, signal)
  let bytes = 0
  try {
    for await (const chunk of decryptStream(dek, ciphertext, {
      aad: contentAad(recordId),
      ...(signal === undefined ? {} : { signal }),
    })) {
      bytes += chunk.length
      if (bytes > envelope.size) {
        throw new IntegrityError({
          target: 'content',
          recordId,
          reason: 'the content is longer than the envelope says',
        })
      }
      yield chunk
      onProgress?.({ type: 'records:get:bytes', bytes, total: envelope.size })
    }
  } catch (err) {
    if (err instanceof IntegrityError) throw err
    if (err instanceof DecryptionError || err instanceof InvalidHeaderError) {
      throw new IntegrityError({
        target: 'content',
        recordId,
        reason: 'the content does not authenticate',
        cause: err,
      })
    }
    if (err instanceof CryptoBaseError && err.name === 'UnsupportedVersionError') {
      throw new IntegrityError({
        target: 'content',
        recordId,
        reason: 'the content stream has an unknown version',
        cause: err,
      })
    }
    throw storageIntegrity(err, 'content', recordId)
  }
  if (bytes !== envelope.size) {
    throw new IntegrityError({
      target: 'content',
      recordId,
      reason: 'the content is shorter than the envelope says',
    })
  }
}
