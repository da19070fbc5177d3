import { createDecipheriv, createHmac } from 'node:crypto'
import { describe, expect, test } from 'vitest'
import { loadAnonymizerConfig } from './anonymizer-config.ts'
import { deidentify, roundHalfEven } from './engine.ts'
import {
  FhirStructureError,
  InvalidKeyError,
  InvalidRuleSetError,
  MissingKeyError,
  RuleEvaluationError,
} from './errors.ts'
import { decryptFromBase64, fromBase64 } from './keys.ts'
import type { Rule, RuleSet } from './rules.ts'

const KEY = 'a dataset key of 32 bytes length'
// biome-ignore lint/suspicious/noExplicitAny: outputs are read as loose JSON in assertions
type Json = Record<string, any>

const patient = (): Json => ({
  resourceType: 'Patient',
  id: '3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b',
  name: [{ use: 'official', family: 'Keeling57', given: ['Bob965'], prefix: ['Mr.'] }],
  birthDate: '1991-07-08',
  gender: 'male',
  address: [
    { line: ['247 Cronin Station'], city: 'Woburn', state: 'MA', postalCode: '01801', country: 'US' },
  ],
  telecom: [{ system: 'phone', value: '555-814-8772', use: 'home' }],
  multipleBirthInteger: 2,
})

const rules = (list: Rule[], parameters: RuleSet['parameters'] = {}): RuleSet => ({ rules: list, parameters })

