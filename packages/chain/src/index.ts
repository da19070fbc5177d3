/**
 * @packageDocumentation
 *
 * viem actions over medvault's consent, record and audit contracts, EIP-712 grant signing, the receipt Merkle
 * helper, and an event follower with checkpoints. Runs in Node and in browsers alike: the Node-only parts
 * (the embedded anvil devnet, the file checkpoint store) are in `@medvault/chain/node`.
 *
 * Actions are plain functions taking a viem client first (`registerRecord(client, params)`), one per file, each
 * with `XParameters`, `XReturnType` and `XErrorType`; `medvaultActions(addresses)` attaches them all to a
 * client with `client.extend(...)`. Contract reverts come back as domain errors (`GrantRevokedError`, …) whose
 * `cause` is viem's decoded `ContractFunctionRevertedError`.
 *
 * @example
 * ```ts
 * import { createDevnet } from '@medvault/chain/node'
 *
 * await using devnet = await createDevnet()
 * const [patient, doctor] = devnet.walletClients
 * const { recordId } = await patient.registerRecord({ cid: '0x01551220…' })
 * const { grantId } = await patient.grantAccess({
 *   grantee: doctor.account.address, scope: { kind: 'record', recordId }, purpose: 'TREAT',
 *   expiry: new Date(Date.now() + 86_400_000), threshold: 1, proxySetId, kfragsCid,
 * })
 * await doctor.isAccessAllowed({ grantId, recordId, grantee: doctor.account.address, purpose: 'TREAT' }) // true
 * ```
 */

