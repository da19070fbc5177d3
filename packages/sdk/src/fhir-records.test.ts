import type { Bundle, Observation, Patient } from '@medplum/fhirtypes'
import { FhirValidationError } from '@medvault/fhir'
import type { Hex } from 'viem'
import { describe, expect, test } from 'vitest'
import { InvalidOptionError } from './errors.ts'
import {
  type FhirRecord,
  isFhirMediaType,
  MAX_SPLIT_ENTRIES,
  parseFhirMeta,
  planSplit,
  readFhirContent,
  referencesIn,
  resolveIn,
  type SplitBundleResult,
  updatedMeta,
} from './fhir-records.ts'
import type { Records } from './records.ts'
import type { RecordInfo } from './types.ts'

const utf8 = new TextEncoder()
const text = (b: Uint8Array) => new TextDecoder().decode(b)

const patient: Patient = { resourceType: 'Patient', id: 'p1', name: [{ family: 'Zyxwvut' }] }
const observation: Observation = {
  resourceType: 'Observation',
  id: 'o1',
  status: 'final',
  code: { text: 'HbA1c' },
  subject: { reference: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001' },
  performer: [{ reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999' }],
}
const bundle: Bundle = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001',
      resource: patient,
      request: { method: 'POST', url: 'Patient' },
    },
    {
      fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000002',
      resource: observation,
      request: { method: 'POST', url: 'Observation' },
    },
  ],
}

let counter = 0
const nextId = (): Hex => `0x${(++counter).toString(16).padStart(64, '0')}`

describe('readFhirContent', () => {
  test('default: a FHIR object is validated and stored as its JSON', async () => {
    const got = await readFhirContent(observation, undefined)
    expect(got?.resource).toEqual(observation)
    expect(JSON.parse(text(got!.bytes))).toEqual(observation)
  })

  test('attack: an object whose JSON differs from what it shows (toJSON) is validated as stored', async () => {
    // Valid to a reader of its properties, but its JSON — what would be stored — is not FHIR.
    const twoFaced = {
      ...observation,
      toJSON: () => ({ resourceType: 'Observation', status: 'NOT-A-CODE', bogus: 1 }),
    }
    Object.defineProperty(twoFaced, 'toJSON', { enumerable: false })
    await expect(readFhirContent(twoFaced, undefined)).rejects.toBeInstanceOf(FhirValidationError)
  })

  test('behavior: bytes and strings holding FHIR JSON are recognised and kept byte for byte', async () => {
    const pretty = `\n  ${JSON.stringify(patient, null, 2)}`
    const fromString = await readFhirContent(pretty, undefined)
    expect(fromString?.resource).toEqual(patient)
    expect(text(fromString!.bytes)).toBe(pretty)
    const bytes = utf8.encode(pretty)
    expect((await readFhirContent(bytes, undefined))?.bytes).toBe(bytes)
  })

  test('behavior: a stream is read when the media type says FHIR', async () => {
    async function* chunks() {
      const all = utf8.encode(JSON.stringify(observation))
      yield all.slice(0, 10)
      yield all.slice(10)
    }
    const got = await readFhirContent(chunks(), 'application/fhir+json; fhirVersion=4.0')
    expect(got?.resource).toEqual(observation)
  })

  test('behavior: other content is not FHIR, and an explicit other media type is respected', async () => {
    expect(await readFhirContent('an X-ray report', undefined)).toBeUndefined()
    expect(await readFhirContent({ hello: 'world' }, undefined)).toBeUndefined()
    expect(await readFhirContent([patient], undefined)).toBeUndefined()
    expect(await readFhirContent(new Uint8Array([0xff, 0x00, 0x7b]), undefined)).toBeUndefined()
    expect(await readFhirContent('{"not": "fhir"}', undefined)).toBeUndefined()
    expect(await readFhirContent(patient, 'application/json')).toBeUndefined()
    async function* stream() {
      yield utf8.encode(JSON.stringify(patient))
    }
    expect(await readFhirContent(stream(), undefined)).toBeUndefined()
  })

  test('error: invalid FHIR names the path and the rule, never the value', async () => {
    const bad = { resourceType: 'Patient', name: [{ family: 'Zyxwvut' }], birthDate: 'Zyxwvut-birthday' }
    const err = await readFhirContent(bad, undefined).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FhirValidationError)
    const issues = (err as FhirValidationError).issues
    expect(issues).toContainEqual(expect.objectContaining({ path: 'Patient.birthDate', rule: 'format' }))
    expect((err as Error).message).not.toContain('Zyxwvut')
  })

  test('error: FHIR media type on content that is not JSON', async () => {
    const err = await readFhirContent('Zyxwvut is not JSON', 'application/fhir+json').catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FhirValidationError)
    expect((err as FhirValidationError).issues).toEqual([
      { path: '(root)', rule: 'json', message: 'expected a FHIR resource as UTF-8 JSON' },
    ])
    expect((err as Error).message).not.toContain('Zyxwvut')
  })

  test('behavior: validate false stores FHIR unchecked, but still only a JSON object with a resourceType', async () => {
    const unchecked = { resourceType: 'Observation', status: 'final' } // no code: invalid R4
    expect((await readFhirContent(unchecked, undefined, undefined, false))?.resource).toEqual(unchecked)
    await expect(readFhirContent('[1, 2]', 'application/fhir+json', undefined, false)).rejects.toBeInstanceOf(
      FhirValidationError,
    )
    await expect(readFhirContent(unchecked, undefined)).rejects.toBeInstanceOf(FhirValidationError)
  })

  test('error: an unknown resource type, sniffed from bytes, is refused rather than stored as JSON', async () => {
    const err = await readFhirContent('{"resourceType":"Patientt"}', undefined).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FhirValidationError)
    expect((err as FhirValidationError).issues[0]?.rule).toBe('resourceType')
  })
})

