/**
 * Field checks shared by every decoder and parser. Each throws one of the package's typed errors naming the
 * format and the field path, never the value.
 *
 * @internal
 * @module
 */
import { PublicKey } from '@medvault/crypto/umbral'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { CID } from 'multiformats/cid'
import { getAddress, type Hex } from 'viem'
import {
  type FormatName,
  InvalidFieldError,
  MalformedEncodingError,
  MissingFieldError,
  UnexpectedFieldError,
  UnsupportedFormatVersionError,
} from './errors.ts'

export type Fields = { readonly [key: string]: unknown }

const N = secp256k1.Point.Fn.ORDER

/** A plain object (not an array, bytes or CID), or an error naming `field` (or the format itself). */
export function expectObject(format: FormatName, value: unknown, field?: string): Fields {
  const isPlain =
    value !== null &&
    typeof value === 'object' &&
    !Array.isArray(value) &&
    !(value instanceof Uint8Array) &&
    CID.asCID(value) === null
  if (isPlain) return value as Fields
  if (field === undefined) throw new MalformedEncodingError({ format, reason: 'expected a map (an object)' })
  throw new InvalidFieldError({ format, field, expected: 'a map' })
}

/**
 * Checks that `obj` has exactly the `required` own keys and no key outside `required` ∪ `optional`.
 * Reads are then done through {@link own} so nothing inherited (e.g. through a `__proto__` key) counts.
 */
export function expectKeys(
  format: FormatName,
  obj: Fields,
  path: string,
  required: readonly string[],
  optional: readonly string[] = [],
): void {
  for (const key of Object.keys(obj)) {
    if (!required.includes(key) && !optional.includes(key)) {
      throw new UnexpectedFieldError({ format, field: join(path, key) })
    }
  }
  for (const key of required) {
    if (!Object.hasOwn(obj, key)) throw new MissingFieldError({ format, field: join(path, key) })
  }
}

/** An own property, or `undefined`. */
export function own(obj: Fields, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined
}

export function join(path: string, key: string): string {
  return path === '' ? key : `${path}.${key}`
}

/**
 * The object's `v` must be present and one of `supported`. Checked before any other field: another version
 * may have other fields, and must be refused as a version.
 */
export function expectVersion(
  format: FormatName,
  obj: Fields,
  path: string,
  supported: readonly number[],
): number {
  if (!Object.hasOwn(obj, 'v')) throw new MissingFieldError({ format, field: join(path, 'v') })
  const value = obj.v
  if (typeof value !== 'number' || !supported.includes(value)) {
    throw new UnsupportedFormatVersionError({ format, version: value, supported: [...supported] })
  }
  return value
}

/** An integer in `[min, max]` (a JS number: never a bigint or a float). */
export function expectUint(
  format: FormatName,
  value: unknown,
  field: string,
  min: number,
  max: number,
): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidFieldError({ format, field, expected: `an integer from ${min} to ${max}` })
  }
  return value
}

/** Bytes of exactly `length`, or of a length in `[length.min, length.max]`. */
export function expectBytes(
  format: FormatName,
  value: unknown,
  field: string,
  length: number | { min: number; max: number },
): Uint8Array {
  const [min, max] = typeof length === 'number' ? [length, length] : [length.min, length.max]
  if (!(value instanceof Uint8Array) || value.length < min || value.length > max) {
    const expected = min === max ? `${min} bytes` : `${min} to ${max} bytes`
    throw new InvalidFieldError({ format, field, expected })
  }
  return value
}

/** A compressed secp256k1 point on the curve (33 bytes, prefix 0x02 or 0x03). */
export function expectPoint(format: FormatName, value: unknown, field: string): Uint8Array {
  if (!(value instanceof Uint8Array) || !isCompressedPoint(value)) {
    throw new InvalidFieldError({
      format,
      field,
      expected: 'a compressed secp256k1 public key (33 bytes, on the curve)',
    })
  }
  return value
}

export function isCompressedPoint(bytes: Uint8Array): boolean {
  if (bytes.length !== 33 || (bytes[0] !== 2 && bytes[0] !== 3)) return false
  // Through the Umbral group backend (libsecp256k1 in WebAssembly where it loads, else noble): every envelope,
  // access request and kfrag bundle check decodes several points, and in pure JS each costs a square root.
  try {
    PublicKey.fromCompressedBytes(bytes)
    return true
  } catch {
    return false
  }
}

