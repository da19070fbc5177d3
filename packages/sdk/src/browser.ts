/**
 * @packageDocumentation
 *
 * The browser build of `@medvault/sdk` (chosen by bundlers through the `browser` export condition):
 * `createVault` and everything it returns, without `createLocalNetwork` (it starts anvil and proxy servers,
 * which only Node can).
 *
 * @example
 * ```ts
 * import { createVault } from '@medvault/sdk'
 * import { createWalletClient, custom } from 'viem'
 *
 * const wallet = createWalletClient({ account, chain, transport: custom(window.ethereum) })
 * const vault = await createVault({ account: wallet, chain: { transport: custom(window.ethereum), addresses }, storage })
 * ```
 */

export {
  FhirDefinitionsUnavailableError,
  FhirValidationError,
  type FhirValidationIssue,
  loadFhirDefinitions,
} from '@medvault/fhir'
export { Audit, type AuditListOptions } from './audit.ts'
export {
  type AuthorizeBreakGlassOptions,
  BreakGlass,
  type BreakGlassStatus,
  type BreakGlassTarget,
  type BreakGlassWindow,
  type ListBreakGlassOptions,
  MAX_BREAK_GLASS_WINDOW,
  type OpenBreakGlassOptions,
} from './break-glass.ts'
export {
  type BuildDatasetOptions,
  consentCommitment,
  DATASET_FORMAT,
  DATASET_FORMAT_VERSION,
  type DatasetBuild,
  type DatasetManifest,
  type DatasetOutput,
  type DatasetProgressEvent,
  Datasets,
  type FetchDatasetOptions,
  type FetchedDataset,
  type PublishDatasetOptions,
  type PublishedDataset,
  ruleSetHash,
} from './datasets.ts'
export {
  DatasetIntegrityError,
  type DatasetIntegrityErrorType,
  DatasetNotRegisteredError,
  type DatasetNotRegisteredErrorType,
  DatasetRegistrationUnknownError,
  type DatasetRegistrationUnknownErrorType,
  EmptyDatasetError,
  type EmptyDatasetErrorType,
  NotDatasetRecipientError,
  type NotDatasetRecipientErrorType,
  NotStewardError,
  type NotStewardErrorType,
} from './datasets-errors.ts'
export {
  BaseError,
  type BaseErrorParameters,
  type BreakGlassRefusal,
  BreakGlassRefusedError,
  type BreakGlassRefusedErrorType,
  EmergencyAccessClosedError,
  type EmergencyAccessClosedErrorType,
  GrantExpiredError,
  type GrantExpiredErrorType,
  GrantNotFoundError,
  type GrantNotFoundErrorType,
  GrantNotYetValidError,
  type GrantNotYetValidErrorType,
  GrantOutcomeUnknownError,
  type GrantOutcomeUnknownErrorType,
  GrantRevokedError,
  type GrantRevokedErrorType,
  IntegrityError,
  type IntegrityErrorType,
  type IntegrityTarget,
  InvalidOptionError,
  type InvalidOptionErrorType,
  KeyMismatchError,
  type KeyMismatchErrorType,
  KeyNotPublishedError,
  type KeyNotPublishedErrorType,
  NoGrantError,
  type NoGrantErrorType,
  NotEnoughProxiesError,
  type NotEnoughProxiesErrorType,
  NotRecordOwnerError,
  type NotRecordOwnerErrorType,
  ProxyError,
  type ProxyErrorType,
  type ProxyFailure,
  RecordNotFoundError,
  type RecordNotFoundErrorType,
  RegistrationUnknownError,
  type RegistrationUnknownErrorType,
  RelayError,
  type RelayErrorType,
  type RelayUnconfirmed,
  type UnconfirmedRecordVersion,
} from './errors.ts'
export {
  FHIR_MEDIA_TYPE,
  type FhirRecord,
  type SplitBundleEntry,
  type SplitBundleResult,
} from './fhir-records.ts'
export type { GrantRecord, GrantRecordsOptions } from './grant-records.ts'
export { type CreateGrantOptions, Grants, type ListGrantsOptions, type Relay } from './grants.ts'
export { type HedgeOptions, type HedgeOutcome, type HedgeResult, hedge } from './hedge.ts'
export type { VaultAccount } from './identity.ts'
export { type Duration, parseDuration, type TimeInput } from './options.ts'
export { Records, type RotateOptions, type RotateResult } from './records.ts'
export type {
  AuditEntry,
  CallOptions,
  FhirRecordInfo,
  Grant,
  GrantScopeInfo,
  JsonValue,
  PutOptions,
  ReadOptions,
  RecordContent,
  RecordInfo,
  RecordVersionInfo,
  SplitPutOptions,
  UpdateOptions,
  VaultProgressEvent,
} from './types.ts'
export { createVault, type Vault, type VaultChainInit, type VaultInit } from './vault.ts'
