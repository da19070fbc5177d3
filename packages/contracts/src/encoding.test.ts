import { describe, expect, test } from 'vitest'
import { grantTypes, purposeCode, purposeName, purposeOfUse, scopeKind, tagScopeTarget } from './encoding.ts'
import { consentRegistryAbi } from './generated/index.generated.ts'

describe('purpose of use', () => {
  test('default: names and codes round-trip', () => {
    for (const [name, code] of Object.entries(purposeOfUse)) {
      expect(purposeCode(name)).toBe(code)
      expect(purposeName(code)).toBe(name)
    }
    expect(purposeCode('TREAT')).toBe(1)
    expect(purposeCode('HRESCH')).toBe(4)
  })

  test('behavior: codes are 1..MAX_PURPOSE without gaps, as the contract enforces', () => {
    const codes = Object.values(purposeOfUse).sort((a, b) => a - b)
    expect(codes).toEqual(Array.from({ length: 32 }, (_, i) => i + 1))
  })

  test('error: unknown names and codes', () => {
    expect(() => purposeCode('TREATMENT')).toThrowErrorMatchingInlineSnapshot(`
      [UnknownPurposeError: Unknown purpose of use: "TREATMENT".

      Use one of the HL7 v3 PurposeOfUse codes in \`purposeOfUse\` (e.g. TREAT, ETREAT, HRESCH).]
    `)
    expect(() => purposeName(0)).toThrow(expect.objectContaining({ name: 'UnknownPurposeError' }))
    expect(() => purposeName(33)).toThrow(expect.objectContaining({ name: 'UnknownPurposeError' }))
  })
})

describe('encodings match the ABI', () => {
  test('default: ScopeKind and the EIP-712 Grant fields follow the contract', () => {
    const grant = consentRegistryAbi.find((item) => item.type === 'function' && item.name === 'grant')
    const params = grant?.type === 'function' ? grant.inputs[0] : undefined
    const fields = params !== undefined && 'components' in params ? params.components.map((c) => c.name) : []
    // The signed Grant is the grantor and the signer, then GrantParams in order, then the deadline (the salt is
    // the nonce).
    expect(grantTypes.Grant.map((f) => f.name)).toEqual(['grantor', 'signer', ...fields, 'deadline'])
    expect(scopeKind).toEqual({ none: 0, record: 1, records: 2, tag: 3, all: 4 })
  })

  test('default: a tag scope target is the tag left-aligned', () => {
    expect(tagScopeTarget('0x1a2b3c4d5e6f7081')).toBe(`0x1a2b3c4d5e6f7081${'0'.repeat(48)}`)
  })

  test('error: a tag that is not 8 bytes', () => {
    expect(() => tagScopeTarget('0x1234')).toThrow(expect.objectContaining({ name: 'InvalidTagError' }))
  })
})