describe('deidentify: methods', () => {
  test('default: redact removes values and emptied elements; the input is untouched', () => {
    const input = patient()
    const out = deidentify(input, rules([{ path: "nodesByType('HumanName')", method: 'redact' }]))
    expect(out.name).toBeUndefined()
    expect(out.gender).toBe('male')
    expect(out.meta.security.map((c: Json) => c.code)).toEqual(['REDACTED'])
    expect(input.name[0].family).toBe('Keeling57')
  })

  test('behavior: keep first protects an element from later rules; rules run in order', () => {
    const out = deidentify(
      patient(),
      rules([
        { path: "nodesByType('Address').state", method: 'keep' },
        { path: "nodesByType('Address')", method: 'redact' },
      ]),
    )
    expect(out.address).toEqual([{ state: 'MA' }])
  })

  test('behavior: partial redaction keeps the year, ZIP3 (000 in restricted areas) and ages to 89', () => {
    const input = {
      ...patient(),
      address: [{ postalCode: '01801' }, { postalCode: '03642-1234' }],
      extension: [{ url: 'http://example.org/age', valueAge: { value: 93, unit: 'a' } }],
    }
    const out = deidentify(
      {
        resourceType: 'Bundle',
        type: 'collection',
        entry: [
          { resource: input },
          {
            resource: {
              resourceType: 'Condition',
              subject: { reference: 'Patient/x' },
              onsetAge: { value: 45, unit: 'a' },
              abatementAge: { value: 90, unit: 'a' },
            },
          },
        ],
      },
      rules(
        [
          { path: "nodesByType('date')", method: 'redact' },
          { path: "nodesByType('Address')", method: 'redact' },
          { path: "nodesByType('Age')", method: 'redact' },
        ],
        {
          enablePartialDatesForRedact: true,
          enablePartialZipCodesForRedact: true,
          enablePartialAgesForRedact: true,
          restrictedZipCodeTabulationAreas: ['036'],
        },
      ),
      { now: new Date('2026-01-01') },
    ) as Json
    const p = out.entry[0].resource
    expect(p.birthDate).toBe('1991')
    expect(p.address).toEqual([{ postalCode: '01800' }, { postalCode: '00000-0000' }])
    // Redacting an Age redacts all of it; with partial ages its value stays when it is 89 or less.
    expect(p.extension).toEqual([{ url: 'http://example.org/age' }])
    const c = out.entry[1].resource
    expect(c.onsetAge).toEqual({ value: 45 })
    expect(c.abatementAge).toBeUndefined()
  })

  test('behavior: a date that shows an age over 89 loses its year too; instants never keep a bare year', () => {
    const out = deidentify(
      { resourceType: 'Patient', birthDate: '1930-05-01', meta: { lastUpdated: '2020-01-01T10:00:00Z' } },
      rules(
        [
          { path: "nodesByType('date')", method: 'redact' },
          { path: "nodesByType('instant')", method: 'redact' },
        ],
        { enablePartialDatesForRedact: true },
      ),
      { now: new Date('2026-01-01') },
    )
    expect(out.birthDate).toBeUndefined()
    expect(out.meta.lastUpdated).toBeUndefined()
  })

  test('behavior: dateShift moves every date of one patient by the same keyed offset, never 0', () => {
    const ruleSet = rules([
      { path: "nodesByType('date')", method: 'dateShift' },
      { path: "nodesByType('dateTime')", method: 'dateShift' },
    ])
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { fullUrl: 'urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b', resource: patient() },
        {
          resource: {
            resourceType: 'Encounter',
            status: 'finished',
            class: { code: 'AMB' },
            subject: { reference: 'urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b' },
            period: { start: '1991-07-08T01:39:26+00:00', end: '1991-07-09T23:54:26-05:00' },
          },
        },
      ],
    }
    const out = deidentify(bundle, ruleSet, { key: KEY }) as Json
    const shift = (from: string, to: string) =>
      (Date.parse(to.slice(0, 10)) - Date.parse(from.slice(0, 10))) / 864e5
    const d = shift('1991-07-08', out.entry[0].resource.birthDate)
    expect(d).not.toBe(0)
    expect(Math.abs(d)).toBeLessThanOrEqual(50)
    expect(shift('1991-07-08', out.entry[1].resource.period.start)).toBe(d)
    expect(shift('1991-07-09', out.entry[1].resource.period.end)).toBe(d)
    // time of day zeroed, zone kept
    expect(out.entry[1].resource.period.end.slice(10)).toBe('T00:00:00-05:00')
    // The same patient in another file (NDJSON, `Patient/<id>` references) gets the same shift.
    const alone = deidentify(
      {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'x' },
        subject: { reference: 'Patient/3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b' },
        effectiveDateTime: '2000-01-01',
      },
      ruleSet,
      { key: KEY },
    ) as Json
    expect(shift('2000-01-01', alone.effectiveDateTime)).toBe(d)
    // Another key, another shift (for at least one of a few patients).
    const other = [1, 2, 3, 4].map(
      (i) =>
        deidentify({ resourceType: 'Patient', id: `p${i}`, birthDate: '2000-01-01' }, ruleSet, {
          key: `${KEY}!`,
        }).birthDate,
    )
    const same = [1, 2, 3, 4].map(
      (i) =>
        deidentify({ resourceType: 'Patient', id: `p${i}`, birthDate: '2000-01-01' }, ruleSet, { key: KEY })
          .birthDate,
    )
    expect(other).not.toEqual(same)
  })

  test('behavior: cryptoHash pseudonyms keep references resolvable (UUIDs stay UUIDs, OIDs stay OIDs)', () => {
    const out = deidentify(
      {
        resourceType: 'Bundle',
        type: 'transaction',
        entry: [
          {
            fullUrl: 'urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b',
            resource: patient(),
            request: { method: 'POST', url: 'Patient' },
          },
          {
            fullUrl: 'urn:uuid:0c082c44-0af3-8ed4-97cf-b6808511aab3',
            resource: {
              resourceType: 'Observation',
              id: 'obs-1',
              status: 'final',
              code: { text: 'x' },
              contained: [{ resourceType: 'Device', id: 'dev' }],
              device: { reference: '#dev' },
              subject: { reference: 'urn:uuid:3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b' },
              focus: [
                { reference: 'Patient/3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b' },
                { reference: 'https://example.org/fhir/Patient/obs-1/_history/2' },
                { reference: 'urn:oid:1.2.3.4' },
                { reference: 'Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|9999955949' },
              ],
            },
            request: { method: 'PUT', url: 'Observation/obs-1' },
          },
        ],
      },
      rules([
        { path: 'Resource.id', method: 'cryptoHash' },
        { path: "nodesByType('Reference').reference", method: 'cryptoHash' },
        { path: 'Bundle.entry.fullUrl', method: 'cryptoHash' },
        { path: 'Bundle.entry.request.url', method: 'cryptoHash' },
      ]),
      { key: KEY },
    ) as Json
    const [p, o] = out.entry
    const pid = p.resource.id
    expect(pid).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    expect(p.fullUrl).toBe(`urn:uuid:${pid}`)
    expect(o.resource.subject.reference).toBe(`urn:uuid:${pid}`)
    expect(o.resource.focus[0].reference).toBe(`Patient/${pid}`)
    const oid = o.resource.id
    expect(oid).toMatch(/^[0-9a-f]{64}$/)
    // the version is not an identifier and stays
    expect(o.resource.focus[1].reference).toBe(`https://example.org/fhir/Patient/${oid}/_history/2`)
    expect(o.resource.focus[2].reference).toMatch(/^urn:oid:2\.25\.\d+$/)
    expect(o.resource.focus[3].reference).toMatch(/^[0-9a-f]{64}$/)
    expect(o.resource.device.reference).toBe(`#${o.resource.contained[0].id}`)
    expect(p.request.url).toBe('Patient') // a resource type is not an identifier
    expect(o.request.url).toBe(`Observation/${oid}`)
    expect(JSON.stringify(out)).not.toMatch(/3f6fd0bb|obs-1|9999955949/)
    // A different key gives different pseudonyms.
    const again = deidentify(patient(), rules([{ path: 'Resource.id', method: 'cryptoHash' }]), {
      key: `${KEY}?`,
    })
    expect(again.id).not.toBe(pid)
  })

  test('behavior: Microsoft mode hashes exactly HMAC-SHA256(key, value) in hex', () => {
    const ruleSet = loadAnonymizerConfig({
      fhirPathRules: [{ path: "nodesByType('HumanName').family", method: 'cryptoHash' }],
      parameters: { cryptoHashKey: 'secret' },
    })
    const out = deidentify(patient(), ruleSet)
    expect(out.name[0].family).toBe(createHmac('sha256', 'secret').update('Keeling57').digest('hex'))
  })

  test('behavior: encrypt is AES-CBC, Base64(IV ‖ ciphertext), readable with the key (cross-checked with node:crypto)', () => {
    const aesKey = '0123456789abcdef0123456789abcdef'
    const ruleSet = loadAnonymizerConfig({
      fhirPathRules: [{ path: "nodesByType('HumanName').given", method: 'encrypt' }],
      parameters: { encryptKey: aesKey },
    })
    const a = deidentify(patient(), ruleSet)
    const b = deidentify(patient(), ruleSet)
    expect(a.name[0].given[0]).not.toBe(b.name[0].given[0]) // random IV
    expect(a.meta.security.map((c: Json) => c.code)).toEqual(['ENCRYPT'])
    const bytes = fromBase64(a.name[0].given[0])
    const decipher = createDecipheriv('aes-256-cbc', Buffer.from(aesKey), bytes.subarray(0, 16))
    const plain = Buffer.concat([decipher.update(bytes.subarray(16)), decipher.final()]).toString('utf8')
    expect(plain).toBe('Bob965')
    expect(decryptFromBase64(new TextEncoder().encode(aesKey), b.name[0].given[0])).toBe('Bob965')
  })

  test('behavior: substitute replaces primitives and whole elements with values of their type', () => {
    const out = deidentify(
      patient(),
      rules([
        { path: 'Patient.gender', method: 'substitute', replaceWith: 'unknown' },
        { path: 'Patient.name', method: 'substitute', replaceWith: { family: 'Doe', given: ['Jane', 'Q'] } },
        { path: 'Patient.multipleBirth', method: 'substitute', replaceWith: 1 },
      ]),
    )
    expect(out.gender).toBe('unknown')
    expect(out.name).toEqual([{ family: 'Doe', given: ['Jane', 'Q'] }])
    expect(out.multipleBirthInteger).toBe(1)
    expect(out.meta.security.map((c: Json) => c.code)).toEqual(['SUBSTITUTED'])
  })

  test('error: a replacement that does not fit the element type', () => {
    expect(() =>
      deidentify(
        patient(),
        rules([{ path: 'Patient.name', method: 'substitute', replaceWith: { colour: 'red' } }]),
      ),
    ).toThrow(RuleEvaluationError)
  })

  test('behavior: perturb adds bounded noise; integers stay integers; positiveInt stays ≥ 1', () => {
    const obs = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'weight' },
      valueQuantity: { value: 80.25, unit: 'kg' },
      component: [{ code: { text: 'n' }, valueInteger: 3 }],
    }
    for (let i = 0; i < 50; i++) {
      const out = deidentify(
        obs,
        rules([
          { path: 'Observation.value', method: 'perturb', span: 10, roundTo: 1 },
          { path: 'Observation.component.value', method: 'perturb', span: 0.5, rangeType: 'proportional' },
        ]),
      ) as Json
      const v = out.valueQuantity.value
      expect(v).toBeGreaterThanOrEqual(75.2)
      expect(v).toBeLessThanOrEqual(85.3)
      expect(Math.round(v * 10)).toBeCloseTo(v * 10, 6)
      expect(Number.isInteger(out.component[0].valueInteger)).toBe(true)
      expect(Math.abs(out.component[0].valueInteger - 3)).toBeLessThanOrEqual(1)
    }
    expect(roundHalfEven(2.5, 0)).toBe(2)
    expect(roundHalfEven(3.5, 0)).toBe(4)
    expect(roundHalfEven(1.125, 2)).toBe(1.12)
  })

  test('behavior: generalize maps values by FHIRPath cases, others kept or redacted', () => {
    const out = deidentify(
      patient(),
      rules([
        {
          path: 'Patient.birthDate',
          method: 'generalize',
          cases: { '$this < @2000-01-01': '@1990-01-01', '$this >= @2000-01-01': '@2000-01-01' },
        },
        {
          path: "nodesByType('Address').postalCode",
          method: 'generalize',
          cases: { "$this.startsWith('018')": "$this.substring(0,3) + 'xx'" },
        },
        {
          path: 'Patient.gender',
          method: 'generalize',
          cases: { "$this = 'female'": "'F'" },
          otherValues: 'keep',
        },
        { path: "nodesByType('HumanName').family", method: 'generalize', cases: { false: "'x'" } },
      ]),
    )
    expect(out.birthDate).toBe('1990-01-01')
    expect(out.address[0].postalCode).toBe('018xx')
    expect(out.gender).toBe('male')
    expect(out.name[0].family).toBeUndefined()
  })

  test('error: a generalize case that yields more than one value', () => {
    expect(() =>
      deidentify(
        patient(),
        rules([{ path: 'Patient.gender', method: 'generalize', cases: { "('a' | 'b')": "'x'" } }]),
      ),
    ).toThrow(RuleEvaluationError)
  })

  test('behavior: security labels can be left out', () => {
    const out = deidentify(
      patient(),
      rules([{ path: 'Patient.name', method: 'redact' }], { securityLabels: false }),
    )
    expect(out.meta).toBeUndefined()
  })
})

