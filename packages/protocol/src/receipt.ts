/**
 * The access response and its receipt: a proxy answers a request with the capsule fragment and a receipt
 * signed (EIP-712) by its operator. Receipts are batched into Merkle trees whose roots the proxy anchors
 * on chain (AuditAnchors, per proxy and root); the leaf of a receipt is `keccak256(receiptHash)`.
 *
 * @module
 */
import {
  type Address,
  bytesToHex,
  type Hex,
  hexToBytes,
  isAddressEqual,
  type TypedDataDefinition,
} from 'viem'
import { parseJson, recoverDigest } from './access-request.ts'
import { CFRAG_LENGTH, MAX_RESPONSE_BODY_BYTES } from './constants.ts'
import {
  expectSignature,
  type ProtocolDomain,
  type ProtocolTypedDataDomain,
  protocolDomain,
} from './eip712.ts'
import { ProxyMismatchError, UnexpectedSignerError } from './errors.ts'
import {
  expectAddress,
  expectBytes,
  expectHex,
  expectHexRange,
  expectKeys,
  expectObject,
  expectUint,
  expectVersion,
  own,
} from './fields.ts'
import { addressWord, bytes32Word, staticTypedDataDigest, typeHash, uintWord } from './signer.ts'

const FORMAT = 'access receipt'
const RESPONSE = 'access response body'

/** EIP-712 types of an access receipt (viem `TypedData`). */
export const accessReceiptTypes = {
  AccessReceipt: [
    { name: 'proxy', type: 'address' },
    { name: 'grantId', type: 'bytes32' },
    { name: 'recordId', type: 'bytes32' },
    { name: 'requester', type: 'address' },
    { name: 'capsuleHash', type: 'bytes32' },
    { name: 'requestHash', type: 'bytes32' },
    { name: 'at', type: 'uint64' },
  ],
} as const

/** The encoded EIP-712 type of an access receipt (its typehash is `keccak256` of these bytes). */
export const ACCESS_RECEIPT_TYPE =
  'AccessReceipt(address proxy,bytes32 grantId,bytes32 recordId,address requester,bytes32 capsuleHash,bytes32 requestHash,uint64 at)'

const ACCESS_RECEIPT_TYPEHASH = typeHash(ACCESS_RECEIPT_TYPE)

/** What a proxy attests it answered. */
export interface AccessReceipt {
  /** The proxy operator that re-encrypted (and signs the receipt). */
  proxy: Address
  grantId: Hex
  recordId: Hex
  /** The request's recovered signer. */
  requester: Address
  /** `keccak256` of the capsule the proxy re-encrypted, read from the registered envelope. */
  capsuleHash: Hex
  /** {@link hashAccessRequest} of the request answered. */
  requestHash: Hex
  /** Unix seconds when the proxy answered. */
  at: number
}

/** A receipt with its operator's signature, as JSON. */
export interface AccessReceiptBody extends AccessReceipt {
  v: 1
  /** 65 bytes `r ‖ s ‖ v`, low s, v 27/28. */
  signature: Hex
}

/** A proxy's JSON answer to an access request. */
export interface AccessResponseBody {
  v: 1
  /** `CapsuleFrag.toBytes()` (381 bytes) as hex: verify it before use. */
  cfrag: Hex
  receipt: AccessReceiptBody
}

/** The typed data the operator signs. */
export function accessReceiptTypedData(
  domain: ProtocolDomain,
  receipt: AccessReceipt,
): TypedDataDefinition<typeof accessReceiptTypes, 'AccessReceipt'> & { domain: ProtocolTypedDataDomain } {
  const checked = checkReceipt(FORMAT, receipt, 'receipt')
  return {
    domain: protocolDomain(FORMAT, domain),
    types: accessReceiptTypes,
    primaryType: 'AccessReceipt',
    // viem types uint64 as bigint; `at` is a number here because Unix seconds fit a double exactly.
    message: { ...checked, at: BigInt(checked.at) },
  }
}

/**
 * The receipt's 32-byte hash: its EIP-712 digest, the value the operator signs and the `receiptHash` that
 * `@medvault/chain`'s `receiptLeaf` / `buildReceiptTree` take (leaf = `keccak256(receiptHash)`), anchored
 * per (proxy, root).
 */
export function receiptHash(domain: ProtocolDomain, receipt: AccessReceipt): Hex {
  return bytesToHex(receiptDigest(domain, checkReceipt(FORMAT, receipt, 'receipt')))
}

/** The digest of a checked receipt (what viem's `hashTypedData(accessReceiptTypedData(…))` gives, as bytes). */
function receiptDigest(domain: ProtocolDomain, receipt: AccessReceipt): Uint8Array {
  return staticTypedDataDigest(protocolDomain(FORMAT, domain), ACCESS_RECEIPT_TYPEHASH, [
    addressWord(receipt.proxy),
    bytes32Word(receipt.grantId),
    bytes32Word(receipt.recordId),
    addressWord(receipt.requester),
    bytes32Word(receipt.capsuleHash),
    bytes32Word(receipt.requestHash),
    uintWord(receipt.at),
  ])
}

export interface VerifyReceiptParameters {
  domain: ProtocolDomain
  receipt: AccessReceipt
  signature: Hex
  /** When given, the proxy the receipt must come from (the one that was asked). */
  proxy?: Address | undefined
}

/**
 * Checks a receipt was signed by the proxy it names, under `domain`.
 *
 * @returns the signer (`receipt.proxy`).
 * @throws {ProxyMismatchError} when `proxy` is given and the receipt names another.
 * @throws {UnexpectedSignerError} when the signature is not `receipt.proxy`'s for these fields and domain.
 * @throws {InvalidFieldError | SignatureRecoveryError} for a malformed field or signature.
 */
