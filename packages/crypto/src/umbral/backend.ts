/**
 * The group-arithmetic seam of the Umbral implementation.
 *
 * Everything the scheme does with curve points goes through one small {@link GroupBackend}: multiply,
 * add, check a proof equation, invert a secret scalar, ECDSA over a 32-byte prehash. Two implementations
 * exist, both MIT:
 *
 * - `wasm` — libsecp256k1 0.5.0 compiled to WebAssembly from pinned source (packages/crypto/wasm),
 *   embedded in the package. Constant-time by construction: `mul` is `secp256k1_ecmult_const`, `baseMul`
 *   `secp256k1_ecmult_gen`. The default wherever WebAssembly runs (see {@link loadWasmBackend}).
 * - `noble` — pure TypeScript on @noble/curves. The fallback where WebAssembly is missing or forbidden.
 *
 * Points cross the seam as 33-byte SEC1 compressed encodings (the form every Umbral hash consumes) and
 * scalars as bigints in [0, n). The point at infinity is the 1-byte `0x00` marker and never leaves the
 * module.
 *
 * Constant time: `baseMul`, `mul`, `add` and `invertSecret` are the only operations that ever see a
 * secret. The wasm backend runs them on libsecp256k1's constant-time routines; noble on its
 * scalar-blinded `multiply` and a blinded inversion. `mulPublic` and `isLinearRelation` are variable-time
 * and are only called on public data (proof verification).
 *
 * @module
 */
import { createNobleBackend } from './backend-noble.ts'
import { createWasmBackend, instantiateLibsecp256k1, type Libsecp256k1 } from './backend-wasm.ts'
import { pointU } from './curve.ts'
import { UmbralBackendUnavailableError } from './errors.ts'

export type BackendName = 'noble' | 'wasm'

export interface GroupBackend {
  readonly name: BackendName
  /** k·G in constant time; k in [1, n). May be secret. */
  baseMul(k: bigint): Uint8Array
  /** k·P for a secret k, in constant time (noble: blinded per call); k in [0, n) (0 gives the identity marker). */
  mul(p: Uint8Array, k: bigint): Uint8Array
  /** k·P in variable time: public point and public scalar only. */
  mulPublic(p: Uint8Array, k: bigint): Uint8Array
  /** a + b (either may be the identity marker); the points may be secret-derived. */
  add(a: Uint8Array, b: Uint8Array): Uint8Array
  /** Whether `z·p == r + h·q`, in variable time: public values only (proof verification). */
  isLinearRelation(p: Uint8Array, z: bigint, q: Uint8Array, h: bigint, r: Uint8Array): boolean
  /** x⁻¹ mod n for a secret x ≠ 0 (constant-time, or blinded with fresh randomness). */
  invertSecret(x: bigint): bigint
  /** Whether `bytes` is a 33-byte compressed encoding of a point on the curve. */
  isValidPoint(bytes: Uint8Array): boolean
  /** ECDSA over a 32-byte prehash, low-S, hedged with fresh randomness (RFC 6979 + extra entropy). */
  signPrehashed(hash: Uint8Array, secretKey: Uint8Array): Uint8Array
  /** ECDSA verification over a 32-byte prehash; rejects high-S signatures like RustCrypto's k256. */
  verifyPrehashed(signature: Uint8Array, hash: Uint8Array, publicKey: Uint8Array): boolean
}

const registry: { wasm?: GroupBackend; wasmError?: unknown; wasmLoad?: Promise<boolean> } = {}
let nobleInstance: GroupBackend | undefined
let current: GroupBackend | undefined

function noble(): GroupBackend {
  nobleInstance ??= createNobleBackend()
  return nobleInstance
}

/**
 * Loads the embedded libsecp256k1 WebAssembly backend; resolves `true` when it is ready. Never rejects:
 * where WebAssembly is missing (or a content security policy forbids compiling it) it resolves `false`
 * and noble stays in use. The module entry point awaits this once, so `wasm` is the default wherever it
 * loads — in Node and in browser bundles alike (the module is embedded as base64, so bundlers need no
 * WebAssembly setup).
 */
export function loadWasmBackend(): Promise<boolean> {
  registry.wasmLoad ??= (async () => {
    try {
      if (typeof WebAssembly === 'undefined') throw new Error('WebAssembly is not available')
      installWasm(await instantiateLibsecp256k1())
      return true
    } catch (err) {
      registry.wasmError = err
      return false
    }
  })()
  return registry.wasmLoad
}

function installWasm(lib: Libsecp256k1): void {
  const wasm = createWasmBackend(lib)
  selfTest(wasm, noble())
  registry.wasm = wasm
  registry.wasmError = undefined
}

/** A loaded backend must agree with noble on a few products before we trust it. */
function selfTest(candidate: GroupBackend, reference: GroupBackend): void {
  const u = pointU()
  const k = 0x1234567890abcdef1234567890abcdef1234567890abcdefn
  const same = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((x, i) => x === b[i])
  if (
    !same(candidate.baseMul(1n), reference.baseMul(1n)) ||
    !same(candidate.mul(u, k), reference.mul(u, k)) ||
    candidate.invertSecret(k) !== reference.invertSecret(k)
  ) {
    throw new Error('wasm backend self-test failed')
  }
}

/** The backend in use: the one last chosen with {@link setBackend}, else `wasm` if it loaded, else `noble`. */
export function getBackend(): GroupBackend {
  current ??= registry.wasm ?? noble()
  return current
}

/** The name of the backend in use. */
export function backendName(): BackendName {
  return getBackend().name
}

/** Names of the backends that can be selected in this environment (after {@link loadWasmBackend} settled). */
export function availableBackends(): BackendName[] {
  return registry.wasm === undefined ? ['noble'] : ['noble', 'wasm']
}

/**
 * Selects the group backend for every following operation. Objects made under one backend work under
 * the other: they hold only encoded points. Throws {@link UmbralBackendUnavailableError} for `wasm` where
 * the WebAssembly module did not load.
 */
export function setBackend(name: BackendName): void {
  if (name === 'noble') {
    current = noble()
    return
  }
  if (name === 'wasm') {
    if (registry.wasm === undefined)
      throw new UmbralBackendUnavailableError('wasm', { cause: registry.wasmError })
    current = registry.wasm
    return
  }
  throw new TypeError(`Unknown backend "${String(name)}": expected "noble" or "wasm".`)
}
