/**
 * `Parameters` and `CurvePoint`, exposed by umbral-pre for contracts that check re-encryption evidence.
 *
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { pointU, scalarToBytes } from './curve.ts'

const points = new WeakMap<CurvePoint, Uint8Array>()
const TOKEN = Symbol('point')

/** A curve point, as exposed by umbral-pre (only its affine coordinates). */
export class CurvePoint {
  /** @internal */
  constructor(compressed: Uint8Array, token: symbol) {
    if (token !== TOKEN) throw new TypeError('CurvePoint cannot be constructed directly.')
    points.set(this, compressed)
  }

  /** `[x, y]` as 32-byte big-endian arrays, or `undefined` for the point at infinity. */
  coordinates(): [Uint8Array, Uint8Array] | undefined {
    const bytes = points.get(this) as Uint8Array
    if (bytes.length !== 33) return undefined
    const { x, y } = secp256k1.Point.fromBytes(bytes).toAffine()
    return [scalarToBytes(x), scalarToBytes(y)]
  }

  /** The 33-byte compressed encoding (an extension). */
  toCompressedBytes(): Uint8Array {
    return (points.get(this) as Uint8Array).slice()
  }

  free(): void {}
}

/** @internal */
export function curvePoint(compressed: Uint8Array): CurvePoint {
  return new CurvePoint(compressed, TOKEN)
}

/** The scheme parameters: the second generator U, derived by hashing to the curve. */
export class Parameters {
  readonly u: CurvePoint

  constructor() {
    this.u = curvePoint(pointU())
  }

  free(): void {}
}
