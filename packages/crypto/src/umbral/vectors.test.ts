/**
 * Known-answer tests: the end-to-end vector made with @nucypher/umbral-pre 0.10.0 (fixed keys, randomized
 * capsule/kfrags/cfrags), and the parts of the pyUmbral 0.3.0 vectors that still apply to the 0.5+ scheme.
 * Provenance: packages/crypto/test/vectors/README.md.
 */
import { readFileSync } from 'node:fs'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { describe, expect, test } from 'vitest'
import { getBackend } from './backend.ts'
import { capsuleFragParts } from './capsule-frag.ts'
import { Fn, hex, pointU, utf8 } from './curve.ts'
import {
  availableBackends,
  Capsule,
  CapsuleFrag,
  decryptOriginal,
  decryptReencrypted,
  InvalidCapsuleError,
  KeyFrag,
  Parameters,
  PublicKey,
  reencrypt,
  SecretKey,
  Signature,
  setBackend,
} from './index.ts'

const vectorsDir = new URL('../../test/vectors/umbral/', import.meta.url)
const load = (name: string) => JSON.parse(readFileSync(new URL(name, vectorsDir), 'utf8'))
const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))
const text = (b: Uint8Array) => new TextDecoder().decode(b)

const e2e = load('umbral-pre-0.10.0-e2e.json')
const pyScalar = load('pyumbral-0.3.0/vectors_scalar_operations.json')
const pyPoint = load('pyumbral-0.3.0/vectors_point_operations.json')
const pyKfrags = load('pyumbral-0.3.0/vectors_kfrags.json')
const pyCfrags = load('pyumbral-0.3.0/vectors_cfrags.json')

test('default: the wasm backend loads in Node', () => {
  expect(availableBackends()).toEqual(['noble', 'wasm'])
})

