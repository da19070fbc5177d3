/**
 * The group-arithmetic seam of the Umbral implementation.
 *
 * Everything the scheme does with curve points goes through one small {@link GroupBackend}: multiply,
 * add, check a proof equation, ECDSA over a 32-byte prehash. Two implementations exist, both MIT:
 *
 * - `noble` — pure TypeScript on @noble/curves. Portable, the default in browsers and wherever WebAssembly
 *   is not allowed.
 * - `wasm` — libsecp256k1 compiled to WebAssembly, through tiny-secp256k1. About ten times faster per
 *   public variable-base multiplication and four to five times per (blinded) secret one. Chosen
 *   automatically when it loads (see {@link loadWasmBackend}).
 *
 * Points cross the seam as 33-byte SEC1 compressed encodings (the form every Umbral hash consumes) and
 * scalars as bigints in [0, n). The point at infinity is the 1-byte `0x00` marker and never leaves the
 * module.
 *
 * Constant time: `baseMul` and `mul` are the only operations that ever see a secret scalar. noble runs
 * both on its constant-time, scalar-blinded `multiply`. In the wasm backend `baseMul` is libsecp256k1's
 * constant-time `ecmult_gen` (`pointFromScalar`), but tiny-secp256k1's `pointMultiply` is the
 * variable-time `ecmult` (it is `ec_pubkey_tweak_mul`), so its `mul` only ever hands it random values:
 * k·P = (k·b⁻¹)·(b·P) with a fresh random b per call (see backend-wasm.ts). `mulPublic` and
 * `isLinearRelation` are variable-time and are only called on public data (proof verification).
 *
 * @module
 */
import { createNobleBackend } from './backend-noble.ts'
import { createWasmBackend, type Tiny } from './backend-wasm.ts'
import { pointU } from './curve.ts'
import { UmbralBackendUnavailableError } from './errors.ts'

export type BackendName = 'noble' | 'wasm'

export interface GroupBackend {
  readonly name: BackendName
  /** k·G in constant time; k in [1, n). May be secret. */
  baseMul(k: bigint): Uint8Array
  /** k·P for a secret k (constant-time or randomised per call, never k itself to a variable-time routine); k in [0, n) (0 gives the identity marker). */
  mul(p: Uint8Array, k: bigint): Uint8Array
  /** k·P in variable time: public point and public scalar only. */
  mulPublic(p: Uint8Array, k: bigint): Uint8Array
  /** a + b (either may be the identity marker). */
  add(a: Uint8Array, b: Uint8Array): Uint8Array
  /** Whether `z·p == r + h·q`, in variable time: public values only (proof verification). */
  isLinearRelation(p: Uint8Array, z: bigint, q: Uint8Array, h: bigint, r: Uint8Array): boolean
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
/** Whether `setBackend` was called: automatic choices never override an explicit one. */
let explicit = false

function noble(): GroupBackend {
  nobleInstance ??= createNobleBackend()
  return nobleInstance
}

/**
 * Tries to load the tiny-secp256k1 (WebAssembly) backend; resolves `true` when it is ready. Never
 * rejects: where WebAssembly or the package is missing it resolves `false` and noble stays in use.
 * The module entry point awaits this once, so `wasm` is the default wherever it loads.
 *
 * The specifier is deliberately opaque to bundlers: a browser bundle does not pull in (or choke on)
 * tiny-secp256k1's `.wasm` import, and runs on noble unless the app hands the module over with
 * {@link useTinySecp256k1}.
 */
export function loadWasmBackend(): Promise<boolean> {
  registry.wasmLoad ??= (async () => {
    try {
      const specifier = 'tiny-secp256k1'
      const tiny = (await import(/* @vite-ignore */ /* webpackIgnore: true */ specifier)) as Tiny
      installWasm(tiny)
      return true
    } catch (err) {
      registry.wasmError = err
      return false
    }
  })()
  return registry.wasmLoad
}

/**
 * Installs the wasm backend from a tiny-secp256k1 module the application imported itself — the way to
 * get it in a browser bundle (whose bundler must support WebAssembly imports). It becomes the backend in
 * use unless {@link setBackend} chose one explicitly.
 * @throws {Error} if the module fails the self-test against noble
 *
 * @example
 * ```ts
 * import * as tiny from 'tiny-secp256k1'
 * import { useTinySecp256k1 } from '@medvault/crypto/umbral'
 * useTinySecp256k1(tiny)
 * ```
 */
export function useTinySecp256k1(tiny: Tiny): void {
  installWasm(tiny)
  if (!explicit) current = registry.wasm
}

function installWasm(tiny: Tiny): void {
  const wasm = createWasmBackend(tiny)
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
    !same(candidate.mul(u, k), reference.mul(u, k))
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
 * tiny-secp256k1 did not load.
 */
export function setBackend(name: BackendName): void {
  if (name === 'noble') {
    current = noble()
    explicit = true
    return
  }
  if (name === 'wasm') {
    if (registry.wasm === undefined)
      throw new UmbralBackendUnavailableError('wasm', { cause: registry.wasmError })
    current = registry.wasm
    explicit = true
    return
  }
  throw new TypeError(`Unknown backend "${String(name)}": expected "noble" or "wasm".`)
}
