import { describe, expect, test } from 'vitest'
import {
  decodePurpose,
  decodeScope,
  encodePurpose,
  encodeScope,
  scopeKindName,
  toBytesHex,
  toSeconds,
} from './encoding.ts'
import { computeGrantId, encodeGrantParams } from './grant.ts'

const recordId = `0x${'11'.repeat(32)}` as const

describe('encodings', () => {
  test('default: scopes round-trip', () => {
    const scopes = [
      { kind: 'record', recordId },
      { kind: 'records', recordIds: [recordId, `0x${'22'.repeat(32)}`] },
      { kind: 'tag', tag: '0x0102030405060708' },
      { kind: 'all' },
    ] as const
    for (const scope of scopes) {
      const { scopeKind, scopeTarget, records } = encodeScope(scope)
      expect(decodeScope(scopeKind, scopeTarget, records)).toEqual(scope)
      expect(scopeKindName(scopeKind)).toBe(scope.kind)
    }
    expect(encodeScope({ kind: 'tag', tag: '0x0102030405060708' }).scopeTarget).toBe(
      `0x0102030405060708${'0'.repeat(48)}`,
    )
  })

  test('behavior: purposes, times, bytes, grant ids', () => {
    expect(encodePurpose('TREAT')).toBe(1)
    expect(encodePurpose('HTEST')).toBe(32)
    expect(decodePurpose(4)).toBe('HRESCH')
    expect(decodePurpose(99)).toBe(99)
    expect(toSeconds(new Date(1_700_000_000_999))).toBe(1_700_000_000)
    expect(toSeconds(5n)).toBe(5)
    expect(toBytesHex(new Uint8Array([1, 0x55]))).toBe('0x0155')
    expect(toBytesHex({ bytes: new Uint8Array([0xab]) })).toBe('0xab')
    const params = encodeGrantParams({
      grantee: '0x00000000000000000000000000000000000000a1',
      scope: { kind: 'all' },
      purpose: 'TREAT',
      expiry: 10,
      threshold: 1,
      proxySetId: 1,
      kfragsCid: '0x01',
    })
    expect(params.salt).toMatch(/^0x[0-9a-f]{64}$/)
    expect(params.notBefore).toBe(0)
    // keccak256(abi.encode(address(0xa1), bytes32(0))), locked here; test/chain/consent.test.ts checks
    // computeGrantId against the id the contract returns.
    expect(
      computeGrantId('0x00000000000000000000000000000000000000a1', `0x${'00'.repeat(32)}`),
    ).toMatchInlineSnapshot(`"0xa46c9a5e42ee711d67cec634bfb278f07133f8b3c236b826c53d763ec9766625"`)
  })

  test('error: bad input', () => {
    expect(() => encodePurpose('TREATMENT' as never)).toThrow(TypeError)
    expect(() => encodeScope({ kind: 'record', recordId: '0x12' })).toThrow(TypeError)
    expect(() => encodeScope({ kind: 'tag', tag: recordId })).toThrow(TypeError)
    expect(() => toSeconds(-1)).toThrow(RangeError)
    expect(() => toSeconds(2 ** 32)).toThrow(RangeError)
    expect(() => toBytesHex('abc' as never)).toThrow(TypeError)
  })
})
