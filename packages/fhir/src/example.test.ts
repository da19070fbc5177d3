// The README's example, step for step, with assertions in place of its console.log calls.
import type { Patient } from '@medplum/fhirtypes'
import { beforeAll, expect, test } from 'vitest'
import {
  deidentify,
  deidentifyNdjson,
  FhirValidationError,
  loadAnonymizerConfig,
  loadFhirDefinitions,
  safeHarbor,
  validateResource,
} from './index.ts'

beforeAll(() => loadFhirDefinitions(), 120_000)

test('default: the README example', async () => {
  const patient: Patient = {
    resourceType: 'Patient',
    id: '3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b',
    name: [{ use: 'official', family: 'Keeling57', given: ['Bob965'] }],
    telecom: [{ system: 'phone', value: '555-814-8772', use: 'home' }],
    gender: 'male',
    birthDate: '1991-07-08',
    address: [
      { line: ['247 Cronin Station'], city: 'Woburn', state: 'MA', postalCode: '01801', country: 'US' },
    ],
  }

  // 1. Validate before storing. Errors say where and which rule, never the value.
  expect(validateResource<Patient>(patient)).toBe(patient)
  let issues: unknown
  try {
    validateResource({ resourceType: 'Patient', birthDate: '1991-13-45' })
  } catch (e) {
    if (e instanceof FhirValidationError) issues = e.issues
  }
  expect(issues).toEqual([{ path: 'Patient.birthDate', rule: 'format', message: 'not a valid FHIR date' }])

  // 2. De-identify with the Safe Harbor rules.
  const key = crypto.getRandomValues(new Uint8Array(32))
  const research = deidentify(patient, safeHarbor, { key })
  expect(research).toEqual({
    resourceType: 'Patient',
    id: expect.stringMatching(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/),
    meta: {
      security: [
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
          code: 'REDACTED',
          display: 'redacted',
        },
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
          code: 'ABSTRED',
          display: 'abstracted',
        },
        {
          system: 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue',
          code: 'CRYTOHASH',
          display: 'cryptographic hash function',
        },
      ],
    },
    name: [{ use: 'official' }],
    telecom: [{ system: 'phone', use: 'home' }],
    gender: 'male',
    birthDate: '1991',
    address: [{ state: 'MA', postalCode: '01800', country: 'US' }],
  })
  expect(deidentify(patient, safeHarbor, { key })).toEqual(research) // same key, same pseudonyms

  // 3. A configuration written for Microsoft's FHIR anonymizer runs unchanged.
  const microsoft = loadAnonymizerConfig({
    fhirVersion: 'R4',
    fhirPathRules: [
      { path: "nodesByType('HumanName')", method: 'redact' },
      { path: 'Patient.id', method: 'cryptoHash' },
      { path: "nodesByType('date')", method: 'dateShift' },
    ],
    parameters: { dateShiftKey: '123', cryptoHashKey: '123' },
  })
  expect(deidentify(patient, microsoft).birthDate).toBe('1991-07-17')

  // 4. Stream NDJSON (one resource per line) in constant memory, with progress.
  const lines = [`${JSON.stringify(patient)}\n`, `${JSON.stringify({ ...patient, id: 'p2' })}\n`]
  const progress: number[] = []
  const out: string[] = []
  for await (const line of deidentifyNdjson(lines, safeHarbor, {
    key,
    onProgress: (e) => progress.push(e.resources),
  })) {
    out.push(line)
  }
  expect(out).toHaveLength(2)
  expect(JSON.parse(out[0]!)).toEqual(research)
  expect(out.every((l) => l.endsWith('\n'))).toBe(true)
  expect(progress).toEqual([2])
})
