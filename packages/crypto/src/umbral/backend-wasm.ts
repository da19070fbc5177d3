/**
 * The libsecp256k1 group backend: libsecp256k1 0.5.0 (MIT) compiled to WebAssembly by
 * `packages/crypto/wasm/build.sh` with a small C ABI of our own (`umbral-secp256k1.c`), embedded in
 * this package as base64 (`libsecp256k1-wasm.generated.ts`) so that Node and every bundler load it with
 * no WebAssembly configuration.
 *
 * Constant time, by construction rather than by blinding:
 * - `mul` is libsecp256k1's `secp256k1_ecmult_const` (GLV split + signed-digit fixed window, table
 *   lookups by full scan with conditional moves), returning the full point; the affine result is computed
 *   with the constant-time safegcd inversion.
 * - `baseMul` is `secp256k1_ecmult_gen` (signed-digit multi-comb, constant time, additionally blinded by
 *   the context, which is randomized at load).
 * - `add` is `secp256k1_gej_add_ge` (constant time, complete for valid points, A = ±B included).
 * - `invertSecret` is `secp256k1_scalar_inverse` (constant-time safegcd).
 * - ECDSA signing is `secp256k1_ecdsa_sign` (RFC 6979 hedged with 32 fresh random bytes).
 * `mulPublic`, `isLinearRelation` (Strauss over two points) and ECDSA verification are variable-time and
 * only see public values.
 *
 * Secrets cross into WebAssembly only as the 32-byte big-endian scalars and keys the scheme already holds,
 * written into the module's static I/O area and zeroed after each call.
 *
 * Points are kept as 64-byte affine x ‖ y, keyed by the identity of the compressed Uint8Array the scheme
 * layer holds: a point computed here is compressed by reading y's parity and never decompressed, a parsed
 * one is decompressed (one square root) once.
 *
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js'
import type { GroupBackend } from './backend.ts'
import { IDENTITY, isIdentity, POINT_SIZE, pointG, SCALAR_SIZE } from './curve.ts'
import { WASM_BASE64 } from './libsecp256k1-wasm.generated.ts'

/** The C ABI of umbral-secp256k1.c: pointers into the module's memory; every function returns 1 or 0. */
interface Exports {
  memory: WebAssembly.Memory
  mv_io(): number
  mv_init(seed32: number): number
  mv_parse(out64: number, in33: number): number
  mv_mul_public(out64: number, p64: number, k32: number): number
  mv_lin(p64: number, pIsG: number, z32: number, q64: number, h32: number, r64: number): number
  mv_verify(sig64: number, msg32: number, pk64: number): number
  mv_base_mul(out64: number, k32: number): number
  mv_mul(out64: number, p64: number, k32: number): number
  mv_add(out64: number, a64: number, b64: number): number
  mv_scalar_inv(out32: number, k32: number): number
  mv_sign(out64: number, msg32: number, sk32: number, extra32: number): number
}

/** A compiled, initialised libsecp256k1 instance. */
export interface Libsecp256k1 {
  readonly exports: Exports
}

function decodeBase64(b64: string): Uint8Array {
  const bin = atob(b64)
  const out = new Uint8Array(bin.length)
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i)
  return out
}

/**
 * Compiles and instantiates the embedded module (asynchronously: browsers refuse to compile large
 * modules synchronously on the main thread) and randomizes its context.
 * @throws where WebAssembly is missing or refuses the module
 */
export async function instantiateLibsecp256k1(): Promise<Libsecp256k1> {
  const module = await WebAssembly.compile(decodeBase64(WASM_BASE64) as Uint8Array<ArrayBuffer>)
  const instance = await WebAssembly.instantiate(module, {})
  const exports = instance.exports as unknown as Exports
  const io = exports.mv_io()
  new Uint8Array(exports.memory.buffer).set(randomBytes(32), io)
  const ok = exports.mv_init(io)
  new Uint8Array(exports.memory.buffer).fill(0, io, io + 32)
  if (ok !== 1) throw new Error('libsecp256k1 context initialisation failed')
  return { exports }
}

// Layout of the 1 KiB I/O area (offsets from mv_io()).
const OUT = 0 // 64: result point / signature / scalar
const A = 64 // 64: first point
const B = 128 // 64: second point
const C = 192 // 64: third point
const K1 = 256 // 32: first scalar / secret key
const K2 = 288 // 32: second scalar
const MSG = 320 // 32: message hash
const EXTRA = 352 // 32: signing entropy
const SIG = 384 // 64: signature
const IN33 = 448 // 33: compressed point
const TOP = 1n << 256n
const HEX_BYTE = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))
const HEX_VALUE = new Uint8Array(128)
for (let i = 0; i < 16; i++) HEX_VALUE[i.toString(16).charCodeAt(0)] = i

