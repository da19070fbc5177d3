/**
 * Errors thrown by `@medvault/fhir`.
 *
 * Modelled on viem's `BaseError`: a short message for people, optional details and meta lines, a literal
 * `name` per subclass so callers can switch on it, and `walk()` over the `cause` chain.
 *
 * Rule for every subclass: a message names the element path, the rule or the configuration field and what
 * was expected — never a value taken from a resource. Resources hold patient data; an error message ends up
 * in logs, bug reports and terminals where patient data must not go. Values from a rule configuration
 * (a FHIRPath expression, a method name) are not patient data and may be shown.
 *
 * @module
 */

export type BaseErrorParameters = {
  cause?: unknown
  details?: string
  metaMessages?: string[]
}

export class BaseError extends Error {
  override name: string = 'MedvaultFhirError'
  readonly shortMessage: string
  readonly details: string | undefined
  readonly metaMessages: string[] | undefined

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    const { cause, details, metaMessages } = parameters
    const message = [
      shortMessage,
      ...(metaMessages !== undefined && metaMessages.length > 0 ? ['', ...metaMessages] : []),
      ...(details !== undefined ? ['', `Details: ${details}`] : []),
    ].join('\n')
    super(message, cause === undefined ? undefined : { cause })
    this.shortMessage = shortMessage
    this.details = details
    this.metaMessages = metaMessages
  }

  /** Walks the `cause` chain and returns the deepest error, or the first one `fn` accepts. */
  walk(fn?: (err: unknown) => boolean): unknown {
    return walk(this, fn)
  }
}

function walk(err: unknown, fn?: (err: unknown) => boolean): unknown {
  if (fn?.(err) === true) return err
  if (err !== null && typeof err === 'object' && 'cause' in err && err.cause !== undefined) {
    return walk(err.cause, fn)
  }
  return fn === undefined ? err : null
}

/** One reason a resource is not valid FHIR R4: where, which rule, and what the rule wants. */
export interface FhirValidationIssue {
  /** FHIRPath-style location, e.g. `Bundle.entry[3].resource.name[0].family`. Never a value. */
  path: string
  /**
   * The rule that failed: `json` (not a JSON object), `resourceType` (missing or unknown), `type` (wrong JSON
   * type for the element), `format` (a primitive that does not match its FHIR format), `range` (a number out of
   * range), `unknown-element` (a property FHIR R4 does not define there), `cardinality` (required element
   * missing, or too many), `choice` (more than one type for a choice element), `fixed` (a fixed or pattern
   * value not matched), `invariant:<key>` (a FHIR constraint such as `ele-1` or `pat-1`), `structure`
   * (anything else the validator reports).
   */
  rule: string
  /** What the rule expects, in words. Never quotes the offending value. */
  message: string
}

export type FhirValidationErrorType = FhirValidationError & { name: 'FhirValidationError' }

/** The resource or Bundle is not valid FHIR R4. `issues` lists every problem found, each with its path. */
export class FhirValidationError extends BaseError {
  override name = 'FhirValidationError' as const
  readonly issues: readonly FhirValidationIssue[]

  constructor({
    issues,
    resourceType,
  }: { issues: FhirValidationIssue[]; resourceType?: string | undefined }) {
    const what = resourceType === undefined ? 'The input' : `This ${resourceType}`
    const shown = issues.slice(0, 10).map((i) => `- ${i.path}: ${i.message} (${i.rule})`)
    if (issues.length > shown.length) shown.push(`- … and ${issues.length - shown.length} more`)
    super(`${what} is not valid FHIR R4: ${issues.length} ${issues.length === 1 ? 'problem' : 'problems'}.`, {
      metaMessages: shown,
    })
    this.issues = issues
  }
}

export type FhirDefinitionsUnavailableErrorType = FhirDefinitionsUnavailableError & {
  name: 'FhirDefinitionsUnavailableError'
}

/** A FHIR R4 StructureDefinition that ships with this package could not be read (a damaged install). */
export class FhirDefinitionsUnavailableError extends BaseError {
  override name = 'FhirDefinitionsUnavailableError' as const

  constructor({ cause }: { cause?: unknown } = {}) {
    super('The FHIR R4 definitions could not be loaded, so nothing can be validated.', {
      cause,
      metaMessages: [
        'They ship with @medvault/fhir (src/r4-definitions.generated.ts): reinstall the package, or pass the',
        'StructureDefinition Bundles (profiles-types.json, profiles-resources.json) to loadFhirDefinitions().',
      ],
    })
  }
}

