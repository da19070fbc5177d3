/**
 * @medvault/crypto in a real browser (Chromium): the package bundles without Node built-ins, and
 * everything it makes in the browser opens in Node and the other way round, on both stream backends.
 */
import {
  decryptStream,
  deriveKeysFromPrivateKey,
  eciesDecrypt,
  eciesEncrypt,
  encryptStream,
  getPublicKey,
  open,
  seal,
  tagFor,
} from '@medvault/crypto'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import vectors from '../../packages/crypto/test/vectors/keys.json' with { type: 'json' }
import { type BrowserPage, bundle, chromiumPath, openPage } from '../browser/harness.ts'

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex')
const bytes = (h: string) => new Uint8Array(Buffer.from(h, 'hex'))

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return new Uint8Array(Buffer.concat(parts))
}

// Runs in the page: the bundled package is on globalThis.mv, bytes cross the boundary as hex.
const entry = `
import * as mv from '@medvault/crypto'
const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const bytes = (h) => new Uint8Array(h.match(/../g)?.map((x) => parseInt(x, 16)) ?? [])
async function collect(it) { const parts = []; for await (const c of it) parts.push(...c); return new Uint8Array(parts) }
globalThis.api = {
  webcrypto: () => mv.isWebCryptoAvailable(),
  encryptStream: async (k, p, backend) => hex(await collect(mv.encryptStream(bytes(k), [bytes(p)], { segmentSize: 1024, backend }))),
  decryptStream: async (k, c, backend) => hex(await collect(mv.decryptStream(bytes(k), [bytes(c)], { backend }))),
  seal: (k, p) => hex(mv.seal(bytes(k), bytes(p))),
  open: (k, s) => hex(mv.open(bytes(k), bytes(s))),
  eciesEncrypt: (pk, p) => hex(mv.eciesEncrypt(bytes(pk), bytes(p))),
  eciesDecrypt: (sk, c) => hex(mv.eciesDecrypt(bytes(sk), bytes(c))),
  derive: (pk, scopes) => {
    const k = mv.deriveKeysFromPrivateKey(bytes(pk))
    const p = mv.publicKeys(k)
    return {
      root: hex(k.root), receiving: hex(k.receivingSecretKey), ecies: hex(k.eciesSecretKey), signing: hex(k.signingSecretKey), tag: hex(k.tagKey),
      receivingPublic: hex(p.receiving), verifyingPublic: hex(p.verifying),
      delegating: scopes.map((scope) => hex(mv.deriveDelegatingKey(k, scope))),
    }
  },
  deriveSig: (sig, chainId, keyRegistry, account) => hex(mv.deriveKeysFromSignature('0x' + sig, { chainId, keyRegistry, account }).tagKey),
  tag: (k, c) => hex(mv.tagFor(bytes(k), c)),
  tamper: async (k, c) => { try { await collect(mv.decryptStream(bytes(k), [bytes(c)])); return 'opened' } catch (e) { return e.name } },
}
globalThis.ready = true
`

describe.skipIf(chromiumPath === undefined)('@medvault/crypto in Chromium', () => {
  let browser: BrowserPage
  let script: string
  type Api = Record<string, (...args: unknown[]) => unknown>
  const call = <T>(name: string, ...args: unknown[]): Promise<T> =>
    browser.page.evaluate(
      ([n, a]) => (globalThis as unknown as { api: Api }).api[n as string]!(...(a as unknown[])),
      [name, args] as const,
    ) as Promise<T>

  beforeAll(async () => {
    script = await bundle(entry)
    browser = await openPage(script)
  })
  afterAll(async () => {
    await browser?.close()
  })

  const key = crypto.getRandomValues(new Uint8Array(32))
  const plaintext = crypto.getRandomValues(new Uint8Array(10_000))

  test('default', async () => {
    expect(await call<boolean>('webcrypto')).toBe(true)
    // Nothing from Node's standard library made it into the browser bundle.
    expect(script).not.toMatch(/from ["']node:|require\(["']node:/)
  })

  test('behavior: streams cross between Node and the browser on both backends', async () => {
    for (const backend of ['webcrypto', 'noble'] as const) {
      const fromBrowser = bytes(await call<string>('encryptStream', hex(key), hex(plaintext), backend))
      expect(await collect(decryptStream(key, [fromBrowser]))).toEqual(plaintext)
      const fromNode = await collect(encryptStream(key, [plaintext], { segmentSize: 1024, backend }))
      expect(await call<string>('decryptStream', hex(key), hex(fromNode), backend)).toBe(hex(plaintext))
    }
  })

  test('behavior: seal and ECIES cross between Node and the browser', async () => {
    expect(open(key, bytes(await call<string>('seal', hex(key), hex(plaintext))))).toEqual(plaintext)
    expect(await call<string>('open', hex(key), hex(seal(key, plaintext)))).toBe(hex(plaintext))
    const sk = deriveKeysFromPrivateKey(bytes(vectors.fromPrivateKey[0]!.privateKey)).eciesSecretKey
    const pk = getPublicKey(sk)
    expect(eciesDecrypt(sk, bytes(await call<string>('eciesEncrypt', hex(pk), hex(plaintext))))).toEqual(
      plaintext,
    )
    expect(await call<string>('eciesDecrypt', hex(sk), hex(eciesEncrypt(pk, plaintext)))).toBe(hex(plaintext))
  })

  test('behavior: key derivation and tags match the committed vectors', async () => {
    expect(vectors.fromPrivateKey.length).toBeGreaterThan(0)
    for (const v of vectors.fromPrivateKey) {
      expect(
        await call(
          'derive',
          v.privateKey,
          v.delegating.map((d) => d.scope),
        ),
      ).toEqual({
        root: v.root,
        receiving: v.receivingSecretKey,
        ecies: v.eciesSecretKey,
        signing: v.signingSecretKey,
        tag: v.tagKey,
        receivingPublic: v.receivingPublicKey,
        verifyingPublic: v.verifyingPublicKey,
        delegating: v.delegating.map((d) => d.secretKey),
      })
    }
    const s = vectors.fromSignature[0]!
    expect(await call<string>('deriveSig', s.signature, s.chainId, s.keyRegistry, s.address)).toBe(s.tagKey)
    // Against the committed tags (cross-checked with noble's HMAC in src/keys.test.ts), not Node's output.
    expect(vectors.tags.length).toBeGreaterThan(0)
    for (const t of vectors.tags) {
      expect(await call<string>('tag', t.tagKey, t.category)).toBe(t.tag)
      expect(hex(tagFor(bytes(t.tagKey), t.category))).toBe(t.tag)
    }
  })

  test('error: a tampered stream is refused in the browser with DecryptionError', async () => {
    const sealed = await collect(encryptStream(key, [plaintext], { segmentSize: 1024 }))
    sealed[sealed.length - 1]! ^= 1
    expect(await call<string>('tamper', hex(key), hex(sealed))).toBe('DecryptionError')
  })
})
