/**
 * @packageDocumentation
 *
 * medvault for app developers: patient-controlled health records in a few calls. `createVault` encrypts
 * records on the device, stores the ciphertext on IPFS and registers it on chain; grants a clinician or a
 * researcher access through M-of-N threshold re-encryption proxies; reads what was granted (proxies that
 * are down, slow or lying cannot stop a read while M honest ones answer; every answer is verified); revokes,
 * rotates keys and lists the audit trail. `createLocalNetwork` starts all of it on this machine (anvil,
 * contracts, an embedded IPFS store, HTTP proxies) for development, demos and tests.
 *
 * @example
 * ```ts
 * import { createLocalNetwork } from '@medvault/sdk'
 *
 * await using net = await createLocalNetwork({ proxies: 3 })
 * const patient = await net.vault(0), clinic = await net.vault(1)
 * const observation = { resourceType: 'Observation', status: 'final', code: { text: 'HbA1c' } } as const
 * const rec = await patient.records.put(observation, { tag: 'labs' }) // validated as FHIR R4 first
 * await patient.grants.create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '30d', threshold: 2 })
 * const bytes = await clinic.records.get(rec.id)
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
  GrantExpiredError,
  type GrantExpiredErrorType,
  GrantNotYetValidError,
  type GrantNotYetValidErrorType,
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
  RelayError,
  type RelayErrorType,
} from './errors.ts'
export {
  FHIR_MEDIA_TYPE,
  type FhirRecord,
  type SplitBundleEntry,
  type SplitBundleResult,
} from './fhir-records.ts'
export { type CreateGrantOptions, Grants, type ListGrantsOptions, type Relay } from './grants.ts'
export { type HedgeOptions, type HedgeOutcome, type HedgeResult, hedge } from './hedge.ts'
export type { VaultAccount } from './identity.ts'
export {
  createLocalNetwork,
  type LocalNetwork,
  type LocalNetworkInit,
  type LocalProxy,
} from './local-network.ts'
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
