// Microsoft's FHIR anonymizer, reproduced: its 25 functional-test triples (input → configuration → expected
// output), its invalid configurations, and the STU3-only resources its R4 build refuses. Fixtures and their
// provenance: test/fhir/fixtures/fhir-anonymizer/README.md.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  deidentify,
  FhirStructureError,
  InvalidRuleSetError,
  loadAnonymizerConfig,
  type RuleSet,
} from '@medvault/fhir'
import { describe, expect, test } from 'vitest'

const DIR = join(import.meta.dirname, 'fixtures', 'fhir-anonymizer')

// Upstream's "age over 89" rule reads the clock (DateTime.Now), so its expected outputs hold only for a while:
// a date shifted in 2021 is removed once it is 90 years old. Their tests ran against the clock of the day they
// were written; ours pin that day (the commit date of the fixtures) so the triples stay true.
const UPSTREAM_NOW = new Date('2021-02-10T00:00:00Z')

const text = (file: string) => readFileSync(join(DIR, file), 'utf8')
const json = (file: string) => JSON.parse(text(file).replace(/^\uFEFF/, ''))

interface Pair {
  input: string
  config: string
  expected: string
}
const index = json('test_pairs_index.json') as { pairs: Pair[] }

describe('Microsoft FHIR anonymizer functional tests', () => {
  test('default: there are 25 triples', () => {
    expect(index.pairs).toHaveLength(25)
  })

  test.each(index.pairs)('behavior: $input with $config gives $expected', ({ input, config, expected }) => {
    const rules = loadAnonymizerConfig(text(config))
    const out = deidentify(json(input), rules, { now: UPSTREAM_NOW })
    expect(out).toStrictEqual(json(expected))
  })

  test('behavior: the known answers of the fixtures README (HMAC of "example", +41 days, ZIP 12345 → 12300)', () => {
    const rules = loadAnonymizerConfig(text('configurations/common-config.json'))
    const out = deidentify(json('test-pairs/patient-basic.json'), rules, { now: UPSTREAM_NOW }) as {
      id: string
      birthDate: string
      address: { postalCode: string }[]
    }
    expect(out.id.startsWith('698d54f0')).toBe(true)
    expect(out.birthDate).toBe('2000-02-11') // 2000-01-01 + 41 days
    expect(out.address[0]!.postalCode).toBe('12300')
  })

  test('behavior: the input is not modified', () => {
    const input = json('test-pairs/bundle-basic.json')
    const before = JSON.stringify(input)
    deidentify(input, loadAnonymizerConfig(text('configurations/common-config.json')), { now: UPSTREAM_NOW })
    expect(JSON.stringify(input)).toBe(before)
  })

  test('behavior: the clock decides the over-89 rule, as upstream (a 1940 date is removed in 2031)', () => {
    const rules = loadAnonymizerConfig(text('configurations/common-config.json'))
    const special = json('test-pairs/patient-special-content.json')
    const then = deidentify(special, rules, { now: UPSTREAM_NOW })
    const later = deidentify(special, rules, { now: new Date('2031-01-02T00:00:00Z') })
    expect(JSON.stringify(then)).toContain('1940-02-11')
    expect(JSON.stringify(later)).not.toContain('1940')
  })
})

