// The Safe Harbor rule set on every Synthea patient of the fixtures (16 Bundles from two generators;
// provenance in fixtures/synthea/README.md). Identifiers are collected from
// the input by walking the raw JSON, independently of the rules, then searched for in the output, decoded
// where encoded: none may remain.
import {
  createSafeHarbor,
  deidentify,
  loadFhirDefinitions,
  safeHarbor,
  validateResource,
} from '@medvault/fhir'
import { beforeAll, describe, expect, test } from 'vitest'
import {
  countTypes,
  datesIn,
  days,
  entries,
  identifiersIn,
  identifierValues,
  type Json,
  leftIn,
  patients,
  referenceTargets,
  searchable,
  support,
} from './helpers.ts'

const KEY = 'test dataset key, 32 bytes long!'

describe('safeHarbor on the Synthea patients', () => {
  beforeAll(() => {
    loadFhirDefinitions()
  }, 120_000)

  test('default: the fixtures hold 16 patient Bundles', () => {
    expect(patients).toHaveLength(16)
  })

  test.each(patients)('behavior: $name — no identifier of the input is left in the output', ({ bundle }) => {
    const identifiers = identifiersIn(bundle)
    // The collection found what the test is about (names, SSN, phone, dates, …).
    expect(identifiers.size).toBeGreaterThan(50)
    const out = deidentify(bundle, safeHarbor, { key: KEY }) as Json
    const text = searchable(out)
    expect(leftIn(text, identifiers)).toEqual([])
    expect(identifierValues(out)).toEqual([])
    // Year only: no full date of any kind.
    expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}/)
  })

  test.each(patients)('behavior: $name — resource counts and references are preserved', ({ bundle }) => {
    const out = deidentify(bundle, safeHarbor, { key: KEY }) as Json
    expect(countTypes(out)).toEqual(countTypes(bundle))
    const before = referenceTargets(bundle)
    expect(before.flat().length).toBeGreaterThan(0)
    expect(referenceTargets(out)).toEqual(before)
  })

  test.each(patients)('behavior: $name — the output is valid FHIR R4', ({ bundle }) => {
    const out = deidentify(bundle, safeHarbor, { key: KEY })
    expect(() => validateResource(out)).not.toThrow()
  })

  test.each(patients)(
    'behavior: $name — same input and key, same output; another key, other pseudonyms',
    ({ bundle }) => {
      const a = JSON.stringify(deidentify(bundle, safeHarbor, { key: KEY }))
      const b = JSON.stringify(deidentify(bundle, safeHarbor, { key: KEY }))
      expect(a).toBe(b)
      const c = deidentify(bundle, safeHarbor, { key: `${KEY}*` }) as Json
      expect(entries(c)[0]!.resource.id).not.toBe(entries(JSON.parse(a))[0]!.resource.id)
    },
  )

  test('behavior: the clinical notes carry the patient name in Base64, and the output carries no note', () => {
    const hiv = patients.filter((p) => p.dir === 'fhir-r4-synthea-hiv')
    let notes = 0
    for (const { bundle } of hiv) {
      const patient = entries(bundle).find((e) => e.resource.resourceType === 'Patient')!.resource
      const given = ((patient.name as Json[])[0]!.given as string[])[0]!
      for (const e of entries(bundle)) {
        if (e.resource.resourceType !== 'DocumentReference') continue
        for (const c of e.resource.content as { attachment: { data?: string } }[]) {
          if (c.attachment.data === undefined) continue
          notes++
          expect(Buffer.from(c.attachment.data, 'base64').toString('utf8')).toContain(given)
        }
      }
      const out = deidentify(bundle, safeHarbor, { key: KEY }) as Json
      const docs = entries(out).filter((e) => e.resource.resourceType === 'DocumentReference')
      for (const d of docs) {
        for (const c of d.resource.content as { attachment: Json }[]) {
          expect(c.attachment).toEqual({ contentType: 'text/plain; charset=utf-8' })
        }
      }
      expect(searchable(out)).not.toContain(given)
    }
    expect(notes).toBeGreaterThan(100)
  })

  test.each(patients)('behavior: $name — dates shifted by one offset for the whole patient', ({ bundle }) => {
    const shifted = createSafeHarbor({ dates: 'shift' })
    const out = deidentify(bundle, shifted, { key: KEY }) as Json
    const patientIn = entries(bundle).find((e) => e.resource.resourceType === 'Patient')!.resource
    const patientOut = entries(out).find((e) => e.resource.resourceType === 'Patient')!.resource
    const offset = days(patientIn.birthDate as string, patientOut.birthDate as string)
    expect(offset).not.toBe(0)
    expect(Math.abs(offset)).toBeLessThanOrEqual(50)
    let checked = 0
    entries(bundle).forEach((e, i) => {
      const before = new Set(datesIn(e.resource))
      for (const d of datesIn(entries(out)[i]!.resource)) {
        const original = new Date(Date.parse(d) - offset * 864e5).toISOString().slice(0, 10)
        expect(before.has(original)).toBe(true)
        checked++
      }
    })
    expect(checked).toBeGreaterThan(100)
    // Shifting is the only change to a date: the rest of the output is the Safe Harbor output.
    const identifiers = [...identifiersIn(bundle)].filter((id) => !/^\d{4}-\d{2}-\d{2}$/.test(id))
    expect(leftIn(searchable(out), identifiers)).toEqual([])
    expect(identifierValues(out)).toEqual([])
  })

  test.each(support)(
    'behavior: $name (organizations, practitioners) — no address, name or phone left',
    ({ bundle }) => {
      const identifiers = identifiersIn(bundle)
      const out = deidentify(bundle, safeHarbor, { key: KEY }) as Json
      expect(leftIn(searchable(out), identifiers)).toEqual([])
      expect(identifierValues(out)).toEqual([])
      expect(countTypes(out)).toEqual(countTypes(bundle))
    },
  )
})
