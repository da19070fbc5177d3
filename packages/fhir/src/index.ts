/**
 * @packageDocumentation
 *
 * FHIR R4 for medvault: validation, and de-identification for research datasets.
 *
 * - {@link validateResource} checks a resource or Bundle against the R4 StructureDefinitions (Medplum's
 *   validator) and throws a {@link FhirValidationError} whose issues name the path and the rule — never a value.
 * - {@link deidentify} applies a rule set (keep, redact, dateShift, cryptoHash, encrypt, generalize,
 *   substitute, perturb, each on FHIRPath selections evaluated by HL7's `fhirpath`) and returns the
 *   de-identified copy. {@link safeHarbor} is the built-in HIPAA Safe Harbor rule set;
 *   {@link loadAnonymizerConfig} reads Microsoft's FHIR anonymizer configurations and reproduces that tool's
 *   output. {@link deidentifyNdjson} streams NDJSON in constant memory with progress events.
 *
 * Pure: no I/O beyond reading the R4 definitions on Node.js the first time something is validated.
 *
 * @example
 * ```ts
 * import { deidentify, safeHarbor, validateResource } from '@medvault/fhir'
 *
 * const bundle = validateResource(json) // throws FhirValidationError with { path, rule, message } issues
 * const research = deidentify(bundle, safeHarbor, { key: datasetKey }) // a 32-byte secret per dataset
 * ```
 */

export { type LoadAnonymizerConfigOptions, loadAnonymizerConfig } from './anonymizer-config.ts'
export { type DeidentifyOptions, deidentify } from './engine.ts'
export {
  AbortError,
  BaseError,
  FhirDefinitionsUnavailableError,
  FhirStructureError,
  FhirValidationError,
  type FhirValidationIssue,
  InvalidKeyError,
  InvalidRuleSetError,
  MissingKeyError,
  NdjsonLineError,
  RuleEvaluationError,
} from './errors.ts'
export { decryptFromBase64 } from './keys.ts'
export {
  type DeidentifyNdjsonOptions,
  type DeidentifyNdjsonProgressEvent,
  deidentifyNdjson,
} from './ndjson.ts'
export type {
  CryptoHashRule,
  DateShiftRule,
  EncryptRule,
  GeneralizeRule,
  KeepRule,
  PerturbRule,
  RedactRule,
  Rule,
  RuleMethod,
  RuleParameters,
  RuleSet,
  SubstituteRule,
} from './rules.ts'
export { createSafeHarbor, RESTRICTED_ZIP3, type SafeHarborOptions, safeHarbor } from './safe-harbor.ts'
export { loadFhirDefinitions, preloadFhirDefinitions, validateResource } from './validate.ts'
