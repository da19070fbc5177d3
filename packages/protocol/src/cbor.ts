/**
 * DAG-CBOR with one encoding per value: decoding refuses any bytes that do not re-encode to themselves
 * (non-minimal integers, unsorted or duplicate keys, floats where an integer fits, indefinite lengths, tags
 * other than 42, trailing bytes), so a format's bytes — and so its CID — are a function of its fields.
 *
 * @module
 */
import * as dagCbor from '@ipld/dag-cbor'
import { sha256 } from '@noble/hashes/sha2.js'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { type FormatName, MalformedEncodingError, TooLargeError } from './errors.ts'
import { DAG_CBOR, SHA2_256 } from './fields.ts'

/** Decodes canonical DAG-CBOR of at most `limit` bytes; anything else is a {@link MalformedEncodingError}. */
export function decodeCanonical(format: FormatName, bytes: Uint8Array, limit: number): unknown {
  if (!(bytes instanceof Uint8Array)) {
    throw new MalformedEncodingError({ format, reason: 'expected the DAG-CBOR bytes as a Uint8Array' })
  }
  if (bytes.length > limit) throw new TooLargeError({ format, limit, size: bytes.length })
  let value: unknown
  try {
    value = dagCbor.decode(bytes)
  } catch {
    // cborg's messages are dropped: they may quote positions and values of the input.
    throw new MalformedEncodingError({ format, reason: 'not DAG-CBOR' })
  }
  let again: Uint8Array
  try {
    again = dagCbor.encode(value)
  } catch {
    throw new MalformedEncodingError({ format, reason: 'not DAG-CBOR' })
  }
  if (!equalBytes(again, bytes)) {
    throw new MalformedEncodingError({ format, reason: 'not in canonical DAG-CBOR form' })
  }
  return value
}

/** Encodes an IPLD value (the caller has checked it) as DAG-CBOR. */
export function encodeValue(value: unknown): Uint8Array {
  return dagCbor.encode(value)
}

/** Re-encodes an already decoded IPLD value (from `storage.getEnvelope`) so it is checked like bytes. */
export function reencode(format: FormatName, value: unknown): Uint8Array {
  try {
    return dagCbor.encode(value)
  } catch {
    throw new MalformedEncodingError({ format, reason: 'not an IPLD data model value' })
  }
}

/**
 * The CID that IPFS gives these DAG-CBOR bytes: CIDv1, codec dag-cbor (0x71), sha2-256 — the CID
 * `storage.putEnvelope` returns for the same value.
 *
 * @param bytes - the encoded object, e.g. from {@link encodeRecordEnvelope}.
 */
export function dagCborCid(bytes: Uint8Array): CID {
  return CID.createV1(DAG_CBOR, createDigest(SHA2_256, sha256(bytes)))
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}