/** Umbral's simple capsule form `E(33) ‖ V(33) ‖ s(32)`: two points on the curve and a scalar below n. */
export function expectCapsule(format: FormatName, value: unknown, field: string): Uint8Array {
  const ok =
    value instanceof Uint8Array &&
    value.length === 98 &&
    isCompressedPoint(value.subarray(0, 33)) &&
    isCompressedPoint(value.subarray(33, 66)) &&
    isScalar(value.subarray(66))
  if (!ok) {
    throw new InvalidFieldError({
      format,
      field,
      expected: 'an Umbral capsule, 98 bytes E(33) ‖ V(33) ‖ s(32) with E and V on secp256k1 and 0 < s < n',
    })
  }
  return value
}

function isScalar(bytes: Uint8Array): boolean {
  let s = 0n
  for (const b of bytes) s = (s << 8n) | BigInt(b)
  return s > 0n && s < N
}

/** A CID with one of `codecs`, a sha2-256 multihash, and a version in `versions`. */
export function expectCid(
  format: FormatName,
  value: unknown,
  field: string,
  { codecs, versions }: { codecs: readonly number[]; versions: readonly number[] },
): CID {
  const cid = value instanceof Uint8Array ? null : CID.asCID(value)
  if (
    cid === null ||
    !versions.includes(cid.version) ||
    !codecs.includes(cid.code) ||
    cid.multihash.code !== SHA2_256 ||
    cid.multihash.digest.length !== 32
  ) {
    const codecNames = codecs.map((c) => CODEC_NAMES[c] ?? `0x${c.toString(16)}`).join(' or ')
    throw new InvalidFieldError({
      format,
      field,
      expected: `a CID (version ${versions.join(' or ')}, codec ${codecNames}, sha2-256)`,
    })
  }
  return cid
}

export function expectArray(
  format: FormatName,
  value: unknown,
  field: string,
  min: number,
  max: number,
): readonly unknown[] {
  if (!Array.isArray(value) || value.length < min || value.length > max) {
    throw new InvalidFieldError({ format, field, expected: `a list of ${min} to ${max} items` })
  }
  return value
}

export function expectString(
  format: FormatName,
  value: unknown,
  field: string,
  allowed: readonly string[],
): string {
  if (typeof value !== 'string' || !allowed.includes(value)) {
    throw new InvalidFieldError({
      format,
      field,
      expected: `one of ${allowed.map((a) => `"${a}"`).join(', ')}`,
    })
  }
  return value
}

const HEX = /^0x[0-9a-fA-F]*$/

/** A `0x` hex string of exactly `bytes` bytes, returned lowercase. */
export function expectHex(format: FormatName, value: unknown, field: string, bytes: number): Hex {
  if (typeof value !== 'string' || value.length !== 2 + 2 * bytes || !HEX.test(value)) {
    throw new InvalidFieldError({ format, field, expected: `0x-prefixed hex of ${bytes} bytes` })
  }
  return value.toLowerCase() as Hex
}

/** A `0x` hex string of `min` to `max` bytes, returned lowercase. */
export function expectHexRange(
  format: FormatName,
  value: unknown,
  field: string,
  min: number,
  max: number,
): Hex {
  if (
    typeof value !== 'string' ||
    value.length % 2 !== 0 ||
    value.length < 2 + 2 * min ||
    value.length > 2 + 2 * max ||
    !HEX.test(value)
  ) {
    throw new InvalidFieldError({ format, field, expected: `0x-prefixed hex of ${min} to ${max} bytes` })
  }
  return value.toLowerCase() as Hex
}

/**
 * A 20-byte address as hex: all lowercase, all uppercase, or with a correct EIP-55 checksum. Returned
 * checksummed.
 */
export function expectAddress(format: FormatName, value: unknown, field: string): Hex {
  const expected = 'an address (0x + 40 hex digits, EIP-55 checksummed when mixed-case)'
  if (typeof value !== 'string' || value.length !== 42 || !HEX.test(value)) {
    throw new InvalidFieldError({ format, field, expected })
  }
  const body = value.slice(2)
  const checksummed = getAddress(value)
  if (body !== body.toLowerCase() && body !== body.toUpperCase() && checksummed !== value) {
    throw new InvalidFieldError({ format, field, expected })
  }
  return checksummed
}

export const SHA2_256 = 0x12
export const RAW = 0x55
export const DAG_PB = 0x70
export const DAG_CBOR = 0x71

const CODEC_NAMES: Record<number, string> = { [RAW]: 'raw', [DAG_PB]: 'dag-pb', [DAG_CBOR]: 'dag-cbor' }
