/**
 * The record envelope, version 1: the DAG-CBOR object whose CID the RecordRegistry holds. It links the
 * encrypted content and carries everything a reader needs besides a data key: the data key's Umbral
 * capsules, one per scope level, with the key wrapped under each, and the sealed metadata.
 *
 * @module
 */
import { MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE } from '@medvault/crypto'
import type { CID } from 'multiformats/cid'
import { decodeCanonical, encodeValue, reencode } from './cbor.ts'
import {
  MAX_ENVELOPE_BYTES,
  MAX_EPOCH,
  META_MAX_LENGTH,
  META_MIN_LENGTH,
  WRAPPED_KEY_LENGTH,
} from './constants.ts'
import { InvalidFieldError, ScopeNotInEnvelopeError } from './errors.ts'
import {
  DAG_CBOR,
  DAG_PB,
  expectBytes,
  expectCapsule,
  expectCid,
  expectKeys,
  expectObject,
  expectUint,
  expectVersion,
  type Fields,
  own,
  RAW,
} from './fields.ts'
import type { ScopeLevel } from './scope.ts'

const FORMAT = 'record envelope'

/** The record envelope versions this build reads. */
export const RECORD_ENVELOPE_VERSIONS: readonly number[] = [1]

/** One value per scope level; `tag` only for a tagged record. */
export interface ScopedBytes {
  /** For the record's own delegating key. */
  record: Uint8Array
  /** For the delegating key of the record's tag (present exactly when the record is tagged). */
  tag?: Uint8Array
  /** For the owner's all-records delegating key. */
  all: Uint8Array
}

/**
 * A record envelope, version 1. The object is the DAG-CBOR value itself: field names, types and
 * `Uint8Array`/`CID` values are what is encoded.
 */
export interface RecordEnvelope {
  v: 1
  /** The UnixFS file of the encrypted content stream (`encryptStream` output): raw or dag-pb, sha2-256. */
  content: CID
  /** Plaintext size in bytes. */
  size: number
  /** The content stream's segment size in bytes. */
  segment: number
  /** The record key epoch: 0 for the first data key, incremented by each rotation. */
  epoch: number
  /** The data key's Umbral capsules (simple form, 98 bytes each), one per scope level. */
  capsules: ScopedBytes
  /** The data key wrapped under each capsule (Umbral DEM ciphertext, 72 bytes each); same levels. */
  wrappedKeys: ScopedBytes
  /** Metadata (media type, FHIR resource type, title, …) sealed under the data key (`seal`). */
  meta: Uint8Array
  /** The envelope of the previous version of this record (dag-cbor CID), absent for the first. */
  prev?: CID
}

/**
 * Encodes a record envelope as canonical DAG-CBOR. Its CID is {@link dagCborCid} of the bytes, the same CID
 * `storage.putEnvelope(envelope)` returns.
 *
 * @throws {InvalidFieldError | MissingFieldError | UnexpectedFieldError | UnsupportedFormatVersionError}
 *   for any field the decoder would refuse: an encoder never writes what a decoder cannot read.
 * @example
 * ```ts
 * const bytes = encodeRecordEnvelope({ v: 1, content, size, segment, epoch: 0, capsules, wrappedKeys, meta })
 * const cid = dagCborCid(bytes)
 * ```
 */
export function encodeRecordEnvelope(envelope: RecordEnvelope): Uint8Array {
  return encodeValue(checkRecordEnvelope(withoutUndefined(envelope)))
}

/**
 * Decodes and checks a record envelope: canonical DAG-CBOR, a known version, exactly the fields of that
 * version, each of the right type and length (capsule points on the curve, CIDs of the right codec).
 *
 * It does not prove the envelope is the one registered: fetch it by the CID the chain holds, which the
 * storage verifies.
 *
 * @param bytes - at most {@link MAX_ENVELOPE_BYTES}.
 * @throws {MalformedEncodingError | TooLargeError | UnsupportedFormatVersionError | MissingFieldError |
 *   UnexpectedFieldError | InvalidFieldError}
 */
export function decodeRecordEnvelope(bytes: Uint8Array): RecordEnvelope {
  return checkRecordEnvelope(decodeCanonical(FORMAT, bytes, MAX_ENVELOPE_BYTES))
}

/**
 * Checks a value already decoded from DAG-CBOR (e.g. `await storage.getEnvelope(cid)`) exactly as
 * {@link decodeRecordEnvelope} checks bytes.
 */
export function parseRecordEnvelope(value: unknown): RecordEnvelope {
  return decodeRecordEnvelope(reencode(FORMAT, value))
}

