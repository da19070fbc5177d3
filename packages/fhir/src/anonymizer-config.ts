/**
 * Reading Microsoft's FHIR anonymizer configuration (`fhirPathRules` + `parameters`) into a rule set that
 * reproduces that tool's output.
 *
 * @module
 */
import { InvalidRuleSetError } from './errors.ts'
import { compileRuleSet, type Rule, type RuleParameters, type RuleSet } from './rules.ts'

export interface LoadAnonymizerConfigOptions {
  /**
   * With `dateShiftScope` `file` or `folder`, Microsoft's command-line tool prefixes the date-shift key with
   * the input file's or folder's name. Give that name here to reproduce its shifts.
   */
  dateShiftKeyPrefix?: string
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function bool(v: unknown, field: string): boolean | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'boolean') return v
  // Newtonsoft reads "true"/"false" strings into booleans; so do we.
  if (typeof v === 'string' && /^(true|false)$/i.test(v)) return v.toLowerCase() === 'true'
  throw new InvalidRuleSetError({ field, reason: 'expected true or false' })
}

function str(v: unknown, field: string): string | undefined {
  if (v === undefined || v === null) return undefined
  if (typeof v === 'string') return v
  if (typeof v === 'number' || typeof v === 'boolean') return String(v)
  throw new InvalidRuleSetError({ field, reason: 'expected a string' })
}

/**
 * Reads a Microsoft FHIR anonymizer configuration — the JSON text (a leading UTF-8 BOM is fine) or the parsed
 * object — checks it as Microsoft's validator does (FHIR version, rules present, supported methods, FHIRPath
 * that parses and calls known functions, substitute/perturb/generalize settings, AES key size), and returns a
 * rule set for {@link deidentify} that computes what that tool computes.
 *
 * @throws {@link InvalidRuleSetError} naming the field, e.g. `fhirPathRules[2].method`.
 *
 * @example
 * ```ts
 * const rules = loadAnonymizerConfig(readFileSync('configuration-sample.json', 'utf8'))
 * const out = deidentify(patient, rules)
 * ```
 */
export function loadAnonymizerConfig(
  json: string | object,
  options: LoadAnonymizerConfigOptions = {},
): RuleSet {
  let config: unknown = json
  if (typeof json === 'string') {
    try {
      config = JSON.parse(relaxedJson(json.replace(/^\uFEFF/, '')))
    } catch {
      throw new InvalidRuleSetError({
        field: '(configuration)',
        reason: 'the configuration is not valid JSON',
      })
    }
  }
  if (!isObject(config)) {
    throw new InvalidRuleSetError({ field: '(configuration)', reason: 'expected a JSON object' })
  }
  const version = str(config.fhirVersion, 'fhirVersion')
  if (version !== undefined && version !== '' && version.toUpperCase() !== 'R4') {
    throw new InvalidRuleSetError({
      field: 'fhirVersion',
      reason: `fhirVersion \`${version.slice(0, 20)}\` is not supported; expected R4`,
    })
  }
  const fhirPathRules = config.fhirPathRules
  if (!Array.isArray(fhirPathRules)) {
    throw new InvalidRuleSetError({
      field: 'fhirPathRules',
      reason: 'the configuration has no fhirPathRules',
    })
  }
  const rules: Rule[] = fhirPathRules.map((rule, i) => {
    if (!isObject(rule) || !('path' in rule) || !('method' in rule)) {
      throw new InvalidRuleSetError({
        field: `fhirPathRules[${i}]`,
        reason: 'a rule needs `path` and `method`',
      })
    }
    const path = str(rule.path, `fhirPathRules[${i}].path`)
    const method = str(rule.method, `fhirPathRules[${i}].method`)
    return { ...rule, path, method } as unknown as Rule
  })
  const p = config.parameters
  if (p !== undefined && p !== null && !isObject(p)) {
    throw new InvalidRuleSetError({ field: 'parameters', reason: 'expected an object' })
  }
  const params = (p ?? {}) as Record<string, unknown>
  const scope = str(params.dateShiftScope, 'parameters.dateShiftScope')
  if (scope !== undefined && !['resource', 'file', 'folder'].includes(scope.toLowerCase())) {
    throw new InvalidRuleSetError({
      field: 'parameters.dateShiftScope',
      reason: 'expected `resource`, `file` or `folder`',
    })
  }
  const parameters: RuleParameters = { compatibility: 'microsoft' }
  const set = <K extends keyof RuleParameters>(k: K, v: RuleParameters[K] | undefined) => {
    if (v !== undefined) parameters[k] = v
  }
  set('dateShiftKey', str(params.dateShiftKey, 'parameters.dateShiftKey'))
  set('cryptoHashKey', str(params.cryptoHashKey, 'parameters.cryptoHashKey'))
  set('encryptKey', str(params.encryptKey, 'parameters.encryptKey'))
  set(
    'enablePartialAgesForRedact',
    bool(params.enablePartialAgesForRedact, 'parameters.enablePartialAgesForRedact'),
  )
  set(
    'enablePartialDatesForRedact',
    bool(params.enablePartialDatesForRedact, 'parameters.enablePartialDatesForRedact'),
  )
  set(
    'enablePartialZipCodesForRedact',
    bool(params.enablePartialZipCodesForRedact, 'parameters.enablePartialZipCodesForRedact'),
  )
  const areas = params.restrictedZipCodeTabulationAreas
  if (areas !== undefined && areas !== null) {
    if (!Array.isArray(areas)) {
      throw new InvalidRuleSetError({
        field: 'parameters.restrictedZipCodeTabulationAreas',
        reason: 'expected an array of strings',
      })
    }
    parameters.restrictedZipCodeTabulationAreas = areas.map(
      (a, i) => str(a, `parameters.restrictedZipCodeTabulationAreas[${i}]`) ?? '',
    )
  }
  if (scope !== undefined && scope.toLowerCase() !== 'resource' && options.dateShiftKeyPrefix !== undefined) {
    parameters.dateShiftKeyPrefix = options.dateShiftKeyPrefix
  }
  const ruleSet: RuleSet = { rules, parameters }
  try {
    compileRuleSet(ruleSet)
  } catch (e) {
    if (e instanceof InvalidRuleSetError && e.field.startsWith('rules')) {
      throw new InvalidRuleSetError({
        field: `fhirPathRules${e.field.slice('rules'.length)}`,
        reason: e.reason,
      })
    }
    throw e
  }
  return ruleSet
}

/**
 * Microsoft's tool reads configurations with Newtonsoft.Json, which accepts comments and trailing commas (one
 * of its own test configurations has one). Both are removed here, outside strings, before `JSON.parse`.
 */
export function relaxedJson(text: string): string {
  let out = ''
  let i = 0
  let pendingComma = -1
  while (i < text.length) {
    const c = text[i]!
    if (c === '"') {
      const start = i
      i++
      while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
      i++
      out += text.slice(start, i)
      pendingComma = -1
      continue
    }
    if (c === '/' && text[i + 1] === '/') {
      while (i < text.length && text[i] !== '\n') i++
      continue
    }
    if (c === '/' && text[i + 1] === '*') {
      const end = text.indexOf('*/', i + 2)
      i = end < 0 ? text.length : end + 2
      continue
    }
    if (c === ',') {
      pendingComma = out.length
      out += c
      i++
      continue
    }
    if ((c === ']' || c === '}') && pendingComma >= 0) {
      out = out.slice(0, pendingComma) + out.slice(pendingComma + 1)
    }
    if (!/\s/.test(c)) pendingComma = -1
    out += c
    i++
  }
  return out
}
