/**
 * The pure-TypeScript group backend on @noble/curves.
 *
 * Decoded points are cached in a WeakMap keyed by the identity of their encoded Uint8Array, so a point
 * that is used several times (a capsule's E in `reencrypt`) is decompressed once, and a point this backend
 * produced is never decompressed at all. The scheme parameter U gets a precomputed window table, which
 * makes `U·k` (kfrag commitments, proof nonces) as cheap as a base-point multiplication.
 *
 * Constant time: `baseMul` and `mul` by U use noble's `multiply` (precomputed-table wNAF with scalar
 * blinding, complete addition formulas); `mul` by any other point uses {@link mulSecretGlv}, a uniform
 * GLV fixed-window ladder over noble's complete formulas (no blinding). `mulPublic` and `isLinearRelation` use
 * `multiplyUnsafe` / `mulAddUnsafe` and only ever see public values.
 *
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import type { GroupBackend } from './backend.ts'
import { IDENTITY, isIdentity, N, POINT_SIZE, pointG, pointU } from './curve.ts'

const { Point } = secp256k1
const { Fp } = Point
type P = InstanceType<typeof Point>

// The GLV endomorphism of secp256k1, φ(x, y) = (β·x, y) = λ·(x, y): public curve constants (SEC 2 /
// "Guide to ECC" §3.5), the same values noble uses for its variable-time multiplication.
const BETA = 0x7ae96a2b657c07106e64479eac3434e99cf0497512f58995c1396c28719501een
const A1 = 0x3086d221a7d46bcde86c90e49284eb15n
const B1 = -0xe4437ed6010e88286f547fa90abfe4c3n
const A2 = 0x114ca50f7a8e2f3f657c1108d9d44cfd8n
const B2 = A1
const HALF = 1n << 128n
const WINDOW = 4
const WINDOWS = 128 / WINDOW

/** Rounded division for the lattice reduction (n > 0). */
function divNearest(a: bigint, b: bigint): bigint {
  return (a + (a >= 0n ? b / 2n : -(b / 2n))) / b
}

/** Splits k into k1 + k2·λ ≡ k (mod n) with |k1|, |k2| < 2^128. */
export function splitScalar(k: bigint): { k1: bigint; k1neg: boolean; k2: bigint; k2neg: boolean } {
  const c1 = divNearest(B2 * k, N)
  const c2 = divNearest(-B1 * k, N)
  const k1 = k - c1 * A1 - c2 * A2
  const k2 = -c1 * B1 - c2 * B2
  const k1neg = k1 < 0n
  const k2neg = k2 < 0n
  const r = { k1: k1neg ? -k1 : k1, k1neg, k2: k2neg ? -k2 : k2, k2neg }
  if (r.k1 >= HALF || r.k2 >= HALF) throw new Error('scalar split failed')
  return r
}

/** Picks table[digit] touching every entry, so the memory access pattern does not depend on the digit. */
function select(table: readonly P[], digit: number): P {
  let sel = table[0] as P
  for (let i = 1; i < table.length; i++) sel = i === digit ? (table[i] as P) : sel
  return sel
}

/**
 * k·P for a secret k with a uniform sequence of operations: GLV split into two 128-bit halves, then a
 * joint fixed-window (w = 4) walk of 124 doublings and 64 complete additions, table entries selected by a
 * full scan and conditionally negated by selection. About 2.5× fewer group operations than noble's
 * blinded `multiply` on an un-precomputed point, which is what makes the noble backend usable for
 * re-encryption. Checked against noble's own multiplication in backend.test.ts.
 */
export function mulSecretGlv(point: P, k: bigint): P {
  const { k1, k1neg, k2, k2neg } = splitScalar(k)
  const size = 1 << WINDOW
  const table: P[] = [Point.ZERO, point]
  for (let i = 2; i < size; i++) table.push((table[i - 1] as P).add(point))
  const tablePhi = table.map((p) => new Point(Fp.mul(p.X, BETA), p.Y, p.Z))
  const mask = BigInt(size - 1)
  let acc = Point.ZERO
  for (let w = WINDOWS - 1; w >= 0; w--) {
    if (w !== WINDOWS - 1) for (let d = 0; d < WINDOW; d++) acc = acc.double()
    const shift = BigInt(w * WINDOW)
    const p1 = select(table, Number((k1 >> shift) & mask))
    const p2 = select(tablePhi, Number((k2 >> shift) & mask))
    const n1 = p1.negate()
    const n2 = p2.negate()
    acc = acc.add(k1neg ? n1 : p1).add(k2neg ? n2 : p2)
  }
  return acc
}

export function createNobleBackend(): GroupBackend {
  const cache = new WeakMap<Uint8Array, P>()

  const u = pointU()
  const uPoint = Point.fromBytes(u)
  // Window 8: 32 windows of 128 points; built on the first U·k, then every U·k costs ~32 additions.
  uPoint.precompute(8)
  cache.set(u, uPoint)
  // BASE already carries noble's precomputed table.
  cache.set(pointG(), Point.BASE)

  const decode = (bytes: Uint8Array): P => {
    if (isIdentity(bytes)) return Point.ZERO
    let p = cache.get(bytes)
    if (p === undefined) {
      p = Point.fromBytes(bytes)
      cache.set(bytes, p)
    }
    return p
  }

  const encode = (p: P): Uint8Array => {
    if (p.is0()) return IDENTITY
    const bytes = p.toBytes(true)
    cache.set(bytes, p)
    return bytes
  }

  return {
    name: 'noble',
    baseMul(k) {
      return encode(Point.BASE.multiply(k))
    },
    mul(p, k) {
      if (k === 0n || isIdentity(p)) return IDENTITY
      const point = decode(p)
      // Points with a precomputed table (U, G) are fastest through noble's own constant-time path.
      return encode(point === uPoint || point === Point.BASE ? point.multiply(k) : mulSecretGlv(point, k))
    },
    mulPublic(p, k) {
      return encode(decode(p).multiplyUnsafe(k))
    },
    add(a, b) {
      return encode(decode(a).add(decode(b)))
    },
    isLinearRelation(p, z, q, h, r) {
      // z·p − h·q == r, with one shared doubling chain (Strauss–Shamir).
      const lhs = decode(p).mulAddUnsafe(z, decode(q), h === 0n ? 0n : N - h)
      return lhs.equals(decode(r))
    },
    isValidPoint(bytes) {
      if (bytes.length !== POINT_SIZE) return false
      try {
        decode(bytes)
        return true
      } catch {
        return false
      }
    },
    signPrehashed(hash, secretKey) {
      return secp256k1.sign(hash, secretKey, { prehash: false, lowS: true, extraEntropy: true })
    },
    verifyPrehashed(signature, hash, publicKey) {
      try {
        return secp256k1.verify(signature, hash, publicKey, { prehash: false, lowS: true })
      } catch {
        return false
      }
    },
  }
}
