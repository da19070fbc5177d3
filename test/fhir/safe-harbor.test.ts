// The Safe Harbor rule set on every Synthea patient of the shared fixtures (16 Bundles from two generators;
// CI has ../shared beside the clone, see its fixtures README for provenance). Identifiers are collected from
// the input by walking the raw JSON, independently of the rules, then searched for in the output, decoded
// where encoded: none may remain.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createSafeHarbor,
  deidentify,
  loadFhirDefinitions,
  safeHarbor,
  validateResource,
} from '@medvault/fhir'
import { beforeAll, describe, expect, test } from 'vitest'

const SHARED = join(import.meta.dirname, '..', '..', '..', 'shared', 'fixtures')
const KEY = 'test dataset key, 32 bytes long!'

type Json = Record<string, unknown>
interface Fixture {
  name: string
  dir: string
  bundle: Json
}

function load(dir: string, filter: (f: string) => boolean): Fixture[] {
  return readdirSync(join(SHARED, dir))
    .filter((f) => f.endsWith('.json') && filter(f))
    .sort()
    .map((f) => ({ name: f, dir, bundle: JSON.parse(readFileSync(join(SHARED, dir, f), 'utf8')) as Json }))
}

const isSupport = (f: string) => /^(hospital|practitioner)Information/.test(f)
const patients = [
  ...load('fhir-r4-synthea', (f) => !isSupport(f)),
  ...load('fhir-r4-synthea-hiv', () => true),
]
const support = load('fhir-r4-synthea', isSupport)

const entries = (b: Json) => (b.entry as { fullUrl?: string; resource: Json }[]) ?? []

/** Every string of the input that identifies someone, found by walking the raw JSON. */
function identifiersIn(bundle: Json): Set<string> {
  const found = new Set<string>()
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.trim().length >= 3) found.add(v.trim())
  }
  const walk = (node: unknown, key: string, parentKey: string) => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, key, parentKey)
      return
    }
    if (typeof node === 'string') {
      // names of organizations and locations
      if (key === 'name') add(node)
      // dates other than year: the YYYY-MM-DD part of any date, dateTime or instant
      const day = /^(\d{4}-\d{2}-\d{2})/.exec(node)?.[1]
      if (day !== undefined) found.add(day)
      return
    }
    if (node === null || typeof node !== 'object') return
    const o = node as Json
    // names (patients, relatives, practitioners), addresses below state, telecom, identifier values of every
    // system, reference displays, free text in extensions (mother's maiden name, birth place)
    if (key === 'name' || parentKey === 'name') {
      for (const g of [o.given, o.family, o.text].flat()) add(g)
    }
    if ('line' in o || 'city' in o || 'postalCode' in o || 'district' in o) {
      for (const v of [o.line, o.city, o.postalCode, o.district, o.text].flat()) add(v)
    }
    if (key === 'telecom') add(o.value)
    if (key === 'identifier') add(o.value)
    if ('reference' in o || key === 'subject' || key === 'coverage') add(o.display)
    if (key === 'extension' && typeof o.url === 'string' && !/us-core-(race|ethnicity)/.test(o.url))
      add(o.valueString)
    if (key === 'resource') add(o.id)
    for (const [k, v] of Object.entries(o)) walk(v, k, key)
  }
  walk(bundle, '', '')
  for (const e of entries(bundle)) {
    if (e.fullUrl !== undefined) add(e.fullUrl.replace(/^urn:uuid:/, ''))
  }
  // A reference display that repeats a coding's display ("Total Cholesterol") names a test, not a person.
  for (const term of vocabulary(bundle)) found.delete(term)
  return found
}

/** Terminology displays: the text of codes, not about anyone. */
function vocabulary(bundle: Json): Set<string> {
  const terms = new Set<string>()
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk)
    else if (v !== null && typeof v === 'object') {
      const o = v as Json
      if (typeof o.code === 'string' && typeof o.display === 'string') terms.add(o.display)
      Object.values(o).forEach(walk)
    }
  }
  walk(bundle)
  return terms
}

/**
 * The identifiers found in the output text. A match must stand alone (not inside a longer word, number or
 * hash); numbers of fewer than 5 digits (a 3-digit NPI) cannot be told from clinical values in text, so
 * identifier values are also checked structurally ({@link identifierValues}).
 */
function leftIn(text: string, identifiers: Iterable<string>): string[] {
  const quote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return [...identifiers].filter((id) => {
    if (/^\d{1,4}$/.test(id)) return false
    return new RegExp(`(?<![A-Za-z0-9])${quote(id)}(?![A-Za-z0-9])`).test(text)
  })
}

/** Every `identifier[].value` left in a resource tree. */
function identifierValues(v: unknown, key = '', out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const x of v) identifierValues(x, key, out)
  else if (v !== null && typeof v === 'object') {
    const o = v as Json
    if (key === 'identifier' && 'value' in o) out.push(o.value)
    for (const [k, x] of Object.entries(o)) identifierValues(x, k, out)
  }
  return out
}

const BASE64 = /^[A-Za-z0-9+/]{16,}={0,2}$/

/** The output as text, with every Base64 string in it decoded and appended. */
function searchable(out: Json): string {
  const decoded: string[] = []
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      if (BASE64.test(v) && v.length % 4 === 0) decoded.push(Buffer.from(v, 'base64').toString('utf8'))
    } else if (Array.isArray(v)) v.forEach(walk)
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk)
  }
  walk(out)
  return `${JSON.stringify(out)}\n${decoded.join('\n')}`
}

function countTypes(bundle: Json): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const e of entries(bundle)) {
    const t = e.resource.resourceType as string
    counts[t] = (counts[t] ?? 0) + 1
    for (const c of (e.resource.contained as Json[] | undefined) ?? []) {
      const ct = `contained ${c.resourceType as string}`
      counts[ct] = (counts[ct] ?? 0) + 1
    }
  }
  return counts
}

/** For each entry, the entries its references point to (by index), as a sorted list. */
function referenceTargets(bundle: Json): number[][] {
  const index = new Map<string, number>()
  entries(bundle).forEach((e, i) => {
    if (e.fullUrl !== undefined) index.set(e.fullUrl, i)
  })
  return entries(bundle).map((e) => {
    const targets: number[] = []
    const walk = (v: unknown, key: string) => {
      if (typeof v === 'string' && key === 'reference' && index.has(v)) targets.push(index.get(v)!)
      else if (Array.isArray(v)) for (const x of v) walk(x, key)
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k)
    }
    walk(e.resource, '')
    return targets.sort((a, b) => a - b)
  })
}

function datesIn(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') {
    const day = /^(\d{4}-\d{2}-\d{2})(T|$)/.exec(v)?.[1]
    if (day !== undefined) out.push(day)
  } else if (Array.isArray(v)) for (const x of v) datesIn(x, out)
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) datesIn(x, out)
  return out
}

const days = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / 864e5)

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
