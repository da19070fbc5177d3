import { spawnSync } from 'node:child_process'
import { describe, expect, test } from 'vitest'
import {
  BackendUnavailableError,
  BaseError,
  DecryptionError,
  InvalidArgumentError,
  InvalidBytesError,
  InvalidConcurrencyError,
  InvalidHeaderError,
  InvalidKeyLengthError,
  InvalidPublicKeyError,
  InvalidSecretKeyError,
  InvalidSegmentSizeError,
  InvalidSignatureError,
  SignerMismatchError,
  StreamTooLongError,
  UnsupportedVersionError,
} from './errors.ts'

describe('errors', () => {
  test('default', () => {
    const err = new DecryptionError()
    expect(err).toBeInstanceOf(BaseError)
    expect(err).toBeInstanceOf(Error)
    expect(err.name).toBe('DecryptionError')
    expect(err.shortMessage).toBe(err.message)
  })

  test('behavior: walk() finds the deepest cause or the first match', () => {
    const root = new Error('root')
    const mid = new InvalidHeaderError({ reason: 'r' })
    const top = new BaseError('top', { cause: new BaseError('mid', { cause: root }) })
    expect(top.walk()).toBe(root)
    expect(new BaseError('x', { cause: mid }).walk((e) => e instanceof InvalidHeaderError)).toBe(mid)
    expect(top.walk((e) => e === 'nothing')).toBe(null)
  })

  test('behavior: every message, locked', () => {
    const all = [
      new DecryptionError(),
      new InvalidBytesError({ argument: 'key' }),
      new InvalidKeyLengthError({ argument: 'key', expected: 32, received: 16 }),
      new InvalidArgumentError({ argument: 'category', expected: 'a string' }),
      new InvalidSegmentSizeError({ segmentSize: 8, min: 16, max: 16777216 }),
      new InvalidConcurrencyError({ concurrency: 0, max: 64 }),
      new InvalidHeaderError({ reason: 'bad magic bytes' }),
      new UnsupportedVersionError({ what: 'stream version', version: 2, supported: [1] }),
      new StreamTooLongError({ maxSegments: 2 ** 32 }),
      new InvalidSecretKeyError({ argument: 'privateKey' }),
      new InvalidPublicKeyError({ argument: 'recipientPublicKey' }),
      new InvalidSignatureError({ reason: 'v must be 27, 28, 0 or 1' }),
      new BackendUnavailableError({ backend: 'webcrypto' }),
      new SignerMismatchError({ chainId: 31337, keyRegistry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' }),
    ]
    expect(all.map((e) => `${e.name}: ${e.message}`)).toMatchInlineSnapshot(`
      [
        "DecryptionError: Decryption failed: the ciphertext is not authentic under this key.",
        "InvalidBytesError: Expected \`key\` to be a Uint8Array.

      Pass raw bytes (a Uint8Array or a Node.js Buffer), not a string or an array.",
        "InvalidKeyLengthError: Expected \`key\` to be 32 bytes long, got 16 bytes.",
        "InvalidArgumentError: Expected \`category\` to be a string.",
        "InvalidSegmentSizeError: Invalid segment size 8: expected an integer from 16 to 16777216 bytes.",
        "InvalidConcurrencyError: Invalid concurrency 0: expected an integer from 1 to 64.",
        "InvalidHeaderError: Invalid stream header: this is not a medvault encrypted stream.

      Details: bad magic bytes",
        "UnsupportedVersionError: Unsupported stream version 2.

      Supported: 1. A newer @medvault/crypto may read it.",
        "StreamTooLongError: The stream is too long: at most 4294967296 segments are allowed.

      Use a larger segment size.",
        "InvalidSecretKeyError: \`privateKey\` is not a valid secp256k1 secret key.

      A secret key is a big-endian integer from 1 to n-1 (n: the secp256k1 group order).",
        "InvalidPublicKeyError: \`recipientPublicKey\` is not a valid compressed secp256k1 public key.

      Expected 33 bytes: 0x02 or 0x03, then the 32-byte x coordinate of a point on the curve.",
        "InvalidSignatureError: Invalid wallet signature: expected 65 bytes r ‖ s ‖ v.

      Details: v must be 27, 28, 0 or 1",
        "BackendUnavailableError: The \`webcrypto\` cipher backend is not available in this runtime.

      Use \`backend: 'auto'\` (the default) to fall back to the portable implementation.",
        "SignerMismatchError: The key-derivation signature was not made by the expected account for this deployment.

      Expected a signature of keyDerivationTypedData({ chainId: 31337, keyRegistry: 0x5FbDB2315678afecb367f032d93F642f64180aa3 }) by \`account\`.
      Ask the same account to sign the typed data for this chain id and KeyRegistry.",
      ]
    `)
  })
})

describe('one errors entry point', () => {
  const umbralErrors = [
    'UmbralDeserializationError',
    'InvalidCapsuleError',
    'KeyFragVerificationError',
    'CapsuleFragVerificationError',
    'NotEnoughCapsuleFragsError',
    'MismatchedCapsuleFragsError',
    'DuplicateCapsuleFragsError',
    'UmbralBackendUnavailableError',
  ]

  test('behavior: the Umbral error classes are exported from ./errors too, as the same classes', async () => {
    const errors: Record<string, unknown> = await import('./errors.ts')
    const umbral: Record<string, unknown> = await import('./umbral/errors.ts')
    for (const name of umbralErrors) {
      expect(errors[name], name).toBeTypeOf('function')
      expect(errors[name], name).toBe(umbral[name])
    }
    expect(umbral.BaseError).toBe(errors.BaseError)
    expect(umbral.DecryptionError).toBe(errors.DecryptionError)
  })

  test('behavior: each errors module loads on its own, in either order (no import cycle)', () => {
    for (const order of [
      ['./errors.ts', './umbral/errors.ts'],
      ['./umbral/errors.ts', './errors.ts'],
    ]) {
      const urls = order.map((p) => JSON.stringify(new URL(p, import.meta.url).href))
      const script = `
        const a = await import(${urls[0]})
        const b = await import(${urls[1]})
        const e = new a.InvalidCapsuleError()
        console.log(JSON.stringify([e instanceof b.BaseError, e.name, typeof b.InvalidCapsuleError]))
      `
      const res = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' })
      expect(res.status, res.stderr).toBe(0)
      expect(JSON.parse(res.stdout)).toEqual([true, 'InvalidCapsuleError', 'function'])
    }
  })
})