export async function verifyReceipt(parameters: VerifyReceiptParameters): Promise<Address> {
  const { domain, signature, proxy } = parameters
  const receipt = checkReceipt(FORMAT, parameters.receipt, 'receipt')
  const digest = receiptDigest(domain, receipt)
  const named = receipt.proxy
  if (proxy !== undefined) {
    const expected = expectAddress(FORMAT, proxy, 'proxy (the proxy asked)')
    if (!isAddressEqual(named, expected))
      throw new ProxyMismatchError({ what: FORMAT, expected, received: named })
  }
  // The proxy named is the signer to check first: its key is known after its first receipt.
  const recovered = recoverDigest(FORMAT, digest, expectSignature(FORMAT, signature), named)
  if (!isAddressEqual(recovered, named))
    throw new UnexpectedSignerError({ what: FORMAT, expected: named, recovered })
  return named
}

/** The JSON of a signed receipt. */
export function accessReceiptBody(receipt: AccessReceipt, signature: Hex): AccessReceiptBody {
  return { v: 1, ...checkReceipt(FORMAT, receipt, 'receipt'), signature: expectSignature(FORMAT, signature) }
}

/**
 * Parses a signed receipt's JSON strictly (text or parsed value): `v` 1, exactly its fields, hex of exact
 * lengths, addresses lowercase or EIP-55, the signature in its accepted form. Does not verify the signature.
 */
export function parseAccessReceiptBody(input: unknown): { receipt: AccessReceipt; signature: Hex } {
  return parseReceiptBody(FORMAT, parseJson(FORMAT, input, MAX_RESPONSE_BODY_BYTES), '')
}

/** The JSON answer of a proxy. */
export function accessResponseBody(parameters: {
  cfrag: Uint8Array
  receipt: AccessReceipt
  signature: Hex
}): AccessResponseBody {
  return {
    v: 1,
    cfrag: bytesToHex(expectBytes(RESPONSE, parameters.cfrag, 'cfrag', CFRAG_LENGTH)),
    receipt: accessReceiptBody(parameters.receipt, parameters.signature),
  }
}

/**
 * Parses a proxy's answer strictly: JSON text (at most {@link MAX_RESPONSE_BODY_BYTES} bytes) or a parsed
 * value, `v` 1, a 381-byte cfrag, a receipt as {@link parseAccessReceiptBody} checks it. Verify the receipt
 * ({@link verifyReceipt}) and the cfrag (`CapsuleFrag.verify`) before use.
 *
 * @throws {TooLargeError | MalformedEncodingError | UnsupportedFormatVersionError | MissingFieldError |
 *   UnexpectedFieldError | InvalidFieldError}
 */
export function parseAccessResponseBody(input: unknown): {
  cfrag: Uint8Array
  receipt: AccessReceipt
  signature: Hex
} {
  const obj = expectObject(RESPONSE, parseJson(RESPONSE, input, MAX_RESPONSE_BODY_BYTES))
  expectVersion(RESPONSE, obj, '', [1])
  expectKeys(RESPONSE, obj, '', ['v', 'cfrag', 'receipt'])
  const cfrag = hexToBytes(expectHexRange(RESPONSE, own(obj, 'cfrag'), 'cfrag', CFRAG_LENGTH, CFRAG_LENGTH))
  const { receipt, signature } = parseReceiptBody(RESPONSE, own(obj, 'receipt'), 'receipt')
  return { cfrag, receipt, signature }
}

const RECEIPT_FIELDS = [
  'proxy',
  'grantId',
  'recordId',
  'requester',
  'capsuleHash',
  'requestHash',
  'at',
] as const

/** A signed receipt's JSON at `path` inside a document of `format` (strict; the signature is not verified). */
export function parseReceiptBody(
  format: 'access receipt' | 'access response body' | 'receipts response body',
  value: unknown,
  path: string,
): { receipt: AccessReceipt; signature: Hex } {
  const obj = expectObject(format, value, path === '' ? undefined : path)
  const p = (k: string) => (path === '' ? k : `${path}.${k}`)
  expectVersion(format, obj, path, [1])
  expectKeys(format, obj, path, ['v', ...RECEIPT_FIELDS, 'signature'])
  return {
    receipt: fields(format, obj, p),
    signature: expectSignature(format, own(obj, 'signature'), p('signature')),
  }
}

function checkReceipt(format: 'access receipt', value: unknown, path: string): AccessReceipt {
  const obj = expectObject(format, value, path)
  expectKeys(format, obj, path, RECEIPT_FIELDS)
  return fields(format, obj, (k) => k)
}

function fields(
  format: 'access receipt' | 'access response body' | 'receipts response body',
  obj: ReturnType<typeof expectObject>,
  p: (k: string) => string,
): AccessReceipt {
  return {
    proxy: expectAddress(format, own(obj, 'proxy'), p('proxy')),
    grantId: expectHex(format, own(obj, 'grantId'), p('grantId'), 32),
    recordId: expectHex(format, own(obj, 'recordId'), p('recordId'), 32),
    requester: expectAddress(format, own(obj, 'requester'), p('requester')),
    capsuleHash: expectHex(format, own(obj, 'capsuleHash'), p('capsuleHash'), 32),
    requestHash: expectHex(format, own(obj, 'requestHash'), p('requestHash'), 32),
    at: expectUint(format, own(obj, 'at'), p('at'), 0, Number.MAX_SAFE_INTEGER),
  }
}
