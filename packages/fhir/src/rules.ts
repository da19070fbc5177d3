/**
 * De-identification rules: what a rule set is, and how it is checked and compiled once before it runs.
 *
 * The format follows Microsoft's FHIR anonymizer (`fhirPathRules` entries: a FHIRPath `path` and a `method`
 * with the method's settings), so a configuration written for that tool reads the same here; see
 * {@link loadAnonymizerConfig}. Rules run in order for each resource; the first rule to reach an element
 * decides what happens to it (later rules skip elements an earlier rule processed, `keep` included).
 *
 * @module
 */
import { InvalidRuleSetError } from './errors.ts'
import { compileNodeExpression, compileSelector, type NodeExpression, type Selector } from './fhirpath.ts'

export type RuleMethod =
  | 'keep'
  | 'redact'
  | 'dateShift'
  | 'cryptoHash'
  | 'encrypt'
  | 'substitute'
  | 'perturb'
  | 'generalize'

export const RULE_METHODS: readonly RuleMethod[] = [
  'keep',
  'redact',
  'dateShift',
  'cryptoHash',
  'encrypt',
  'substitute',
  'perturb',
  'generalize',
]

interface RuleBase {
  /**
   * A FHIRPath expression. A leading resource type (`Patient.name`) limits the rule to that type; `Resource.x`
   * and expressions without a type (`nodesByType('date')`) apply to every resource; a bare type (`Patient`,
   * `Resource`) selects the resource itself. `nodesByType(type)` and `nodesByName(name)` select self and
   * descendants by FHIR type or element name, not entering contained or Bundle-entry resources.
   */
  path: string
}

/** Leave the selected elements as they are, and stop later rules from touching them. */
export interface KeepRule extends RuleBase {
  method: 'keep'
}

/**
 * Remove every value in the selected elements. With the partial options of {@link RuleParameters}, dates keep
 * their year, postal codes their first three digits, ages up to 89 their value.
 */
export interface RedactRule extends RuleBase {
  method: 'redact'
  /**
   * `false` removes everything, whatever the partial options of {@link RuleParameters} say (medvault: for
   * elements that must go whole, such as unknown extensions). Default: the parameters decide.
   */
  partial?: false
}

/** Move dates, dateTimes and instants by a keyed number of days, the same for one patient (see parameters). */
export interface DateShiftRule extends RuleBase {
  method: 'dateShift'
}

/** Replace values by their keyed HMAC-SHA256 pseudonym; references keep their type and resolve. */
export interface CryptoHashRule extends RuleBase {
  method: 'cryptoHash'
}

/** Replace values by AES-CBC ciphertext (random IV first), Base64, as Microsoft's anonymizer does. */
export interface EncryptRule extends RuleBase {
  method: 'encrypt'
}

/** Replace the selected elements by a fixed value: a primitive, or JSON of the element's type. */
export interface SubstituteRule extends RuleBase {
  method: 'substitute'
  replaceWith: unknown
}

/** Add uniform random noise to numbers and quantities. */
export interface PerturbRule extends RuleBase {
  method: 'perturb'
  /** Width of the noise interval, centred on the value (a fraction of it when `rangeType` is proportional). */
  span: number
  rangeType?: 'fixed' | 'proportional'
  /** Decimal places kept (0 to 28; integers always 0). Default 2. */
  roundTo?: number
}

/**
 * Replace primitive values by the first matching case: keys are FHIRPath predicates on the value (`$this`),
 * values are FHIRPath expressions for the replacement. Values matching no case are redacted, or kept when
 * `otherValues` is `keep`.
 */
export interface GeneralizeRule extends RuleBase {
  method: 'generalize'
  cases: Readonly<Record<string, string>>
  otherValues?: 'redact' | 'keep'
}

export type Rule =
  | KeepRule
  | RedactRule
  | DateShiftRule
  | CryptoHashRule
  | EncryptRule
  | SubstituteRule
  | PerturbRule
  | GeneralizeRule