describe.each(availableBackends())('%s backend', (backend) => {
  test('default: keys and the parameter U match umbral-pre', () => {
    setBackend(backend)
    const dsk = SecretKey.fromBEBytes(bytes(e2e.delegating_sk))
    expect(hex(dsk.publicKey().toCompressedBytes())).toBe(e2e.delegating_pk)
    expect(hex(SecretKey.fromBEBytes(bytes(e2e.receiving_sk)).publicKey().toCompressedBytes())).toBe(
      e2e.receiving_pk,
    )
    expect(hex(SecretKey.fromBEBytes(bytes(e2e.signing_sk)).publicKey().toCompressedBytes())).toBe(
      e2e.verifying_pk,
    )
    const [x, y] = new Parameters().u.coordinates() ?? []
    expect(hex(x as Uint8Array)).toBe(e2e.parameters_u_x)
    expect(hex(y as Uint8Array)).toBe(e2e.parameters_u_y)
  })

  test('default: the e2e vector decrypts, verifies and re-serializes byte for byte', () => {
    setBackend(backend)
    const dsk = SecretKey.fromBEBytes(bytes(e2e.delegating_sk))
    const rsk = SecretKey.fromBEBytes(bytes(e2e.receiving_sk))
    const vpk = PublicKey.fromCompressedBytes(bytes(e2e.verifying_pk))
    const dpk = dsk.publicKey()
    const rpk = rsk.publicKey()

    const capsule = Capsule.fromBytes(bytes(e2e.capsule_msgpack))
    expect(hex(capsule.toBytes())).toBe(e2e.capsule_msgpack)
    expect(hex(capsule.toBytesSimple())).toBe(e2e.capsule_simple)
    expect(Capsule.fromBytesSimple(bytes(e2e.capsule_simple)).equals(capsule)).toBe(true)
    expect(text(decryptOriginal(dsk, capsule, bytes(e2e.ciphertext)))).toBe(e2e.plaintext_utf8)

    // The vector holds three of each: the loops below must not run over an empty list.
    const counts = [e2e.kfrags_msgpack, e2e.cfrags_msgpack, e2e.cfrags_simple].map((list) => list.length)
    expect(counts).toEqual([3, 3, 3])
    const kfrags = e2e.kfrags_msgpack.map((k: string) => {
      const kfrag = KeyFrag.fromBytes(bytes(k))
      expect(hex(kfrag.toBytes())).toBe(k)
      return kfrag.verify(vpk, dpk, rpk)
    })
    const cfrags = e2e.cfrags_msgpack.map((c: string, i: number) => {
      const cfrag = CapsuleFrag.fromBytes(bytes(c))
      expect(hex(cfrag.toBytes())).toBe(c)
      expect(hex(cfrag.toBytesSimple())).toBe(e2e.cfrags_simple[i])
      expect(CapsuleFrag.fromBytesSimple(bytes(e2e.cfrags_simple[i])).equals(cfrag)).toBe(true)
      return cfrag.verify(capsule, vpk, dpk, rpk)
    })
    for (const pair of [
      [0, 1],
      [1, 2],
      [2, 0],
    ] as const) {
      const chosen = pair.map((i) => cfrags[i])
      expect(text(decryptReencrypted(rsk, dpk, capsule, chosen, bytes(e2e.ciphertext)))).toBe(
        e2e.plaintext_utf8,
      )
    }

    // The deterministic part of re-encryption: E1 = E·rk, V1 = V·rk, and the kfrag's id and precursor.
    kfrags.forEach((kfrag: ReturnType<KeyFrag['verify']>, i: number) => {
      const ours = capsuleFragParts(reencrypt(capsule, kfrag))
      const theirs = capsuleFragParts(CapsuleFrag.fromBytes(bytes(e2e.cfrags_msgpack[i])))
      expect([hex(ours.e1), hex(ours.v1), hex(ours.kfragId), hex(ours.precursor), hex(ours.u1)]).toEqual([
        hex(theirs.e1),
        hex(theirs.v1),
        hex(theirs.kfragId),
        hex(theirs.precursor),
        hex(theirs.u1),
      ])
    })
  })

  test('behavior: pyUmbral scalar operations (unchanged since 0.3)', () => {
    const [a, b] = [pyScalar['first operand'], pyScalar['second operand']].map((h: string) =>
      BigInt(`0x${h}`),
    ) as [bigint, bigint]
    const results = Object.fromEntries(
      pyScalar.vectors.map((v: { operation: string; result: string }) => [v.operation, v.result]),
    )
    const h32 = (k: bigint) => k.toString(16).padStart(64, '0')
    expect(h32(Fn.add(a, b))).toBe(results.Addition)
    expect(h32(Fn.sub(a, b))).toBe(results.Subtraction)
    expect(h32(Fn.mul(a, b))).toBe(results.Multiplication)
    expect(h32(Fn.inv(a))).toBe(results.Inverse)
  })

  test('behavior: pyUmbral point operations and the DEM key derivation (unchanged since 0.3)', () => {
    setBackend(backend)
    const g = getBackend()
    const p1 = bytes(pyPoint['first CurvePoint operand'])
    const p2 = bytes(pyPoint['second CurvePoint operand'])
    const k = BigInt(`0x${pyPoint['CurveScalar operand']}`)
    const results = Object.fromEntries(
      pyPoint.vectors.map((v: { operation: string; result: string }) => [v.operation, v.result]),
    )
    const neg = (p: Uint8Array) => secp256k1.Point.fromBytes(p).negate().toBytes(true)
    expect(hex(g.add(p1, p2))).toBe(results.Addition)
    expect(hex(g.add(p1, neg(p2)))).toBe(results.Subtraction)
    expect(hex(g.mul(p1, k))).toBe(results.Multiplication)
    expect(hex(g.mulPublic(p1, k))).toBe(results.Multiplication)
    expect(hex(neg(p1))).toBe(results.Inversion)
    // The DEM key: HKDF-SHA256 over the compressed shared point, no salt, no info.
    expect(hex(hkdf(sha256, p1, undefined, undefined, 32))).toBe(results.kdf)
  })

  test('behavior: pyUmbral kfrag signatures verify under the unchanged ECDSA-over-SHA-256 rule', () => {
    setBackend(backend)
    const vpk = PublicKey.fromCompressedBytes(bytes(pyKfrags.verifying_pk))
    const dpk = bytes(pyKfrags.delegating_pk)
    const rpk = bytes(pyKfrags.receiving_pk)
    expect(pyKfrags.vectors.length).toBeGreaterThan(0)
    for (const { kfrag } of pyKfrags.vectors as { kfrag: string }[]) {
      // id(32) | key(32) | precursor(33) | commitment(33) | sigForProxy(64) | sigForReceiver(64) | flags(2)
      const raw = bytes(kfrag)
      const message = new Uint8Array([
        ...raw.subarray(0, 32),
        ...raw.subarray(97, 130),
        ...raw.subarray(64, 97),
        1,
        ...dpk,
        1,
        ...rpk,
      ])
      expect(Signature.fromBEBytes(raw.subarray(130, 194)).verify(vpk, message)).toBe(true)
      expect(Signature.fromBEBytes(raw.subarray(194, 258)).verify(vpk, message)).toBe(true)
    }
  })

  test('behavior: pyUmbral cfrags parse as simple cfrags and E1 = E·rk, V1 = V·rk hold', () => {
    setBackend(backend)
    const g = getBackend()
    const capsule = bytes(pyCfrags.capsule)
    const [e, v] = [capsule.subarray(0, 33), capsule.subarray(33, 66)]
    expect(pyCfrags.vectors.length).toBeGreaterThan(0)
    for (const vector of pyCfrags.vectors as { kfrag: string; cfrag: string }[]) {
      const rk = BigInt(`0x${vector.kfrag.slice(64, 128)}`)
      const parts = capsuleFragParts(CapsuleFrag.fromBytesSimple(bytes(vector.cfrag)))
      expect(hex(parts.e1)).toBe(hex(g.mul(e, rk)))
      expect(hex(parts.v1)).toBe(hex(g.mul(v, rk)))
    }
  })

  test('behavior: a pyUmbral capsule is refused — its check hashes to scalars by the pre-0.5 rule', () => {
    setBackend(backend)
    expect(() => Capsule.fromBytesSimple(bytes(pyCfrags.capsule))).toThrow(InvalidCapsuleError)
  })
})

test('behavior: U is RFC 9380 hash_to_curve("POINT_U", DST "PARAMETERS")', () => {
  expect(hex(pointU())).toBe(`03${e2e.parameters_u_x}`)
  expect(utf8('x')).toEqual(Uint8Array.of(0x78))
})
