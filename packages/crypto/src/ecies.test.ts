import { hkdfSync } from 'node:crypto'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { concat, utf8 } from './bytes.ts'
import { ECIES_OVERHEAD, eciesDecrypt, eciesEncrypt } from './ecies.ts'
import { DecryptionError } from './errors.ts'

const sk = secp256k1.utils.randomSecretKey()
const pk = secp256k1.getPublicKey(sk, true)

describe('eciesEncrypt / eciesDecrypt', () => {
  test('default', () => {
    const ct = eciesEncrypt(pk, utf8('kfrag bytes'))
    expect(ct.length).toBe(11 + ECIES_OVERHEAD)
    expect(eciesDecrypt(sk, ct)).toEqual(utf8('kfrag bytes'))
  })

  test('behavior: layout matches an independent derivation (node:crypto HKDF, noble ECDH)', () => {
    const aad = utf8('grant-7')
    const ct = eciesEncrypt(pk, utf8('layout'), aad)
    const eph = ct.subarray(0, 33)
    const shared = secp256k1.getSharedSecret(sk, eph, true).subarray(1)
    const info = concat(utf8('medvault/v1/ecies'), new Uint8Array([0]), eph, pk)
    const okm = new Uint8Array(hkdfSync('sha256', shared, new Uint8Array(), info, 56))
    expect(xchacha20poly1305(okm.subarray(0, 32), okm.subarray(32), aad).decrypt(ct.subarray(33))).toEqual(
      utf8('layout'),
    )
  })

  test('behavior: a fresh ephemeral key per message', () => {
    const a = eciesEncrypt(pk, utf8('x'))
    const b = eciesEncrypt(pk, utf8('x'))
    expect(a.subarray(0, 33)).not.toEqual(b.subarray(0, 33))
  })

  test('behavior: round trip (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 1000 }),
        fc.option(fc.uint8Array({ maxLength: 32 }), { nil: undefined }),
        (pt, aad) => {
          expect(eciesDecrypt(sk, eciesEncrypt(pk, pt, aad), aad)).toEqual(pt)
        },
      ),
      { numRuns: 30 },
    )
  })

  test('error: flipping any single bit fails with DecryptionError (property)', () => {
    const ct = eciesEncrypt(pk, utf8('a kfrag for proxy 1'))
    fc.assert(
      fc.property(fc.integer({ min: 0, max: ct.length * 8 - 1 }), (bit) => {
        const bad = ct.slice()
        bad[bit >> 3]! ^= 1 << (bit & 7)
        expect(() => eciesDecrypt(sk, bad)).toThrow(DecryptionError)
      }),
      { numRuns: 100 },
    )
  })

  test('error: wrong recipient, wrong aad, truncated', () => {
    const ct = eciesEncrypt(pk, utf8('x'), utf8('a'))
    expect(() =>
      eciesDecrypt(secp256k1.utils.randomSecretKey(), ct, utf8('a')),
    ).toThrowErrorMatchingInlineSnapshot(
      `[DecryptionError: Decryption failed: the ciphertext is not authentic under this key.]`,
    )
    expect(() => eciesDecrypt(sk, ct, utf8('b'))).toThrow(DecryptionError)
    expect(() => eciesDecrypt(sk, ct)).toThrow(DecryptionError)
    expect(() => eciesDecrypt(sk, ct.subarray(0, 48), utf8('a'))).toThrow(DecryptionError)
    expect(() => eciesDecrypt(sk, new Uint8Array(49).fill(2), utf8('a'))).toThrow(DecryptionError)
  })

  test('error: bad keys', () => {
    expect(() => eciesEncrypt(new Uint8Array(33), utf8('x'))).toThrowErrorMatchingInlineSnapshot(`
      [InvalidPublicKeyError: \`recipientPublicKey\` is not a valid compressed secp256k1 public key.

      Expected 33 bytes: 0x02 or 0x03, then the 32-byte x coordinate of a point on the curve.]
    `)
    expect(() =>
      eciesEncrypt(secp256k1.getPublicKey(sk, false), utf8('x')),
    ).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyLengthError: Expected \`recipientPublicKey\` to be 33 bytes long, got 65 bytes.]`,
    )
    expect(() => eciesDecrypt(new Uint8Array(32), new Uint8Array(60))).toThrowErrorMatchingInlineSnapshot(`
      [InvalidSecretKeyError: \`recipientSecretKey\` is not a valid secp256k1 secret key.

      A secret key is a big-endian integer from 1 to n-1 (n: the secp256k1 group order).]
    `)
  })
})