export interface RuleParameters {
  /** Redacted ages (the `value` of an `Age`) up to 89 are kept; older ones are removed. */
  enablePartialAgesForRedact?: boolean
  /** Redacted dates keep their year, unless it shows an age over 89 (then the whole date is removed). */
  enablePartialDatesForRedact?: boolean
  /**
   * Redacted postal codes keep their first three digits (the rest become 0); codes starting with a
   * restricted three-digit area become all zeros.
   */
  enablePartialZipCodesForRedact?: boolean
  /** The three-digit ZIP areas with 20,000 people or fewer (HIPAA Safe Harbor). */
  restrictedZipCodeTabulationAreas?: readonly string[]
  /**
   * `medvault` (default): keys derived from the dataset key, date shifts per patient from an HMAC,
   * pseudonyms that keep the shape of UUIDs. `microsoft`: exactly what Microsoft's FHIR anonymizer computes
   * (its keys, its date-shift arithmetic seeded by the outermost resource's id, hexadecimal hashes).
   */
  compatibility?: 'medvault' | 'microsoft'
  /** Microsoft compatibility: the configured keys, used as their UTF-8 bytes. */
  dateShiftKey?: string
  cryptoHashKey?: string
  encryptKey?: string
  /** Microsoft compatibility: the file or folder name that prefixes the date-shift key (scope `file`/`folder`). */
  dateShiftKeyPrefix?: string
  /** medvault: the largest date shift, in days (default 50). Shifts are never 0. */
  dateShiftRange?: number
  /** Label de-identified resources in `meta.security` (REDACTED, CRYTOHASH, …), as Microsoft does. Default true. */
  securityLabels?: boolean
  /**
   * medvault: a required element that de-identification emptied gets a data-absent-reason `masked` extension
   * instead, so the output stays valid FHIR R4. Default true; Microsoft compatibility never does this.
   */
  markMissingRequired?: boolean
}

export interface RuleSet {
  readonly rules: readonly Rule[]
  readonly parameters?: RuleParameters
}

/** A rule checked and compiled, ready to run. */
export interface CompiledRule {
  readonly index: number
  readonly path: string
  readonly method: RuleMethod
  /** The resource type the path starts with (`''` when none). */
  readonly resourceType: string
  /** The path is only a resource type: the rule selects the resource node itself. */
  readonly selectsResource: boolean
  readonly selector: Selector | undefined
  /** `false`: this redact rule ignores the partial options. */
  readonly partial?: false
  readonly replaceWith?: unknown
  readonly perturb?: { span: number; rangeType: 'fixed' | 'proportional'; roundTo: number }
  readonly generalize?: {
    cases: readonly { when: NodeExpression; value: NodeExpression }[]
    otherValues: 'redact' | 'keep'
  }
}

export interface CompiledRuleSet {
  readonly rules: readonly CompiledRule[]
  readonly parameters: Readonly<RuleParameters>
  /** The rules that can apply to a resource of this type, in order. */
  rulesFor(resourceType: string): readonly CompiledRule[]
  /** Methods that need a key. */
  readonly keyedMethods: ReadonlySet<RuleMethod>
}

// Microsoft's split of a path into a leading resource type and the expression evaluated on the resource.
const PATH_RE = /^([A-Z][a-zA-Z]*)?(\.)?(.*?)$/s

const GENERAL_TYPES = new Set(['', 'Resource', 'DomainResource'])

const compiledCache = new WeakMap<RuleSet, CompiledRuleSet>()

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Checks and compiles a rule set. The result is cached per rule-set object. */
export function compileRuleSet(ruleSet: RuleSet): CompiledRuleSet {
  if (typeof ruleSet === 'object' && ruleSet !== null) {
    const cached = compiledCache.get(ruleSet)
    if (cached !== undefined) return cached
  }
  const compiled = compile(ruleSet)
  if (typeof ruleSet === 'object' && ruleSet !== null) compiledCache.set(ruleSet, compiled)
  return compiled
}

function compile(ruleSet: RuleSet): CompiledRuleSet {
  if (!isObject(ruleSet)) throw new InvalidRuleSetError({ field: '(rules)', reason: 'expected an object' })
  const rules = (ruleSet as { rules?: unknown }).rules
  if (!Array.isArray(rules)) {
    throw new InvalidRuleSetError({ field: 'rules', reason: 'expected an array of rules' })
  }
  const parameters = checkParameters((ruleSet as { parameters?: unknown }).parameters)
  const compiled = rules.map((rule, index) => compileRule(rule, index))
  const byType = new Map<string, CompiledRule[]>()
  const keyedMethods = new Set<RuleMethod>()
  for (const r of compiled) {
    if (r.method === 'cryptoHash' || r.method === 'dateShift' || r.method === 'encrypt')
      keyedMethods.add(r.method)
  }
  return {
    rules: compiled,
    parameters,
    keyedMethods,
    rulesFor(resourceType: string) {
      let list = byType.get(resourceType)
      if (list === undefined) {
        list = compiled.filter((r) => r.resourceType === resourceType || GENERAL_TYPES.has(r.resourceType))
        byType.set(resourceType, list)
      }
      return list
    },
  }
}

