import { readFileSync } from 'node:fs'
import { describe, expect, test } from 'vitest'
import { runDemo } from '../../examples/demo/src/demo.ts'

interface PatientResource {
  resourceType: string
  id: string
  birthDate: string
  name: { family: string; given: string[] }[]
  address: { line: string[] }[]
  telecom: { value: string }[]
  identifier: { value: string }[]
}

/** What identifies the patient, read from the record file itself (not from anything the demo returns). */
function patientIdentifiers(): string[] {
  const bundle = JSON.parse(
    readFileSync(new URL('../../examples/demo/data/patient-bundle.json', import.meta.url), 'utf8'),
  ) as { entry: { resource: PatientResource }[] }
  const patient = bundle.entry.map((e) => e.resource).find((r) => r.resourceType === 'Patient')
  if (patient === undefined) throw new Error('the demo record has no Patient resource')
  return [
    patient.id,
    patient.birthDate,
    ...patient.name.flatMap((n) => [n.family, ...n.given]),
    ...patient.address.flatMap((a) => a.line),
    ...patient.telecom.map((t) => t.value),
    ...patient.identifier.map((i) => i.value),
  ]
}

// The `pnpm demo` walk-through, asserted: the SDK on a local network with real HTTP proxies.
describe('demo (embedded default)', () => {
  test('default: every step behaves as stated: reads through a stopped and a lying proxy, a stranger and a revoked grantee refused, rotation', async () => {
    const lines: string[] = []
    const result = await runDemo({ log: (line) => lines.push(line) })

    expect(result.steps.filter((s) => !s.ok)).toEqual([])
    expect(result.ok).toBe(true)
    expect(result.steps).toHaveLength(8)
    expect(result.plaintextBytes).toBeGreaterThan(100_000)
    expect(result.envelopeCid).toMatch(/^bafyrei/) // dag-cbor, CIDv1
    // Nothing the demo tells contains the patient's record, nor a key: no name, id, birth date, address,
    // phone or identifier of the patient, and no 32-byte value in hex (a secret key, the data key, a record id).
    const told = lines.join('\n')
    expect(lines.length).toBe(9)
    expect(told).not.toContain('Carolee')
    expect(told).not.toContain('resourceType')
    const identifiers = patientIdentifiers()
    expect(identifiers.length).toBeGreaterThan(5)
    for (const value of identifiers) expect(told).not.toContain(value)
    expect(told).not.toMatch(/[0-9a-f]{64}/i)
  })
})
