/**
 * The libsecp256k1 group backend, through tiny-secp256k1 (libsecp256k1 compiled to WebAssembly, MIT).
 *
 * Loaded with a dynamic `import()` so that an environment without WebAssembly (or a bundle that leaves
 * tiny-secp256k1 out) still works on the noble backend. After loading, a self-test (1·G, and U·k against
 * noble) must pass before the backend is offered.
 *
 * Constant time: `baseMul` is `pointFromScalar` (libsecp256k1 `ecmult_gen`) and `mul` is `pointMultiply`
 * (`ecmult_const`), both constant-time in the scalar. Point addition is libsecp256k1's `pubkey_combine`,
 * whose running time varies only in the exceptional cases (equal or opposite inputs) that occur with
 * negligible probability for honest data. ECDSA is libsecp256k1's `ecdsa_sign` (constant-time) and
 * strict `ecdsa_verify` (low-S only).
 *
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js'
import type { GroupBackend } from './backend.ts'
import { IDENTITY, isIdentity, POINT_SIZE, scalarToBytes } from './curve.ts'

type Tiny = typeof import('tiny-secp256k1')

export function createWasmBackend(tiny: Tiny): GroupBackend {
  const mul = (p: Uint8Array, k: bigint): Uint8Array => {
    if (k === 0n || isIdentity(p)) return IDENTITY
    return tiny.pointMultiply(p, scalarToBytes(k), true) ?? IDENTITY
  }
  const add = (a: Uint8Array, b: Uint8Array): Uint8Array => {
    if (isIdentity(a)) return b
    if (isIdentity(b)) return a
    return tiny.pointAdd(a, b, true) ?? IDENTITY
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
      const p = tiny.pointFromScalar(scalarToBytes(k), true)
      if (p === null) throw new RangeError('invalid scalar')
      return p
    },
    mul,
    // libsecp256k1 exposes no variable-time multiply through tiny-secp256k1; the constant-time one is
    // still the fastest available here.
    mulPublic: mul,
    add,
    isLinearRelation(p, z, q, h, r) {
      // z·p − h·q == r  ⇔  z·p == r + h·q
      return eq(mul(p, z), add(r, mul(q, h)))
    },
    isValidPoint(bytes) {
      return bytes.length === POINT_SIZE && tiny.isPointCompressed(bytes) && tiny.isPoint(bytes)
    },
    signPrehashed(hash, secretKey) {
      return tiny.sign(hash, secretKey, randomBytes(32))
    },
    verifyPrehashed(signature, hash, publicKey) {
      try {
        return tiny.verify(hash, publicKey, signature, true)
      } catch {
        return false
      }
    },
  }
}
