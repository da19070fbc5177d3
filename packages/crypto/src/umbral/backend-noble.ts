/**
 * The pure-TypeScript group backend on @noble/curves.
 *
 * Decoded points are cached in a WeakMap keyed by the identity of their encoded Uint8Array, so a point
 * that is used several times (a capsule's E in `reencrypt`) is decompressed once, and a point this backend
 * produced is never decompressed at all. The scheme parameter U gets a precomputed window table, which
 * makes `U·k` (kfrag commitments, proof nonces) as cheap as a base-point multiplication.
 *
 * Constant time: `baseMul` and `mul` are noble's `multiply` — a fixed sequence of complete additions and
 * doublings (a precomputed signed-window table for G and U, a 4-bit fixed window for any other point)
 * over a scalar blinded with fresh randomness on every call (k + r·n, r a random 128-bit number), so the
 * digits it walks are a fresh random pattern on every call, not a function of the secret. `mulPublic` and `isLinearRelation` use
 * `multiplyUnsafe` / `mulAddUnsafe` and only ever see public values.
 *
 * A faster unblinded GLV fixed-window multiplication was used here before and removed in review: it walked
 * the same digits for the same secret on every call (so timing differences could be averaged), added the
 * identity for every zero digit and until the first non-zero window (cheaper bigint arithmetic on zero
 * coordinates), and split the scalar with variable-time bigint division and sign branches.
 *
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import type { GroupBackend } from './backend.ts'
import { Fn, IDENTITY, isIdentity, N, POINT_SIZE, pointG, pointU, randomNonZeroScalar } from './curve.ts'

const { Point } = secp256k1
type P = InstanceType<typeof Point>

export function createNobleBackend(): GroupBackend {
  const cache = new WeakMap<Uint8Array, P>()

  const u = pointU()
  const uPoint = Point.fromBytes(u)
  // Window 8: 49 windows of 128 points (noble sizes the table for its 384-bit blinded scalars); built on
  // the first U·k, then every U·k costs ~49 additions.
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
      // noble's blinded constant-time path for every point; U and G use their precomputed tables.
      return encode(decode(p).multiply(k))
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
    invertSecret(x) {
      // noble's inversion is the (variable-time) extended Euclidean algorithm: run it on x·c for a fresh
      // random c, a value independent of x, and multiply the result back by c.
      const blind = randomNonZeroScalar()
      return Fn.mul(Fn.inv(Fn.mul(x, blind)), blind)
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
