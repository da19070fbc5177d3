/**
 * Fuzzing (fast-check) of `validateResource`, the decoder of FHIR resources from outside (records, imports,
 * datasets). Valid resources with elements replaced, removed or added anywhere in their tree (by any JSON
 * value), and random JSON values, must either be returned as they are or be refused with
 * `FhirValidationError`: never a raw error from the validator, never a hang.
 */
import fc from 'fast-check'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { FhirValidationError } from './errors.ts'
import { loadFhirDefinitions, validateResource } from './validate.ts'

const RUNS = 1_000
let accepted = 0
let refused = 0

beforeAll(() => {
  loadFhirDefinitions()
}, 120_000)
afterAll(() => {
  console.log(`fhir validateResource fuzz counts: ${JSON.stringify({ accepted, refused })}`)
})

const valid: Record<string, unknown>[] = [
  {
    resourceType: 'Patient',
    id: 'p1',
    name: [{ family: 'Doe', given: ['Jane'] }],
    gender: 'female',
    birthDate: '1970-01-01',
    telecom: [{ system: 'phone', value: '555-0100', rank: 1 }],
    address: [{ line: ['1 Main St'], city: 'Springfield', postalCode: '12345' }],
  },
  {
    resourceType: 'Observation',
    id: 'o1',
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
    subject: { reference: 'Patient/p1' },
    effectiveDateTime: '2024-05-01T10:00:00Z',
    valueQuantity: { value: 72, unit: 'beats/minute', system: 'http://unitsofmeasure.org', code: '/min' },
  },
]

type Path = Array<string | number>

function paths(value: unknown, at: Path = []): Path[] {
  const out: Path[] = [at]
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...paths(v, [...at, i]))
  } else if (value !== null && typeof value === 'object')
    for (const [k, v] of Object.entries(value)) out.push(...paths(v, [...at, k]))
  return out
}

function edit(
  root: unknown,
  path: Path,
  kind: 'replace' | 'delete' | 'add',
  value: unknown,
  key: string,
): unknown {
  const copy = structuredClone(root)
  if (path.length === 0) return kind === 'replace' ? value : copy
  let parent = copy as Record<string | number, unknown>
  for (const p of path.slice(0, -1)) parent = parent[p] as Record<string | number, unknown>
  const last = path.at(-1)!
  if (kind === 'replace') parent[last] = value
  else if (kind === 'delete') {
    if (Array.isArray(parent)) parent.splice(last as number, 1)
    else delete parent[last]
  } else {
    const target = parent[last]
    if (Array.isArray(target)) target.push(value)
    else if (target !== null && typeof target === 'object') (target as Record<string, unknown>)[key] = value
    else parent[last] = value
  }
  return copy
}

const interesting = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom(
    '',
    ' ',
    'Patient',
    'final',
    '2024-13-45',
    '1970-01-01T25:61:00Z',
    -1,
    1e308,
    0.1,
    true,
    null,
    [],
    {},
  ),
  fc.string({ maxLength: 20 }),
)

const inputs = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...valid),
      fc.array(
        fc.record({
          which: fc.nat(),
          kind: fc.constantFrom('replace' as const, 'delete' as const, 'add' as const),
          value: interesting,
          key: fc.oneof(
            fc.constantFrom('extension', 'id', 'meta', 'text', 'value', '_birthDate', 'resourceType'),
            fc.string({ maxLength: 12 }),
          ),
        }),
        { minLength: 1, maxLength: 3 },
      ),
    )
    .map(([resource, edits]) => {
      let out: unknown = resource
      for (const e of edits) {
        const all = paths(out)
        out = edit(out, all[e.which % all.length]!, e.kind, e.value, e.key)
      }
      return out
    }),
  fc.jsonValue({ maxDepth: 4 }),
  fc
    .record(
      { resourceType: fc.constantFrom('Patient', 'Observation', 'Bundle', 'Condition') },
      { requiredKeys: ['resourceType'] },
    )
    .chain((base) =>
      fc
        .dictionary(fc.string({ maxLength: 12 }), interesting, { maxKeys: 4 })
        .map((extra) => ({ ...extra, ...base })),
    ),
)

test('error: a resource is returned as it is, or refused with FhirValidationError', () => {
  fc.assert(
    fc.property(inputs, (input) => {
      let out: unknown
      try {
        out = validateResource(input)
      } catch (err) {
        if (!(err instanceof FhirValidationError)) throw err
        expect(err.issues.length).toBeGreaterThan(0)
        refused++
        return
      }
      accepted++
      expect(out).toBe(input)
    }),
    { numRuns: 2 * RUNS },
  )
}, 300_000)
