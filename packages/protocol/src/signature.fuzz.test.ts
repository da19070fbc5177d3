/**
 * Fuzzing (fast-check) of `normalizeSignature`, the one protocol decoder without a fuzz test of its own (the
 * envelope, kfrag bundle, access request, receipt and response decoders have theirs beside them). Random and
 * mutated-valid signatures must either normalize to the one accepted form (low s, v 27/28), which normalizes
 * to itself and recovers the same signer, or be refused with a typed protocol error.
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import fc from 'fast-check'
import { type Hex, keccak256, recoverAddress, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, describe, expect, test } from 'vitest'
import { normalizeSignature } from './eip712.ts'
import { BaseError } from './errors.ts'

const RUNS = 1_000
const N = secp256k1.Point.CURVE().n
let accepted = 0
let refused = 0
afterAll(() => {
  console.log(`protocol normalizeSignature fuzz counts: ${JSON.stringify({ accepted, refused })}`)
})

describe('normalizeSignature', () => {
  test('error: any hex normalizes to a canonical signature of the same signer, or InvalidFieldError', async () => {
    const account = privateKeyToAccount(`0x${'11'.repeat(32)}`)
    const hash = keccak256(toHex('medvault'))
    const valid = await account.sign({ hash })
    // the same signature with high s and v 0/1: the encodings wallets return, which normalize to `valid`
    const bytes = Buffer.from(valid.slice(2), 'hex')
    const s = BigInt(`0x${bytes.subarray(32, 64).toString('hex')}`)
    const high = Buffer.concat([
      bytes.subarray(0, 32),
      Buffer.from((N - s).toString(16).padStart(64, '0'), 'hex'),
      Buffer.from([bytes[64] === 27 ? 1 : 0]),
    ])
    const seeds = [valid, `0x${high.toString('hex')}` as Hex]
    const HEX = '0123456789abcdefABCDEF'
    const inputs = fc.oneof(
      fc
        .tuple(
          fc.constantFrom(...seeds),
          fc.array(
            fc.record({
              kind: fc.constantFrom('set', 'delete', 'insert', 'truncate', 'case', 'v'),
              at: fc.nat(),
              char: fc.oneof(fc.constantFrom(...HEX), fc.string({ minLength: 1, maxLength: 1 })),
              v: fc.constantFrom('00', '01', '1b', '1c', '02', 'ff'),
            }),
            { minLength: 1, maxLength: 3 },
          ),
        )
        .map(([seed, ms]) => {
          let out: string = seed
          for (const { kind, at, char, v } of ms) {
            const i = at % (out.length + 1)
            if (kind === 'set') out = out.slice(0, i) + char + out.slice(i + 1)
            else if (kind === 'delete') out = out.slice(0, i) + out.slice(i + 1)
            else if (kind === 'insert') out = out.slice(0, i) + char + out.slice(i)
            else if (kind === 'truncate') out = out.slice(0, i)
            else if (kind === 'case') out = `0x${out.slice(2).toUpperCase()}`
            else out = out.slice(0, -2) + v
          }
          return out
        }),
      fc.uint8Array({ maxLength: 70 }).map((b) => `0x${Buffer.from(b).toString('hex')}`),
      fc.string({ maxLength: 140 }),
    )
    await fc.assert(
      fc.asyncProperty(inputs, async (input) => {
        let out: Hex
        try {
          out = normalizeSignature(input as Hex)
        } catch (err) {
          if (!(err instanceof BaseError) || err.name !== 'InvalidFieldError') throw err
          refused++
          return
        }
        accepted++
        expect(out).toMatch(/^0x[0-9a-f]{128}(1b|1c)$/)
        expect(normalizeSignature(out)).toBe(out)
        expect(BigInt(`0x${out.slice(66, 130)}`) <= N / 2n).toBe(true)
        // the normal form recovers whoever the input recovers to
        const signer = await recoverAddress({ hash, signature: input as Hex }).catch(() => undefined)
        if (signer !== undefined) expect(await recoverAddress({ hash, signature: out })).toBe(signer)
        if (seeds.includes(input as Hex)) expect(out).toBe(valid.toLowerCase())
      }),
      { numRuns: 2 * RUNS },
    )
  })
})
