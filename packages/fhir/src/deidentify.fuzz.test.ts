/**
 * Fuzzing (fast-check) of the two entry points that read outside input: `loadAnonymizerConfig` (rule
 * configurations) and `deidentify` (resources). Random JSON values and valid inputs with elements replaced,
 * removed or added anywhere must either work or be refused with one of this package's typed errors — never a
 * raw `TypeError` from inside, never a hang — and no error may quote a string value of the resource.
 */
import fc from 'fast-check'
import { describe, expect, test } from 'vitest'
import { loadAnonymizerConfig } from './anonymizer-config.ts'
import { deidentify } from './engine.ts'
import { BaseError, FhirStructureError } from './errors.ts'
import type { RuleSet } from './rules.ts'
import { createSafeHarbor, safeHarbor } from './safe-harbor.ts'

const RUNS = 1_000
const KEY = 'fuzzing dataset key of 32 bytes.'

type JsonValue = null | boolean | number | string | JsonValue[] | { [k: string]: JsonValue }

/** Replaces, removes or adds one element somewhere in a JSON tree, chosen by `path` (indices into children). */
function mutate(
  value: JsonValue,
  path: number[],
  action: number,
  replacement: JsonValue,
  key: string,
): JsonValue {
  if (path.length === 0 || value === null || typeof value !== 'object') {
    return action === 0 ? replacement : value
  }
  const [step, ...rest] = path as [number, ...number[]]
  if (Array.isArray(value)) {
    if (value.length === 0) return action === 2 ? [replacement] : value
    const i = step % value.length
    if (rest.length === 0 && action === 1) return value.filter((_, j) => j !== i)
    if (rest.length === 0 && action === 2) return [...value.slice(0, i), replacement, ...value.slice(i)]
    return value.map((v, j) => (j === i ? mutate(v, rest, action, replacement, key) : v))
  }
  const keys = Object.keys(value)
  if (keys.length === 0) return action === 2 ? { [key]: replacement } : value
  const k = keys[step % keys.length]!
  if (rest.length === 0 && action === 1) {
    const { [k]: _, ...others } = value
    return others
  }
  if (rest.length === 0 && action === 2) return { ...value, [key]: replacement }
  return { ...value, [k]: mutate(value[k]!, rest, action, replacement, key) }
}

const mutation = fc.record({
  path: fc.array(fc.nat(20), { minLength: 0, maxLength: 6 }),
  action: fc.integer({ min: 0, max: 2 }),
  replacement: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<JsonValue>,
  key: fc.oneof(
    fc.constantFrom('family', 'valueString', 'extension', '_birthDate', 'resourceType', 'contained', 'id'),
    fc.string({ maxLength: 12 }),
  ),
})

/** Every string value (not key) of at least 8 characters in a JSON tree: what no error may quote. */
function stringValues(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') {
    if (v.length >= 8) out.push(v)
  } else if (Array.isArray(v)) for (const x of v) stringValues(x, out)
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) stringValues(x, out)
  return out
}

function expectTypedAndSilent(error: unknown, input: unknown) {
  expect(error, String((error as Error)?.stack)).toBeInstanceOf(BaseError)
  const text = `${(error as Error).message}\n${String((error as Error).stack)}`
  for (const s of stringValues(input)) {
    // A value that is also a word of the fixed message (e.g. "resourceType") says nothing about the input.
    if (/^[A-Za-z]+$/.test(s)) continue
    expect(text.includes(s), `error quotes input value ${JSON.stringify(s)}`).toBe(false)
  }
}

const patient: JsonValue = {
  resourceType: 'Patient',
  id: '3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b',
  extension: [
    {
      url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName',
      valueString: 'Shyla233 Reinger292',
    },
  ],
  identifier: [{ system: 'http://hl7.org/fhir/sid/us-ssn', value: '999-12-9623' }],
  name: [{ use: 'official', family: 'Keeling57', given: ['Bob965'] }],
  telecom: [{ system: 'phone', value: '555-814-8772' }],
  gender: 'male',
  birthDate: '1991-07-08',
  _birthDate: {
    extension: [
      {
        url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
        valueDateTime: '1991-07-08T01:39:26+00:00',
      },
    ],
  },
  address: [{ line: ['247 Cronin Station'], city: 'Woburn', state: 'MA', postalCode: '01801' }],
  contact: [{ name: { family: 'Keeling57' }, telecom: [{ system: 'email', value: 'mum@example.org' }] }],
}
const bundle: JsonValue = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: 'urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b',
      resource: patient,
      request: { method: 'POST', url: 'Patient' },
    },
    {
      fullUrl: 'urn:uuid:0c082c44-0af3-8ed4-97cf-b6808511aab3',
      resource: {
        resourceType: 'Observation',
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8302-2' }], text: 'height' },
        subject: { reference: 'urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b', display: 'Bob965 Keeling57' },
        effectivePeriod: { start: '2019-03-04T10:00:00+01:00' },
        valueQuantity: { value: 180.5, unit: 'cm' },
        note: [{ text: 'measured by Dr. Block661', time: '2019-03-04T10:00:00Z' }],
        contained: [{ resourceType: 'Device', id: 'd1', serialNumber: 'SN-12345678' }],
        device: { reference: '#d1' },
      },
    },
  ],
}

