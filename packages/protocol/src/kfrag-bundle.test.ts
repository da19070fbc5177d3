import * as dagCbor from '@ipld/dag-cbor'
import { eciesDecrypt } from '@medvault/crypto'
import { Capsule, decryptReencrypted, encrypt, KeyFrag, PublicKey, reencrypt } from '@medvault/crypto/umbral'
import fc from 'fast-check'
import { bytesToHex, type Hex } from 'viem'
import { describe, expect, test } from 'vitest'
import { bundleFixture, expectThrows, mutatedBytes, mutatedValue, throwsOnlyTyped } from '../test/helpers.ts'
import { dagCborCid } from './cbor.ts'
import {
  bundleEntryFor,
  decodeKfragBundle,
  encodeKfragBundle,
  type KfragBundle,
  kfragAad,
  kfragBundleToIpld,
  kfragFor,
  parseKfragBundle,
} from './kfrag-bundle.ts'
import type { BundleScope } from './scope.ts'

const RECORD_A = bytesToHex(new Uint8Array(32).fill(0xa1))
const RECORD_B = bytesToHex(new Uint8Array(32).fill(0xa2))

describe('kfrag bundle', () => {
  test('default: round trip; each proxy opens its kfrag with its AAD, verifies it, and the grantee decrypts', () => {
    const { bundle, proxySecretKeys, delegating, receiving } = bundleFixture()
    const bytes = encodeKfragBundle(bundle)
    const decoded = decodeKfragBundle(bytes)
    expect(decoded).toEqual(bundle)
    expect(encodeKfragBundle(decoded)).toEqual(bytes)

    // The record B entry, end to end with real Umbral: 2 of 3 proxies re-encrypt the capsule.
    const dek = crypto.getRandomValues(new Uint8Array(32))
    const [capsule, wrapped] = encrypt(delegating[1]!.publicKey(), dek)
    const cfrags = [0, 2].map((i) => {
      const slot = kfragFor(decoded, { recordId: RECORD_B, proxy: decoded.proxies[i]! })
      expect(slot).toMatchObject({ index: i, level: 'record', scope: { kind: 'record', recordId: RECORD_B } })
      const kfrag = KeyFrag.fromBytes(eciesDecrypt(proxySecretKeys[i]!, slot.sealedKfrag, slot.aad)).verify(
        PublicKey.fromCompressedBytes(decoded.verifyingKey),
        PublicKey.fromCompressedBytes(slot.delegatingKey),
        PublicKey.fromCompressedBytes(decoded.receivingKey),
      )
      return reencrypt(Capsule.fromBytesSimple(capsule.toBytesSimple()), kfrag)
    })
    expect(decryptReencrypted(receiving, delegating[1]!.publicKey(), capsule, cfrags, wrapped)).toEqual(dek)
  })

  test('behavior: a kfrag opened under another grant, scope, index or proxy address fails to decrypt (AAD binding)', () => {
    const { bundle, proxySecretKeys } = bundleFixture()
    const slot = kfragFor(bundle, { recordId: RECORD_A, proxy: bundle.proxies[1]! })
    const sk = proxySecretKeys[1]!
    const scope = slot.scope
    expect(() => eciesDecrypt(sk, slot.sealedKfrag, slot.aad)).not.toThrow()
    const others: Uint8Array[] = [
      kfragAad({ grantId: `0x${'78'.repeat(32)}`, scope, index: 1, proxy: bundle.proxies[1]! }),
      kfragAad({
        grantId: bundle.grantId,
        scope: { kind: 'record', recordId: RECORD_B },
        index: 1,
        proxy: bundle.proxies[1]!,
      }),
      kfragAad({ grantId: bundle.grantId, scope: { kind: 'all' }, index: 1, proxy: bundle.proxies[1]! }),
      kfragAad({ grantId: bundle.grantId, scope, index: 0, proxy: bundle.proxies[1]! }),
      kfragAad({ grantId: bundle.grantId, scope, index: 1, proxy: bundle.proxies[0]! }),
    ]
    for (const aad of others)
      expect(() => eciesDecrypt(sk, slot.sealedKfrag, aad)).toThrow('Decryption failed')
    // The kfrag of record B's entry, copied into record A's slot, does not open as A's.
    const b = kfragFor(bundle, { recordId: RECORD_B, proxy: bundle.proxies[1]! })
    expect(() => eciesDecrypt(sk, b.sealedKfrag, slot.aad)).toThrow('Decryption failed')
  })

  test('behavior: kfragAad is the documented UTF-8 string, case-normalised', () => {
    const aad = kfragAad({
      grantId: `0x${'AB'.repeat(32)}`,
      scope: { kind: 'tag', tag: '0x00000000DEADBEEF' },
      index: 7,
      proxy: '0x52908400098527886E0F7030069857D2E4169EE7',
    })
    expect(new TextDecoder().decode(aad)).toBe(
      `medvault/kfrag/v1/0x${'ab'.repeat(32)}/tag:0x00000000deadbeef/7/0x52908400098527886e0f7030069857d2e4169ee7`,
    )
    expect(
      new TextDecoder().decode(
        kfragAad({
          grantId: `0x${'01'.repeat(32)}`,
          scope: { kind: 'all' },
          index: 0,
          proxy: '0x0000000000000000000000000000000000000001',
        }),
      ),
    ).toBe(`medvault/kfrag/v1/0x${'01'.repeat(32)}/all/0/0x0000000000000000000000000000000000000001`)
  })

  test('behavior: tag and all bundles have one entry, which covers any record (the chain decides coverage)', () => {
    for (const scope of [
      { kind: 'tag', tag: '0x0102030405060708' },
      { kind: 'all' },
    ] satisfies BundleScope[]) {
      const { bundle } = bundleFixture({ scopes: [scope], proxies: 1, threshold: 1 })
      const decoded = decodeKfragBundle(encodeKfragBundle(bundle))
      expect(decoded.entries[0]!.scope).toEqual(scope)
      expect(bundleEntryFor(decoded, RECORD_A).scope).toEqual(scope)
      expect(kfragFor(decoded, { recordId: RECORD_B, proxy: decoded.proxies[0]! }).level).toBe(scope.kind)
    }
  })

  test('behavior: the IPLD value (for storage.putEnvelope) encodes to the same bytes and CID; parse reads it back', () => {
    const { bundle } = bundleFixture()
    const ipld = kfragBundleToIpld(bundle)
    const bytes = encodeKfragBundle(bundle)
    expect(dagCbor.encode(ipld)).toEqual(bytes)
    expect(dagCborCid(dagCbor.encode(ipld)).toString()).toBe(dagCborCid(bytes).toString())
    expect(parseKfragBundle(dagCbor.decode(bytes))).toEqual(bundle)
    // Addresses and ids are bytes on the wire.
    expect((ipld.grantor as Uint8Array).length).toBe(20)
    expect((ipld.grantId as Uint8Array).length).toBe(32)
  })

  test('error: lookups for a record or proxy the bundle does not have', () => {
    const { bundle } = bundleFixture()
    expectThrows(() => bundleEntryFor(bundle, `0x${'a3'.repeat(32)}`), 'ScopeNotInBundleError')
    expectThrows(
      () => kfragFor(bundle, { recordId: RECORD_A, proxy: '0x0000000000000000000000000000000000000009' }),
      'ProxyNotInBundleError',
    )
  })

  describe('error: every malformed field is refused with a typed error naming it', () => {
    const { bundle } = bundleFixture()
    const ipld = kfragBundleToIpld(bundle)
    const entries = ipld.entries as Array<Record<string, unknown>>
    const bad = (patch: Record<string, unknown>): Uint8Array => dagCbor.encode({ ...ipld, ...patch })
    const entry = (patch: Record<string, unknown>, i = 0) =>
      bad({ entries: entries.map((e, j) => (j === i ? { ...e, ...patch } : e)) })
    const cases: Array<[string, Uint8Array, string, string | undefined]> = [
      ['unknown version', bad({ v: 2 }), 'UnsupportedFormatVersionError', undefined],
      ['extra field', bad({ note: 'x' }), 'UnexpectedFieldError', 'note'],
      ['grant id 31 bytes', bad({ grantId: new Uint8Array(31) }), 'InvalidFieldError', 'grantId'],
      ['grant id as hex string', bad({ grantId: bundle.grantId }), 'InvalidFieldError', 'grantId'],
      ['grantor as a string', bad({ grantor: bundle.grantor }), 'InvalidFieldError', 'grantor'],
      ['grantee zero address', bad({ grantee: new Uint8Array(20) }), 'InvalidFieldError', 'grantee'],
      ['threshold 0', bad({ threshold: 0 }), 'InvalidFieldError', 'threshold'],
      ['threshold above the proxies', bad({ threshold: 4 }), 'InvalidFieldError', 'threshold'],
      ['no proxies', bad({ proxies: [] }), 'InvalidFieldError', 'proxies'],
      [
        '33 proxies',
        bad({ proxies: Array.from({ length: 33 }, (_, i) => new Uint8Array(20).fill(i + 1)) }),
        'InvalidFieldError',
        'proxies',
      ],
      [
        'duplicate proxy',
        bad({
          proxies: [
            (ipld.proxies as Uint8Array[])[0],
            (ipld.proxies as Uint8Array[])[1],
            (ipld.proxies as Uint8Array[])[0],
          ],
        }),
        'InvalidFieldError',
        'proxies[2]',
      ],
      [
        'proxy 21 bytes',
        bad({ proxies: [new Uint8Array(21).fill(1), ...(ipld.proxies as Uint8Array[]).slice(1)] }),
        'InvalidFieldError',
        'proxies[0]',
      ],
      [
        'verifying key off the curve',
        bad({ verifyingKey: Uint8Array.of(2, ...new Uint8Array(31), 5) }),
        'InvalidFieldError',
        'verifyingKey',
      ],
      [
        'verifying key uncompressed prefix',
        bad({ verifyingKey: Uint8Array.of(4, ...bundle.verifyingKey.subarray(1)) }),
        'InvalidFieldError',
        'verifyingKey',
      ],
      [
        'receiving key 32 bytes',
        bad({ receivingKey: bundle.receivingKey.subarray(1) }),
        'InvalidFieldError',
        'receivingKey',
      ],
      ['no entries', bad({ entries: [] }), 'InvalidFieldError', 'entries'],
      ['entry with an extra field', entry({ extra: 1 }), 'UnexpectedFieldError', 'entries[0].extra'],
      [
        'entry without kfrags',
        bad({ entries: [{ scope: entries[0]!.scope, delegatingKey: entries[0]!.delegatingKey }] }),
        'MissingFieldError',
        'entries[0].kfrags',
      ],
      [
        'one kfrag short',
        entry({ kfrags: (entries[1]!.kfrags as Uint8Array[]).slice(1) }, 1),
        'InvalidFieldError',
        'entries[1].kfrags',
      ],
      [
        'kfrag truncated',
        entry({ kfrags: (entries[0]!.kfrags as Uint8Array[]).map((k) => k.subarray(1)) }),
        'InvalidFieldError',
        'entries[0].kfrags[0]',
      ],
      [
        'delegating key missing',
        dagCbor.encode({ ...ipld, entries: [{ scope: entries[0]!.scope, kfrags: entries[0]!.kfrags }] }),
        'MissingFieldError',
        'entries[0].delegatingKey',
      ],
      [
        'scope kind unknown',
        entry({ scope: { kind: 'records', id: new Uint8Array(32) } }),
        'InvalidFieldError',
        'entries[0].scope.kind',
      ],
      [
        'record scope id 8 bytes',
        entry({ scope: { kind: 'record', id: new Uint8Array(8) } }),
        'InvalidFieldError',
        'entries[0].scope.id',
      ],
      [
        'record scope recordId key',
        entry({ scope: { kind: 'record', recordId: new Uint8Array(32) } }),
        'UnexpectedFieldError',
        'entries[0].scope.recordId',
      ],
      [
        'zero tag',
        bad({ entries: [{ ...entries[0], scope: { kind: 'tag', id: new Uint8Array(8) } }] }),
        'InvalidFieldError',
        'entries[0].scope.id',
      ],
      [
        'all scope with an id',
        bad({ entries: [{ ...entries[0], scope: { kind: 'all', id: new Uint8Array(32) } }] }),
        'UnexpectedFieldError',
        'entries[0].scope.id',
      ],
      [
        'all entry beside a record entry',
        entry({ scope: { kind: 'all' } }, 1),
        'InvalidFieldError',
        'entries[1].scope',
      ],
      [
        'the same record twice',
        entry({ scope: entries[0]!.scope }, 1),
        'InvalidFieldError',
        'entries[1].scope',
      ],
    ]
    test.each(cases)('%s', (_, bytes, name, field) => {
      const err = expectThrows(() => decodeKfragBundle(bytes), name)
      if (field !== undefined) expect((err as unknown as { field: string }).field).toBe(field)
    })

    test('the encoder refuses what the decoder would, and bad hex/addresses in the TS object', () => {
      expectThrows(() => encodeKfragBundle({ ...bundle, threshold: 0 }), 'InvalidFieldError')
      expectThrows(() => encodeKfragBundle({ ...bundle, grantId: '0x1234' }), 'InvalidFieldError')
      // A mixed-case address with a wrong EIP-55 checksum.
      const wrongChecksum = `0x${bundle.grantor.slice(2, 41)}${bundle.grantor[41] === 'a' ? 'A' : bundle.grantor[41] === 'A' ? 'a' : 'b'}`
      expectThrows(() => encodeKfragBundle({ ...bundle, grantor: wrongChecksum as Hex }), 'InvalidFieldError')
      expectThrows(
        () =>
          encodeKfragBundle({
            ...bundle,
            entries: [{ ...bundle.entries[0]!, scope: { kind: 'tag', tag: '0x01' } }],
          }),
        'InvalidFieldError',
      )
      expectThrows(
        () => encodeKfragBundle({ ...bundle, extra: 1 } as unknown as KfragBundle),
        'UnexpectedFieldError',
      )
    })

    test('too large: refused before decoding', () => {
      expectThrows(() => decodeKfragBundle(new Uint8Array(1_048_577)), 'TooLargeError')
    })
  })

  describe('error: fuzzing (fast-check) — only typed errors, and whatever decodes re-encodes to the same bytes', () => {
    const { bundle } = bundleFixture({ proxies: 2, threshold: 2 })
    const valid = encodeKfragBundle(bundle)

    test('byte mutations of a valid encoding', () => {
      fc.assert(
        fc.property(mutatedBytes(valid), (bytes) => {
          let decoded: KfragBundle | undefined
          if (!throwsOnlyTyped(() => (decoded = decodeKfragBundle(bytes)), bytes)) {
            expect(encodeKfragBundle(decoded!)).toEqual(bytes)
          }
        }),
        { numRuns: 2_000 },
      )
    })

    test('structural mutations: any field replaced, deleted or added', () => {
      fc.assert(
        fc.property(mutatedValue(dagCbor.decode(valid)), (bytes) => {
          let decoded: KfragBundle | undefined
          if (!throwsOnlyTyped(() => (decoded = decodeKfragBundle(bytes)), bytes)) {
            expect(encodeKfragBundle(decoded!)).toEqual(bytes)
          }
        }),
        { numRuns: 2_000 },
      )
    })

    test('random bytes', () => {
      fc.assert(
        fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
          expect(throwsOnlyTyped(() => decodeKfragBundle(bytes), bytes)).toBe(true)
        }),
        { numRuns: 1_000 },
      )
    })
  })
})
