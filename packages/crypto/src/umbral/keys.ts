/**
 * Keys and signatures: `SecretKey`, `PublicKey`, `Signer`, `Signature`, `RecoverableSignature` and
 * `SecretKeyFactory`, with the byte formats of umbral-pre 0.10.
 *
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { bytesToNumberBE } from '@noble/curves/utils.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { getBackend } from './backend.ts'
import {
  copyBytes,
  equalBytes,
  fmtPublic,
  hashToNonZeroScalar,
  N,
  POINT_SIZE,
  randomNonZeroScalar,
  SCALAR_SIZE,
  scalarToBytes,
  utf8,
} from './curve.ts'
import { UmbralDeserializationError } from './errors.ts'

const scalars = new WeakMap<SecretKey, bigint>()
const points = new WeakMap<PublicKey, Uint8Array>()

/** @internal The secret scalar of a key. Never exported from the package entry point. */
export function secretScalar(sk: SecretKey): bigint {
  const k = scalars.get(sk)
  if (k === undefined) throw new TypeError('Expected a SecretKey made by this module.')
  return k
}

/** @internal The compressed point of a public key (the module's own copy: never hand it out). */
export function publicPoint(pk: PublicKey): Uint8Array {
  const p = points.get(pk)
  if (p === undefined) throw new TypeError('Expected a PublicKey made by this module.')
  return p
}

/** @internal Wraps a compressed point this module computed or validated. */
export function publicKeyFromPoint(point: Uint8Array): PublicKey {
  return new PublicKey(point, TOKEN)
}

const TOKEN = Symbol('umbral-internal')

function checkToken(token: symbol): void {
  if (token !== TOKEN) throw new TypeError('Use the static factory methods instead of `new`.')
}