export {
  type AnchorReceiptsErrorType,
  type AnchorReceiptsParameters,
  type AnchorReceiptsReturnType,
  anchorReceipts,
} from './actions/anchor-receipts.ts'
export {
  type AppointDelegateErrorType,
  type AppointDelegateParameters,
  type AppointDelegateReturnType,
  appointDelegate,
  type DelegatePermission,
  decodePermissions,
  encodePermissions,
} from './actions/appoint-delegate.ts'
export {
  type AuthorizeBreakGlassErrorType,
  type AuthorizeBreakGlassParameters,
  type AuthorizeBreakGlassReturnType,
  authorizeBreakGlass,
} from './actions/authorize-break-glass.ts'
export {
  type BreakGlassErrorType,
  type BreakGlassParameters,
  type BreakGlassReturnType,
  breakGlass,
} from './actions/break-glass.ts'
export {
  type CancelGrantSaltErrorType,
  type CancelGrantSaltParameters,
  type CancelGrantSaltReturnType,
  cancelGrantSalt,
} from './actions/cancel-grant-salt.ts'
export {
  type CheckAccessErrorType,
  type CheckAccessParameters,
  type CheckAccessReturnType,
  checkAccess,
} from './actions/check-access.ts'
export {
  type CreateProxySetErrorType,
  type CreateProxySetParameters,
  type CreateProxySetReturnType,
  createProxySet,
} from './actions/create-proxy-set.ts'
export {
  type EndEmergencyAccessErrorType,
  type EndEmergencyAccessParameters,
  type EndEmergencyAccessReturnType,
  endEmergencyAccess,
} from './actions/end-emergency-access.ts'
export {
  type GetAnchorErrorType,
  type GetAnchorParameters,
  type GetAnchorReturnType,
  getAnchor,
} from './actions/get-anchor.ts'
export {
  type GetDatasetErrorType,
  type GetDatasetParameters,
  type GetDatasetReturnType,
  getDataset,
} from './actions/get-dataset.ts'
export {
  type GetDelegationErrorType,
  type GetDelegationParameters,
  type GetDelegationReturnType,
  getDelegation,
} from './actions/get-delegation.ts'
export {
  type GetEmergencyAccessErrorType,
  type GetEmergencyAccessParameters,
  type GetEmergencyAccessReturnType,
  getEmergencyAccess,
} from './actions/get-emergency-access.ts'
export {
  type BreakGlassHaltChange,
  type EmergencyAccessWindow,
  type GetEmergencyAccessesErrorType,
  type GetEmergencyAccessesParameters,
  type GetEmergencyAccessesReturnType,
  getEmergencyAccesses,
} from './actions/get-emergency-accesses.ts'
export {
  type GetGrantErrorType,
  type GetGrantParameters,
  type GetGrantReturnType,
  getGrant,
} from './actions/get-grant.ts'
export {
  type GetGrantsErrorType,
  type GetGrantsParameters,
  type GetGrantsReturnType,
  type GrantListing,
  getGrants,
} from './actions/get-grants.ts'
export {
  type GetProxyErrorType,
  type GetProxyParameters,
  type GetProxyReturnType,
  getProxy,
} from './actions/get-proxy.ts'
export {
  type GetProxySetErrorType,
  type GetProxySetParameters,
  type GetProxySetReturnType,
  getProxySet,
} from './actions/get-proxy-set.ts'
export {
  type GetPublicKeysErrorType,
  type GetPublicKeysParameters,
  type GetPublicKeysReturnType,
  getPublicKeys,
} from './actions/get-public-keys.ts'
export {
  type GetRecordErrorType,
  type GetRecordParameters,
  type GetRecordReturnType,
  getRecord,
} from './actions/get-record.ts'
export {
  type GetRecordVersionsErrorType,
  type GetRecordVersionsParameters,
  type GetRecordVersionsReturnType,
  getRecordVersions,
  type RecordVersion,
} from './actions/get-record-versions.ts'
export {
  type GetSignatureNonceErrorType,
  type GetSignatureNonceParameters,
  type GetSignatureNonceReturnType,
  getSignatureNonce,
} from './actions/get-signature-nonce.ts'
export {
  type GrantAccessErrorType,
  type GrantAccessParameters,
  type GrantAccessReturnType,
  type GrantErrorType,
  grantAccess,
} from './actions/grant-access.ts'
export {
  type GrantBySigErrorType,
  type GrantBySigParameters,
  type GrantBySigReturnType,
  grantBySig,
} from './actions/grant-by-sig.ts'
export {
  type IsAccessAllowedErrorType,
  type IsAccessAllowedParameters,
  type IsAccessAllowedReturnType,
  isAccessAllowed,
} from './actions/is-access-allowed.ts'
export {
  type IsDelegateErrorType,
  type IsDelegateParameters,
  type IsDelegateReturnType,
  isDelegate,
} from './actions/is-delegate.ts'
export {
  type PublishKeysErrorType,
  type PublishKeysParameters,
  type PublishKeysReturnType,
  publishKeys,
} from './actions/publish-keys.ts'
export {
  type ReauthorizeBreakGlassErrorType,
  type ReauthorizeBreakGlassParameters,
  type ReauthorizeBreakGlassReturnType,
  reauthorizeBreakGlass,
} from './actions/reauthorize-break-glass.ts'
export {
  type RegisterDatasetErrorType,
  type RegisterDatasetParameters,
  type RegisterDatasetReturnType,
  registerDataset,
} from './actions/register-dataset.ts'
export {
  type RegisterProxyErrorType,
  type RegisterProxyParameters,
  type RegisterProxyReturnType,
  registerProxy,
} from './actions/register-proxy.ts'
export {
  NO_TAG,
  type RegisterRecordErrorType,
  type RegisterRecordParameters,
  type RegisterRecordReturnType,
  registerRecord,
} from './actions/register-record.ts'
export {
  type RegisterRecordVersionErrorType,
  type RegisterRecordVersionParameters,
  type RegisterRecordVersionReturnType,
  registerRecordVersion,
} from './actions/register-record-version.ts'
export {
  type RegisterRecordsErrorType,
  type RegisterRecordsParameters,
  type RegisterRecordsReturnType,
  registerRecords,
} from './actions/register-records.ts'
export {
  type RemoveDelegateErrorType,
  type RemoveDelegateParameters,
  type RemoveDelegateReturnType,
  removeDelegate,
} from './actions/remove-delegate.ts'
export {
  type RetireProxyErrorType,
  type RetireProxyParameters,
  type RetireProxyReturnType,
  retireProxy,
} from './actions/retire-proxy.ts'
export {
  type RevokeAccessErrorType,
  type RevokeAccessParameters,
  type RevokeAccessReturnType,
  revokeAccess,
} from './actions/revoke-access.ts'
export {
  type RevokeBySigErrorType,
  type RevokeBySigParameters,
  type RevokeBySigReturnType,
  revokeBySig,
} from './actions/revoke-by-sig.ts'
export {
  type SetStewardErrorType,
  type SetStewardParameters,
  type SetStewardReturnType,
  setSteward,
} from './actions/set-steward.ts'
export {
  consentDomain,
  type SignedGrant,
  type SignGrantErrorType,
  type SignGrantParameters,
  type SignGrantReturnType,
  signGrant,
} from './actions/sign-grant.ts'
export {
  type SignedRevoke,
  type SignRevokeErrorType,
  type SignRevokeParameters,
  type SignRevokeReturnType,
  signRevoke,
} from './actions/sign-revoke.ts'
export {
  type UpdateProxyErrorType,
  type UpdateProxyParameters,
  type UpdateProxyReturnType,
  updateProxy,
} from './actions/update-proxy.ts'
export {
  type VerifyReceiptInclusionErrorType,
  type VerifyReceiptInclusionParameters,
  type VerifyReceiptInclusionReturnType,
  verifyReceiptInclusion,
} from './actions/verify-receipt-inclusion.ts'
export {
  type GrantEvent,
  type WatchGrantsErrorType,
  type WatchGrantsParameters,
  type WatchGrantsReturnType,
  watchGrants,
} from './actions/watch-grants.ts'
export type {
  MedvaultAddresses,
  MedvaultContractsParameter,
} from './addresses.ts'
export {
  type MedvaultActions,
  medvaultActions,
} from './decorator.ts'
export {
  type DeployMedvaultErrorType,
  type DeployMedvaultParameters,
  type DeployMedvaultProgressEvent,
  type DeployMedvaultReturnType,
  deployMedvault,
} from './deploy.ts'
export {
  assertBytes,
  type BytesLike,
  decodePurpose,
  decodeScope,
  encodePurpose,
  encodeScope,
  type Purpose,
  type Scope,
  type ScopeKindName,
  scopeKindName,
  type Timestamp,
  toBytesHex,
  toSeconds,
} from './encoding.ts'
export {
  AbortError,
  type AbortErrorType,
  AccountRequiredError,
  type AccountRequiredErrorType,
  AnchorNotFoundError,
  type AnchorNotFoundErrorType,
  AnvilNotFoundError,
  type AnvilNotFoundErrorType,
  AnvilStartError,
  type AnvilStartErrorType,
  BaseError,
  type BaseErrorParameters,
  BreakGlassWindowsExhaustedError,
  type BreakGlassWindowsExhaustedErrorType,
  ChainReorgError,
  type ChainReorgErrorType,
  CheckpointCorruptError,
  type CheckpointCorruptErrorType,
  ContractError,
  type ContractErrorName,
  type ContractErrorParameters,
  contractErrors,
  DatasetAlreadyRegisteredError,
  type DatasetAlreadyRegisteredErrorType,
  DatasetNotFoundError,
  type DatasetNotFoundErrorType,
  DelegationNotFoundError,
  type DelegationNotFoundErrorType,
  DeploymentFailedError,
  type DeploymentFailedErrorType,
  DuplicateProxyError,
  type DuplicateProxyErrorType,
  EmergencyAccessAlreadyActiveError,
  type EmergencyAccessAlreadyActiveErrorType,
  EmergencyAccessHaltedError,
  type EmergencyAccessHaltedErrorType,
  EmergencyAccessNotActiveError,
  type EmergencyAccessNotActiveErrorType,
  EmergencyAccessNotHaltedError,
  type EmergencyAccessNotHaltedErrorType,
  EmptyBatchError,
  type EmptyBatchErrorType,
  ExpiryNotInFutureError,
  type ExpiryNotInFutureErrorType,
  GrantAlreadyExistsError,
  type GrantAlreadyExistsErrorType,
  GrantExpiredError,
  type GrantExpiredErrorType,
  GranteeMismatchError,
  type GranteeMismatchErrorType,
  GrantIdCancelledError,
  type GrantIdCancelledErrorType,
  GrantNotFoundError,
  type GrantNotFoundErrorType,
  GrantNotYetValidError,
  type GrantNotYetValidErrorType,
  GrantOutlivesDelegationError,
  type GrantOutlivesDelegationErrorType,
  GrantRevokedError,
  type GrantRevokedErrorType,
  InvalidBreakGlassDurationError,
  type InvalidBreakGlassDurationErrorType,
  InvalidCidLengthError,
  type InvalidCidLengthErrorType,
  InvalidEndpointLengthError,
  type InvalidEndpointLengthErrorType,
  InvalidLicenceLengthError,
  type InvalidLicenceLengthErrorType,
  InvalidNonceError,
  type InvalidNonceErrorType,
  InvalidPermissionsError,
  type InvalidPermissionsErrorType,
  InvalidProxySetSizeError,
  type InvalidProxySetSizeErrorType,
  InvalidPublicKeyError,
  type InvalidPublicKeyErrorType,
  InvalidPublishedKeyError,
  type InvalidPublishedKeyErrorType,
  InvalidPurposeError,
  type InvalidPurposeErrorType,
  InvalidReceiptCountError,
  type InvalidReceiptCountErrorType,
  InvalidRecordIdError,
  type InvalidRecordIdErrorType,
  InvalidRecordSetSizeError,
  type InvalidRecordSetSizeErrorType,
  InvalidRootError,
  type InvalidRootErrorType,
  InvalidScopeError,
  type InvalidScopeErrorType,
  InvalidSignatureError,
  type InvalidSignatureErrorType,
  InvalidThresholdError,
  type InvalidThresholdErrorType,
  InvalidTimeRangeError,
  type InvalidTimeRangeErrorType,
  InvalidValidityError,
  type InvalidValidityErrorType,
  KeyNotPublishedError,
  type KeyNotPublishedErrorType,
  LogQueryRefusedError,
  type LogQueryRefusedErrorType,
  LogQueryTimeoutError,
  type LogQueryTimeoutErrorType,
  LogRangeTooLargeError,
  type LogRangeTooLargeErrorType,
  MalformedLogError,
  type MalformedLogErrorType,
  type MedvaultContractErrorType,
  NotActiveProxyError,
  type NotActiveProxyErrorType,
  NotAdminError,
  type NotAdminErrorType,
  NotBreakGlassGrantError,
  type NotBreakGlassGrantErrorType,
  NotGranteeError,
  type NotGranteeErrorType,
  NotRecordOwnerError,
  type NotRecordOwnerErrorType,
  NotStewardError,
  type NotStewardErrorType,
  ProxyAlreadyRegisteredError,
  type ProxyAlreadyRegisteredErrorType,
  ProxyNotActiveError,
  type ProxyNotActiveErrorType,
  ProxySetNotFoundError,
  type ProxySetNotFoundErrorType,
  PurposeMismatchError,
  type PurposeMismatchErrorType,
  RecordAlreadyRegisteredError,
  type RecordAlreadyRegisteredErrorType,
  RecordNotFoundError,
  type RecordNotFoundErrorType,
  RecordOutOfScopeError,
  type RecordOutOfScopeErrorType,
  RootAlreadyAnchoredError,
  type RootAlreadyAnchoredErrorType,
  SelfDelegationError,
  type SelfDelegationErrorType,
  SignatureExpiredError,
  type SignatureExpiredErrorType,
  SnapshotBlockNotInPastError,
  type SnapshotBlockNotInPastErrorType,
  TransactionOutcomeUnknownError,
  type TransactionOutcomeUnknownErrorType,
  TransactionRevertedError,
  type TransactionRevertedErrorType,
  toMedvaultError,
  UnauthorizedError,
  type UnauthorizedErrorType,
  UnknownContractError,
  type UnknownContractErrorType,
  UnknownProxySetError,
  type UnknownProxySetErrorType,
  ZeroAddressError,
  type ZeroAddressErrorType,
  ZeroHashError,
  type ZeroHashErrorType,
} from './errors.ts'
export {
  type Checkpoint,
  type CheckpointStore,
  memoryCheckpointStore,
} from './follow/checkpoint.ts'
export {
  type EventFollower,
  type FollowEventsParameters,
  type FollowEventsProgressEvent,
  type FollowEventsReturnType,
  type FollowedEvent,
  followEvents,
} from './follow/follow-events.ts'
export {
  DEFAULT_LOG_BLOCK_RANGE,
  DEFAULT_MAX_LOG_REFUSALS,
  DEFAULT_MAX_LOG_TIMEOUTS,
  DEFAULT_MIN_LOG_BLOCK_RANGE,
  type GetLogsChunkedErrorType,
  type GetLogsChunkedParameters,
  type GetLogsChunkedReturnType,
  getLogsChunked,
  type LogRangeProgressEvent,
  LogRangeReader,
  type LogRangeReaderInit,
  logQueryRefusal,
  type ReadLogsChunkedParameters,
  readLogsChunked,
} from './follow/get-logs-chunked.ts'
export {
  computeGrantId,
  encodeGrantParams,
  type GrantParams,
  type GrantTerms,
  randomBytes32,
} from './grant.ts'
export {
  buildReceiptTree,
  hashPair,
  type ReceiptTree,
  receiptLeaf,
  verifyReceiptProof,
} from './merkle.ts'
export {
  NETWORK_FILE_FORMAT,
  type NetworkFile,
  NetworkFileError,
  type NetworkFileErrorType,
  parseNetworkFile,
  stringifyNetworkFile,
} from './network-file.ts'
