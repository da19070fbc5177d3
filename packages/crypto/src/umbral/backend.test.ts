/**
 * The group backends against each other and against noble's reference arithmetic.
 */
import { spawnSync } from 'node:child_process'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { describe, expect, test, vi } from 'vitest'
import { availableBackends, getBackend, setBackend } from './backend.ts'
import { createNobleBackend } from './backend-noble.ts'
import { createWasmBackend, instantiateLibsecp256k1 } from './backend-wasm.ts'
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

test('behavior: wasm secret operations draw no randomness (constant time by construction, no blinding)', () => {
  // The previous WebAssembly backend blinded every secret multiplication (two variable-time
  // multiplications by random values); libsecp256k1's ecmult_const/ecmult_gen/safegcd need none.
  setBackend('wasm')
  const b = getBackend()
  const p = Point.BASE.multiply(0x1234567n)
  const k = 0x1234567890abcdef1234567890abcdefn
  // Expected values first: noble's own multiplications draw randomness.
  const expected = [p.multiply(k), Point.fromBytes(pointU()).multiply(k), Point.BASE.multiply(k)].map((q) =>
    hex(q.toBytes(true)),
  )
  const inverse = Fn.inv(k)
  const spy = vi.spyOn(globalThis.crypto, 'getRandomValues')
  try {
    expect([b.mul(p.toBytes(true), k), b.mul(pointU(), k), b.baseMul(k)].map(hex)).toEqual(expected)
    expect(b.invertSecret(k)).toBe(inverse)
    expect(spy).not.toHaveBeenCalled()
  } finally {
    spy.mockRestore()
  }
})

test('behavior: wasm leaves no secret scalar or key in the module I/O area after a call', async () => {
  const lib = await instantiateLibsecp256k1()
  const b = createWasmBackend(lib)
  const memory = () => new Uint8Array(lib.exports.memory.buffer)
  const io = lib.exports.mv_io()
  const ioHex = () => hex(memory().subarray(io, io + 1024))
  const k = Fn.create(0x5ec7e7n * 0x1234567890abcdef1234567890abcdefn)
  const p = Point.BASE.multiply(0x1234567n).toBytes(true)
  const secret = hex(scalarToBytes(k))
  b.mul(p, k)
  expect(ioHex()).not.toContain(secret)
  b.baseMul(k)
  expect(ioHex()).not.toContain(secret)
  b.invertSecret(k)
  expect(ioHex()).not.toContain(secret)
  const signature = b.signPrehashed(new Uint8Array(32).fill(7), scalarToBytes(k))
  expect(ioHex()).not.toContain(secret)
  expect(b.verifyPrehashed(signature, new Uint8Array(32).fill(7), Point.BASE.multiply(k).toBytes(true))).toBe(
    true,
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
        // with P = G (the capsule check), which takes the generator's table on wasm
        const rg = Point.BASE.multiply(k).subtract(pc.multiply(a)).toBytes(true)
        expect(b.isLinearRelation(pointG(), k, ec, a, rg)).toBe(true)
        expect(b.isLinearRelation(pointG(), Fn.add(k, 1n), ec, a, rg)).toBe(false)
        expect(b.invertSecret(k)).toBe(Fn.inv(k))
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
    for (const k of edgeScalars) {
      const expected = hex(Point.BASE.multiply(k).toBytes(true))
      expect(hex(b.mul(g, k))).toBe(expected)
      expect(hex(b.mul(Point.BASE.toBytes(true), k))).toBe(expected) // not the shared G instance
      expect(hex(b.baseMul(k))).toBe(expected)
    }
    // A + A (doubling) through the complete addition
    expect(hex(b.add(g, Point.BASE.toBytes(true)))).toBe(hex(Point.BASE.double().toBytes(true)))
  })

  test('error: invalid encodings are not points', () => {
    setBackend(name)
    const b = getBackend()
    expect(b.isValidPoint(pointG())).toBe(true)
    expect(b.isValidPoint(Point.BASE.toBytes(false))).toBe(false)
    expect(b.isValidPoint(Uint8Array.of(2, ...new Uint8Array(32).fill(0xff)))).toBe(false)
    expect(b.isValidPoint(IDENTITY)).toBe(false)
  })

  test('behavior: ECDSA signatures are low-S, verify under noble, and high-S twins are refused', () => {
    setBackend(name)
    const b = getBackend()
    const sk = scalarToBytes(0x7e57n * 0x1234567890abcdefn)
    const pk = secp256k1.getPublicKey(sk, true)
    const hash = new Uint8Array(32).fill(0xab)
    const sig = b.signPrehashed(hash, sk)
    expect(secp256k1.verify(sig, hash, pk, { prehash: false, lowS: true })).toBe(true)
    expect(b.verifyPrehashed(sig, hash, pk)).toBe(true)
    const s = BigInt(`0x${hex(sig.subarray(32))}`)
    const highS = new Uint8Array([...sig.subarray(0, 32), ...scalarToBytes(N - s)])
    expect(secp256k1.verify(highS, hash, pk, { prehash: false, lowS: false })).toBe(true)
    expect(b.verifyPrehashed(highS, hash, pk)).toBe(false)
    expect(b.verifyPrehashed(sig, new Uint8Array(32).fill(0xac), pk)).toBe(false)
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
