/**
 * The group backends against each other and against noble's reference arithmetic.
 */
import { spawnSync } from 'node:child_process'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import * as tiny from 'tiny-secp256k1'
import { describe, expect, test, vi } from 'vitest'
import { availableBackends, getBackend, setBackend } from './backend.ts'
import { createNobleBackend } from './backend-noble.ts'
import { createWasmBackend } from './backend-wasm.ts'
import { Fn, hex, IDENTITY, N, pointG, pointU, scalarToBytes } from './curve.ts'
import './index.ts'

const { Point } = secp256k1
const scalar = fc.bigInt({ min: 1n, max: N - 1n })
const edgeScalars = [1n, 2n, 3n, 15n, 16n, (1n << 128n) - 1n, 1n << 128n, N - 1n, N - 2n, N >> 1n]

test('behavior: noble `mul` blinds the secret scalar with fresh randomness on every call', () => {
  // An unblinded multiplication walks the same digits (and the same additions of the identity for zero
  // digits) every time it sees the same secret, so its timing can be averaged over many calls; noble's
  // `multiply` re-randomises the scalar (k + r·n) each time. Blinding is observable as randomness drawn.
  const b = createNobleBackend()
  const p = Point.BASE.multiply(0x1234567n).toBytes(true)
  const k = 15n // GLV halves (15, 0): almost every window digit is zero
  const expected = hex(Point.BASE.multiply(0x1234567n * 15n).toBytes(true))
  const spy = vi.spyOn(globalThis.crypto, 'getRandomValues')
  try {
    for (let i = 0; i < 3; i++) {
      const before = spy.mock.calls.length
      const product = hex(b.mul(p, k))
      expect(spy.mock.calls.length).toBeGreaterThan(before)
      expect(product).toBe(expected)
    }
  } finally {
    spy.mockRestore()
  }
})

test('behavior: wasm `mul` never hands the secret scalar to pointMultiply (variable-time in libsecp256k1)', () => {
  // tiny-secp256k1's pointMultiply is secp256k1_ec_pubkey_tweak_mul, i.e. libsecp256k1's variable-time
  // `ecmult`: it may only ever see values independent of the secret.
  const tweaks: string[] = []
  const spying = {
    ...tiny,
    pointMultiply: (p: Uint8Array, tweak: Uint8Array, compressed?: boolean) => {
      tweaks.push(hex(tweak))
      return tiny.pointMultiply(p, tweak, compressed)
    },
  }
  const b = createWasmBackend(spying)
  const p = Point.BASE.multiply(0x1234567n)
  const k = 0x1234567890abcdef1234567890abcdefn
  const calls: string[][] = []
  for (let i = 0; i < 2; i++) {
    tweaks.length = 0
    expect(hex(b.mul(p.toBytes(true), k))).toBe(hex(p.multiply(k).toBytes(true)))
    calls.push([...tweaks])
  }
  expect(calls.flat()).not.toContain(hex(scalarToBytes(k)))
  // Fresh blinding per call: the two calls share no tweak.
  expect(calls[0]?.some((t) => calls[1]?.includes(t))).toBe(false)
  // Public multiplications (proof verification) keep the direct, fast path.
  tweaks.length = 0
  b.mulPublic(p.toBytes(true), k)
  expect(tweaks).toEqual([hex(scalarToBytes(k))])
})

describe.each(availableBackends())('%s backend', (name) => {
  test('default: agrees with noble on every operation', () => {
    setBackend(name)
    const b = getBackend()
    expect(b.name).toBe(name)
    fc.assert(
      fc.property(scalar, scalar, scalar, (a, c, k) => {
        // r below is a·(k − c)·G: the point at infinity, which has no encoding, when k = c.
        fc.pre(k !== c)
        // and a + c = 0 makes pa + pc the point at infinity.
        fc.pre(Fn.add(a, c) !== 0n)
        const pa = Point.BASE.multiply(a)
        const pc = Point.BASE.multiply(c)
        const [ea, ec] = [pa.toBytes(true), pc.toBytes(true)]
        expect(hex(b.baseMul(k))).toBe(hex(Point.BASE.multiply(k).toBytes(true)))
        expect(hex(b.mul(ea, k))).toBe(hex(pa.multiply(k).toBytes(true)))
        expect(hex(b.mulPublic(ea, k))).toBe(hex(pa.multiply(k).toBytes(true)))
        expect(hex(b.mul(pointU(), k))).toBe(hex(Point.fromBytes(pointU()).multiply(k).toBytes(true)))
        expect(hex(b.add(ea, ec))).toBe(hex(pa.add(pc).toBytes(true)))
        // z·p == r + h·q with r := z·p − h·q
        const r = pa.multiply(k).subtract(pc.multiply(a)).toBytes(true)
        expect(b.isLinearRelation(ea, k, ec, a, r)).toBe(true)
        expect(b.isLinearRelation(ea, k, ec, Fn.add(a, 1n), r)).toBe(false)
      }),
      { numRuns: 15 },
    )
  })

  test('behavior: the identity marker behaves as the point at infinity', () => {
    setBackend(name)
    const b = getBackend()
    const g = pointG()
    expect(b.mul(g, 0n)).toEqual(IDENTITY)
    expect(b.mul(IDENTITY, 5n)).toEqual(IDENTITY)
    expect(hex(b.add(IDENTITY, g))).toBe(hex(g))
    const minusG = Point.BASE.negate().toBytes(true)
    expect(b.add(g, minusG)).toEqual(IDENTITY)
    for (const k of edgeScalars) expect(hex(b.mul(g, k))).toBe(hex(Point.BASE.multiply(k).toBytes(true)))
  })

  test('error: invalid encodings are not points', () => {
    setBackend(name)
    const b = getBackend()
    expect(b.isValidPoint(pointG())).toBe(true)
    expect(b.isValidPoint(Point.BASE.toBytes(false))).toBe(false)
    expect(b.isValidPoint(Uint8Array.of(2, ...new Uint8Array(32).fill(0xff)))).toBe(false)
    expect(b.isValidPoint(IDENTITY)).toBe(false)
  })
})

test('behavior: where WebAssembly is missing, the module loads on noble and refuses `wasm` with a typed error', () => {
  // A child Node process whose WebAssembly global is removed before the module loads (after the first
  // .ts import, because Node's own type stripping needs WebAssembly).
  const script = `
    await import(${JSON.stringify(new URL('./curve.ts', import.meta.url).href)})
    delete globalThis.WebAssembly
    const m = await import(${JSON.stringify(new URL('./index.ts', import.meta.url).href)})
    const sk = m.SecretKey.random()
    const [capsule, ciphertext] = m.encrypt(sk.publicKey(), new Uint8Array([1, 2, 3]))
    let refused = ''
    try { m.setBackend('wasm') } catch (err) { refused = err.name }
    console.log(JSON.stringify({ available: m.availableBackends(), inUse: m.backendName(),
      plaintext: [...m.decryptOriginal(sk, capsule, ciphertext)], refused }))
  `
  const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
  expect(res.status, res.stderr).toBe(0)
  expect(JSON.parse(res.stdout)).toEqual({
    available: ['noble'],
    inUse: 'noble',
    plaintext: [1, 2, 3],
    refused: 'UmbralBackendUnavailableError',
  })
})
