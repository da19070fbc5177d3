/**
 * @packageDocumentation
 *
 * medvault's node: the HTTP **re-encryption proxy**. A proxy holds only its operator account key and the
 * ECIES key its kfrags are sealed to. It re-encrypts only what the chain authorised — the capsule of the
 * grant's scope level in the record's current chain-registered, CID-verified envelope, never a capsule
 * the requester supplies — for the grantee's EIP-712-signed, fresh, never-replayed request addressed to it,
 * and answers with the capsule fragment and an access receipt signed by its operator, logged durably.
 *
 * Grants, proxy sets and record versions come from an index fed by a checkpointed event follower, so a
 * request costs the same with ten thousand grants on chain as with one; the chain's `checkAccess` view at
 * the latest block is the final authority. Umbral work runs in worker threads.
 *
 * HTTP API v1: `POST /v1/reencrypt` (an `AccessRequestBody` of `@medvault/protocol` → an
 * `AccessResponseBody`), `GET /v1/health`. Refusals are `{ error: { code, message } }`; codes and statuses
 * are listed in {@link proxyErrorStatus}.
 *
 * @example
 * ```ts
 * import { createProxy } from '@medvault/node'
 *
 * await using proxy = await createProxy(
 *   { account: privateKeyToAccount(operatorKey), eciesSecretKey, receiptsDir: './receipts', indexDir: './index' },
 *   { publicClient, storage, addresses, deployBlock },
 * )
 * await operator.registerProxy({ publicKey: getPublicKey(eciesSecretKey), endpoint: proxy.url })
 * ```
 */