function checkParameters(p: unknown): RuleParameters {
  if (p === undefined || p === null) return {}
  if (!isObject(p)) throw new InvalidRuleSetError({ field: 'parameters', reason: 'expected an object' })
  const out: RuleParameters = {}
  for (const key of [
    'enablePartialAgesForRedact',
    'enablePartialDatesForRedact',
    'enablePartialZipCodesForRedact',
    'securityLabels',
    'markMissingRequired',
  ] as const) {
    const v = p[key]
    if (v === undefined) continue
    if (typeof v !== 'boolean')
      throw new InvalidRuleSetError({ field: `parameters.${key}`, reason: 'expected a boolean' })
    out[key] = v
  }
  const areas = p.restrictedZipCodeTabulationAreas
  if (areas !== undefined && areas !== null) {
    if (!Array.isArray(areas) || !areas.every((a) => typeof a === 'string')) {
      throw new InvalidRuleSetError({
        field: 'parameters.restrictedZipCodeTabulationAreas',
        reason: 'expected an array of strings',
      })
    }
    out.restrictedZipCodeTabulationAreas = areas
  }
  const compatibility = p.compatibility
  if (compatibility !== undefined) {
    if (compatibility !== 'medvault' && compatibility !== 'microsoft') {
      throw new InvalidRuleSetError({
        field: 'parameters.compatibility',
        reason: 'expected `medvault` or `microsoft`',
      })
    }
    out.compatibility = compatibility
  }
  for (const key of ['dateShiftKey', 'cryptoHashKey', 'encryptKey', 'dateShiftKeyPrefix'] as const) {
    const v = p[key]
    if (v === undefined || v === null) continue
    if (typeof v !== 'string')
      throw new InvalidRuleSetError({ field: `parameters.${key}`, reason: 'expected a string' })
    out[key] = v
  }
  const range = p.dateShiftRange
  if (range !== undefined) {
    if (typeof range !== 'number' || !Number.isInteger(range) || range < 1 || range > 3650) {
      throw new InvalidRuleSetError({
        field: 'parameters.dateShiftRange',
        reason: 'expected a whole number of days from 1 to 3650',
      })
    }
    out.dateShiftRange = range
  }
  if (out.compatibility === 'microsoft' && out.encryptKey !== undefined && out.encryptKey !== '') {
    const bits = new TextEncoder().encode(out.encryptKey).length * 8
    if (bits !== 128 && bits !== 192 && bits !== 256) {
      throw new InvalidRuleSetError({
        field: 'parameters.encryptKey',
        reason: `the AES key is ${bits} bits; give 128, 192 or 256 bits (16, 24 or 32 UTF-8 bytes)`,
      })
    }
  }
  return out
}

function canonicalMethod(method: string): RuleMethod | undefined {
  const lower = method.toLowerCase()
  return RULE_METHODS.find((m) => m.toLowerCase() === lower)
}

