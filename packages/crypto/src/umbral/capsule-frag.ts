/**
 * Capsule fragments (cfrags): a proxy's re-encryption of a capsule with its kfrag, with a
 * zero-knowledge proof that it used the committed key share.
 *
 * Formats (umbral-pre 0.10):
 * - `toBytes()` — MessagePack `[bin E1, bin V1, bin kfragId(32), bin precursor,
 *   [bin E2, bin V2, bin U1 (kfrag commitment), bin U2 (kfrag PoK), bin z(32), bin kfragSignature(64)]]`.
 * - `toBytesSimple()` — `E1 ‖ V1 ‖ kfragId ‖ precursor ‖ E2 ‖ V2 ‖ U1 ‖ U2 ‖ z ‖ kfragSignature`, 359 bytes.
 *
 * @module
 */
import { getBackend } from './backend.ts'
import { type Capsule, capsuleParts } from './capsule.ts'
import {
  copyBytes,
  DST,
  encodedPoint,
  equalBytes,
  Fn,
  fmtPublic,
  hashToNonZeroScalar,
  POINT_SIZE,
  pointU,
  randomNonZeroScalar,
  SCALAR_SIZE,
  scalarFromBytes,
  scalarToBytes,
} from './curve.ts'
import { CapsuleFragVerificationError, UmbralDeserializationError } from './errors.ts'
import { KFRAG_ID_SIZE, keyFragParts, kfragSignatureMessage, type VerifiedKeyFrag } from './key-frag.ts'
import { type PublicKey, publicPoint, signatureFromTrustedBytes } from './keys.ts'
import { asArray, asBytes, decodeMsgpack, encodeMsgpack, type MsgValue } from './msgpack.ts'

export interface CapsuleFragParts {
  readonly e1: Uint8Array
  readonly v1: Uint8Array
  readonly kfragId: Uint8Array
  readonly precursor: Uint8Array
  readonly e2: Uint8Array
  readonly v2: Uint8Array
  readonly u1: Uint8Array
  readonly u2: Uint8Array
  readonly z: bigint
  readonly kfragSignature: Uint8Array
}

const SIMPLE_SIZE = 7 * POINT_SIZE + KFRAG_ID_SIZE + SCALAR_SIZE + 64

const cfragParts = new WeakMap<CapsuleFrag | VerifiedCapsuleFrag, CapsuleFragParts>()
const TOKEN = Symbol('cfrag')

/** @internal */
export function capsuleFragParts(cfrag: CapsuleFrag | VerifiedCapsuleFrag): CapsuleFragParts {
  const p = cfragParts.get(cfrag)
  if (p === undefined) throw new TypeError('Expected a CapsuleFrag made by this module.')
  return p
}

/** The challenge of the re-encryption proof; see umbral-pre's `hash_to_cfrag_verification`. */
export function hashToCfragVerification(
  e: Uint8Array,
  e1: Uint8Array,
  e2: Uint8Array,
  v: Uint8Array,
  v1: Uint8Array,
  v2: Uint8Array,
  u: Uint8Array,
  u1: Uint8Array,
  u2: Uint8Array,
): bigint {
  return hashToNonZeroScalar(DST.cfragVerification, [e, e1, e2, v, v1, v2, u, u1, u2].map(encodedPoint))
}

function toMsgpack(p: CapsuleFragParts): Uint8Array {
  return encodeMsgpack([
    p.e1,
    p.v1,
    p.kfragId,
    p.precursor,
    [p.e2, p.v2, p.u1, p.u2, scalarToBytes(p.z), p.kfragSignature],
  ])
}

function toSimple(p: CapsuleFragParts): Uint8Array {
  const out = new Uint8Array(SIMPLE_SIZE)
  let pos = 0
  for (const b of [
    p.e1,
    p.v1,
    p.kfragId,
    p.precursor,
    p.e2,
    p.v2,
    p.u1,
    p.u2,
    scalarToBytes(p.z),
    p.kfragSignature,
  ]) {
    out.set(encodedPointOrBytes(b), pos)
    pos += b.length
  }
  return out
}

function encodedPointOrBytes(b: Uint8Array): Uint8Array {
  if (b.length === 1) throw new RangeError('Cannot encode the point at infinity.')
  return b
}

