import { describe, expect, test } from 'vitest'
import { requiredElements } from '../scripts/generate-required.ts'
import { deidentify } from './engine.ts'
import { REQUIRED_ELEMENTS } from './required-elements.generated.ts'
import { createSafeHarbor, RESTRICTED_ZIP3, safeHarbor } from './safe-harbor.ts'

const KEY = new Uint8Array(32).fill(7)
// biome-ignore lint/suspicious/noExplicitAny: outputs are read as loose JSON in assertions
type Json = Record<string, any>

describe('safeHarbor', () => {
  test('default: names, contacts, identifiers, narrative and free text go; codes, numbers and years stay', () => {
    const out = deidentify(
      {
        resourceType: 'Patient',
        id: 'pat-1',
        text: {
          status: 'generated',
          div: '<div xmlns="http://www.w3.org/1999/xhtml">Bob965 Keeling57</div>',
        },
        identifier: [
          {
            system: 'http://hl7.org/fhir/sid/us-ssn',
            value: '999-12-9623',
            type: { text: 'SSN', coding: [{ code: 'SS' }] },
          },
        ],
        name: [{ use: 'official', family: 'Keeling57', given: ['Bob965'] }],
        telecom: [{ system: 'email', value: 'bob@example.org', use: 'home' }],
        gender: 'male',
        birthDate: '1991-07-08',
        address: [
          { line: ['247 Cronin Station'], city: 'Woburn', state: 'MA', postalCode: '01801', country: 'US' },
        ],
        maritalStatus: { coding: [{ code: 'M', display: 'Married' }], text: 'married to Alice Keeling' },
        multipleBirthInteger: 2,
        photo: [
          { contentType: 'image/jpeg', data: 'AAAA', url: 'https://example.org/bob.jpg', title: 'Bob' },
        ],
      },
      safeHarbor,
      { key: KEY },
    ) as Json
    expect(out).toEqual({
      resourceType: 'Patient',
      id: expect.stringMatching(/^[0-9a-f]{64}$/),
      meta: { security: expect.any(Array) },
      identifier: [{ system: 'http://hl7.org/fhir/sid/us-ssn', type: { coding: [{ code: 'SS' }] } }],
      name: [{ use: 'official' }],
      telecom: [{ system: 'email', use: 'home' }],
      gender: 'male',
      birthDate: '1991',
      address: [{ state: 'MA', postalCode: '01800', country: 'US' }],
      maritalStatus: { coding: [{ code: 'M', display: 'Married' }] },
      multipleBirthInteger: 2,
      photo: [{ contentType: 'image/jpeg' }],
    })
    expect(out.meta.security.map((c: Json) => c.code)).toEqual(['REDACTED', 'ABSTRED', 'CRYTOHASH'])
  })

  test('behavior: extensions go whole unless they are coded demographics', () => {
    const out = deidentify(
      {
        resourceType: 'Patient',
        extension: [
          {
            url: 'http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName',
            valueString: 'Shyla233 Reinger292',
          },
          {
            url: 'http://hl7.org/fhir/StructureDefinition/patient-birthPlace',
            valueAddress: { city: 'Falmouth', state: 'Massachusetts', country: 'US' },
          },
          { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCode: 'M' },
        ],
        _birthDate: {
          extension: [
            {
              url: 'http://hl7.org/fhir/StructureDefinition/patient-birthTime',
              valueDateTime: '1991-07-08T01:39:26+00:00',
            },
          ],
        },
        birthDate: '1991-07-08',
      },
      safeHarbor,
      { key: KEY },
    ) as Json
    expect(out.extension).toEqual([
      { url: 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex', valueCode: 'M' },
    ])
    expect(out._birthDate).toBeUndefined()
  })

  test('behavior: restricted ZIP areas become 000; ages over 89 lose their birth year', () => {
    const out = deidentify(
      {
        resourceType: 'Patient',
        birthDate: '1920-03-04',
        address: [{ postalCode: '69201' }, { postalCode: '10001' }],
      },
      safeHarbor,
      { key: KEY, now: new Date('2026-01-01') },
    ) as Json
    expect(RESTRICTED_ZIP3).toContain('692')
    expect(out.birthDate).toBeUndefined()
    expect(out.address).toEqual([{ postalCode: '00000' }, { postalCode: '10000' }])
  })

  test('behavior: a required element emptied by redaction is marked data-absent-reason masked', () => {
    const out = deidentify(
      {
        resourceType: 'Provenance',
        target: [{ reference: 'Patient/p1' }],
        recorded: '2020-01-01T10:00:00Z',
        agent: [{ who: { display: 'Dr. Ronny764 Block661' } }],
      },
      safeHarbor,
      { key: KEY },
    ) as Json
    const masked = {
      extension: [{ url: 'http://hl7.org/fhir/StructureDefinition/data-absent-reason', valueCode: 'masked' }],
    }
    expect(out._recorded).toEqual(masked)
    expect(out.recorded).toBeUndefined()
    // The agent went with its only element; both are required, so both are marked.
    expect(out.agent).toEqual([{ ...masked, who: masked }])
  })

  test('behavior: Questionnaire item ids stay (structure, not about the patient), answers go', () => {
    const out = deidentify(
      {
        resourceType: 'QuestionnaireResponse',
        status: 'completed',
        item: [
          {
            linkId: '1',
            text: 'Name?',
            answer: [{ valueString: 'Bob' }],
            item: [{ linkId: '1.1', answer: [{ valueInteger: 3 }] }],
          },
        ],
      },
      safeHarbor,
      { key: KEY },
    ) as Json
    expect(out.item).toEqual([{ linkId: '1', item: [{ linkId: '1.1', answer: [{ valueInteger: 3 }] }] }])
  })

  test('behavior: with dates: shift, full dates move instead (and instants are shifted, not removed)', () => {
    const out = deidentify(
      {
        resourceType: 'Patient',
        id: 'p',
        birthDate: '1991-07-08',
        meta: { lastUpdated: '2020-01-01T10:00:00.123Z' },
      },
      createSafeHarbor({ dates: 'shift' }),
      { key: KEY },
    ) as Json
    expect(out.birthDate).toMatch(/^\d{4}-\d{2}-\d{2}$/)
    expect(out.birthDate).not.toBe('1991-07-08')
    expect(out.meta.lastUpdated).toMatch(/^\d{4}-\d{2}-\d{2}T00:00:00\.000Z$/)
  })

  test('error: the rule set is frozen', () => {
    expect(Object.isFrozen(safeHarbor)).toBe(true)
    expect(Object.isFrozen(safeHarbor.rules)).toBe(true)
  })

  test('default: the table of required elements is current with the R4 definitions', () => {
    expect([...REQUIRED_ELEMENTS]).toEqual(requiredElements())
  })
})
