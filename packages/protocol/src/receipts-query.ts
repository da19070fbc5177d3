/**
 * The receipts query: how a grantor asks a proxy for the receipts of reads under the grants it gave (the
 * owner's audit trail). The query travels as URL query parameters of `GET /v1/receipts` and is signed
 * (EIP-712) by the grantor, because receipts show who read which record when: a proxy answers only the
 * grantor, only at itself (the query names the proxy), and only while the query is fresh; each query is
 * answered once, like an access request.
 *
 * @module
 */
import { type Address, type Hex, hashTypedData, isAddressEqual, type TypedDataDefinition } from 'viem'
import { parseJson, recover } from './access-request.ts'
import {
  expectSignature,
  type ProtocolDomain,
  type ProtocolTypedDataDomain,
  protocolDomain,
} from './eip712.ts'
import { InvalidFieldError, MissingFieldError, ProxyMismatchError, UnexpectedSignerError } from './errors.ts'
import {
  expectAddress,
  expectArray,
  expectHex,
  expectKeys,
  expectObject,
  expectUint,
  expectVersion,
  own,
} from './fields.ts'
import { type AccessReceipt, parseReceiptBody } from './receipt.ts'

const FORMAT = 'receipts query'
const RESPONSE = 'receipts response body'

/** `recordId` of a query for every record. */
export const ALL_RECORDS: Hex = `0x${'00'.repeat(32)}`

/** EIP-712 types of a receipts query (viem `TypedData`). */
export const receiptsQueryTypes = {
  ReceiptsQuery: [
    { name: 'proxy', type: 'address' },
    { name: 'grantor', type: 'address' },
    { name: 'recordId', type: 'bytes32' },
    { name: 'after', type: 'uint64' },
    { name: 'issuedAt', type: 'uint64' },
    { name: 'nonce', type: 'bytes32' },
  ],
} as const

/** The encoded EIP-712 type of a receipts query. */
export const RECEIPTS_QUERY_TYPE =
  'ReceiptsQuery(address proxy,address grantor,bytes32 recordId,uint64 after,uint64 issuedAt,bytes32 nonce)'

/** A grantor's request for the receipts a proxy signed under its grants. */
export interface ReceiptsQuery {
  /** The proxy asked; a query is valid at that proxy only. */
  proxy: Address
  /** The account whose grants the receipts are under; it signs the query. */
  grantor: Address
  /** One record, or {@link ALL_RECORDS}. */
  recordId: Hex
  /** Only receipts with `at` greater than this (Unix seconds); 0 for all. */
  after: number
  /** Unix seconds when the query was signed. */
  issuedAt: number
  /** 32 random bytes; a proxy answers each query once. */
  nonce: Hex
}

/** Largest number of receipts in one answer; ask again with `after` set to the last `at` for more. */
export const MAX_RECEIPTS_PER_ANSWER = 1000

/** One receipt of an answer, with its anchor when the proxy has anchored it. */
export interface ReceiptWithAnchor {
  receipt: AccessReceipt
  signature: Hex
  /** The anchored Merkle root (AuditAnchors, keyed by the receipt's proxy and the root) and the proof. */
  anchor?: { root: Hex; proof: Hex[] } | undefined
}

export function receiptsQueryTypedData(
  domain: ProtocolDomain,
  query: ReceiptsQuery,
): TypedDataDefinition<typeof receiptsQueryTypes, 'ReceiptsQuery'> & { domain: ProtocolTypedDataDomain } {
  const q = checkQuery(query)
  return {
    domain: protocolDomain(FORMAT, domain),
    types: receiptsQueryTypes,
    primaryType: 'ReceiptsQuery',
    message: { ...q, after: BigInt(q.after), issuedAt: BigInt(q.issuedAt) },
  }
}

/** The query's EIP-712 digest (what a proxy remembers to answer it once). */
export function hashReceiptsQuery(domain: ProtocolDomain, query: ReceiptsQuery): Hex {
  return hashTypedData(receiptsQueryTypedData(domain, query))
}

/**
 * Checks a query's signature under the proxy's own domain, that it names this proxy, and that its grantor
 * signed it. Freshness is the caller's (`checkFreshness`).
 *
 * @throws {ProxyMismatchError} when it names another proxy.
 * @throws {SignatureRecoveryError} when no address recovers.
 * @throws {UnexpectedSignerError} when someone other than `grantor` signed.
 */
export async function verifyReceiptsQuery(parameters: {
  domain: ProtocolDomain
  proxy: Address
  query: ReceiptsQuery
  signature: Hex
}): Promise<Address> {
  const typedData = receiptsQueryTypedData(parameters.domain, parameters.query)
  const self = expectAddress(FORMAT, parameters.proxy, 'proxy (the verifying proxy)')
  if (!isAddressEqual(typedData.message.proxy, self)) {
    throw new ProxyMismatchError({ what: FORMAT, expected: self, received: typedData.message.proxy })
  }
  const recovered = await recover(FORMAT, typedData, expectSignature(FORMAT, parameters.signature))
  if (!isAddressEqual(recovered, typedData.message.grantor)) {
    throw new UnexpectedSignerError({ what: FORMAT, expected: typedData.message.grantor, recovered })
  }
  return recovered
}

const PARAMS = ['proxy', 'grantor', 'recordId', 'after', 'issuedAt', 'nonce', 'signature'] as const

/** The URL query parameters of a signed query (`new URLSearchParams(…)`); `recordId`/`after` only when set. */
export function receiptsQueryParams(query: ReceiptsQuery, signature: Hex): Record<string, string> {
  const q = checkQuery(query)
  return {
    proxy: q.proxy,
    grantor: q.grantor,
    ...(q.recordId === ALL_RECORDS ? {} : { recordId: q.recordId }),
    ...(q.after === 0 ? {} : { after: String(q.after) }),
    issuedAt: String(q.issuedAt),
    nonce: q.nonce,
    signature: expectSignature(FORMAT, signature),
  }
}

