import { describe, expect, test } from 'vitest'
import { FhirValidationError } from './errors.ts'
import { validateResource } from './validate.ts'

// Values that stand in for patient data: none may appear in an error.
const SECRET_NAME = 'Bob965 Keeling57'
const SECRET_SSN = '999-12-9623'

function issuesOf(input: unknown): FhirValidationError {
  try {
    validateResource(input)
  } catch (e) {
    expect(e).toBeInstanceOf(FhirValidationError)
    return e as FhirValidationError
  }
  throw new Error('expected a FhirValidationError')
}

function expectNoSecrets(err: FhirValidationError, ...secrets: string[]) {
  const everything = `${err.message}\n${JSON.stringify(err.issues)}\n${String(err.stack)}`
  for (const s of secrets) expect(everything).not.toContain(s)
}

describe('validateResource', () => {
  test('default: a valid Patient is returned as it is', () => {
    const patient = {
      resourceType: 'Patient',
      id: 'p1',
      name: [{ family: 'Keeling57', given: ['Bob965'] }],
      birthDate: '1991-07-08',
      telecom: [{ system: 'phone', value: '555-814-8772', rank: 1 }],
    }
    expect(validateResource(patient)).toBe(patient)
  })

  test('behavior: a transaction Bundle with urn:uuid references is valid (reference types are warnings)', () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'transaction',
      entry: [
        {
          fullUrl: 'urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b',
          resource: { resourceType: 'Patient', id: '3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b' },
          request: { method: 'POST', url: 'Patient' },
        },
        {
          fullUrl: 'urn:uuid:0c082c44-0af3-8ed4-97cf-b6808511aab3',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '8302-2' }] },
            subject: { reference: 'urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b' },
            valueQuantity: { value: 180, unit: 'cm', system: 'http://unitsofmeasure.org', code: 'cm' },
          },
          request: { method: 'POST', url: 'Observation' },
        },
      ],
    }
    expect(validateResource(bundle)).toBe(bundle)
  })

  test('error: not an object', () => {
    for (const input of [null, 42, 'Patient', [], undefined]) {
      const err = issuesOf(input)
      expect(err.issues).toEqual([
        { path: '(root)', rule: 'json', message: 'expected a FHIR resource as a JSON object' },
      ])
    }
  })

  test('error: missing or unknown resourceType', () => {
    expect(issuesOf({ id: 'x' }).issues[0]).toMatchObject({ path: '(root)', rule: 'resourceType' })
    const err = issuesOf({ resourceType: SECRET_NAME })
    expect(err.issues[0]).toMatchObject({
      rule: 'resourceType',
      message: 'resourceType is not an R4 resource type',
    })
    expectNoSecrets(err, SECRET_NAME)
  })

  test('error: a wrong JSON type names the path and the rule, not the value', () => {
    const err = issuesOf({
      resourceType: 'Patient',
      name: [{ family: 42, given: [SECRET_NAME] }],
      active: SECRET_SSN,
    })
    expect(err.issues).toContainEqual({
      path: 'Patient.name[0].family',
      rule: 'type',
      message: 'expected a JSON string',
    })
    expect(err.issues).toContainEqual({
      path: 'Patient.active',
      rule: 'type',
      message: 'expected a JSON boolean',
    })
    expectNoSecrets(err, SECRET_NAME, SECRET_SSN)
  })

  test('error: a malformed date is a format error', () => {
    const err = issuesOf({ resourceType: 'Patient', birthDate: '1991-13-45' })
    expect(err.issues).toEqual([
      { path: 'Patient.birthDate', rule: 'format', message: 'not a valid FHIR date' },
    ])
    expectNoSecrets(err, '1991-13-45')
  })

  test('error: a number out of range', () => {
    const err = issuesOf({
      resourceType: 'Patient',
      telecom: [{ system: 'phone', value: SECRET_SSN, rank: 0 }],
    })
    expect(err.issues).toEqual([
      { path: 'Patient.telecom[0].rank', rule: 'range', message: 'expected a number in 1..2147483647' },
    ])
    expectNoSecrets(err, SECRET_SSN)
  })

  test('error: an element R4 does not define; a property name that is not an identifier is masked', () => {
    const err = issuesOf({ resourceType: 'Patient', foo: 1, [SECRET_NAME]: SECRET_SSN })
    expect(err.issues).toContainEqual({
      path: 'Patient.foo',
      rule: 'unknown-element',
      message: 'R4 defines no such element here',
    })
    expect(err.issues).toContainEqual({
      path: 'Patient.(unprintable property)',
      rule: 'unknown-element',
      message: 'R4 defines no such element here',
    })
    expectNoSecrets(err, SECRET_NAME, SECRET_SSN)
  })

  test('error: a required element is missing (cardinality)', () => {
    const err = issuesOf({ resourceType: 'Observation', status: 'final' })
    expect(err.issues).toEqual([
      { path: 'Observation.code', rule: 'cardinality', message: 'a required element is missing' },
    ])
  })

  test('error: an invariant of the specification (pat-1: a contact has some detail)', () => {
    const err = issuesOf({ resourceType: 'Patient', contact: [{ gender: 'female' }] })
    expect(err.issues).toHaveLength(1)
    expect(err.issues[0]).toMatchObject({ path: 'Patient.contact[0]', rule: 'invariant:pat-1' })
    expect(err.issues[0]!.message).toBe(
      "SHALL at least contain a contact's details or a reference to an organization",
    )
  })

  test('error: two types for one choice element', () => {
    const err = issuesOf({ resourceType: 'Patient', deceasedBoolean: true, deceasedDateTime: '2020-01-01' })
    expect(err.issues).toEqual([
      { path: 'Patient.deceased', rule: 'choice', message: 'more than one type given for a choice element' },
    ])
  })

  test('error: a problem inside a Bundle entry is located in the entry; every problem is listed', () => {
    const err = issuesOf({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: { resourceType: 'Patient', name: [{ family: SECRET_NAME }] } },
        { resource: { resourceType: 'Patient', birthDate: SECRET_SSN, gender: 7 } },
      ],
    })
    expect(err.issues).toEqual([
      { path: 'Bundle.entry[1].resource.gender', rule: 'type', message: 'expected a JSON string' },
      { path: 'Bundle.entry[1].resource.birthDate', rule: 'format', message: 'not a valid FHIR date' },
    ])
    expect(err.shortMessage).toBe('This Bundle is not valid FHIR R4: 2 problems.')
    expectNoSecrets(err, SECRET_NAME, SECRET_SSN)
  })

  test('error: nulls and empty strings are refused', () => {
    const err = issuesOf({ resourceType: 'Patient', gender: null, name: [{ family: ' ', given: ['', 'x'] }] })
    expect(err.issues.map((i) => `${i.path} ${i.rule}`).sort()).toEqual([
      'Patient.gender empty',
      'Patient.name[0].family empty',
      'Patient.name[0].given[0] empty',
    ])
  })

  test('error: the message lists the problems, paths and rules only', () => {
    const err = issuesOf({ resourceType: 'Patient', birthDate: SECRET_SSN })
    expect(err.message).toMatchInlineSnapshot(`
      "This Patient is not valid FHIR R4: 1 problem.

      - Patient.birthDate: not a valid FHIR date (format)"
    `)
  })
})
