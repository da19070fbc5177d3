/**
 * @medvault/crypto/umbral in a real browser (headless Chromium), bundled by Vite with no WebAssembly
 * configuration: the bundle must build, load the embedded libsecp256k1 WebAssembly backend (noble stays
 * selectable), decrypt the umbral-pre 0.10.0 known-answer vector on both, and run a full grant →
 * re-encrypt → decrypt whose output Node then opens.
 */
import { readFileSync } from 'node:fs'
import {
  Capsule,
  CapsuleFrag,
  decryptReencrypted,
  KeyFrag,
  PublicKey,
  reencrypt,
  SecretKey,
} from '@medvault/crypto/umbral'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type BrowserPage, bundle, chromiumPath, openPage } from './harness.ts'

const vector = readFileSync(
  new URL('../../packages/crypto/test/vectors/umbral/umbral-pre-0.10.0-e2e.json', import.meta.url),
  'utf8',
)

const entry = `
import * as u from '@medvault/crypto/umbral'
const v = ${vector}
const bytes = (h) => Uint8Array.from(h.match(/../g).map((b) => parseInt(b, 16)))
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const text = (b) => new TextDecoder().decode(b)
const result = { backend: u.backendName(), available: u.availableBackends() }
try {
  const dsk = u.SecretKey.fromBEBytes(bytes(v.delegating_sk))
  const rsk = u.SecretKey.fromBEBytes(bytes(v.receiving_sk))
  const vpk = u.PublicKey.fromCompressedBytes(bytes(v.verifying_pk))
  const capsule = u.Capsule.fromBytes(bytes(v.capsule_msgpack))
  result.original = text(u.decryptOriginal(dsk, capsule, bytes(v.ciphertext)))
  const cfrags = v.cfrags_msgpack.slice(0, 2).map((c) =>
    u.CapsuleFrag.fromBytes(bytes(c)).verify(capsule, vpk, dsk.publicKey(), rsk.publicKey()))
  result.reencrypted = text(u.decryptReencrypted(rsk, dsk.publicKey(), capsule, cfrags, bytes(v.ciphertext)))
  // The pure-JS fallback, in the same page.
  u.setBackend('noble')
  result.nobleOriginal = text(u.decryptOriginal(dsk, capsule, bytes(v.ciphertext)))
  result.nobleReencrypted = text(u.decryptReencrypted(rsk, dsk.publicKey(), capsule, cfrags, bytes(v.ciphertext)))
  u.setBackend('wasm')

  // Refusals on the browser's backend: a malicious proxy's cfrag (one bit of the vector's cfrag flipped),
  // the wrong secret key, an altered ciphertext.
  const refusal = (fn) => { try { fn(); return 'accepted' } catch (err) { return err.name } }
  const badCfrag = bytes(v.cfrags_simple[0])
  badCfrag[badCfrag.length - 1] ^= 1
  const badCiphertext = bytes(v.ciphertext)
  badCiphertext[badCiphertext.length - 1] ^= 1
  result.refusals = [
    refusal(() => u.CapsuleFrag.fromBytesSimple(badCfrag).verify(capsule, vpk, dsk.publicKey(), rsk.publicKey())),
    refusal(() => u.decryptOriginal(rsk, capsule, bytes(v.ciphertext))),
    refusal(() => u.decryptOriginal(dsk, capsule, badCiphertext)),
  ]

  // A fresh delegation made in the browser, handed to Node as bytes.
  const alice = u.SecretKey.random()
  const bob = u.SecretKey.random()
  const signer = new u.Signer(u.SecretKey.random())
  const [c2, ct2] = u.encrypt(alice.publicKey(), new TextEncoder().encode('from the browser'))
  const kfrags = u.generateKFrags(alice, bob.publicKey(), signer, 2, 3, true, true)
  result.fresh = {
    bob: hex(bob.toBEBytes()),
    alice: hex(alice.publicKey().toCompressedBytes()),
    verifying: hex(signer.verifyingKey().toCompressedBytes()),
    capsule: hex(c2.toBytes()),
    ciphertext: hex(ct2),
    kfrags: kfrags.map((k) => hex(k.toBytes())),
  }
} catch (err) {
  result.error = String(err)
}
globalThis.result = result
globalThis.ready = true
`

describe.skipIf(chromiumPath === undefined)('in Chromium (Vite bundle, no WebAssembly setup)', () => {
  let browser: BrowserPage
  let result: {
    backend: string
    available: string[]
    original?: string
    reencrypted?: string
    nobleOriginal?: string
    nobleReencrypted?: string
    refusals?: string[]
    error?: string
    fresh: {
      bob: string
      alice: string
      verifying: string
      capsule: string
      ciphertext: string
      kfrags: string[]
    }
  }

  beforeAll(async () => {
    browser = await openPage(await bundle(entry))
    result = await browser.page.evaluate(() => (globalThis as unknown as { result: typeof result }).result)
  })
  afterAll(async () => {
    await browser?.close()
  })

  test('default: the bundle runs on the libsecp256k1 WebAssembly backend and decrypts the umbral-pre vector', () => {
    expect(result.error).toBeUndefined()
    expect(result.backend).toBe('wasm')
    expect(result.available).toEqual(['noble', 'wasm'])
    expect(result.original).toBe('peace at dawn')
    expect(result.reencrypted).toBe('peace at dawn')
  })

  test('behavior: the noble fallback decrypts the same vector in the browser', () => {
    expect(result.nobleOriginal).toBe('peace at dawn')
    expect(result.nobleReencrypted).toBe('peace at dawn')
  })

  test('error: a tampered cfrag, the wrong key and an altered ciphertext are refused in the browser', () => {
    expect(result.error).toBeUndefined()
    expect(result.refusals).toEqual(['CapsuleFragVerificationError', 'DecryptionError', 'DecryptionError'])
  })

  test('behavior: kfrags and capsules made in the browser are re-encrypted and opened in Node', () => {
    const f = result.fresh
    const bytes = (h: string) => Uint8Array.from(Buffer.from(h, 'hex'))
    const alice = PublicKey.fromCompressedBytes(bytes(f.alice))
    const verifying = PublicKey.fromCompressedBytes(bytes(f.verifying))
    const bob = SecretKey.fromBEBytes(bytes(f.bob))
    const capsule = Capsule.fromBytes(bytes(f.capsule))
    const cfrags = f.kfrags.slice(1).map((k) => {
      const kfrag = KeyFrag.fromBytes(bytes(k)).verify(verifying, alice, bob.publicKey())
      return CapsuleFrag.fromBytes(reencrypt(capsule, kfrag).toBytes()).verify(
        capsule,
        verifying,
        alice,
        bob.publicKey(),
      )
    })
    const plaintext = decryptReencrypted(bob, alice, capsule, cfrags, bytes(f.ciphertext))
    expect(new TextDecoder().decode(plaintext)).toBe('from the browser')
  })
})
