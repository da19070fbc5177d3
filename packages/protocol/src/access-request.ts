/**
 * The access request: what a grantee signs (EIP-712) to ask one proxy for a capsule fragment, and its JSON
 * body over HTTP.
 *
 * @module
 */
import {
  type Address,
  bytesToHex,
  type Hex,
  isAddressEqual,
  keccak256,
  recoverTypedDataAddress,
  type TypedDataDefinition,
} from 'viem'
import { MAX_REQUEST_BODY_BYTES } from './constants.ts'
import {
  expectSignature,
  type ProtocolDomain,
  type ProtocolTypedDataDomain,
  protocolDomain,
} from './eip712.ts'
import {
  FutureRequestError,
  MalformedEncodingError,
  ProxyMismatchError,
  SignatureRecoveryError,
  StaleRequestError,
  TooLargeError,
  UnexpectedSignerError,
} from './errors.ts'
import {
  expectAddress,
  expectCapsule,
  expectHex,
  expectKeys,
  expectObject,
  expectUint,
  expectVersion,
  own,
} from './fields.ts'
import {
  addressWord,
  bytes32Word,
  recoverDigestSigner,
  staticTypedDataDigest,
  typeHash,
  uintWord,
} from './signer.ts'

const FORMAT = 'access request'
const BODY = 'access request body'