function fromRaw(
  e1: Uint8Array,
  v1: Uint8Array,
  kfragId: Uint8Array,
  precursor: Uint8Array,
  e2: Uint8Array,
  v2: Uint8Array,
  u1: Uint8Array,
  u2: Uint8Array,
  zBytes: Uint8Array,
  kfragSignature: Uint8Array,
): CapsuleFrag {
  const backend = getBackend()
  const z = scalarFromBytes(zBytes)
  const r = scalarFromBytes(kfragSignature.subarray(0, 32))
  const s = scalarFromBytes(kfragSignature.subarray(32))
  if (z === undefined || r === undefined || r === 0n || s === undefined || s === 0n) {
    throw new UmbralDeserializationError('CapsuleFrag', 'a scalar is out of range')
  }
  for (const point of [e1, v1, precursor, e2, v2, u1, u2]) {
    if (!backend.isValidPoint(point))
      throw new UmbralDeserializationError('CapsuleFrag', 'a point is not on the curve')
  }
  return new CapsuleFrag({ e1, v1, kfragId, precursor, e2, v2, u1, u2, z, kfragSignature }, TOKEN)
}

/** A capsule fragment as received from a proxy: verify it before decrypting. */
export class CapsuleFrag {
  /** @internal */
  constructor(p: CapsuleFragParts, token: symbol) {
    if (token !== TOKEN)
      throw new TypeError('Use `reencrypt()` or `CapsuleFrag.fromBytes()` instead of `new`.')
    cfragParts.set(this, p)
  }

  /**
   * Parses the MessagePack form written by either implementation.
   * @throws {UmbralDeserializationError}
   */
  static fromBytes(data: Uint8Array): CapsuleFrag {
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array.')
    let fields: Uint8Array[]
    try {
      const arr = asArray(decodeMsgpack(data), 5)
      const proof = asArray(arr[4] as MsgValue, 6)
      fields = [
        asBytes(arr[0], POINT_SIZE),
        asBytes(arr[1], POINT_SIZE),
        asBytes(arr[2], KFRAG_ID_SIZE),
        asBytes(arr[3], POINT_SIZE),
        asBytes(proof[0], POINT_SIZE),
        asBytes(proof[1], POINT_SIZE),
        asBytes(proof[2], POINT_SIZE),
        asBytes(proof[3], POINT_SIZE),
        asBytes(proof[4], SCALAR_SIZE),
        asBytes(proof[5], 64),
      ]
    } catch (cause) {
      throw new UmbralDeserializationError('CapsuleFrag', 'not a MessagePack-encoded capsule frag', { cause })
    }
    return fromRaw(...(fields as Parameters<typeof fromRaw>))
  }

  /**
   * Parses the 359-byte simple form (`toBytesSimple()` of either implementation). An extension:
   * umbral-pre writes this form but cannot read it.
   * @throws {UmbralDeserializationError}
   */
  static fromBytesSimple(data: Uint8Array): CapsuleFrag {
    if (!(data instanceof Uint8Array) || data.length !== SIMPLE_SIZE) {
      throw new UmbralDeserializationError('CapsuleFrag', `expected ${SIMPLE_SIZE} bytes`)
    }
    const sizes = [
      POINT_SIZE,
      POINT_SIZE,
      KFRAG_ID_SIZE,
      POINT_SIZE,
      POINT_SIZE,
      POINT_SIZE,
      POINT_SIZE,
      POINT_SIZE,
      SCALAR_SIZE,
      64,
    ]
    const fields: Uint8Array[] = []
    let pos = 0
    for (const size of sizes) {
      fields.push(copyBytes(data, pos, pos + size))
      pos += size
    }
    return fromRaw(...(fields as Parameters<typeof fromRaw>))
  }