describe('planSplit', () => {
  test('default: one record per entry; references to other entries map to their record ids', () => {
    const plan = planSplit(bundle, nextId)
    expect(plan.entries).toHaveLength(2)
    const [p, o] = plan.entries
    expect(plan.references).toEqual({
      'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001': p?.recordId,
      'Patient/p1': p?.recordId,
      'urn:uuid:aaaaaaaa-0000-4000-8000-000000000002': o?.recordId,
      'Observation/o1': o?.recordId,
    })
    // The stored resource is the entry's, unchanged; the links sit in the metadata.
    expect(JSON.parse(text(o!.bytes))).toEqual(observation)
    expect(o?.meta).toEqual({
      resourceType: 'Observation',
      id: 'o1',
      fullUrl: 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000002',
      references: { 'urn:uuid:aaaaaaaa-0000-4000-8000-000000000001': p?.recordId },
    })
    // The Patient names nothing: its metadata says nothing about the other entries.
    expect(p?.meta.references).toBeUndefined()
  })

  test('behavior: relative, absolute and versioned references resolve by Type/id', () => {
    const refs = { 'Patient/p1': '0x01' as Hex }
    expect(resolveIn(refs, 'Patient/p1')).toBe('0x01')
    expect(resolveIn(refs, 'https://fhir.example.org/r4/Patient/p1')).toBe('0x01')
    expect(resolveIn(refs, 'Patient/p1/_history/3')).toBe('0x01')
    expect(resolveIn(refs, 'Patient/p2')).toBeUndefined()
    expect(resolveIn(refs, 'Patient?identifier=x|p1')).toBeUndefined()
    expect(resolveIn(refs, 'toString')).toBeUndefined()
  })

  test('behavior: a key two entries share is left out rather than guessed', () => {
    const twice: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { fullUrl: 'https://a.example/Patient/p1', resource: patient },
        { fullUrl: 'https://b.example/Patient/p1', resource: patient },
      ],
    }
    const plan = planSplit(twice, nextId)
    expect(Object.keys(plan.references).sort()).toEqual([
      'https://a.example/Patient/p1',
      'https://b.example/Patient/p1',
    ])
  })

  test('behavior: references in contained resources are found; local #ids are not references to entries', () => {
    const found = referencesIn({
      resourceType: 'Claim',
      contained: [{ resourceType: 'Coverage', beneficiary: { reference: 'urn:uuid:x' } }],
      insurance: [{ coverage: { reference: '#coverage' } }],
    })
    expect([...found]).toEqual(['urn:uuid:x'])
  })

  test('error: an entry without a resource, or too many entries', () => {
    const noResource: Bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [{ request: { method: 'DELETE', url: 'Patient/p1' } }],
    }
    expect(() => planSplit(noResource, nextId)).toThrow(InvalidOptionError)
    expect(() => planSplit(noResource, nextId)).toThrowErrorMatchingInlineSnapshot(
      `[InvalidOptionError: Invalid option \`bundle\`: expected 'split' only for a Bundle whose every entry holds a resource (entry[0] has none).]`,
    )
    const many: Bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: Array.from({ length: MAX_SPLIT_ENTRIES + 1 }, () => ({ resource: patient })),
    }
    expect(() => planSplit(many, nextId)).toThrow(InvalidOptionError)
    expect(() => planSplit({ resourceType: 'Bundle', type: 'collection' }, nextId)).toThrow(
      InvalidOptionError,
    )
  })
})

