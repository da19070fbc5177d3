/**
 * The capsule: the key-encapsulation half of Umbral (points E, V and scalar s with s·G = V + h·E).
 *
 * Formats (umbral-pre 0.10):
 * - `toBytes()` — MessagePack `[bin E(33), bin V(33), bin s(32)]` (`0x93 0xc4 0x21 …`), 105 bytes.
 * - `toBytesSimple()` — `E ‖ V ‖ s`, 98 bytes; also the associated data of the DEM ciphertext.
 *
 * @module
 */
import { getBackend } from './backend.ts'
import {
  copyBytes,
  DST,
  encodedPoint,
  equalBytes,
  Fn,
  fmtPublic,
  hashToNonZeroScalar,
  POINT_SIZE,
  pointG,
  randomNonZeroScalar,
  SCALAR_SIZE,
  scalarFromBytes,
  scalarToBytes,
} from './curve.ts'
import { InvalidCapsuleError, UmbralDeserializationError } from './errors.ts'
import { type PublicKey, publicPoint, type SecretKey, secretScalar } from './keys.ts'
import { asArray, asBytes, decodeMsgpack, encodeMsgpack } from './msgpack.ts'

export interface CapsuleParts {
  readonly e: Uint8Array
  readonly v: Uint8Array
  readonly s: bigint
}

const parts = new WeakMap<Capsule, CapsuleParts>()
const TOKEN = Symbol('capsule')

export function hashCapsulePoints(e: Uint8Array, v: Uint8Array): bigint {
  return hashToNonZeroScalar(DST.capsulePoints, [encodedPoint(e), encodedPoint(v)])
}

/** @internal */
export function capsuleParts(capsule: Capsule): CapsuleParts {
  const p = parts.get(capsule)
  if (p === undefined) throw new TypeError('Expected a Capsule made by this module.')
  return p
}

/** An encapsulated symmetric key, made by `encrypt` and opened by `decryptOriginal` / `decryptReencrypted`. */
export class Capsule {
  /** @internal use `encrypt`, {@link Capsule.fromBytes} or {@link Capsule.fromBytesSimple} */
  constructor(p: CapsuleParts, token: symbol) {
    if (token !== TOKEN) throw new TypeError('Use `encrypt()` or `Capsule.fromBytes()` instead of `new`.')
    parts.set(this, p)
  }

  /**
   * Parses the MessagePack form (`toBytes()` of either implementation) and checks the capsule.
   * @throws {UmbralDeserializationError} on a malformed encoding
   * @throws {InvalidCapsuleError} if the capsule does not verify
   */
  static fromBytes(data: Uint8Array): Capsule {
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array.')
    let e: Uint8Array
    let v: Uint8Array
    let s: Uint8Array
    try {
      const arr = asArray(decodeMsgpack(data), 3)
      e = asBytes(arr[0], POINT_SIZE)
      v = asBytes(arr[1], POINT_SIZE)
      s = asBytes(arr[2], SCALAR_SIZE)
    } catch (cause) {
      throw new UmbralDeserializationError('Capsule', 'not a MessagePack-encoded capsule', { cause })
    }
    return fromComponents(e, v, s)
  }

  /**
   * Parses the simple form `E ‖ V ‖ s` (98 bytes, `toBytesSimple()` of either implementation). An extension:
   * umbral-pre can write this form but not read it.
   * @throws {UmbralDeserializationError} on a malformed encoding
   * @throws {InvalidCapsuleError} if the capsule does not verify
   */
  static fromBytesSimple(data: Uint8Array): Capsule {
    if (!(data instanceof Uint8Array) || data.length !== 2 * POINT_SIZE + SCALAR_SIZE) {
      throw new UmbralDeserializationError('Capsule', `expected ${2 * POINT_SIZE + SCALAR_SIZE} bytes`)
    }
    return fromComponents(
      copyBytes(data, 0, POINT_SIZE),
      copyBytes(data, POINT_SIZE, 2 * POINT_SIZE),
      copyBytes(data, 2 * POINT_SIZE),
    )
  }

  toBytes(): Uint8Array {
    const { e, v, s } = capsuleParts(this)
    return encodeMsgpack([e, v, scalarToBytes(s)])
  }

  toBytesSimple(): Uint8Array {
    const { e, v, s } = capsuleParts(this)
    const out = new Uint8Array(2 * POINT_SIZE + SCALAR_SIZE)
    out.set(e)
    out.set(v, POINT_SIZE)
    out.set(scalarToBytes(s), 2 * POINT_SIZE)
    return out
  }

  toString(): string {
    return fmtPublic('Capsule', scalarToBytes(capsuleParts(this).s))
  }

  equals(other: Capsule): boolean {
    const a = capsuleParts(this)
    const b = capsuleParts(other)
    return equalBytes(a.e, b.e) && equalBytes(a.v, b.v) && a.s === b.s
  }

  __getClassname(): string {
    return 'Capsule'
  }

  free(): void {}
}

function fromComponents(e: Uint8Array, v: Uint8Array, sBytes: Uint8Array): Capsule {
  const backend = getBackend()
  const s = scalarFromBytes(sBytes)
  if (s === undefined || !backend.isValidPoint(e) || !backend.isValidPoint(v)) {
    throw new UmbralDeserializationError(
      'Capsule',
      'a point is not on the curve or the scalar is out of range',
    )
  }
  // Public data only: variable-time check of s·G == V + h·E.
  if (!backend.isLinearRelation(pointG(), s, e, hashCapsulePoints(e, v), v)) throw new InvalidCapsuleError()
  return new Capsule({ e, v, s }, TOKEN)
}

/** Makes a capsule for `delegatingPk` and returns it with the 33-byte key seed. */
export function capsuleFromPublicKey(delegatingPk: PublicKey): { capsule: Capsule; keySeed: Uint8Array } {
  const backend = getBackend()
  const r = randomNonZeroScalar()
  const u = randomNonZeroScalar()
  const e = backend.baseMul(r)
  const v = backend.baseMul(u)
  const h = hashCapsulePoints(e, v)
  const s = Fn.add(u, Fn.mul(r, h))
  const keySeed = encodedPoint(backend.mul(publicPoint(delegatingPk), Fn.add(r, u))).slice()
  return { capsule: new Capsule({ e, v, s }, TOKEN), keySeed }
}

/** The key seed as the delegating key's owner derives it: (E + V)·sk. */
export function openOriginal(capsule: Capsule, delegatingSk: SecretKey): Uint8Array | undefined {
  const backend = getBackend()
  const { e, v } = capsuleParts(capsule)
  const shared = backend.mul(backend.add(e, v), secretScalar(delegatingSk))
  return shared.length === POINT_SIZE ? shared.slice() : undefined
}