function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array.`)
}

/**
 * A secp256k1 secret key (a scalar in [1, n)).
 *
 * `toString()` never shows the key. JavaScript cannot wipe bigints or guarantee that copies of a
 * Uint8Array are gone: keep secret keys short-lived and out of logs.
 */
export class SecretKey {
  #publicKey: PublicKey | undefined

  /** @internal use {@link SecretKey.random} or {@link SecretKey.fromBEBytes} */
  constructor(scalar: bigint, token: symbol) {
    checkToken(token)
    scalars.set(this, scalar)
  }

  /** A fresh random key from the platform CSPRNG. */
  static random(): SecretKey {
    return new SecretKey(randomNonZeroScalar(), TOKEN)
  }

  /**
   * Restores a key from its 32-byte big-endian form.
   * @throws {UmbralDeserializationError} if not 32 bytes, zero, or not below the group order.
   */
  static fromBEBytes(data: Uint8Array): SecretKey {
    assertBytes(data, 'data')
    if (data.length !== SCALAR_SIZE) {
      throw new UmbralDeserializationError('SecretKey', `expected ${SCALAR_SIZE} bytes, got ${data.length}`)
    }
    const k = bytesToNumberBE(data)
    if (k === 0n || k >= N) {
      throw new UmbralDeserializationError('SecretKey', 'the scalar is zero or not below the group order')
    }
    return new SecretKey(k, TOKEN)
  }

  /** The key as a 32-byte big-endian scalar. Secret: handle with care. */
  toBEBytes(): Uint8Array {
    return scalarToBytes(secretScalar(this))
  }

  /** The matching public key (computed once, in constant time). */
  publicKey(): PublicKey {
    this.#publicKey ??= publicKeyFromPoint(getBackend().baseMul(secretScalar(this)))
    return this.#publicKey
  }

  toString(): string {
    return 'SecretKey:...'
  }

  /** No-op, for drop-in compatibility with the WASM package (there is no WASM memory to free). */
  free(): void {}
}

/** A secp256k1 public key, serialized as a 33-byte compressed point. */
export class PublicKey {
  /** @internal use {@link PublicKey.fromCompressedBytes} or {@link SecretKey.publicKey} */
  constructor(point: Uint8Array, token: symbol) {
    checkToken(token)
    points.set(this, point)
  }

  /**
   * Parses a 33-byte SEC1 compressed point.
   * @throws {UmbralDeserializationError} if it is not a point on secp256k1.
   */
  static fromCompressedBytes(data: Uint8Array): PublicKey {
    assertBytes(data, 'data')
    const point = copyBytes(data)
    if (point.length !== POINT_SIZE || !getBackend().isValidPoint(point)) {
      throw new UmbralDeserializationError('PublicKey', 'not a 33-byte compressed secp256k1 point')
    }
    return new PublicKey(point, TOKEN)
  }

  /**
   * Recovers the signer's key from a 32-byte prehash and a recoverable signature (as used on Ethereum).
   * @throws {UmbralDeserializationError} if no key can be recovered.
   */
  static recoverFromPrehash(prehash: Uint8Array, signature: RecoverableSignature): PublicKey {
    assertBytes(prehash, 'prehash')
    const bytes = signature.toBEBytes()
    try {
      const sig = secp256k1.Signature.fromBytes(bytes.subarray(0, 64), 'compact').addRecoveryBit(
        bytes[64] as number,
      )
      return new PublicKey(sig.recoverPublicKey(prehash).toBytes(true), TOKEN)
    } catch (cause) {
      throw new UmbralDeserializationError('PublicKey', 'cannot recover a key from this signature', { cause })
    }
  }

  toCompressedBytes(): Uint8Array {
    return publicPoint(this).slice()
  }

  toString(): string {
    return fmtPublic('PublicKey', publicPoint(this))
  }

  equals(other: PublicKey): boolean {
    return equalBytes(publicPoint(this), publicPoint(other))
  }

  __getClassname(): string {
    return 'PublicKey'
  }

  free(): void {}
}

function digestForSigning(message: Uint8Array): Uint8Array {
  return sha256(message)
}

/** An ECDSA signature over SHA-256(message), low-S, serialized as r ‖ s (32 + 32 bytes big-endian). */
export class Signature {
  readonly #bytes: Uint8Array

  /** @internal */
  constructor(bytes: Uint8Array, token: symbol) {
    checkToken(token)
    this.#bytes = bytes
  }

  /**
   * Parses r ‖ s (64 bytes), each in [1, n). A high-S signature parses but never verifies.
   * @throws {UmbralDeserializationError}
   */
  static fromBEBytes(data: Uint8Array): Signature {
    assertBytes(data, 'data')
    const bytes = copyBytes(data)
    if (bytes.length !== 64) {
      throw new UmbralDeserializationError('Signature', `expected 64 bytes, got ${bytes.length}`)
    }
    const r = bytesToNumberBE(bytes.subarray(0, 32))
    const s = bytesToNumberBE(bytes.subarray(32))
    if (r === 0n || r >= N || s === 0n || s >= N) {
      throw new UmbralDeserializationError('Signature', 'r or s is zero or not below the group order')
    }
    return new Signature(bytes, TOKEN)
  }

  /**
   * Parses an ASN.1 DER signature. Like the reference, `s` is not normalized: a high-S signature parses
   * but does not verify.
   * @throws {UmbralDeserializationError}
   */
  static fromDerBytes(data: Uint8Array): Signature {
    assertBytes(data, 'data')
    try {
      return new Signature(secp256k1.Signature.fromBytes(data, 'der').toBytes('compact'), TOKEN)
    } catch (cause) {
      throw new UmbralDeserializationError('Signature', 'not a valid DER signature', { cause })
    }
  }

  /** Whether this is a valid signature of `message` by the holder of `verifyingPk`. */
  verify(verifyingPk: PublicKey, message: Uint8Array): boolean {
    assertBytes(message, 'message')
    return getBackend().verifyPrehashed(this.#bytes, digestForSigning(message), publicPoint(verifyingPk))
  }

  /** @internal verification when the caller already has the SHA-256 of the message. */
  verifyDigest(verifyingPk: PublicKey, digest: Uint8Array): boolean {
    return getBackend().verifyPrehashed(this.#bytes, digest, publicPoint(verifyingPk))
  }

  toBEBytes(): Uint8Array {
    return this.#bytes.slice()
  }

  toDerBytes(): Uint8Array {
    return secp256k1.Signature.fromBytes(this.#bytes, 'compact').toBytes('der')
  }

  toString(): string {
    return fmtPublic('Signature', this.#bytes)
  }

  equals(other: Signature): boolean {
    return equalBytes(this.#bytes, other.toBEBytes())
  }

  free(): void {}
}

/** @internal */
export function signatureFromTrustedBytes(bytes: Uint8Array): Signature {
  return new Signature(bytes, TOKEN)
}

/** Signs messages (ECDSA over SHA-256, hedged: RFC 6979 with added randomness, low-S). */
export class Signer {
  readonly #sk: SecretKey

  constructor(secretKey: SecretKey) {
    secretScalar(secretKey)
    this.#sk = secretKey
  }

  sign(message: Uint8Array): Signature {
    assertBytes(message, 'message')
    return this.signDigest(digestForSigning(message))
  }

  /** @internal */
  signDigest(digest: Uint8Array): Signature {
    return new Signature(getBackend().signPrehashed(digest, this.#sk.toBEBytes()), TOKEN)
  }

  verifyingKey(): PublicKey {
    return this.#sk.publicKey()
  }

  toString(): string {
    return 'Signer:...'
  }

  free(): void {}
}

/** A signature with its recovery byte: r ‖ s ‖ v (32 + 32 + 1 bytes), v in 0..3. */
export class RecoverableSignature {
  readonly #bytes: Uint8Array

  /** @internal */
  constructor(bytes: Uint8Array, token: symbol) {
    checkToken(token)
    this.#bytes = bytes
  }

  /** @throws {UmbralDeserializationError} */
  static fromBEBytes(data: Uint8Array): RecoverableSignature {
    assertBytes(data, 'data')
    const bytes = copyBytes(data)
    if (bytes.length !== 65) {
      throw new UmbralDeserializationError('RecoverableSignature', 'Invalid size of a recoverable signature')
    }
    Signature.fromBEBytes(bytes.subarray(0, 64))
    if ((bytes[64] as number) > 3)
      throw new UmbralDeserializationError('RecoverableSignature', 'Invalid recovery byte')
    return new RecoverableSignature(bytes, TOKEN)
  }

  toBEBytes(): Uint8Array {
    return this.#bytes.slice()
  }

  toString(): string {
    return fmtPublic('RecoverableSignature', this.#bytes)
  }

  equals(other: RecoverableSignature): boolean {
    return equalBytes(this.#bytes, other.toBEBytes())
  }

  free(): void {}
}

/** @internal */
export function recoverableSignature(bytes: Uint8Array): RecoverableSignature {
  return new RecoverableSignature(bytes, TOKEN)
}

const SEED_SIZE = 32
const DERIVED_SIZE = 64

/**
 * Deterministic derivation of secret keys (and sub-factories) from a 32-byte seed and labels, with the
 * same HKDF-SHA256 labels as umbral-pre, so both produce the same keys from the same seed.
 */
export class SecretKeyFactory {
  readonly #seed: Uint8Array

  /** @internal */
  constructor(seed: Uint8Array, token: symbol) {
    checkToken(token)
    this.#seed = seed
  }

  static random(): SecretKeyFactory {
    return new SecretKeyFactory(randomBytes(SEED_SIZE), TOKEN)
  }

  static seedSize(): number {
    return SEED_SIZE
  }

  /**
   * Wraps 32 bytes from a cryptographically secure source.
   * @throws {UmbralDeserializationError} if the seed is not 32 bytes.
   */
  static fromSecureRandomness(seed: Uint8Array): SecretKeyFactory {
    assertBytes(seed, 'seed')
    if (seed.length !== SEED_SIZE) {
      throw new UmbralDeserializationError(
        'SecretKeyFactory',
        `Bytestring size mismatch: expected ${SEED_SIZE} bytes, got ${seed.length}`,
      )
    }
    return new SecretKeyFactory(copyBytes(seed), TOKEN)
  }

  /** 64 secret bytes derived from the label (HKDF info `SECRET_DERIVATION/` ‖ label). */
  makeSecret(label: Uint8Array): Uint8Array {
    assertBytes(label, 'label')
    return hkdf(sha256, this.#seed, undefined, concat(utf8('SECRET_DERIVATION/'), label), DERIVED_SIZE)
  }

  /** A secret key derived from the label (HKDF info `KEY_DERIVATION/` ‖ label, then hash-to-scalar). */
  makeKey(label: Uint8Array): SecretKey {
    assertBytes(label, 'label')
    const info = concat(utf8('KEY_DERIVATION/'), label)
    const key = hkdf(sha256, this.#seed, undefined, info, DERIVED_SIZE)
    return new SecretKey(hashToNonZeroScalar(info, [key]), TOKEN)
  }

  /** A sub-factory derived from the label (HKDF info `FACTORY_DERIVATION/` ‖ label). */
  makeFactory(label: Uint8Array): SecretKeyFactory {
    assertBytes(label, 'label')
    const info = concat(utf8('FACTORY_DERIVATION/'), label)
    return new SecretKeyFactory(hkdf(sha256, this.#seed, undefined, info, SEED_SIZE), TOKEN)
  }

  toString(): string {
    return 'SecretKeyFactory:...'
  }

  free(): void {}
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length)
  out.set(a)
  out.set(b, a.length)
  return out
}
