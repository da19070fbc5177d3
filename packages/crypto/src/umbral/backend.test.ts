/**
 * The group backends against each other and against noble's reference arithmetic.
 */
import { spawnSync } from 'node:child_process'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { availableBackends, getBackend, setBackend } from './backend.ts'
import { mulSecretGlv, splitScalar } from './backend-noble.ts'
import { Fn, hex, IDENTITY, N, pointG, pointU } from './curve.ts'
import './index.ts'

const { Point } = secp256k1
const scalar = fc.bigInt({ min: 1n, max: N - 1n })
const edgeScalars = [1n, 2n, 3n, 15n, 16n, (1n << 128n) - 1n, 1n << 128n, N - 1n, N - 2n, N >> 1n]

test('behavior: the GLV split recombines to k', () => {
  const lambda = 0x5363ad4cc05c30e0a5261c028812645a122e22ea20816678df02967c1b23bd72n
  fc.assert(
    fc.property(scalar, (k) => {
      const { k1, k1neg, k2, k2neg } = splitScalar(k)
      expect(Fn.create((k1neg ? -k1 : k1) + (k2neg ? -k2 : k2) * lambda)).toBe(k)
    }),
  )
})

test('behavior: the constant-time GLV multiplication equals noble’s', () => {
  const p = Point.BASE.multiply(0x1234567n)
  for (const k of edgeScalars) expect(mulSecretGlv(p, k).equals(p.multiplyUnsafe(k))).toBe(true)
  fc.assert(
    fc.property(scalar, scalar, (a, k) => {
      const q = Point.BASE.multiply(a)
      expect(mulSecretGlv(q, k).equals(q.multiplyUnsafe(k))).toBe(true)
    }),
    { numRuns: 40 },
  )
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
