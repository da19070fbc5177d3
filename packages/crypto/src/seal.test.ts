import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { concat, fromHex, utf8 } from './bytes.ts'
import { DecryptionError } from './errors.ts'
import { open, SEAL_OVERHEAD, seal } from './seal.ts'

const key = Uint8Array.from({ length: 32 }, (_, i) => i)

describe('seal / open', () => {
  test('default', () => {
    const sealed = seal(key, utf8('hello'))
    expect(sealed.length).toBe(5 + SEAL_OVERHEAD)
    expect(open(key, sealed)).toEqual(utf8('hello'))
  })

  test('behavior: layout is nonce(24) ‖ XChaCha20-Poly1305 ciphertext ‖ tag(16)', () => {
    const aad = utf8('ctx')
    const sealed = seal(key, utf8('layout'), aad)
    const nonce = sealed.subarray(0, 24)
    expect(xchacha20poly1305(key, nonce, aad).decrypt(sealed.subarray(24))).toEqual(utf8('layout'))
  })

  test('behavior: opens the known-answer vector of draft-irtf-cfrg-xchacha-03 §A.3.1 (independent source)', () => {
    // The draft's AEAD_XChaCha20_Poly1305 example, laid out as seal() writes it: nonce ‖ ciphertext ‖ tag.
    const draftKey = fromHex('808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f')
    const nonce = fromHex('404142434445464748494a4b4c4d4e4f5051525354555657')
    const aad = fromHex('50515253c0c1c2c3c4c5c6c7')
    const plaintext =
      "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it."
    const ciphertext = fromHex(
      'bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb' +
        '731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452' +
        '2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9' +
        '21f9664c97637da9768812f615c68b13b52e',
    )
    const tag = fromHex('c0875924c1c7987947deafd8780acf49')
    const sealed = concat(nonce, ciphertext, tag)
    expect(new TextDecoder().decode(open(draftKey, sealed, aad))).toBe(plaintext)
    const forged = sealed.slice()
    forged[forged.length - 1]! ^= 1
    expect(() => open(draftKey, forged, aad)).toThrow(DecryptionError)
  })

  test('behavior: a fresh nonce each time', () => {
    expect(seal(key, utf8('x'))).not.toEqual(seal(key, utf8('x')))
  })

  test('behavior: empty plaintext', () => {
    expect(open(key, seal(key, new Uint8Array()))).toEqual(new Uint8Array())
  })

  test('behavior: round trip with and without aad (property)', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.option(fc.uint8Array({ maxLength: 64 }), { nil: undefined }),
        (pt, aad) => {
          expect(open(key, seal(key, pt, aad), aad)).toEqual(pt)
        },
      ),
    )
  })

  test('error: flipping any single bit fails with DecryptionError (property)', () => {
    const sealed = seal(key, utf8('a small secret message'), utf8('aad'))
    fc.assert(
      fc.property(fc.integer({ min: 0, max: sealed.length * 8 - 1 }), (bit) => {
        const bad = sealed.slice()
        bad[bit >> 3]! ^= 1 << (bit & 7)
        expect(() => open(key, bad, utf8('aad'))).toThrow(DecryptionError)
      }),
      { numRuns: 300 },
    )
  })

  test('error: wrong key, wrong aad, missing aad, truncated', () => {
    const sealed = seal(key, utf8('x'), utf8('aad'))
    const wrong = key.slice()
    wrong[31]! ^= 0x80
    expect(() => open(wrong, sealed, utf8('aad'))).toThrowErrorMatchingInlineSnapshot(
      `[DecryptionError: Decryption failed: the ciphertext is not authentic under this key.]`,
    )
    expect(() => open(key, sealed, utf8('aae'))).toThrow(DecryptionError)
    expect(() => open(key, sealed)).toThrow(DecryptionError)
    expect(() => open(key, sealed.subarray(0, sealed.length - 1), utf8('aad'))).toThrow(DecryptionError)
    expect(() => open(key, sealed.subarray(0, 39), utf8('aad'))).toThrow(DecryptionError)
    expect(() => open(key, new Uint8Array(), utf8('aad'))).toThrow(DecryptionError)
  })

  test('error: bad arguments', () => {
    expect(() => seal(new Uint8Array(31), utf8('x'))).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyLengthError: Expected \`key\` to be 32 bytes long, got 31 bytes.]`,
    )
    expect(() => open(new Uint8Array(0), new Uint8Array(40))).toThrow(
      'Expected `key` to be 32 bytes long, got 0 bytes.',
    )
    expect(() => seal(key, 'x' as unknown as Uint8Array)).toThrowErrorMatchingInlineSnapshot(`
      [InvalidBytesError: Expected \`plaintext\` to be a Uint8Array.

      Pass raw bytes (a Uint8Array or a Node.js Buffer), not a string or an array.]
    `)
    expect(() => seal(key, utf8('x'), [1] as unknown as Uint8Array)).toThrow(
      'Expected `aad` to be a Uint8Array.',
    )
  })
})