describe('metadata', () => {
  test('default: a new version keeps the links of references it still makes', () => {
    const previous = {
      resourceType: 'Observation',
      fullUrl: 'urn:uuid:o',
      references: { 'urn:uuid:p': '0x01' as Hex, 'urn:uuid:e': '0x02' as Hex },
    }
    const next = updatedMeta({ ...observation, subject: { reference: 'urn:uuid:p' } }, previous)
    expect(next).toEqual({
      resourceType: 'Observation',
      id: 'o1',
      fullUrl: 'urn:uuid:o',
      references: { 'urn:uuid:p': '0x01' },
    })
  })

  test('behavior: malformed FHIR metadata is dropped, never thrown', () => {
    expect(parseFhirMeta(undefined)).toBeUndefined()
    expect(parseFhirMeta({ resourceType: 3 })).toBeUndefined()
    expect(
      parseFhirMeta({ resourceType: 'Patient', id: 4, references: { a: 'nope', b: `0x${'ab'.repeat(32)}` } }),
    ).toEqual({
      resourceType: 'Patient',
      references: { b: `0x${'ab'.repeat(32)}` },
    })
  })

  test('behavior: media types', () => {
    expect(isFhirMediaType('application/fhir+json')).toBe(true)
    expect(isFhirMediaType('Application/FHIR+json; fhirVersion=4.0')).toBe(true)
    expect(isFhirMediaType('application/json+fhir')).toBe(true)
    expect(isFhirMediaType('application/json')).toBe(false)
    expect(isFhirMediaType(undefined)).toBe(false)
  })
})

describe('types', () => {
  test('default: put returns a RecordInfo, or a SplitBundleResult for a split; getResource is typed', () => {
    // Checked by the type checker, never run.
    async function typesOnly(records: Records, b: Bundle, obs: Observation, options: { tag?: string }) {
      const split: SplitBundleResult = await records.put(b, { bundle: 'split', tag: 'visit' })
      const one: RecordInfo = await records.put(obs, { tag: 'labs' })
      const whole: RecordInfo = await records.put(b, options)
      const bytes: RecordInfo = await records.put(new Uint8Array(1), { mediaType: 'application/fhir+json' })
      const got: FhirRecord<Observation> = await records.getResource<Observation>('0x01')
      const status: Observation['status'] = got.resource.status
      // @ts-expect-error a split returns no single record
      const wrong: RecordInfo = await records.put(b, { bundle: 'split' })
      return [split, one, whole, bytes, status, wrong]
    }
    expect(typesOnly).toBeTypeOf('function')
  })
})
