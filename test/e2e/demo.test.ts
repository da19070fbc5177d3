import { describe, expect, test } from 'vitest'
import { runDemo } from '../../examples/demo/src/demo.ts'

// The `pnpm demo` walk-through, asserted: every foundation package together on the embedded default.
describe('demo (embedded default)', () => {
  test('default: a granted clinician reads the record; tampering, too few cfrags and revocation are refused', async () => {
    const lines: string[] = []
    const result = await runDemo({ log: (line) => lines.push(line) })

    expect(result.roundTripOk).toBe(true)
    expect(result.plaintextBytes).toBeGreaterThan(100_000)
    expect(result.refusals).toEqual([
      'CapsuleFragVerificationError',
      'NotEnoughCapsuleFragsError',
      'GrantRevokedError',
      'GrantRevokedError',
      'GrantRevokedError',
    ])
    expect(result.envelopeCid).toMatch(/^bafyrei/) // dag-cbor, CIDv1
    // Nothing the demo tells contains the patient's record.
    const told = lines.join('\n')
    expect(told).not.toContain('Carolee')
    expect(told).not.toContain('resourceType')
  })
})