function compileRule(rule: unknown, index: number): CompiledRule {
  const field = `rules[${index}]`
  if (!isObject(rule))
    throw new InvalidRuleSetError({ field, reason: 'expected an object with `path` and `method`' })
  const { path, method: rawMethod } = rule
  if (typeof path !== 'string' || path.trim() === '') {
    throw new InvalidRuleSetError({ field: `${field}.path`, reason: 'expected a FHIRPath expression' })
  }
  if (typeof rawMethod !== 'string') {
    throw new InvalidRuleSetError({
      field: `${field}.method`,
      reason: `expected one of ${RULE_METHODS.join(', ')}`,
    })
  }
  const method = canonicalMethod(rawMethod)
  if (method === undefined) {
    throw new InvalidRuleSetError({
      field: `${field}.method`,
      reason: `\`${printable(rawMethod)}\` is not a supported method (${RULE_METHODS.join(', ')})`,
    })
  }
  const m = PATH_RE.exec(path)
  const resourceType = m?.[1] ?? ''
  const expression = m?.[3] === undefined || m[3] === '' ? path : m[3]
  const selectsResource = path === resourceType
  // The whole path must be valid FHIRPath; the part after the type is what runs on each resource.
  const selector = selectsResource ? undefined : compileSelector(expression, `${field}.path`)
  if (!selectsResource && expression !== path) compileSelector(path, `${field}.path`)
  const base = { index, path, method, resourceType, selectsResource, selector }
  switch (method) {
    case 'substitute': {
      if (!('replaceWith' in rule)) {
        throw new InvalidRuleSetError({
          field: `${field}.replaceWith`,
          reason: 'a substitute rule needs `replaceWith`',
        })
      }
      return { ...base, replaceWith: rule.replaceWith }
    }
    case 'perturb':
      return { ...base, perturb: perturbSettings(rule, field) }
    case 'generalize':
      return { ...base, generalize: generalizeSettings(rule, field) }
    case 'redact': {
      if (!('partial' in rule) || rule.partial === undefined) return base
      if (rule.partial !== false) {
        throw new InvalidRuleSetError({ field: `${field}.partial`, reason: 'only `false` is allowed' })
      }
      return { ...base, partial: false }
    }
    default:
      return base
  }
}

function printable(s: string): string {
  return s.length > 40 ? `${s.slice(0, 40)}…` : s
}

/** Numbers may be written as JSON numbers or numeric strings, as Microsoft's configurations do. */
function toNumber(v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v === 'string' && v.trim() !== '') return Number(v)
  return Number.NaN
}

function perturbSettings(rule: Record<string, unknown>, field: string) {
  let roundTo = 2
  if ('roundTo' in rule) {
    roundTo = toNumber(rule.roundTo)
    if (!Number.isInteger(roundTo) || roundTo < 0 || roundTo > 28) {
      throw new InvalidRuleSetError({
        field: `${field}.roundTo`,
        reason: 'expected a whole number from 0 to 28',
      })
    }
  }
  if (!('span' in rule)) {
    throw new InvalidRuleSetError({ field: `${field}.span`, reason: 'a perturb rule needs `span`' })
  }
  const span = toNumber(rule.span)
  if (!Number.isFinite(span) || span < 0) {
    throw new InvalidRuleSetError({ field: `${field}.span`, reason: 'expected a number ≥ 0' })
  }
  let rangeType: 'fixed' | 'proportional' = 'fixed'
  if ('rangeType' in rule) {
    const r = typeof rule.rangeType === 'string' ? rule.rangeType.toLowerCase() : undefined
    if (r !== 'fixed' && r !== 'proportional') {
      throw new InvalidRuleSetError({
        field: `${field}.rangeType`,
        reason: 'expected `fixed` or `proportional`',
      })
    }
    rangeType = r
  }
  return { span, rangeType, roundTo }
}

function generalizeSettings(rule: Record<string, unknown>, field: string) {
  if (!('cases' in rule)) {
    throw new InvalidRuleSetError({ field: `${field}.cases`, reason: 'a generalize rule needs `cases`' })
  }
  if (!isObject(rule.cases)) {
    throw new InvalidRuleSetError({
      field: `${field}.cases`,
      reason: 'expected an object of FHIRPath predicate → FHIRPath value',
    })
  }
  const cases = Object.entries(rule.cases).map(([when, then]) => {
    if (typeof then !== 'string') {
      throw new InvalidRuleSetError({
        field: `${field}.cases`,
        reason: 'each case value must be a FHIRPath string',
      })
    }
    return {
      when: compileNodeExpression(when, `${field}.cases`),
      value: compileNodeExpression(then, `${field}.cases`),
    }
  })
  let otherValues: 'redact' | 'keep' = 'redact'
  if ('otherValues' in rule && rule.otherValues !== undefined && rule.otherValues !== null) {
    const o = typeof rule.otherValues === 'string' ? rule.otherValues.toLowerCase() : undefined
    if (o !== 'redact' && o !== 'keep') {
      throw new InvalidRuleSetError({ field: `${field}.otherValues`, reason: 'expected `redact` or `keep`' })
    }
    otherValues = o
  }
  return { cases, otherValues }
}