  /**
   * Checks the delegator's signature on the kfrag this cfrag was made with, and the proof that the
   * capsule was re-encrypted with that kfrag's committed key share. Public inputs only: variable-time.
   * @throws {CapsuleFragVerificationError}
   */
  verify(
    capsule: Capsule,
    verifyingPk: PublicKey,
    delegatingPk: PublicKey,
    receivingPk: PublicKey,
  ): VerifiedCapsuleFrag {
    const p = capsuleFragParts(this)
    const { e, v } = capsuleParts(capsule)
    const u = pointU()
    const message = kfragSignatureMessage(
      p.kfragId,
      p.u1,
      p.precursor,
      publicPoint(delegatingPk),
      publicPoint(receivingPk),
    )
    if (!signatureFromTrustedBytes(p.kfragSignature).verify(verifyingPk, message)) {
      throw new CapsuleFragVerificationError('IncorrectKeyFragSignature')
    }
    const h = hashToCfragVerification(e, p.e1, p.e2, v, p.v1, p.v2, u, p.u1, p.u2)
    const backend = getBackend()
    const ok =
      backend.isLinearRelation(e, p.z, p.e1, h, p.e2) &&
      backend.isLinearRelation(v, p.z, p.v1, h, p.v2) &&
      backend.isLinearRelation(u, p.z, p.u1, h, p.u2)
    if (!ok) throw new CapsuleFragVerificationError('IncorrectReencryption')
    return new VerifiedCapsuleFrag(p, TOKEN)
  }

  /**
   * Marks the cfrag as verified without checking it — only for cfrags from trusted storage.
   * **Warning:** an invalid cfrag then makes decryption fail (or, combined with others, be refused).
   */
  skipVerification(): VerifiedCapsuleFrag {
    return new VerifiedCapsuleFrag(capsuleFragParts(this), TOKEN)
  }

  toBytes(): Uint8Array {
    return toMsgpack(capsuleFragParts(this))
  }

  toBytesSimple(): Uint8Array {
    return toSimple(capsuleFragParts(this))
  }

  toString(): string {
    return fmtPublic('CapsuleFrag', capsuleFragParts(this).kfragId)
  }

  equals(other: CapsuleFrag): boolean {
    return partsEqual(capsuleFragParts(this), capsuleFragParts(other))
  }

  free(): void {}
}

/** A capsule fragment that was verified (or made here by `reencrypt`); what `decryptReencrypted` takes. */
export class VerifiedCapsuleFrag {
  /** @internal */
  constructor(p: CapsuleFragParts, token: symbol) {
    if (token !== TOKEN) throw new TypeError('Use `CapsuleFrag.verify()` instead of `new`.')
    cfragParts.set(this, p)
  }

  unverify(): CapsuleFrag {
    return new CapsuleFrag(capsuleFragParts(this), TOKEN)
  }

  toBytes(): Uint8Array {
    return toMsgpack(capsuleFragParts(this))
  }

  toBytesSimple(): Uint8Array {
    return toSimple(capsuleFragParts(this))
  }

  toString(): string {
    return fmtPublic('VerifiedCapsuleFrag', capsuleFragParts(this).kfragId)
  }

  equals(other: VerifiedCapsuleFrag): boolean {
    return partsEqual(capsuleFragParts(this), capsuleFragParts(other))
  }

  __getClassname(): string {
    return 'VerifiedCapsuleFrag'
  }

  free(): void {}
}

function partsEqual(a: CapsuleFragParts, b: CapsuleFragParts): boolean {
  return equalBytes(toSimple(a), toSimple(b))
}

/** A proxy's re-encryption of `capsule` with `kfrag`, with its proof (see `reencrypt` in pre.ts). */
export function reencryptCapsule(capsule: Capsule, kfrag: VerifiedKeyFrag): VerifiedCapsuleFrag {
  const backend = getBackend()
  const { e, v } = capsuleParts(capsule)
  const k = keyFragParts(kfrag)
  const u = pointU()
  // rk (the key share) and t (the proof nonce) are secret: constant-time multiplications only.
  const rk = k.key
  const e1 = backend.mul(e, rk)
  const v1 = backend.mul(v, rk)
  const t = randomNonZeroScalar()
  const e2 = backend.mul(e, t)
  const v2 = backend.mul(v, t)
  const u2 = backend.mul(u, t)
  const h = hashToCfragVerification(e, e1, e2, v, v1, v2, u, k.commitment, u2)
  const z = Fn.add(Fn.mul(rk, h), t)
  return new VerifiedCapsuleFrag(
    {
      e1,
      v1,
      kfragId: k.id,
      precursor: k.precursor,
      e2,
      v2,
      u1: k.commitment,
      u2,
      z,
      kfragSignature: k.signatureForReceiver,
    },
    TOKEN,
  )
}