/**
 * The capsule of one scope level, as a proxy re-encrypts it and as `capsuleHash` is computed over.
 *
 * @throws {ScopeNotInEnvelopeError} for `tag` on an untagged record.
 */
export function capsuleOf(envelope: RecordEnvelope, level: ScopeLevel): Uint8Array {
  const capsule = envelope.capsules[level]
  if (capsule === undefined) throw new ScopeNotInEnvelopeError({ level })
  return capsule
}

/**
 * The wrapped data key of one scope level (opened with that level's capsule).
 *
 * @throws {ScopeNotInEnvelopeError} for `tag` on an untagged record.
 */
export function wrappedKeyOf(envelope: RecordEnvelope, level: ScopeLevel): Uint8Array {
  const wrapped = envelope.wrappedKeys[level]
  if (wrapped === undefined) throw new ScopeNotInEnvelopeError({ level })
  return wrapped
}

function checkRecordEnvelope(value: unknown): RecordEnvelope {
  const obj = expectObject(FORMAT, value)
  // The version first: a future version may have other fields, and must be refused as a version.
  expectVersion(FORMAT, obj, '', RECORD_ENVELOPE_VERSIONS)
  expectKeys(
    FORMAT,
    obj,
    '',
    ['v', 'content', 'size', 'segment', 'epoch', 'capsules', 'wrappedKeys', 'meta'],
    ['prev'],
  )
  const content = expectCid(FORMAT, own(obj, 'content'), 'content', {
    codecs: [RAW, DAG_PB],
    versions: [0, 1],
  })
  const size = expectUint(FORMAT, own(obj, 'size'), 'size', 0, Number.MAX_SAFE_INTEGER)
  const segment = expectUint(FORMAT, own(obj, 'segment'), 'segment', MIN_SEGMENT_SIZE, MAX_SEGMENT_SIZE)
  const epoch = expectUint(FORMAT, own(obj, 'epoch'), 'epoch', 0, MAX_EPOCH)
  const capsules = scoped(own(obj, 'capsules'), 'capsules', (v, field) => expectCapsule(FORMAT, v, field))
  const wrappedKeys = scoped(own(obj, 'wrappedKeys'), 'wrappedKeys', (v, field) =>
    expectBytes(FORMAT, v, field, WRAPPED_KEY_LENGTH),
  )
  if ((capsules.tag === undefined) !== (wrappedKeys.tag === undefined)) {
    throw new InvalidFieldError({
      format: FORMAT,
      field: 'wrappedKeys.tag',
      expected: 'present exactly when capsules.tag is',
    })
  }
  const meta = expectBytes(FORMAT, own(obj, 'meta'), 'meta', { min: META_MIN_LENGTH, max: META_MAX_LENGTH })
  const envelope: RecordEnvelope = { v: 1, content, size, segment, epoch, capsules, wrappedKeys, meta }
  if (Object.hasOwn(obj, 'prev')) {
    envelope.prev = expectCid(FORMAT, own(obj, 'prev'), 'prev', { codecs: [DAG_CBOR], versions: [1] })
  }
  return envelope
}

function scoped(value: unknown, path: string, check: (v: unknown, field: string) => Uint8Array): ScopedBytes {
  const obj = expectObject(FORMAT, value, path)
  expectKeys(FORMAT, obj, path, ['record', 'all'], ['tag'])
  const out: ScopedBytes = {
    record: check(own(obj, 'record'), `${path}.record`),
    all: check(own(obj, 'all'), `${path}.all`),
  }
  if (Object.hasOwn(obj, 'tag')) out.tag = check(own(obj, 'tag'), `${path}.tag`)
  return out
}

/** Optional fields set to `undefined` by a JavaScript caller count as absent (DAG-CBOR has no `undefined`). */
function withoutUndefined(envelope: RecordEnvelope): Fields {
  const e = envelope as unknown
  if (e === null || typeof e !== 'object') return e as Fields
  const copy: Record<string, unknown> = { ...(e as Fields) }
  if (copy.prev === undefined) delete copy.prev
  for (const key of ['capsules', 'wrappedKeys']) {
    const inner = copy[key]
    if (
      inner !== null &&
      typeof inner === 'object' &&
      !Array.isArray(inner) &&
      !(inner instanceof Uint8Array)
    ) {
      const scopedCopy: Record<string, unknown> = { ...(inner as Fields) }
      if (scopedCopy.tag === undefined) delete scopedCopy.tag
      copy[key] = scopedCopy
    }
  }
  return copy
}