/**
 * Parses URL query parameters strictly: exactly the known names, each once, decimal integers without sign
 * or leading zeros, hex of exact lengths.
 *
 * @throws {MissingFieldError | UnexpectedFieldError | InvalidFieldError}
 */
export function parseReceiptsQueryParams(params: Iterable<[string, string]>): {
  query: ReceiptsQuery
  signature: Hex
} {
  const seen = new Map<string, string>()
  for (const [name, value] of params) {
    // The unknown name is not echoed: it is the caller's text.
    if (!(PARAMS as readonly string[]).includes(name)) {
      throw new InvalidFieldError({
        format: FORMAT,
        field: 'parameters',
        expected: `only ${PARAMS.join(', ')}`,
      })
    }
    if (seen.has(name)) throw new InvalidFieldError({ format: FORMAT, field: name, expected: 'one value' })
    seen.set(name, value)
  }
  const need = (name: string) => {
    const v = seen.get(name)
    if (v === undefined) throw new MissingFieldError({ format: FORMAT, field: name })
    return v
  }
  const int = (name: string, value: string | undefined) => {
    if (value === undefined) return 0
    if (!/^(0|[1-9][0-9]{0,15})$/.test(value) || !Number.isSafeInteger(Number(value))) {
      throw new InvalidFieldError({ format: FORMAT, field: name, expected: 'a decimal integer' })
    }
    return Number(value)
  }
  const query = checkQuery({
    proxy: need('proxy') as Address,
    grantor: need('grantor') as Address,
    recordId: (seen.get('recordId') ?? ALL_RECORDS) as Hex,
    after: int('after', seen.get('after')),
    issuedAt: int('issuedAt', need('issuedAt')),
    nonce: need('nonce') as Hex,
  })
  return { query, signature: expectSignature(FORMAT, need('signature')) }
}

function checkQuery(value: unknown): ReceiptsQuery {
  const obj = expectObject(FORMAT, value, 'query')
  expectKeys(FORMAT, obj, 'query', ['proxy', 'grantor', 'recordId', 'after', 'issuedAt', 'nonce'])
  return {
    proxy: expectAddress(FORMAT, own(obj, 'proxy'), 'proxy'),
    grantor: expectAddress(FORMAT, own(obj, 'grantor'), 'grantor'),
    recordId: expectHex(FORMAT, own(obj, 'recordId'), 'recordId', 32),
    after: expectUint(FORMAT, own(obj, 'after'), 'after', 0, Number.MAX_SAFE_INTEGER),
    issuedAt: expectUint(FORMAT, own(obj, 'issuedAt'), 'issuedAt', 0, Number.MAX_SAFE_INTEGER),
    nonce: expectHex(FORMAT, own(obj, 'nonce'), 'nonce', 32),
  }
}

/** A proxy's answer: `{ v: 1, receipts: [{ receipt: AccessReceiptBody, anchor?: { root, proof } }] }`. */
export function receiptsResponseBody(receipts: readonly ReceiptWithAnchor[]): unknown {
  return {
    v: 1,
    receipts: receipts.map(({ receipt, signature, anchor }) => ({
      receipt: { v: 1, ...receipt, signature },
      ...(anchor === undefined ? {} : { anchor: { root: anchor.root, proof: anchor.proof } }),
    })),
  }
}

/** Largest answer read, in bytes (a full answer of receipts with proofs fits well within it). */
export const MAX_RECEIPTS_RESPONSE_BYTES = 8 * 1024 * 1024

/**
 * Parses a proxy's receipts answer strictly. Verify each receipt's signature (`verifyReceipt`) and anchor
 * (`verifyReceiptProof` offline, `verifyReceiptInclusion` on chain) before trusting it.
 *
 * @throws {TooLargeError | MalformedEncodingError | UnsupportedFormatVersionError | MissingFieldError |
 *   UnexpectedFieldError | InvalidFieldError}
 */
export function parseReceiptsResponseBody(input: unknown): ReceiptWithAnchor[] {
  const obj = expectObject(RESPONSE, parseJson(RESPONSE, input, MAX_RECEIPTS_RESPONSE_BYTES))
  expectVersion(RESPONSE, obj, '', [1])
  expectKeys(RESPONSE, obj, '', ['v', 'receipts'])
  const list = expectArray(RESPONSE, own(obj, 'receipts'), 'receipts', 0, MAX_RECEIPTS_PER_ANSWER)
  return list.map((item, i) => {
    const path = `receipts[${i}]`
    const entry = expectObject(RESPONSE, item, path)
    const hasAnchor = Object.hasOwn(entry, 'anchor')
    expectKeys(RESPONSE, entry, path, hasAnchor ? ['receipt', 'anchor'] : ['receipt'])
    const { receipt, signature } = parseReceiptBody(RESPONSE, own(entry, 'receipt'), `${path}.receipt`)
    if (!hasAnchor) return { receipt, signature }
    const a = expectObject(RESPONSE, own(entry, 'anchor'), `${path}.anchor`)
    expectKeys(RESPONSE, a, `${path}.anchor`, ['root', 'proof'])
    const proof = expectArray(RESPONSE, own(a, 'proof'), `${path}.anchor.proof`, 0, 64).map((p, j) =>
      expectHex(RESPONSE, p, `${path}.anchor.proof[${j}]`, 32),
    )
    return {
      receipt,
      signature,
      anchor: { root: expectHex(RESPONSE, own(a, 'root'), `${path}.anchor.root`, 32), proof },
    }
  })
}
