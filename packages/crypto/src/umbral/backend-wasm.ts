/**
 * The libsecp256k1 group backend, through tiny-secp256k1 (libsecp256k1 compiled to WebAssembly, MIT).
 *
 * Loaded with a dynamic `import()` so that an environment without WebAssembly (or a bundle that leaves
 * tiny-secp256k1 out) still works on the noble backend, or handed in by the application with
 * `useTinySecp256k1`. A self-test (1·G, and U·k against noble) must pass before the backend is offered.
 *
 * Constant time: `baseMul` is `pointFromScalar` (libsecp256k1 `ecmult_gen`, constant-time). `pointMultiply`
 * is NOT constant-time: tiny-secp256k1 implements it with `secp256k1_ec_pubkey_tweak_mul`, which runs
 * libsecp256k1's variable-time `ecmult` (Strauss wNAF; the tweak is assumed public there), and
 * tiny-secp256k1 exposes no `ecmult_const` (no ECDH). So `mul`, which sees secrets, never hands it the
 * secret: it multiplies by a fresh random b first and then by k·b⁻¹ (multiplicative scalar splitting with
 * base-point blinding, Coron 1999 / Clavier–Joye). Each call's two scalars are uniformly random and the
 * second base point is a random multiple of the input, so the running time is a fresh random variable
 * each call, whose distribution does not depend on k — not constant-time in the strict sense, and twice the
 * cost. `mulPublic` (proof verification) calls `pointMultiply` directly. Point addition is libsecp256k1's `pubkey_combine`,
 * whose running time varies only in the exceptional cases (equal or opposite inputs) that occur with
 * negligible probability for honest data. ECDSA is libsecp256k1's `ecdsa_sign` (constant-time) and
 * strict `ecdsa_verify` (low-S only).
 *
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js'
import type { GroupBackend } from './backend.ts'
import {
  Fn,
  IDENTITY,
  invertSecret,
  isIdentity,
  POINT_SIZE,
  randomNonZeroScalar,
  scalarToBytes,
} from './curve.ts'

/** The subset of tiny-secp256k1's API this backend uses. */
export type Tiny = Pick<
  typeof import('tiny-secp256k1'),
  'pointCompress' | 'pointMultiply' | 'pointAdd' | 'pointFromScalar' | 'sign' | 'verify'
>

export function createWasmBackend(tiny: Tiny): GroupBackend {
  // libsecp256k1 parses a compressed point with a square root (~65 µs in WASM) and serializes one with
  // an inversion. So points live here in their 65-byte uncompressed form, keyed by the identity of the
  // compressed Uint8Array the scheme layer holds: a point this backend computed is never decompressed,
  // and a parsed one is decompressed once.
  const uncompressed = new WeakMap<Uint8Array, Uint8Array>()

  const toFull = (p: Uint8Array): Uint8Array => {
    let full = uncompressed.get(p)
    if (full === undefined) {
      full = tiny.pointCompress(p, false)
      uncompressed.set(p, full)
    }
    return full
  }
  /** Compressed form of a 65-byte point: no field arithmetic, just the parity of y. */
  const fromFull = (full: Uint8Array | null): Uint8Array => {
    if (full === null) return IDENTITY
    const c = new Uint8Array(POINT_SIZE)
    c[0] = 2 | ((full[64] as number) & 1)
    c.set(full.subarray(1, 33), 1)
    uncompressed.set(c, full)
    return c
  }

  /** Variable-time k·P: public scalars only. */
  const mulPublic = (p: Uint8Array, k: bigint): Uint8Array =>
    k === 0n || isIdentity(p) ? IDENTITY : fromFull(tiny.pointMultiply(toFull(p), scalarToBytes(k), false))
  /** k·P for a secret k as (k·b⁻¹)·(b·P), b fresh and random: pointMultiply never sees k (see above). */
  const mulSecret = (p: Uint8Array, k: bigint): Uint8Array => {
    if (k === 0n || isIdentity(p)) return IDENTITY
    const b = randomNonZeroScalar()
    // b ≠ 0 and P ≠ O in a prime-order group: b·P is never the identity.
    const blinded = tiny.pointMultiply(toFull(p), scalarToBytes(b), false) as Uint8Array
    return fromFull(tiny.pointMultiply(blinded, scalarToBytes(Fn.mul(k, invertSecret(b))), false))
  }
  const add = (a: Uint8Array, b: Uint8Array): Uint8Array => {
    if (isIdentity(a)) return b
    if (isIdentity(b)) return a
    return fromFull(tiny.pointAdd(toFull(a), toFull(b), false))
  }
  const eq = (a: Uint8Array, b: Uint8Array): boolean => {
    if (a.length !== b.length) return false
    let d = 0
    for (let i = 0; i < a.length; i++) d |= (a[i] as number) ^ (b[i] as number)
    return d === 0
  }
  return {
    name: 'wasm',
    baseMul(k) {
      const full = tiny.pointFromScalar(scalarToBytes(k), false)
      if (full === null) throw new RangeError('invalid scalar')
      return fromFull(full)
    },
    mul: mulSecret,
    mulPublic,
    add,
    isLinearRelation(p, z, q, h, r) {
      // z·p − h·q == r  ⇔  z·p == r + h·q
      return eq(mulPublic(p, z), add(r, mulPublic(q, h)))
    },
    isValidPoint(bytes) {
      if (bytes.length !== POINT_SIZE || (bytes[0] !== 2 && bytes[0] !== 3)) return false
      try {
        toFull(bytes)
        return true
      } catch {
        return false
      }
    },
    signPrehashed(hash, secretKey) {
      return tiny.sign(hash, secretKey, randomBytes(32))
    },
    verifyPrehashed(signature, hash, publicKey) {
      try {
        return tiny.verify(hash, toFull(publicKey), signature, true)
      } catch {
        return false
      }
    },
  }
}
