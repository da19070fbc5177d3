import * as dagCbor from '@ipld/dag-cbor'
import { open } from '@medvault/crypto'
import { Capsule, decryptOriginal } from '@medvault/crypto/umbral'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { bytesToHex } from 'viem'
import { describe, expect, test } from 'vitest'
import {
  cborCid,
  envelopeFixture,
  expectNoInputQuoted,
  expectThrows,
  mutatedBytes,
  mutatedValue,
  rawCid,
  throwsOnlyTyped,
} from '../test/helpers.ts'
import { dagCborCid } from './cbor.ts'
import {
  capsuleOf,
  decodeRecordEnvelope,
  encodeRecordEnvelope,
  parseRecordEnvelope,
  type RecordEnvelope,
  wrappedKeyOf,
} from './envelope.ts'
import { InvalidFieldError } from './errors.ts'

describe('record envelope', () => {
  test('default: encode → decode round trip; the capsules open the data key at every level', () => {
    const { envelope, dek, keys } = envelopeFixture()
    const bytes = encodeRecordEnvelope(envelope)
    const decoded = decodeRecordEnvelope(bytes)
    expect(decoded).toEqual(envelope)
    expect(encodeRecordEnvelope(decoded)).toEqual(bytes)
    for (const level of ['record', 'tag', 'all'] as const) {
      const capsule = Capsule.fromBytesSimple(capsuleOf(decoded, level))
      expect(decryptOriginal(keys[level], capsule, wrappedKeyOf(decoded, level))).toEqual(dek)
    }
    expect(new TextDecoder().decode(open(dek, decoded.meta))).toContain('fhir')
  })

  test('behavior: the bytes are what dag-cbor (and so storage.putEnvelope) writes; the CID is CIDv1 dag-cbor sha2-256', () => {
    const { envelope } = envelopeFixture()
    const bytes = encodeRecordEnvelope(envelope)
    expect(bytes).toEqual(dagCbor.encode(envelope))
    expect(dagCborCid(bytes).equals(cborCid(bytes))).toBe(true)
    expect(dagCborCid(bytes).toString()).toMatch(/^bafyrei/)
  })

  test('behavior: untagged record, no prev, CIDv0 dag-pb content', () => {
    const { envelope } = envelopeFixture({ tagged: false, prev: false })
    envelope.content = CID.parse('QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n')
    const decoded = decodeRecordEnvelope(encodeRecordEnvelope(envelope))
    expect(decoded).toEqual(envelope)
    expect('prev' in decoded).toBe(false)
    expect('tag' in decoded.capsules).toBe(false)
    expectThrows(() => capsuleOf(decoded, 'tag'), 'ScopeNotInEnvelopeError')
    expectThrows(() => wrappedKeyOf(decoded, 'tag'), 'ScopeNotInEnvelopeError')
  })

  test('behavior: parseRecordEnvelope checks a value decoded by storage.getEnvelope the same way', () => {
    const { envelope } = envelopeFixture()
    expect(parseRecordEnvelope(dagCbor.decode(encodeRecordEnvelope(envelope)))).toEqual(envelope)
    expectThrows(() => parseRecordEnvelope({ ...envelope, extra: 1 }), 'UnexpectedFieldError')
    expectThrows(() => parseRecordEnvelope({ ...envelope, size: undefined }), 'MalformedEncodingError')
    expectThrows(() => parseRecordEnvelope('envelope'), 'MalformedEncodingError')
  })

  test('behavior: optional fields set to undefined by a JS caller are absent', () => {
    const { envelope } = envelopeFixture({ tagged: false, prev: false })
    const loose = { ...envelope, prev: undefined, capsules: { ...envelope.capsules, tag: undefined } }
    expect(encodeRecordEnvelope(loose as unknown as RecordEnvelope)).toEqual(encodeRecordEnvelope(envelope))
  })

  describe('error: every malformed field is refused with a typed error naming it', () => {
    const { envelope } = envelopeFixture()
    const bad = (patch: Record<string, unknown>): Uint8Array => dagCbor.encode({ ...envelope, ...patch })
    const cases: Array<[string, Uint8Array, string, string | undefined]> = [
      ['unknown version', bad({ v: 2 }), 'UnsupportedFormatVersionError', undefined],
      ['version as string', bad({ v: '1' }), 'UnsupportedFormatVersionError', undefined],
      ['extra field', bad({ extra: 1 }), 'UnexpectedFieldError', 'extra'],
      ['missing size', dropKey(envelope, 'size'), 'MissingFieldError', 'size'],
      ['missing v', dropKey(envelope, 'v'), 'MissingFieldError', 'v'],
      ['negative size', bad({ size: -1 }), 'InvalidFieldError', 'size'],
      ['size beyond 2^53', bad({ size: 2n ** 60n }), 'InvalidFieldError', 'size'],
      ['float size', bad({ size: 1.5 }), 'InvalidFieldError', 'size'],
      ['segment too small', bad({ segment: 15 }), 'InvalidFieldError', 'segment'],
      ['segment too large', bad({ segment: 16 * 1024 * 1024 + 1 }), 'InvalidFieldError', 'segment'],
      ['epoch as string', bad({ epoch: '0' }), 'InvalidFieldError', 'epoch'],
      ['epoch beyond uint32', bad({ epoch: 2 ** 32 }), 'InvalidFieldError', 'epoch'],
      ['content as bytes', bad({ content: envelope.content.bytes }), 'InvalidFieldError', 'content'],
      ['content dag-cbor', bad({ content: cborCid(new Uint8Array(1)) }), 'InvalidFieldError', 'content'],
      ['prev raw', bad({ prev: rawCid(new Uint8Array(1)) }), 'InvalidFieldError', 'prev'],
      ['prev null', bad({ prev: null }), 'InvalidFieldError', 'prev'],
      [
        'capsule 97 bytes',
        bad({ capsules: { ...envelope.capsules, record: envelope.capsules.record.slice(1) } }),
        'InvalidFieldError',
        'capsules.record',
      ],
      [
        'capsule msgpack form (105 bytes)',
        bad({ capsules: { ...envelope.capsules, all: new Uint8Array(105) } }),
        'InvalidFieldError',
        'capsules.all',
      ],
      [
        'capsule point off the curve',
        bad({ capsules: { ...envelope.capsules, record: offCurve(envelope.capsules.record) } }),
        'InvalidFieldError',
        'capsules.record',
      ],
      [
        'capsule scalar zero',
        bad({ capsules: { ...envelope.capsules, record: zeroScalar(envelope.capsules.record) } }),
        'InvalidFieldError',
        'capsules.record',
      ],
      [
        'capsules without record',
        bad({ capsules: { all: envelope.capsules.all } }),
        'MissingFieldError',
        'capsules.record',
      ],
      [
        'capsules with another level',
        bad({ capsules: { ...envelope.capsules, group: envelope.capsules.all } }),
        'UnexpectedFieldError',
        'capsules.group',
      ],
      ['capsules as list', bad({ capsules: [envelope.capsules.record] }), 'InvalidFieldError', 'capsules'],
      [
        'wrapped key 71 bytes',
        bad({ wrappedKeys: { ...envelope.wrappedKeys, tag: new Uint8Array(71) } }),
        'InvalidFieldError',
        'wrappedKeys.tag',
      ],
      [
        'tag capsule without tag wrapped key',
        bad({ wrappedKeys: { record: envelope.wrappedKeys.record, all: envelope.wrappedKeys.all } }),
        'InvalidFieldError',
        'wrappedKeys.tag',
      ],
      ['meta shorter than a seal', bad({ meta: new Uint8Array(39) }), 'InvalidFieldError', 'meta'],
      ['meta above 64 KiB', bad({ meta: new Uint8Array(65_537) }), 'InvalidFieldError', 'meta'],
      ['meta as string', bad({ meta: 'secret' }), 'InvalidFieldError', 'meta'],
    ]
    test.each(cases)('%s', (_, bytes, name, field) => {
      const err = expectThrows(() => decodeRecordEnvelope(bytes), name)
      if (field !== undefined) expect((err as unknown as { field: string }).field).toBe(field)
    })

    test('not canonical: a non-minimal integer, unsorted keys, trailing bytes', () => {
      const bytes = encodeRecordEnvelope(envelope)
      // `size: 1234` is 0x19 0x04d2; the same value in 4 bytes (0x1a 0x000004d2) is valid CBOR, not DAG-CBOR.
      const i = findSeq(bytes, [0x64, 0x73, 0x69, 0x7a, 0x65, 0x19, 0x04, 0xd2]) + 5
      const widened = concat(
        bytes.subarray(0, i),
        Uint8Array.of(0x1a, 0, 0, 0x04, 0xd2),
        bytes.subarray(i + 3),
      )
      expectThrows(() => decodeRecordEnvelope(widened), 'MalformedEncodingError')
      expectThrows(() => decodeRecordEnvelope(concat(bytes, Uint8Array.of(0))), 'MalformedEncodingError')
      expectThrows(() => decodeRecordEnvelope(new Uint8Array()), 'MalformedEncodingError')
      expectThrows(() => decodeRecordEnvelope('bytes' as unknown as Uint8Array), 'MalformedEncodingError')
    })

    test('too large: refused before decoding', () => {
      expectThrows(() => decodeRecordEnvelope(new Uint8Array(131_073)), 'TooLargeError')
    })

    test('the encoder refuses what the decoder would', () => {
      expectThrows(() => encodeRecordEnvelope({ ...envelope, segment: 0 }), 'InvalidFieldError')
      expectThrows(
        () =>
          encodeRecordEnvelope({
            ...envelope,
            capsules: { ...envelope.capsules, record: new Uint8Array(98) },
          }),
        'InvalidFieldError',
      )
      expectThrows(() => encodeRecordEnvelope({ ...envelope, v: 2 as 1 }), 'UnsupportedFormatVersionError')
    })

    test('the no-leak check used by the fuzzers catches an error that quotes input bytes', () => {
      const input = encodeRecordEnvelope(envelope)
      const leaky = new InvalidFieldError({
        format: 'record envelope',
        field: 'meta',
        expected: bytesToHex(envelope.meta).slice(2, 40),
      })
      expect(() => expectNoInputQuoted(leaky, input)).toThrow('quotes input bytes')
      expect(() =>
        expectNoInputQuoted(
          new InvalidFieldError({ format: 'record envelope', field: 'meta', expected: '40 bytes' }),
          input,
        ),
      ).not.toThrow()
    })

    test('messages name the field, never a value', () => {
      const err = expectThrows(
        () => decodeRecordEnvelope(bad({ meta: new Uint8Array(39).fill(0xab) })),
        'InvalidFieldError',
      )
      expect(err.message).toMatchInlineSnapshot(
        `"Invalid record envelope: \`meta\` must be 40 to 65536 bytes."`,
      )
    })
  })

  describe('error: fuzzing (fast-check) — only typed errors, and whatever decodes re-encodes to the same bytes', () => {
    const { envelope } = envelopeFixture()
    const valid = encodeRecordEnvelope(envelope)

    test('byte mutations of a valid encoding', () => {
      fc.assert(
        fc.property(mutatedBytes(valid), (bytes) => {
          let decoded: RecordEnvelope | undefined
          if (!throwsOnlyTyped(() => (decoded = decodeRecordEnvelope(bytes)), bytes)) {
            expect(encodeRecordEnvelope(decoded!)).toEqual(bytes)
          }
        }),
        { numRuns: 2_000 },
      )
    })

    test('structural mutations: any field replaced, deleted or added', () => {
      fc.assert(
        fc.property(mutatedValue(dagCbor.decode(valid)), (bytes) => {
          let decoded: RecordEnvelope | undefined
          if (!throwsOnlyTyped(() => (decoded = decodeRecordEnvelope(bytes)), bytes)) {
            expect(encodeRecordEnvelope(decoded!)).toEqual(bytes)
          }
        }),
        { numRuns: 2_000 },
      )
    })

    test('random bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
          expect(throwsOnlyTyped(() => decodeRecordEnvelope(bytes), bytes)).toBe(true)
        }),
        { numRuns: 1_000 },
      )
    })
  })
})

function dropKey(value: object, key: string): Uint8Array {
  const copy: Record<string, unknown> = { ...value }
  delete copy[key]
  return dagCbor.encode(copy)
}

/** x = 5 is not the x coordinate of any secp256k1 point (5³ + 7 = 132 is not a square mod p). */
function offCurve(capsule: Uint8Array): Uint8Array {
  const out = capsule.slice()
  out.fill(0, 1, 33)
  out[32] = 5
  return out
}

function zeroScalar(capsule: Uint8Array): Uint8Array {
  const out = capsule.slice()
  out.fill(0, 66)
  return out
}

function findSeq(bytes: Uint8Array, seq: number[]): number {
  outer: for (let i = 0; i <= bytes.length - seq.length; i++) {
    for (let j = 0; j < seq.length; j++) if (bytes[i + j] !== seq[j]) continue outer
    return i
  }
  throw new Error('sequence not found')
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}
