/**
 * Scalars, hashing and the scheme parameter `U` for Umbral on secp256k1, as umbral-pre ≥ 0.5 defines them.
 *
 * Scalars are bigints reduced mod the group order `n` (noble's scalar field). Points travel as 33-byte SEC1
 * compressed encodings: every hash in the scheme chains compressed points, so that is the form we need
 * anyway; the group backends keep decoded forms in caches.
 *
 * @module
 */
import { secp256k1, secp256k1_hasher } from '@noble/curves/secp256k1.js'
import { bytesToNumberBE, equalBytes, numberToBytesBE } from '@noble/curves/utils.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'

/** The scalar field of secp256k1 (integers mod the group order n). */
export const Fn = secp256k1.Point.Fn
/** The group order n. */
export const N: bigint = Fn.ORDER

export const SCALAR_SIZE = 32
export const POINT_SIZE = 33
/** The SEC1 encoding of the point at infinity. Never hashed or serialized: only an internal marker. */
export const IDENTITY: Uint8Array = Uint8Array.of(0)

/**
 * A private copy of (part of) a caller's byte array, always a plain Uint8Array (a Node Buffer's `slice`
 * would share memory). Inputs are copied before they are validated, so a caller mutating its array
 * afterwards cannot change — or bypass the validation of — what we hold; backends key caches by the
 * identity of these copies.
 */
export function copyBytes(bytes: Uint8Array, start?: number, end?: number): Uint8Array {
  return new Uint8Array(bytes.subarray(start, end))
}

export function isIdentity(p: Uint8Array): boolean {
  return p.length === 1 && p[0] === 0
}

export function scalarToBytes(k: bigint): Uint8Array {
  return numberToBytesBE(k, SCALAR_SIZE)
}

/** Parses a 32-byte big-endian scalar `< n` (zero allowed); `undefined` if out of range. */
export function scalarFromBytes(bytes: Uint8Array): bigint | undefined {
  if (bytes.length !== SCALAR_SIZE) return undefined
  const k = bytesToNumberBE(bytes)
  return k < N ? k : undefined
}

/** A uniformly random scalar in [1, n), by rejection sampling like RustCrypto's `NonZeroScalar::random`. */
export function randomNonZeroScalar(): bigint {
  for (;;) {
    const k = bytesToNumberBE(randomBytes(SCALAR_SIZE))
    if (k !== 0n && k < N) return k
  }
}

const encoder = new TextEncoder()

export function utf8(s: string): Uint8Array {
  return encoder.encode(s)
}

/**
 * umbral-pre's `ScalarDigest`: SHA-256 over `len(dst)` (u32 big-endian) ‖ dst ‖ parts…, then the digest as a
 * big-endian integer x is mapped to the non-zero scalar `(x mod (n − 1)) + 1` (RustCrypto's `reduce_nonzero`).
 */
export function hashToNonZeroScalar(dst: Uint8Array, parts: readonly Uint8Array[]): bigint {
  const h = sha256.create()
  const len = new Uint8Array(4)
  new DataView(len.buffer).setUint32(0, dst.length, false)
  h.update(len).update(dst)
  for (const part of parts) h.update(part)
  return (bytesToNumberBE(h.digest()) % (N - 1n)) + 1n
}

/** Asserts a point is a real (non-identity) compressed point before it is hashed or serialized. */
export function encodedPoint(p: Uint8Array): Uint8Array {
  if (p.length !== POINT_SIZE) throw new RangeError('Cannot encode the point at infinity.')
  return p
}

export const DST = {
  polynomialArg: utf8('POLYNOMIAL_ARG'),
  sharedSecret: utf8('SHARED_SECRET'),
  capsulePoints: utf8('CAPSULE_POINTS'),
  cfragVerification: utf8('CFRAG_VERIFICATION'),
} as const

let u: Uint8Array | undefined

/**
 * The scheme parameter U: RFC 9380 hash_to_curve, suite secp256k1_XMD:SHA-256_SSWU_RO_, msg "POINT_U",
 * DST "PARAMETERS" — the same point `umbral-pre`'s `Parameters::new()` derives. Computed once; the same
 * Uint8Array instance is returned every time so backends can keep a precomputed table keyed by it.
 */
export function pointU(): Uint8Array {
  u ??= secp256k1_hasher.hashToCurve(utf8('POINT_U'), { DST: utf8('PARAMETERS') }).toBytes(true)
  return u
}

let g: Uint8Array | undefined

/** The compressed generator G, one shared instance (backends may key caches by it). */
export function pointG(): Uint8Array {
  g ??= secp256k1.Point.BASE.toBytes(true)
  return g
}

export function hex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

/** `Name:` followed by the hex of the first 8 bytes, as umbral-pre's `Display` for public objects. */
export function fmtPublic(typeName: string, bytes: Uint8Array): string {
  return `${typeName}:${hex(bytes.subarray(0, 8))}`
}

export { equalBytes }