export type { AccessContext, CfragTamper } from './access.ts'
// Receipts over HTTP, anchoring and rate limits.
export { ANCHOR_LOG_FILE, MAX_TREE_RECEIPTS, type ReceiptAnchor } from './anchors.ts'
export {
  type ChainFollower,
  type ChainFollowerComponents,
  type ChainFollowerInit,
  createChainFollower,
  FOLLOWER_OWNER,
  type FollowedKind,
} from './chain-follower.ts'
export { cidProblem } from './cid-check.ts'
export { type CliIo, runCli } from './cli.ts'
export {
  CONFIG_ENV,
  type ConfigFlags,
  defaultConfigFile,
  loadConfig,
  type NodeConfig,
  type NodeConfigFile,
  REPO_FILES,
  type RemoteService,
  SERVICE_NAMES,
  type ServiceName,
} from './config.ts'
export { createDaemon, type Daemon, type DaemonInit, type DaemonStatus } from './daemon.ts'
// ---------------------------------------------------------------- the medvault-node daemon's parts
export {
  GatewayBadRequestError,
  type GatewayBadRequestErrorType,
  GatewayError,
  type GatewayLimit,
  GatewayNotAcceptableError,
  type GatewayNotAcceptableErrorType,
  GatewayNotFoundError,
  type GatewayNotFoundErrorType,
  GatewayRateLimitedError,
  type GatewayRateLimitedErrorType,
  InvalidNodeConfigError,
  type InvalidNodeConfigErrorType,
  KeystoreError,
  type KeystoreErrorType,
  NodeStateCorruptError,
  type NodeStateCorruptErrorType,
  PinNotFoundError,
  type PinNotFoundErrorType,
  PinningApiError,
  PinningBadRequestError,
  type PinningBadRequestErrorType,
  PinningBodyTooLargeError,
  type PinningBodyTooLargeErrorType,
  PinningInternalError,
  type PinningInternalErrorType,
  PinningRouteNotFoundError,
  type PinningRouteNotFoundErrorType,
  PinningUnauthorizedError,
  type PinningUnauthorizedErrorType,
  PinningUnavailableError,
  type PinningUnavailableErrorType,
  PinningUnsupportedMediaTypeError,
  type PinningUnsupportedMediaTypeErrorType,
  RecordOwnerUnknownError,
  type RecordOwnerUnknownErrorType,
  TokenNameError,
  type TokenNameErrorType,
  TooManyPendingPinsError,
  type TooManyPendingPinsErrorType,
} from './daemon-errors.ts'
export {
  AccessDeniedError,
  type AccessDeniedErrorType,
  AnchorLogCorruptError,
  type AnchorLogCorruptErrorType,
  BadSignatureError,
  type BadSignatureErrorType,
  BaseError,
  type BaseErrorParameters,
  CapsuleMismatchError,
  type CapsuleMismatchErrorType,
  FutureAccessRequestError,
  type FutureAccessRequestErrorType,
  GrantExpiredRefusalError,
  type GrantExpiredRefusalErrorType,
  GrantIndexCorruptError,
  type GrantIndexCorruptErrorType,
  GrantNotYetValidRefusalError,
  type GrantNotYetValidRefusalErrorType,
  GrantRevokedRefusalError,
  type GrantRevokedRefusalErrorType,
  IndexBehindError,
  type IndexBehindErrorType,
  InternalProxyError,
  type InternalProxyErrorType,
  InvalidEnvelopeError,
  type InvalidEnvelopeErrorType,
  InvalidKfragBundleError,
  type InvalidKfragBundleErrorType,
  InvalidProxyInitError,
  type InvalidProxyInitErrorType,
  MalformedAccessRequestError,
  type MalformedAccessRequestErrorType,
  MalformedReceiptsQueryError,
  type MalformedReceiptsQueryErrorType,
  NotGranteeError,
  type NotGranteeErrorType,
  NotGrantorError,
  type NotGrantorErrorType,
  NotInProxySetError,
  type NotInProxySetErrorType,
  type ProxyErrorCode,
  ProxyRefusalError,
  ProxyShuttingDownError,
  type ProxyShuttingDownErrorType,
  PurposeMismatchRefusalError,
  type PurposeMismatchRefusalErrorType,
  proxyErrorStatus,
  RateLimitedError,
  type RateLimitedErrorType,
  ReceiptLogCorruptError,
  type ReceiptLogCorruptErrorType,
  RecordOutOfScopeRefusalError,
  type RecordOutOfScopeRefusalErrorType,
  ReencryptionWorkerError,
  type ReencryptionWorkerErrorType,
  ReplayedAccessRequestError,
  type ReplayedAccessRequestErrorType,
  RequestBodyTooLargeError,
  type RequestBodyTooLargeErrorType,
  RouteNotFoundError,
  type RouteNotFoundErrorType,
  StaleAccessRequestError,
  type StaleAccessRequestErrorType,
  UnknownGrantError,
  type UnknownGrantErrorType,
  UnknownRecordError,
  type UnknownRecordErrorType,
  UnsupportedMediaTypeError,
  type UnsupportedMediaTypeErrorType,
  UpstreamUnavailableError,
  type UpstreamUnavailableErrorType,
  WorkerPoolClosedError,
  type WorkerPoolClosedErrorType,
  WrongProxyError,
  type WrongProxyErrorType,
} from './errors.ts'
export {
  createGateway,
  GATEWAY_MAX_CAR_EXPORTS,
  GATEWAY_MAX_CAR_EXPORTS_PER_CLIENT,
  GATEWAY_RATE_LIMIT,
  type Gateway,
  type GatewayComponents,
  type GatewayInit,
} from './gateway.ts'
export {
  createGrantIndex,
  GRANT_INDEX_FILE,
  type GrantIndex,
  type GrantIndexInit,
  type IndexedGrant,
  type IndexedRecord,
  type IndexOp,
} from './grant-index.ts'
export {
  type ProxyHealth,
  type ProxyIndexHealth,
  type ProxyLogger,
  ProxyStartingError,
  type ProxyStartingErrorType,
} from './http.ts'
export {
  createHttpServer,
  type HttpServer,
  type HttpServerComponents,
  type HttpServerInit,
} from './http-server.ts'
export {
  createKeystore,
  KEYSTORE_SCRYPT_N,
  keystoreAddress,
  openKeystore,
  PASSPHRASE_ENV,
} from './keystore.ts'
export { createLogger, type LoggerInit, type NodeLogger, silentLogger } from './logger.ts'
export { createMetrics, type NodeMetrics } from './metrics.ts'
export { cidKey, createPinStore, type NewPin, PIN_STORE_FILE, type PinRecord, PinStore } from './pin-store.ts'
export {
  createPinner,
  type OwnerPolicy,
  PermanentPinError,
  type Pinner,
  type PinnerComponents,
  type PinnerInit,
} from './pinner.ts'
export {
  API_OWNER_PREFIX,
  createPinningService,
  type PinningService,
  type PinningServiceComponents,
  type PinningServiceInit,
} from './pinning-service.ts'
export { createProxy, type ProxyComponents, type ProxyInit, type ReencryptionProxy } from './proxy.ts'
export {
  PSA_SPEC_URL,
  PSA_STATUSES,
  type PsaPin,
  type PsaPinResults,
  type PsaPinStatus,
  type PsaStatus,
  type PsaValidators,
  psaValidators,
} from './psa-spec.ts'
export {
  fileReceiptLog,
  memoryReceiptLog,
  RECEIPT_LOG_FILE,
  type ReceiptLog,
  readReceipts,
  type SignedReceipt,
} from './receipt-log.ts'
export {
  createReplication,
  type RemoteEntry,
  type Replication,
  type ReplicationComponents,
  type ReplicationInit,
} from './replication.ts'
export { createTokenStore, type TokenEntry, TokenStore } from './token-store.ts'