const microsoft = loadAnonymizerConfig({
  fhirVersion: 'R4',
  fhirPathRules: [
    { path: "nodesByType('Extension')", method: 'redact' },
    { path: 'Resource.id', method: 'cryptoHash' },
    { path: "nodesByType('Reference').reference", method: 'cryptoHash' },
    { path: "nodesByType('date')", method: 'dateShift' },
    { path: "nodesByType('dateTime')", method: 'dateShift' },
    { path: "nodesByType('HumanName').family", method: 'substitute', replaceWith: 'Doe' },
    { path: 'Observation.value', method: 'perturb', span: 5, roundTo: 1 },
    {
      path: "nodesByType('Address').postalCode",
      method: 'generalize',
      cases: { "$this.startsWith('0')": "'0xxxx'" },
    },
    { path: "nodesByType('Identifier').value", method: 'encrypt' },
    { path: "nodesByType('ContactPoint')", method: 'redact' },
  ],
  parameters: {
    dateShiftKey: 'k1',
    cryptoHashKey: 'k2',
    encryptKey: '0123456789abcdef',
    enablePartialDatesForRedact: true,
  },
})

const ruleSets: [string, RuleSet][] = [
  ['safeHarbor', safeHarbor],
  ['safeHarbor with shifted dates', createSafeHarbor({ dates: 'shift' })],
  ['a Microsoft configuration using every method', microsoft],
]

describe('deidentify fuzz', () => {
  test('default: the silence check catches an error that quotes the input', () => {
    const leaky = new FhirStructureError({ path: 'Patient.name', reason: 'Keeling57 is not allowed' })
    expect(() => expectTypedAndSilent(leaky, { name: 'Keeling57 Bob965' })).not.toThrow()
    expect(() => expectTypedAndSilent(leaky, { name: 'Keeling57 is not allowed' })).toThrow(
      /quotes input value/,
    )
    expect(() => expectTypedAndSilent(new TypeError('x'), {})).toThrow()
  })

  test.each(ruleSets)(
    'behavior: mutated resources and Bundles with %s: an output or a typed error',
    (_, rules) => {
      let outputs = 0
      let refusals = 0
      fc.assert(
        fc.property(fc.constantFrom(patient, bundle), mutation, (base, m) => {
          const input = mutate(base, m.path, m.action, m.replacement, m.key)
          try {
            const out = deidentify(input, rules, { key: KEY })
            expect(typeof out).toBe('object')
            outputs++
          } catch (e) {
            expectTypedAndSilent(e, input)
            refusals++
          }
        }),
        { numRuns: RUNS },
      )
      expect(outputs + refusals).toBe(RUNS)
      expect(outputs).toBeGreaterThan(RUNS / 10)
      expect(refusals).toBeGreaterThan(RUNS / 20)
    },
  )

  test('behavior: random JSON values are refused with a typed error', () => {
    fc.assert(
      fc.property(fc.jsonValue({ maxDepth: 4 }), (input) => {
        try {
          deidentify(input, safeHarbor, { key: KEY })
        } catch (e) {
          expectTypedAndSilent(e, input)
        }
      }),
      { numRuns: RUNS },
    )
  })
})

describe('loadAnonymizerConfig fuzz', () => {
  const valid: JsonValue = {
    fhirVersion: 'R4',
    fhirPathRules: [
      { path: "Patient.nodesByType('HumanName').use", method: 'keep' },
      { path: "nodesByType('date')", method: 'dateShift' },
      { path: 'Patient.name', method: 'substitute', replaceWith: { family: 'x' } },
      { path: 'Observation.value', method: 'perturb', span: 1, rangeType: 'proportional', roundTo: 2 },
      {
        path: 'Patient.gender',
        method: 'generalize',
        cases: { "$this = 'male'": "'M'" },
        otherValues: 'keep',
      },
      { path: 'Resource.id', method: 'cryptoHash' },
    ],
    parameters: {
      dateShiftKey: 'a',
      cryptoHashKey: 'b',
      encryptKey: '0123456789abcdef',
      enablePartialDatesForRedact: true,
      restrictedZipCodeTabulationAreas: ['036'],
    },
  }

  test('behavior: mutated configurations load, and then run, or are refused with a typed error', () => {
    let loaded = 0
    fc.assert(
      fc.property(mutation, (m) => {
        const config = mutate(valid, m.path, m.action, m.replacement, m.key)
        let rules: RuleSet
        try {
          rules = loadAnonymizerConfig(config as object)
        } catch (e) {
          expect(e, String((e as Error)?.stack)).toBeInstanceOf(BaseError)
          return
        }
        loaded++
        try {
          deidentify(patient, rules, { key: KEY })
        } catch (e) {
          expect(e, String((e as Error)?.stack)).toBeInstanceOf(BaseError)
        }
      }),
      { numRuns: RUNS },
    )
    expect(loaded).toBeGreaterThan(RUNS / 10)
  })

  test('behavior: random text, JSON and FHIRPath-like paths are refused with a typed error or load', () => {
    const pathish = fc
      .array(
        fc.constantFrom(
          'Patient',
          '.',
          'name',
          'nodesByType(',
          "'HumanName'",
          ')',
          'where(',
          '=',
          ' and ',
          '$this',
          '[0]',
          '(',
          "'",
          'x',
        ),
        { maxLength: 10 },
      )
      .map((parts) => parts.join(''))
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
          fc.record({
            fhirPathRules: fc.array(
              fc.record({ path: pathish, method: fc.constantFrom('redact', 'keep', 'cryptoHash') }),
            ),
          }),
        ),
        (config) => {
          try {
            loadAnonymizerConfig(config as string | object)
          } catch (e) {
            expect(e, String((e as Error)?.stack)).toBeInstanceOf(BaseError)
          }
        },
      ),
      { numRuns: RUNS },
    )
  })
})
