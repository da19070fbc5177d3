// The Safe Harbor rule set on 300 generated patients, beside the 16 Synthea patients of safe-harbor.test.ts:
// every patient gets its own names, address, phone, email, SSN, MRN, driver's licence, birth date and visit
// dates, repeated where real records repeat them (narrative, notes, a Base64 clinical note, a mother's maiden
// name extension). The generator is seeded, so a failure names a patient that can be generated again.
import { deidentify, safeHarbor } from '@medvault/fhir'
import { describe, expect, test } from 'vitest'
import {
  countTypes,
  entries,
  identifiersIn,
  identifierValues,
  type Json,
  leftIn,
  referenceTargets,
  searchable,
} from './helpers.ts'

const KEY = 'generated dataset key, 32 bytes!'
const PATIENTS = 300

/** mulberry32: a small seeded generator, so every run sees the same 300 patients. */
function random(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

const SYLLABLES = [
  'zor',
  'vak',
  'lin',
  'quen',
  'dra',
  'mel',
  'tix',
  'bor',
  'yas',
  'pel',
  'gru',
  'fen',
  'wil',
  'ost',
]

interface Person {
  given: string
  family: string
  maiden: string
  line: string
  city: string
  zip: string
  phone: string
  email: string
  ssn: string
  mrn: string
  licence: string
  birthDate: string
  visit: string
}

function person(next: () => number): Person {
  const int = (n: number) => Math.floor(next() * n)
  const digits = (n: number) => Array.from({ length: n }, () => int(10)).join('')
  const word = (parts: number) => {
    const w = Array.from({ length: parts }, () => SYLLABLES[int(SYLLABLES.length)]).join('')
    return w[0]!.toUpperCase() + w.slice(1)
  }
  const day = (fromYear: number, years: number) => {
    const d = new Date(Date.UTC(fromYear + int(years), int(12), 1 + int(28)))
    return d.toISOString().slice(0, 10)
  }
  return {
    given: word(3),
    family: word(3),
    maiden: word(3),
    line: `${100 + int(9000)} ${word(2)} Street`,
    city: `${word(2)}ville`,
    zip: `0${digits(4)}`,
    phone: `555-${digits(3)}-${digits(4)}`,
    email: `${word(2).toLowerCase()}.${digits(4)}@example.org`,
    ssn: `999-${digits(2)}-${digits(4)}`,
    mrn: `MRN-${digits(8)}`,
    licence: `S${digits(8)}`,
    birthDate: day(1935, 80),
    visit: day(2018, 6),
  }
}

function bundleOf(p: Person, n: number): Json {
  const id = (k: number) => `00000000-0000-4000-8000-${String(n * 10 + k).padStart(12, '0')}`
  const name = `${p.given} ${p.family}`
  const note = `${name} (born ${p.birthDate}, phone ${p.phone}, ${p.email}) was seen on ${p.visit} at ${p.line}, ${p.city}.`
  const patient = {
    resourceType: 'Patient',
    id: id(1),
    text: { status: 'generated', div: `<div xmlns="http://www.w3.org/1999/xhtml">${name}, ${p.line}</div>` },
    identifier: [
      { system: 'http://hospital.example.org/mrn', value: p.mrn },
      { system: 'http://hl7.org/fhir/sid/us-ssn', value: p.ssn },
      { system: 'urn:oid:2.16.840.1.113883.4.3.25', value: p.licence },
    ],
    extension: [
      {
        url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName',
        valueString: `${p.maiden} ${p.family}`,
      },
    ],
    name: [{ use: 'official', family: p.family, given: [p.given] }],
    telecom: [
      { system: 'phone', value: p.phone, use: 'home' },
      { system: 'email', value: p.email },
    ],
    gender: n % 2 === 0 ? 'female' : 'male',
    birthDate: p.birthDate,
    address: [{ line: [p.line], city: p.city, state: 'MA', postalCode: p.zip, country: 'US' }],
  }
  const subject = { reference: `urn:uuid:${id(1)}`, display: name }
  const encounter = {
    resourceType: 'Encounter',
    id: id(2),
    status: 'finished',
    class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
    subject,
    period: { start: `${p.visit}T09:00:00Z`, end: `${p.visit}T09:30:00Z` },
  }
  const observation = {
    resourceType: 'Observation',
    id: id(3),
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }] },
    subject,
    encounter: { reference: `urn:uuid:${id(2)}` },
    effectiveDateTime: `${p.visit}T09:10:00Z`,
    valueQuantity: { value: 5 + (n % 30) / 10, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
    note: [{ text: `Discussed with ${name}; call back on ${p.phone}.` }],
  }
  const document = {
    resourceType: 'DocumentReference',
    id: id(4),
    status: 'current',
    subject,
    date: `${p.visit}T10:00:00Z`,
    content: [
      { attachment: { contentType: 'text/plain', data: Buffer.from(note, 'utf8').toString('base64') } },
    ],
    context: { encounter: [{ reference: `urn:uuid:${id(2)}` }] },
  }
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [patient, encounter, observation, document].map((resource) => ({
      fullUrl: `urn:uuid:${resource.id}`,
      resource,
      request: { method: 'POST', url: resource.resourceType },
    })),
  }
}

const next = random(0x5eed)
const generated = Array.from({ length: PATIENTS }, (_, n) => {
  const p = person(next)
  return { n, p, bundle: bundleOf(p, n) }
})

describe('safeHarbor on generated patients', () => {
  test(`behavior: ${PATIENTS} patients — no identifier left (Base64 notes decoded), counts, references and year-only dates kept, same input and key give the same output`, () => {
    for (const { n, p, bundle } of generated) {
      // What the generator put in, and what a walk of the raw JSON finds: both must be gone.
      const planted = [p.given, p.family, p.maiden, p.line, p.city, p.zip, p.phone, p.email, p.ssn, p.mrn]
      const identifiers = new Set([...identifiersIn(bundle), ...planted, p.licence, p.birthDate, p.visit])
      // Safe Harbor keeps a ZIP's first three digits (as 'NNN00'): a ZIP that already ends in 00 comes out as
      // itself, and that is the allowed form, not a leak.
      if (p.zip.endsWith('00')) identifiers.delete(p.zip)
      const out = deidentify(bundle, safeHarbor, { key: KEY }) as Json
      const text = searchable(out)
      expect(leftIn(text, identifiers), `patient ${n}`).toEqual([])
      expect(identifierValues(out), `patient ${n}`).toEqual([])
      expect(text, `patient ${n}`).not.toMatch(/\d{4}-\d{2}-\d{2}/)
      expect(countTypes(out)).toEqual(countTypes(bundle))
      expect(referenceTargets(out)).toEqual(referenceTargets(bundle))
      if (n % 50 === 0)
        expect(JSON.stringify(deidentify(bundle, safeHarbor, { key: KEY }))).toBe(JSON.stringify(out))
    }
    // The Base64 note did hold the name before: the sweep above looked at something real.
    expect(searchable(generated[0]!.bundle)).toContain(`${generated[0]!.p.given} ${generated[0]!.p.family}`)
    expect(entries(generated[0]!.bundle)).toHaveLength(4)
  })
})
