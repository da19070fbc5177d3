/**
 * @packageDocumentation
 *
 * FHIR R4 for medvault: validation, and de-identification for research datasets.
 *
 * - {@link validateResource} checks a resource or Bundle against the R4 StructureDefinitions (Medplum's
 *   validator) and throws a {@link FhirValidationError} whose issues name the path and the rule — never a value.
 *
 * @example
 * ```ts
 * import { validateResource } from '@medvault/fhir'
 *
 * const bundle = validateResource(json) // throws FhirValidationError with { path, rule, message } issues
 * ```
 */

export {
  BaseError,
  FhirDefinitionsUnavailableError,
  FhirValidationError,
  type FhirValidationIssue,
} from './errors.ts'
export { loadFhirDefinitions, validateResource } from './validate.ts'
