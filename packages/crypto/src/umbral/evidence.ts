/**
 * `ReencryptionEvidence`: the values an Ethereum contract needs to check a re-encryption on chain
 * (umbral-pre ≥ 0.9) — the capsule and cfrag points with both coordinates, the products by the proof
 * scalars precomputed, the hash of the kfrag validity message and the recovery bit of its signature.
 *
 * Format (`toBytes()`): MessagePack array of 16 — 14 compressed points `e, ez, e1, e1h, e2, v, vz, v1,
 * v1h, v2, uz, u1, u1h, u2`, then `bin kfragValidityMessageHash(32)`, `bool kfragSignatureV`.
 *
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { getBackend } from './backend.ts'
import { type Capsule, capsuleParts } from './capsule.ts'
import { capsuleFragParts, hashToCfragVerification, type VerifiedCapsuleFrag } from './capsule-frag.ts'
import { equalBytes, POINT_SIZE, pointU } from './curve.ts'
import { UmbralDeserializationError } from './errors.ts'
import { kfragSignatureMessage } from './key-frag.ts'
import { type PublicKey, publicPoint } from './keys.ts'
import { asArray, asBool, asBytes, decodeMsgpack, encodeMsgpack } from './msgpack.ts'
import { type CurvePoint, curvePoint } from './params.ts'

const POINT_NAMES = [
  'e',
  'ez',
  'e1',
  'e1h',
  'e2',
  'v',
  'vz',
  'v1',
  'v1h',
  'v2',
  'uz',
  'u1',
  'u1h',
  'u2',
] as const
type PointName = (typeof POINT_NAMES)[number]

interface EvidenceParts {
  points: Record<PointName, Uint8Array>
  messageHash: Uint8Array
  signatureV: boolean
}

const evidenceParts = new WeakMap<ReencryptionEvidence, EvidenceParts>()

function partsOf(e: ReencryptionEvidence): EvidenceParts {
  const p = evidenceParts.get(e)
  if (p === undefined) throw new TypeError('Expected a ReencryptionEvidence made by this module.')
  return p
}

export class ReencryptionEvidence {
  /**
   * Collects the evidence for a verified cfrag of `capsule`. Public data only.
   * @throws {Error} if the kfrag signature was not made by `verifyingPk` for these keys
   */
  constructor(
    capsule: Capsule,
    vcfrag: VerifiedCapsuleFrag,
    verifyingPk: PublicKey,
    delegatingPk: PublicKey,
    receivingPk: PublicKey,
  ) {
    const backend = getBackend()
    const { e, v } = capsuleParts(capsule)
    const c = capsuleFragParts(vcfrag)
    const u = pointU()
    const h = hashToCfragVerification(e, c.e1, c.e2, v, c.v1, c.v2, u, c.u1, c.u2)
    const messageHash = sha256(
      kfragSignatureMessage(
        c.kfragId,
        c.u1,
        c.precursor,
        publicPoint(delegatingPk),
        publicPoint(receivingPk),
      ),
    )
    const signature = secp256k1.Signature.fromBytes(c.kfragSignature, 'compact')
    const target = publicPoint(verifyingPk)
    let signatureV: boolean | undefined
    for (const bit of [0, 1]) {
      try {
        if (equalBytes(signature.addRecoveryBit(bit).recoverPublicKey(messageHash).toBytes(true), target)) {
          signatureV = bit === 1
          break
        }
      } catch {
        // this recovery bit gives no key; try the other
      }
    }
    if (signatureV === undefined) {
      throw new Error('Could not find the recovery ID for the kfrag signature: mismatched verifying key?')
    }
    const mul = (p: Uint8Array, k: bigint) => backend.mulPublic(p, k)
    evidenceParts.set(this, {
      points: {
        e,
        ez: mul(e, c.z),
        e1: c.e1,
        e1h: mul(c.e1, h),
        e2: c.e2,
        v,
        vz: mul(v, c.z),
        v1: c.v1,
        v1h: mul(c.v1, h),
        v2: c.v2,
        uz: mul(u, c.z),
        u1: c.u1,
        u1h: mul(c.u1, h),
        u2: c.u2,
      },
      messageHash,
      signatureV,
    })
  }

  /** @throws {UmbralDeserializationError} */
  static fromBytes(data: Uint8Array): ReencryptionEvidence {
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array.')
    let parts: EvidenceParts
    try {
      const arr = asArray(decodeMsgpack(data), 16)
      const points = Object.fromEntries(
        POINT_NAMES.map((name, i) => [name, asBytes(arr[i], POINT_SIZE)]),
      ) as Record<PointName, Uint8Array>
      parts = { points, messageHash: asBytes(arr[14], 32), signatureV: asBool(arr[15]) }
    } catch (cause) {
      throw new UmbralDeserializationError('ReencryptionEvidence', 'not a MessagePack-encoded evidence', {
        cause,
      })
    }
    if (!Object.values(parts.points).every((p) => getBackend().isValidPoint(p))) {
      throw new UmbralDeserializationError('ReencryptionEvidence', 'a point is not on the curve')
    }
    const evidence = Object.create(ReencryptionEvidence.prototype) as ReencryptionEvidence
    evidenceParts.set(evidence, parts)
    return evidence
  }

  toBytes(): Uint8Array {
    const p = partsOf(this)
    return encodeMsgpack([...POINT_NAMES.map((name) => p.points[name]), p.messageHash, p.signatureV])
  }

  get e(): CurvePoint {
    return curvePoint(partsOf(this).points.e)
  }
  get ez(): CurvePoint {
    return curvePoint(partsOf(this).points.ez)
  }
  get e1(): CurvePoint {
    return curvePoint(partsOf(this).points.e1)
  }
  get e1h(): CurvePoint {
    return curvePoint(partsOf(this).points.e1h)
  }
  get e2(): CurvePoint {
    return curvePoint(partsOf(this).points.e2)
  }
  get v(): CurvePoint {
    return curvePoint(partsOf(this).points.v)
  }
  get vz(): CurvePoint {
    return curvePoint(partsOf(this).points.vz)
  }
  get v1(): CurvePoint {
    return curvePoint(partsOf(this).points.v1)
  }
  get v1h(): CurvePoint {
    return curvePoint(partsOf(this).points.v1h)
  }
  get v2(): CurvePoint {
    return curvePoint(partsOf(this).points.v2)
  }
  get uz(): CurvePoint {
    return curvePoint(partsOf(this).points.uz)
  }
  get u1(): CurvePoint {
    return curvePoint(partsOf(this).points.u1)
  }
  get u1h(): CurvePoint {
    return curvePoint(partsOf(this).points.u1h)
  }
  get u2(): CurvePoint {
    return curvePoint(partsOf(this).points.u2)
  }
  get kfragValidityMessageHash(): Uint8Array {
    return partsOf(this).messageHash.slice()
  }
  get kfragSignatureV(): boolean {
    return partsOf(this).signatureV
  }

  free(): void {}
}