export function createWasmBackend(lib: Libsecp256k1): GroupBackend {
  const w = lib.exports
  const io = w.mv_io()
  // The module never grows its memory (no allocator), so this view stays valid.
  const mem = new Uint8Array(w.memory.buffer)
  const xy = new WeakMap<Uint8Array, Uint8Array>()
  const g = pointG()

  /**
   * Writes k (0 ≤ k < 2^256) big-endian at offset `at`. BigInt operations take shortcuts on small or zero
   * operands (a byte-by-byte `k & 0xffn` / `k >>= 8n` loop ran measurably faster for k = 1 in the timing
   * bench), so the conversion goes through the 65-digit hex string of k + 2^256, whose length is the
   * same for every k, and table lookups.
   */
  const putScalar = (at: number, k: bigint): void => {
    const hex = (k | TOP).toString(16)
    for (let i = 0; i < SCALAR_SIZE; i++) {
      mem[io + at + i] =
        ((HEX_VALUE[hex.charCodeAt(1 + 2 * i)] as number) << 4) |
        (HEX_VALUE[hex.charCodeAt(2 + 2 * i)] as number)
    }
  }
  const wipe = (at: number, length: number): void => {
    mem.fill(0, io + at, io + at + length)
  }
  /** Writes the 64-byte form of a (non-identity) compressed point at `at`; throws if it is not a point. */
  const putPoint = (at: number, p: Uint8Array): void => {
    let full = xy.get(p)
    if (full === undefined) {
      if (p.length !== POINT_SIZE) throw new RangeError('not a compressed point')
      mem.set(p, io + IN33)
      if (w.mv_parse(io + OUT, io + IN33) !== 1) throw new RangeError('not a point on secp256k1')
      full = mem.slice(io + OUT, io + OUT + 64)
      xy.set(p, full)
    }
    mem.set(full, io + at)
  }
  /** The compressed form of the point at OUT (parity of y, no field arithmetic), cached with its x ‖ y. */
  const takePoint = (ok: number): Uint8Array => {
    if (ok !== 1) return IDENTITY
    const full = mem.slice(io + OUT, io + OUT + 64)
    const c = new Uint8Array(POINT_SIZE)
    c[0] = 2 | ((full[63] as number) & 1)
    c.set(full.subarray(0, 32), 1)
    xy.set(c, full)
    return c
  }
  /** Reads the 32-byte scalar at OUT the same way: a 65-digit hex string, parsed once, 2^256 removed. */
  const takeScalar = (): bigint => {
    let hex = '0x1'
    for (let i = io + OUT; i < io + OUT + SCALAR_SIZE; i++) hex += HEX_BYTE[mem[i] as number]
    return BigInt(hex) ^ TOP
  }

  const mulPublic = (p: Uint8Array, k: bigint): Uint8Array => {
    if (k === 0n || isIdentity(p)) return IDENTITY
    putPoint(A, p)
    putScalar(K1, k)
    return takePoint(w.mv_mul_public(io + OUT, io + A, io + K1))
  }
  const add = (a: Uint8Array, b: Uint8Array): Uint8Array => {
    if (isIdentity(a)) return b
    if (isIdentity(b)) return a
    putPoint(A, a)
    putPoint(B, b)
    const sum = takePoint(w.mv_add(io + OUT, io + A, io + B))
    wipe(A, 128)
    return sum
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
      putScalar(K1, k)
      const ok = w.mv_base_mul(io + OUT, io + K1)
      wipe(K1, 32)
      if (ok !== 1) throw new RangeError('invalid scalar')
      return takePoint(ok)
    },
    mul(p, k) {
      if (k === 0n || isIdentity(p)) return IDENTITY
      putScalar(K1, k)
      let ok: number
      if (p === g) {
        // G has a precomputed comb table; ecmult_gen is constant time as well.
        ok = w.mv_base_mul(io + OUT, io + K1)
      } else {
        putPoint(A, p)
        ok = w.mv_mul(io + OUT, io + A, io + K1)
      }
      wipe(A, 64)
      wipe(K1, 32)
      return takePoint(ok)
    },
    mulPublic,
    add,
    isLinearRelation(p, z, q, h, r) {
      if (isIdentity(p) || isIdentity(q) || isIdentity(r)) {
        return eq(mulPublic(p, z), add(r, mulPublic(q, h)))
      }
      const pIsG = p === g ? 1 : 0
      if (pIsG === 0) putPoint(A, p)
      putPoint(B, q)
      putPoint(C, r)
      putScalar(K1, z)
      putScalar(K2, h)
      return w.mv_lin(io + A, pIsG, io + K1, io + B, io + K2, io + C) === 1
    },
    isValidPoint(bytes) {
      if (bytes.length !== POINT_SIZE || (bytes[0] !== 2 && bytes[0] !== 3)) return false
      try {
        putPoint(A, bytes)
        return true
      } catch {
        return false
      }
    },
    invertSecret(x) {
      putScalar(K1, x)
      const ok = w.mv_scalar_inv(io + OUT, io + K1)
      wipe(K1, 32)
      const inverse = takeScalar()
      wipe(OUT, 32)
      if (ok !== 1) throw new RangeError('cannot invert zero')
      return inverse
    },
    signPrehashed(hash, secretKey) {
      if (hash.length !== 32 || secretKey.length !== SCALAR_SIZE) throw new RangeError('bad signing input')
      mem.set(hash, io + MSG)
      mem.set(secretKey, io + K1)
      mem.set(randomBytes(32), io + EXTRA)
      const ok = w.mv_sign(io + OUT, io + MSG, io + K1, io + EXTRA)
      wipe(K1, 32)
      wipe(EXTRA, 32)
      if (ok !== 1) throw new RangeError('invalid signing key')
      return mem.slice(io + OUT, io + OUT + 64)
    },
    verifyPrehashed(signature, hash, publicKey) {
      if (signature.length !== 64 || hash.length !== 32) return false
      try {
        putPoint(A, publicKey)
      } catch {
        return false
      }
      mem.set(signature, io + SIG)
      mem.set(hash, io + MSG)
      return w.mv_verify(io + SIG, io + MSG, io + A) === 1
    },
  }
}