describe('configurations upstream refuses', () => {
  // Every invalid configuration of upstream's validator tests, with where it is wrong.
  const invalid: [string, string, RegExp][] = [
    ['configuration-miss-rules.json', 'fhirPathRules', /no fhirPathRules/],
    [
      'configuration-unsupported-method.json',
      'fhirPathRules[0].method',
      /`invaliid` is not a supported method/,
    ],
    [
      'configuration-invalid-fhirpath.json',
      'fhirPathRules[0].path',
      /calls `invalid\(\)`, which is not a FHIRPath function/,
    ],
    ['configuration-invalid-encryptkey.json', 'parameters.encryptKey', /160 bits; give 128, 192 or 256 bits/],
    ['configuration-miss-replacement.json', 'fhirPathRules[0].replaceWith', /needs `replaceWith`/],
    ['configuration-perturb-wrong-rangetype.json', 'fhirPathRules[0].rangeType', /`fixed` or `proportional`/],
    ['configuration-perturb-miss-span.json', 'fhirPathRules[0].span', /needs `span`/],
    ['configuration-perturb-negative-span.json', 'fhirPathRules[0].span', /≥ 0/],
    ['configuration-perturb-wrong-roundTo.json', 'fhirPathRules[0].roundTo', /from 0 to 28/],
    ['configuration-perturb-negative-roundTo.json', 'fhirPathRules[0].roundTo', /from 0 to 28/],
    ['configuration-perturb-exceed-28-roundTo.json', 'fhirPathRules[0].roundTo', /from 0 to 28/],
    ['configuration-generalize-miss-cases.json', 'fhirPathRules[0].cases', /needs `cases`/],
    ['configuration-generalize-fail-compiled-expression.json', 'fhirPathRules[0].cases', /does not parse/],
    [
      'configuration-generalize-invalid-othervalues.json',
      'fhirPathRules[0].otherValues',
      /`redact` or `keep`/,
    ],
  ]

  test('default: every invalid configuration upstream tests is covered', () => {
    expect(readdirSync(join(DIR, 'invalid-configurations')).sort()).toEqual(invalid.map(([f]) => f).sort())
  })

  test.each(invalid)('error: %s is refused at %s', (file, field, reason) => {
    let error: unknown
    try {
      loadAnonymizerConfig(text(`invalid-configurations/${file}`))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(InvalidRuleSetError)
    expect((error as InvalidRuleSetError).field).toBe(field)
    expect((error as InvalidRuleSetError).reason).toMatch(reason)
  })

  test('error: a FHIR version other than R4', () => {
    for (const file of ['configuration-Stu3-version.json', 'configuration-invalid-version.json']) {
      expect(() => loadAnonymizerConfig(text(`version-configurations/${file}`))).toThrow(InvalidRuleSetError)
    }
  })

  test('behavior: R4, empty and absent versions load (a trailing comma too, as with Newtonsoft.Json)', () => {
    for (const file of [
      'configuration-R4-version.json',
      'configuration-empty-version.json',
      'configuration-null-version.json',
    ]) {
      const rules = loadAnonymizerConfig(text(`version-configurations/${file}`))
      expect(rules.rules.map((r) => r.path)).toEqual([
        "Patient.nodesByType('HumanName')",
        'TestResource',
        "nodesByType('HumanName')",
        'Resource',
        'Device.where(id.exists()).id',
      ])
    }
  })

  test('error: not JSON, not an object, malformed rules', () => {
    const refuse = (config: string | object) => {
      let error: unknown
      try {
        loadAnonymizerConfig(config)
      } catch (e) {
        error = e
      }
      expect(error).toBeInstanceOf(InvalidRuleSetError)
      return (error as InvalidRuleSetError).field
    }
    expect(refuse('{')).toBe('(configuration)')
    expect(refuse('[]')).toBe('(configuration)')
    expect(refuse({ fhirPathRules: [{ path: 'Patient' }] })).toBe('fhirPathRules[0]')
    expect(refuse({ fhirPathRules: [{ path: 'Patient.name.(', method: 'redact' }] })).toBe(
      'fhirPathRules[0].path',
    )
    expect(refuse({ fhirPathRules: [{ path: "nodesByType('a', 'b')", method: 'redact' }] })).toBe(
      'fhirPathRules[0].path',
    )
    expect(refuse({ fhirPathRules: [], parameters: { dateShiftScope: 'galaxy' } })).toBe(
      'parameters.dateShiftScope',
    )
    expect(refuse({ fhirPathRules: [], parameters: { enablePartialDatesForRedact: 'maybe' } })).toBe(
      'parameters.enablePartialDatesForRedact',
    )
  })
})

describe('resources upstream refuses', () => {
  test('error: STU3-only resources and STU3-only elements are not R4 (FhirStructureError, path named)', () => {
    const rules: RuleSet = loadAnonymizerConfig(text('configurations/r4-configuration-sample.json'))
    const refused = readdirSync(join(DIR, 'stu3-only'))
      .sort()
      .map((file) => {
        try {
          deidentify(json(`stu3-only/${file}`), rules)
          return `${file}: accepted`
        } catch (e) {
          expect(e).toBeInstanceOf(FhirStructureError)
          return `${file}: ${(e as FhirStructureError).path}`
        }
      })
    expect(refused).toEqual([
      'Account-Stu3.json: Account.period',
      'Claim-Stu3.json: Claim.organization',
      'Contract-Stu3.json: Contract.agent',
      'DeviceComponent.json: (root)',
      'ProcessRequest.json: (root)',
      'ProcessResponse.json: (root)',
    ])
  })
})
