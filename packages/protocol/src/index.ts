/**
 * @packageDocumentation
 *
 * medvault's wire formats, versioned, in one place: what the SDK (client) writes and the re-encryption
 * proxy (server) reads, specified byte for byte in docs/formats.md so another implementation can read
 * medvault records.
 *
 * - **Record envelope v1** (DAG-CBOR): content CID, sizes, key epoch, the data key's Umbral capsules and
 *   wrapped keys per scope level (`record`, `tag`, `all`), sealed metadata, previous version.
 * - **Kfrag bundle v1** (DAG-CBOR): a grant's parties, threshold, proxy list and keys, and per scope one
 *   ECIES-sealed kfrag per proxy, each bound to its slot by {@link kfragAad}.
 * - **Access request** (EIP-712, domain `medvault`/`1`/chain id/ConsentRegistry) and its JSON body.
 * - **Access response and receipt** (EIP-712, signed by the proxy operator); `receiptHash` is the value
 *   anchored in the audit Merkle tree.
 *
 * Decoders are strict: canonical bytes only, unknown versions and unknown fields refused, every length
 * checked; they throw only the typed errors of `@medvault/protocol/errors`. Browser-safe, no I/O.
 *
 * @example
 * ```ts
 * import { decodeRecordEnvelope, encodeRecordEnvelope, dagCborCid, capsuleOf, capsuleHash } from '@medvault/protocol'
 *
 * const bytes = encodeRecordEnvelope({ v: 1, content, size, segment, epoch: 0, capsules, wrappedKeys, meta })
 * const cid = dagCborCid(bytes) // what registerRecord takes
 * const envelope = decodeRecordEnvelope(bytes)
 * const hash = capsuleHash(capsuleOf(envelope, 'record'))
 * ```
 */

export {
  ACCESS_REQUEST_TYPE,
  type AccessRequest,
  type AccessRequestBody,
  accessRequestBody,
  accessRequestTypedData,
  accessRequestTypes,
  capsuleHash,
  checkFreshness,
  DEFAULT_FRESHNESS_WINDOW_SECONDS,
  DEFAULT_MAX_CLOCK_SKEW_SECONDS,
  hashAccessRequest,
  parseAccessRequestBody,
  randomNonce,
  type VerifyAccessRequestParameters,
  verifyAccessRequest,
} from './access-request.ts'
export { dagCborCid } from './cbor.ts'
export {
  CAPSULE_LENGTH,
  CFRAG_LENGTH,
  KFRAG_LENGTH,
  MAX_BUNDLE_BYTES,
  MAX_BUNDLE_ENTRIES,
  MAX_ENVELOPE_BYTES,
  MAX_EPOCH,
  MAX_PROXIES,
  MAX_REQUEST_BODY_BYTES,
  MAX_RESPONSE_BODY_BYTES,
  META_MAX_LENGTH,
  META_MIN_LENGTH,
  PUBLIC_KEY_LENGTH,
  SEALED_KFRAG_LENGTH,
  SIGNATURE_LENGTH,
  WRAPPED_KEY_LENGTH,
} from './constants.ts'
export {
  normalizeSignature,
  PROTOCOL_DOMAIN_NAME,
  PROTOCOL_DOMAIN_VERSION,
  type ProtocolDomain,
  type ProtocolTypedDataDomain,
} from './eip712.ts'
export {
  capsuleOf,
  decodeRecordEnvelope,
  encodeRecordEnvelope,
  parseRecordEnvelope,
  RECORD_ENVELOPE_VERSIONS,
  type RecordEnvelope,
  type ScopedBytes,
  wrappedKeyOf,
} from './envelope.ts'
export {
  BaseError,
  type BaseErrorParameters,
  type FormatName,
  FutureRequestError,
  type FutureRequestErrorType,
  InvalidFieldError,
  type InvalidFieldErrorType,
  MalformedEncodingError,
  type MalformedEncodingErrorType,
  MissingFieldError,
  type MissingFieldErrorType,
  ProxyMismatchError,
  type ProxyMismatchErrorType,
  ProxyNotInBundleError,
  type ProxyNotInBundleErrorType,
  ScopeNotInBundleError,
  type ScopeNotInBundleErrorType,
  ScopeNotInEnvelopeError,
  type ScopeNotInEnvelopeErrorType,
  SignatureRecoveryError,
  type SignatureRecoveryErrorType,
  StaleRequestError,
  type StaleRequestErrorType,
  TooLargeError,
  type TooLargeErrorType,
  UnexpectedFieldError,
  type UnexpectedFieldErrorType,
  UnexpectedSignerError,
  type UnexpectedSignerErrorType,
  UnsupportedFormatVersionError,
  type UnsupportedFormatVersionErrorType,
} from './errors.ts'
export {
  bundleEntryFor,
  decodeKfragBundle,
  encodeKfragBundle,
  KFRAG_BUNDLE_VERSIONS,
  type KfragBundle,
  type KfragBundleEntry,
  type KfragSlot,
  kfragAad,
  kfragBundleToIpld,
  kfragFor,
  parseKfragBundle,
} from './kfrag-bundle.ts'
export {
  ACCESS_RECEIPT_TYPE,
  type AccessReceipt,
  type AccessReceiptBody,
  type AccessResponseBody,
  accessReceiptBody,
  accessReceiptTypedData,
  accessReceiptTypes,
  accessResponseBody,
  parseAccessReceiptBody,
  parseAccessResponseBody,
  receiptHash,
  type VerifyReceiptParameters,
  verifyReceipt,
} from './receipt.ts'
export {
  ALL_RECORDS,
  hashReceiptsQuery,
  MAX_RECEIPTS_PER_ANSWER,
  MAX_RECEIPTS_RESPONSE_BYTES,
  parseReceiptsQueryParams,
  parseReceiptsResponseBody,
  RECEIPTS_QUERY_TYPE,
  type ReceiptsQuery,
  type ReceiptWithAnchor,
  receiptsQueryParams,
  receiptsQueryTypedData,
  receiptsQueryTypes,
  receiptsResponseBody,
  verifyReceiptsQuery,
} from './receipts-query.ts'
export { type BundleScope, formatScope, SCOPE_LEVELS, type ScopeLevel, scopeLevelOf } from './scope.ts'
