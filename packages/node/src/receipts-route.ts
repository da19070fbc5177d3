/**
 * `GET /v1/receipts`: the receipts of reads under a grantor's grants, for the grantor only. The query is an
 * EIP-712 `ReceiptsQuery` the grantor signs (see `@medvault/protocol`), checked like an access request: this
 * proxy's domain, naming this proxy, fresh, answered once. Each receipt comes with its anchor (root and
 * Merkle proof) once its tree is anchored on chain.
 *
 * @module
 */
import {
  ALL_RECORDS,
  checkFreshness,
  FutureRequestError,
  hashReceiptsQuery,
  MAX_RECEIPTS_PER_ANSWER,
  BaseError as ProtocolBaseError,
  ProxyMismatchError,
  parseReceiptsQueryParams,
  type ReceiptsQuery,
  type ReceiptWithAnchor,
  receiptHash,
  SignatureRecoveryError,
  StaleRequestError,
  UnexpectedSignerError,
  verifyReceiptsQuery,
} from '@medvault/protocol'
import { type Address, isAddressEqual } from 'viem'
import { type AccessContext, limitRequester } from './access.ts'
import {
  BadSignatureError,
  FutureAccessRequestError,
  MalformedReceiptsQueryError,
  NotGrantorError,
  ReplayedAccessRequestError,
  StaleAccessRequestError,
  WrongProxyError,
} from './errors.ts'

/** Parses and authenticates a query; returns it with its grantor (the signer). */
export async function authenticateReceiptsQuery(
  ctx: AccessContext,
  params: Iterable<[string, string]>,
): Promise<ReceiptsQuery> {
  let parsed: { query: ReceiptsQuery; signature: `0x${string}` }
  try {
    parsed = parseReceiptsQueryParams(params)
  } catch (err) {
    const reason = err instanceof ProtocolBaseError ? err.shortMessage : 'not a receipts query'
    throw new MalformedReceiptsQueryError({ reason, cause: err })
  }
  const { query, signature } = parsed
  try {
    await verifyReceiptsQuery({ domain: ctx.domain, proxy: ctx.self, query, signature })
  } catch (err) {
    if (err instanceof ProxyMismatchError) {
      throw new WrongProxyError({ expected: ctx.self, received: query.proxy, cause: err })
    }
    if (err instanceof UnexpectedSignerError)
      throw new NotGrantorError({ grantor: query.grantor, cause: err })
    if (err instanceof SignatureRecoveryError) throw new BadSignatureError({ cause: err })
    throw new MalformedReceiptsQueryError({
      reason: err instanceof ProtocolBaseError ? err.shortMessage : 'unreadable field',
      cause: err,
    })
  }
  limitRequester(ctx, query.grantor)
  const now = ctx.now()
  try {
    checkFreshness(query.issuedAt, now, ctx.freshnessSeconds, ctx.maxClockSkewSeconds)
  } catch (err) {
    if (err instanceof StaleRequestError) {
      throw new StaleAccessRequestError({
        issuedAt: query.issuedAt,
        now,
        windowSeconds: ctx.freshnessSeconds,
      })
    }
    if (err instanceof FutureRequestError) {
      throw new FutureAccessRequestError({
        issuedAt: query.issuedAt,
        now,
        maxSkewSeconds: ctx.maxClockSkewSeconds,
      })
    }
    throw err
  }
  const hash = hashReceiptsQuery(ctx.domain, query)
  if (!ctx.replay.claim(hash, query.issuedAt + ctx.freshnessSeconds, now)) {
    throw new ReplayedAccessRequestError({ requestHash: hash })
  }
  return query
}

/**
 * The receipts under the grantor's grants (the grant's grantor as the index holds it), oldest first, with
 * `at` after `query.after`, at most {@link MAX_RECEIPTS_PER_ANSWER}. A full answer ends at a second boundary
 * when it can, so the next query (`after` = the last `at`) misses none.
 */
export async function answerReceiptsQuery(
  ctx: AccessContext,
  query: ReceiptsQuery,
): Promise<ReceiptWithAnchor[]> {
  const grantor: Address = query.grantor
  const record = query.recordId === ALL_RECORDS ? undefined : query.recordId.toLowerCase()
  const out: ReceiptWithAnchor[] = []
  // The log's index reads only the receipts under the grantor's grants after `after` (one more than an
  // answer holds, to find the second boundary), not the whole log.
  const selected = await ctx.receipts.query({
    grantIds: ctx.index.grantsOf(grantor).map((g) => g.grantId),
    recordId: record as `0x${string}` | undefined,
    after: query.after,
    limit: MAX_RECEIPTS_PER_ANSWER + 1,
  })
  for (const { receipt, signature } of selected) {
    if (receipt.at <= query.after) continue
    if (record !== undefined && receipt.recordId.toLowerCase() !== record) continue
    const grant = ctx.index.grant(receipt.grantId)
    if (grant === undefined || !isAddressEqual(grant.grantor, grantor)) continue
    if (out.length === MAX_RECEIPTS_PER_ANSWER) {
      const cut = out.findIndex((r) => r.receipt.at === receipt.at)
      if (cut > 0) out.length = cut
      break
    }
    const anchor = ctx.anchors?.proofOf(receiptHash(ctx.domain, receipt))
    out.push(anchor === undefined ? { receipt, signature } : { receipt, signature, anchor })
  }
  return out
}