export type FhirStructureErrorType = FhirStructureError & { name: 'FhirStructureError' }

/**
 * The input cannot be read as FHIR R4 at all: not a JSON object, an unknown resource type, an element R4 does
 * not define, an object where a primitive belongs. De-identification refuses such input rather than guess
 * which rule an unknown element falls under.
 */
export class FhirStructureError extends BaseError {
  override name = 'FhirStructureError' as const
  readonly path: string
  readonly reason: string

  constructor({ path, reason }: { path: string; reason: string }) {
    super(`Cannot read the input as FHIR R4 at ${path}: ${reason}.`)
    this.path = path
    this.reason = reason
  }
}

export type InvalidRuleSetErrorType = InvalidRuleSetError & { name: 'InvalidRuleSetError' }

/**
 * A rule set (or a Microsoft anonymizer configuration) that cannot be used: no rules, an unsupported method,
 * FHIRPath that does not parse or calls an unknown function, perturb or generalize settings out of range, a
 * missing replacement, an AES key of the wrong size. `field` names where, e.g. `fhirPathRules[3].span`.
 */
export class InvalidRuleSetError extends BaseError {
  override name = 'InvalidRuleSetError' as const
  readonly field: string
  readonly reason: string

  constructor({ field, reason, cause }: { field: string; reason: string; cause?: unknown }) {
    super(`Invalid de-identification rules at \`${field}\`: ${reason}.`, cause === undefined ? {} : { cause })
    this.field = field
    this.reason = reason
  }
}

export type MissingKeyErrorType = MissingKeyError & { name: 'MissingKeyError' }

/** A keyed method (cryptoHash, dateShift, encrypt) is in the rules but no key was given for it. */
export class MissingKeyError extends BaseError {
  override name = 'MissingKeyError' as const
  readonly method: string

  constructor({ method }: { method: string }) {
    super(`The rules use \`${method}\` but no key was given.`, {
      metaMessages: [
        'Pass `{ key }` to deidentify: one secret per dataset (at least 16 bytes), kept by the data steward.',
        'Without it, pseudonyms and date shifts would not be reproducible, or would be guessable.',
      ],
    })
    this.method = method
  }
}

export type InvalidKeyErrorType = InvalidKeyError & { name: 'InvalidKeyError' }

/** A key that is not a string or bytes, or too short to be a secret. Only its length is reported. */
export class InvalidKeyError extends BaseError {
  override name = 'InvalidKeyError' as const

  constructor({ reason }: { reason: string }) {
    super(`Invalid de-identification key: ${reason}.`)
  }
}

export type RuleEvaluationErrorType = RuleEvaluationError & { name: 'RuleEvaluationError' }

/**
 * A rule failed while it ran on a resource: a generalize case that does not evaluate to one boolean, a
 * replacement that does not fit the element's type, a FHIRPath function that failed. Names the rule and the
 * element path, not the element's value.
 */
export class RuleEvaluationError extends BaseError {
  override name = 'RuleEvaluationError' as const
  readonly rule: string
  readonly path: string

  constructor({
    rule,
    path,
    reason,
    cause,
  }: { rule: string; path: string; reason: string; cause?: unknown }) {
    super(`The rule \`${rule}\` failed at ${path}: ${reason}.`, cause === undefined ? {} : { cause })
    this.rule = rule
    this.path = path
  }
}

export type NdjsonLineErrorType = NdjsonLineError & { name: 'NdjsonLineError' }

/** A line of an NDJSON stream that is not one JSON resource, or that de-identification refused. */
export class NdjsonLineError extends BaseError {
  override name = 'NdjsonLineError' as const
  readonly line: number

  constructor({ line, reason, cause }: { line: number; reason: string; cause?: unknown }) {
    super(`NDJSON line ${line}: ${reason}.`, cause === undefined ? {} : { cause })
    this.line = line
  }
}

export type AbortErrorType = AbortError & { name: 'AbortError' }

/** The operation was cancelled through its `signal`. */
export class AbortError extends BaseError {
  override name = 'AbortError' as const

  constructor({ cause }: { cause?: unknown } = {}) {
    super('The operation was aborted.', cause === undefined ? {} : { cause })
  }
}