describe('deidentify: errors', () => {
  const secret = 'Keeling57-999-12-9623'

  test('error: keyed methods without a key', () => {
    for (const method of ['cryptoHash', 'dateShift', 'encrypt'] as const) {
      expect(() => deidentify(patient(), rules([{ path: 'Patient.id', method }]))).toThrow(MissingKeyError)
    }
  })

  test('error: a dataset key shorter than 16 bytes, or not a string/bytes', () => {
    const r = rules([{ path: 'Patient.id', method: 'cryptoHash' }])
    expect(() => deidentify(patient(), r, { key: 'short' })).toThrow(InvalidKeyError)
    expect(() => deidentify(patient(), r, { key: 42 as unknown as string })).toThrow(InvalidKeyError)
    expect(() => deidentify(patient(), r, { key: new Uint8Array(16) })).not.toThrow()
  })

  test('error: input that is not FHIR R4 names the path, never the value', () => {
    const cases: [unknown, string][] = [
      [null, '(root)'],
      [{ resourceType: secret }, '(root)'],
      [{ resourceType: 'Patient', [secret]: 1 }, 'Patient.(unprintable property)'],
      [{ resourceType: 'Patient', nickname: secret }, 'Patient.nickname'],
      [{ resourceType: 'Patient', name: [{ family: { secret } }] }, 'Patient.name[0].family'],
      [{ resourceType: 'Patient', gender: ['male', secret] }, 'Patient.gender'],
      [{ resourceType: 'Patient', active: secret }, 'Patient.active'],
      [
        { resourceType: 'Patient', deceasedBoolean: true, deceasedDateTime: secret },
        'Patient.deceasedDateTime',
      ],
      [
        { resourceType: 'Bundle', entry: [{ resource: { resourceType: 'Patient', birthDate: 7 } }] },
        'Bundle.entry[0].resource.birthDate',
      ],
    ]
    for (const [input, path] of cases) {
      let error: unknown
      try {
        deidentify(input, rules([{ path: 'Resource', method: 'redact' }]))
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(FhirStructureError)
      expect((error as FhirStructureError).path).toBe(path)
      expect(`${(error as Error).message}${(error as Error).stack}`).not.toContain(secret)
    }
  })

  test('error: rules that cannot be used are refused before any data is read', () => {
    const bad: [unknown, string][] = [
      [{ rules: 'x' }, 'rules'],
      [{ rules: [{ path: '', method: 'redact' }] }, 'rules[0].path'],
      [{ rules: [{ path: 'Patient', method: 'shred' }] }, 'rules[0].method'],
      [{ rules: [{ path: 'Patient.name.where(', method: 'redact' }] }, 'rules[0].path'],
      [{ rules: [{ path: 'nope()', method: 'redact' }] }, 'rules[0].path'],
      [{ rules: [{ path: "Patient.name.memberOf('x')", method: 'redact' }] }, 'rules[0].path'],
      [{ rules: [{ path: 'Patient', method: 'redact', partial: true }] }, 'rules[0].partial'],
      [{ rules: [], parameters: { dateShiftRange: 0 } }, 'parameters.dateShiftRange'],
      [{ rules: [], parameters: { compatibility: 'other' } }, 'parameters.compatibility'],
    ]
    for (const [ruleSet, field] of bad) {
      let error: unknown
      try {
        deidentify(patient(), ruleSet as RuleSet)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidRuleSetError)
      expect((error as InvalidRuleSetError).field).toBe(field)
    }
  })
})