/** EIP-712 types of an access request (viem `TypedData`). */
export const accessRequestTypes = {
  AccessRequest: [
    { name: 'proxy', type: 'address' },
    { name: 'grantId', type: 'bytes32' },
    { name: 'recordId', type: 'bytes32' },
    { name: 'capsuleHash', type: 'bytes32' },
    { name: 'purpose', type: 'uint8' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const

/** The encoded EIP-712 type of an access request (its typehash is `keccak256` of these bytes). */
export const ACCESS_REQUEST_TYPE =
  'AccessRequest(address proxy,bytes32 grantId,bytes32 recordId,bytes32 capsuleHash,uint8 purpose,uint64 issuedAt,bytes32 nonce)'

const ACCESS_REQUEST_TYPEHASH = typeHash(ACCESS_REQUEST_TYPE)

/** A request to one proxy to re-encrypt one record's capsule under one grant. */
export interface AccessRequest {
  /** The proxy operator asked; a request is valid at that proxy only. */
  proxy: Address
  /** The grant, as registered on chain. */
  grantId: Hex
  /** The record. */
  recordId: Hex
  /** `keccak256` of the 98-byte capsule of the scope level the proxy will re-encrypt ({@link capsuleHash}). */
  capsuleHash: Hex
  /** The purpose of use code (uint8, e.g. 1 = TREAT); must be the grant's. */
  purpose: number
  /** Unix seconds when the request was signed. */
  issuedAt: number
  /** 32 random bytes ({@link randomNonce}); a proxy answers each request hash at most once. */
  nonce: Hex
}

/** The JSON body of `POST` to a proxy: the request's fields as hex strings and numbers, and its signature. */
export interface AccessRequestBody {
  v: 1
  proxy: Address
  grantId: Hex
  recordId: Hex
  capsuleHash: Hex
  purpose: number
  issuedAt: number
  nonce: Hex
  /** 65 bytes `r ‖ s ‖ v`, low s, v 27/28. */
  signature: Hex
}

/** Requests older than this are stale by default: 5 minutes. */
export const DEFAULT_FRESHNESS_WINDOW_SECONDS = 300
/** Requests dated further ahead than this are future-dated by default: 30 seconds of clock skew. */
export const DEFAULT_MAX_CLOCK_SKEW_SECONDS = 30

/**
 * The typed data to sign, for viem's `signTypedData` (`account.signTypedData(accessRequestTypedData(…))`).
 *
 * @throws {InvalidFieldError} for a field or domain value of the wrong type or length.
 */
export function accessRequestTypedData(
  domain: ProtocolDomain,
  request: AccessRequest,
): TypedDataDefinition<typeof accessRequestTypes, 'AccessRequest'> & { domain: ProtocolTypedDataDomain } {
  return {
    domain: protocolDomain(FORMAT, domain),
    types: accessRequestTypes,
    primaryType: 'AccessRequest',
    // viem types uint64 as bigint; the fields are numbers here because Unix seconds fit a double exactly.
    message: toMessage(checkAccessRequest(FORMAT, request)),
  }
}

/**
 * The EIP-712 digest of a request: what is signed, the receipt's `requestHash`, and the key a proxy
 * remembers to answer each request once (never key on signature bytes).
 */
export function hashAccessRequest(domain: ProtocolDomain, request: AccessRequest): Hex {
  return bytesToHex(requestDigest(domain, checkAccessRequest(FORMAT, request)))
}

/** The digest of a checked request (what viem's `hashTypedData(accessRequestTypedData(…))` gives, as bytes). */
function requestDigest(domain: ProtocolDomain, request: AccessRequest): Uint8Array {
  return staticTypedDataDigest(protocolDomain(FORMAT, domain), ACCESS_REQUEST_TYPEHASH, [
    addressWord(request.proxy),
    bytes32Word(request.grantId),
    bytes32Word(request.recordId),
    bytes32Word(request.capsuleHash),
    uintWord(request.purpose),
    uintWord(request.issuedAt),
    bytes32Word(request.nonce),
  ])
}

/** `keccak256` of a capsule in its 98-byte simple form — the request's `capsuleHash`. */
export function capsuleHash(capsule: Uint8Array): Hex {
  return keccak256(expectCapsule(FORMAT, capsule, 'capsule'))
}

/** 32 random bytes from the platform CSPRNG, as a request nonce. */
export function randomNonce(): Hex {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}

export interface VerifyAccessRequestParameters {
  /** The proxy's own domain: its chain and ConsentRegistry (never taken from the request). */
  domain: ProtocolDomain
  /** The proxy's own operator address: a request naming another proxy is refused. */
  proxy: Address
  request: AccessRequest
  signature: Hex
  /** When given, the account that must have signed (e.g. the grantee read from the chain). */
  signer?: Address | undefined
  /**
   * An account that probably signed (e.g. the grantee of the grant the request names, as the proxy last
   * read it): checked first, which is cheaper than a full recovery once its public key is known. It changes
   * only the cost: the result is the signer, whoever it is.
   */
  candidate?: Address | undefined
}

/**
 * Checks a request's fields and that it names this proxy, and recovers its signer under this proxy's domain.
 *
 * A request signed for another chain id or ConsentRegistry, or altered after signing, recovers to another
 * address: pass `signer`, or compare the result with the grant's grantee on chain. Freshness is checked
 * apart ({@link checkFreshness}), and so is replay (remember {@link hashAccessRequest}).
 *
 * @returns the recovered signer.
 * @throws {ProxyMismatchError} when `request.proxy` is not `proxy`.
 * @throws {UnexpectedSignerError} when `signer` is given and did not sign.
 * @throws {InvalidFieldError | SignatureRecoveryError} for a malformed field or signature.
 */
export async function verifyAccessRequest(parameters: VerifyAccessRequestParameters): Promise<Address> {
  const { domain, proxy, signature, signer } = parameters
  const request = checkAccessRequest(FORMAT, parameters.request)
  const digest = requestDigest(domain, request)
  const self = expectAddress(FORMAT, proxy, 'proxy (the verifying proxy)')
  if (!isAddressEqual(request.proxy, self)) {
    throw new ProxyMismatchError({ what: FORMAT, expected: self, received: request.proxy })
  }
  const candidate =
    parameters.candidate === undefined ? undefined : expectAddress(FORMAT, parameters.candidate, 'candidate')
  const recovered = recoverDigest(FORMAT, digest, expectSignature(FORMAT, signature), candidate)
  if (signer !== undefined) {
    const expected = expectAddress(FORMAT, signer, 'signer')
    if (!isAddressEqual(recovered, expected)) {
      throw new UnexpectedSignerError({ what: FORMAT, expected, recovered })
    }
  }
  return recovered
}

/**
 * Refuses a request issued more than `windowSeconds` before `now`, or more than `maxSkewSeconds` after it.
 *
 * @param issuedAt - the request's `issuedAt`, Unix seconds.
 * @param now - the proxy's clock, Unix seconds.
 * @throws {StaleRequestError | FutureRequestError}
 */
export function checkFreshness(
  issuedAt: number,
  now: number,
  windowSeconds: number = DEFAULT_FRESHNESS_WINDOW_SECONDS,
  maxSkewSeconds: number = DEFAULT_MAX_CLOCK_SKEW_SECONDS,
): void {
  for (const [name, value] of [
    ['issuedAt', issuedAt],
    ['now', now],
    ['windowSeconds', windowSeconds],
    ['maxSkewSeconds', maxSkewSeconds],
  ] as const) {
    expectUint(FORMAT, value, name, 0, Number.MAX_SAFE_INTEGER)
  }
  if (now - issuedAt > windowSeconds) throw new StaleRequestError({ issuedAt, now, windowSeconds })
  if (issuedAt - now > maxSkewSeconds) throw new FutureRequestError({ issuedAt, now, maxSkewSeconds })
}

/** The JSON body for a signed request (`JSON.stringify` it). */
export function accessRequestBody(request: AccessRequest, signature: Hex): AccessRequestBody {
  return { v: 1, ...checkAccessRequest(BODY, request), signature: expectSignature(BODY, signature) }
}

/**
 * Parses an access request body strictly: JSON text (at most {@link MAX_REQUEST_BODY_BYTES} bytes) or an
 * already parsed value; `v` 1; exactly the body's fields; hex of exact lengths; addresses lowercase or
 * EIP-55; integers in range; a signature in its one accepted form.
 *
 * @returns the request (hex lowercase, addresses checksummed) and its signature, for {@link verifyAccessRequest}.
 * @throws {TooLargeError | MalformedEncodingError | UnsupportedFormatVersionError | MissingFieldError |
 *   UnexpectedFieldError | InvalidFieldError}
 */
export function parseAccessRequestBody(input: unknown): { request: AccessRequest; signature: Hex } {
  const obj = expectObject(BODY, parseJson(BODY, input, MAX_REQUEST_BODY_BYTES))
  expectVersion(BODY, obj, '', [1])
  expectKeys(BODY, obj, '', ['v', ...REQUEST_FIELDS, 'signature'])
  const request = checkAccessRequest(BODY, obj)
  return { request, signature: expectSignature(BODY, own(obj, 'signature')) }
}

function toMessage(request: AccessRequest) {
  return { ...request, issuedAt: BigInt(request.issuedAt) }
}

const REQUEST_FIELDS = [
  'proxy',
  'grantId',
  'recordId',
  'capsuleHash',
  'purpose',
  'issuedAt',
  'nonce',
] as const

/** The request's fields, checked and normalised (hex lowercase, addresses checksummed). */
export function checkAccessRequest(
  format: 'access request' | 'access request body',
  value: unknown,
): AccessRequest {
  const obj = expectObject(format, value, format === FORMAT ? 'request' : undefined)
  if (format === FORMAT) expectKeys(format, obj, 'request', REQUEST_FIELDS)
  return {
    proxy: expectAddress(format, own(obj, 'proxy'), 'proxy'),
    grantId: expectHex(format, own(obj, 'grantId'), 'grantId', 32),
    recordId: expectHex(format, own(obj, 'recordId'), 'recordId', 32),
    capsuleHash: expectHex(format, own(obj, 'capsuleHash'), 'capsuleHash', 32),
    purpose: expectUint(format, own(obj, 'purpose'), 'purpose', 0, 255),
    issuedAt: expectUint(format, own(obj, 'issuedAt'), 'issuedAt', 0, Number.MAX_SAFE_INTEGER),
    nonce: expectHex(format, own(obj, 'nonce'), 'nonce', 32),
  }
}

/** JSON text (bounded) or an already parsed value. */
export function parseJson(
  format: 'access request body' | 'access response body' | 'access receipt' | 'receipts response body',
  input: unknown,
  limit: number,
): unknown {
  if (typeof input !== 'string') return input
  // UTF-8 length is at least the UTF-16 length: refuse on the cheap bound first, then on the exact one.
  if (input.length > limit) throw new TooLargeError({ format, limit, size: input.length })
  const size = new TextEncoder().encode(input).length
  if (size > limit) throw new TooLargeError({ format, limit, size })
  try {
    return JSON.parse(input) as unknown
  } catch {
    // JSON.parse's message quotes the input.
    throw new MalformedEncodingError({ format, reason: 'not JSON' })
  }
}

/** {@link recoverDigestSigner}, with its errors replaced by a typed one. */
export function recoverDigest(
  format: 'access request' | 'access receipt',
  digest: Uint8Array,
  signature: Hex,
  candidate?: Address,
): Address {
  try {
    return recoverDigestSigner(digest, signature, candidate)
  } catch {
    throw new SignatureRecoveryError({ what: format })
  }
}

/** viem's recovery, with its errors (which may quote the signature) replaced by a typed one. */
export async function recover(
  format: 'access request' | 'access receipt' | 'receipts query',
  typedData: Omit<Parameters<typeof recoverTypedDataAddress>[0], 'signature'>,
  signature: Hex,
): Promise<Address> {
  try {
    return await recoverTypedDataAddress({ ...typedData, signature } as Parameters<
      typeof recoverTypedDataAddress
    >[0])
  } catch {
    throw new SignatureRecoveryError({ what: format })
  }
}
