/**
 * The audit trail of a vault's records, from the chain: registrations and versions, grants, revocations,
 * break-glass windows; and reads, from the proxies' signed receipts, each checked against the proxy's
 * signature and, when anchored, against the Merkle root the proxy anchored on chain.
 *
 * @module
 */
import {
  type GrantListing,
  getEmergencyAccesses,
  getGrants,
  getLogsChunked,
  getProxy,
  getProxySet,
  getRecordVersions,
  verifyReceiptInclusion,
  verifyReceiptProof,
} from '@medvault/chain'
import {
  ALL_RECORDS,
  MAX_RECEIPTS_PER_ANSWER,
  MAX_RECEIPTS_RESPONSE_BYTES,
  type ProtocolDomain,
  parseReceiptsResponseBody,
  type ReceiptWithAnchor,
  randomNonce,
  receiptHash,
  receiptsQueryParams,
  receiptsQueryTypedData,
  verifyReceipt,
} from '@medvault/protocol'
import { type Address, type Hash, type Hex, isAddressEqual, parseAbiItem } from 'viem'
import { cidFromHex } from './content.ts'
import type { VaultContext } from './context.ts'
import { ProxyError } from './errors.ts'
import { covers, parseGrantId, recordChainTag, toGrant } from './grants.ts'
import { parseRecordId } from './options.ts'
import { displayEndpoint, endpointBase } from './proxy-client.ts'
import type { AuditEntry, CallOptions } from './types.ts'

export interface AuditListOptions extends CallOptions {
  /** Only what concerns this record (its versions, the grants covering it, its reads). */
  record?: Hex
  /** Only what concerns this grant. */
  grant?: Hex
}

/** Where reads come from: the receipts proxies signed, verified by the caller of this hook. */
export type ReadsSource = (
  ctx: VaultContext,
  filter: { records: Hex[] | undefined; grants: Hex[] },
  signal: AbortSignal | undefined,
) => Promise<Extract<AuditEntry, { kind: 'read' }>[]>

const recordRegistered = parseAbiItem(
  'event RecordRegistered(bytes32 indexed recordId, address indexed owner, bytes8 tag, bytes cid)',
)
const accessRevoked = parseAbiItem(
  'event AccessRevoked(bytes32 indexed grantId, address indexed grantor, address indexed grantee, address revokedBy)',
)

/** The audit part of a vault. */
export class Audit {
  readonly #ctx: VaultContext
  readonly #reads: ReadsSource | undefined

  constructor(ctx: VaultContext, reads?: ReadsSource) {
    this.#ctx = ctx
    this.#reads = reads
  }

  /**
   * Everything that happened to the vault's records (or one record, or one grant), oldest first: the records'
   * registrations and versions, the grants given and their revocations, break-glass windows, and the reads
   * proxies signed receipts for.
   */
  async list(options: AuditListOptions = {}): Promise<AuditEntry[]> {
    const ctx = this.#ctx
    const { signal } = options
    signal?.throwIfAborted()
    const recordFilter = options.record === undefined ? undefined : parseRecordId(options.record, 'record')
    const grantFilter = options.grant === undefined ? undefined : parseGrantId(options.grant)
    const toBlock = await ctx.publicClient.getBlockNumber({ cacheTime: 0 })
    // Every query reads up to one head, in ranges a capped provider answers.
    const range = { fromBlock: ctx.fromBlock, toBlock, maxBlockRange: ctx.logBlockRange, signal }
    const times = new BlockTimes(ctx)
    const entries: AuditEntry[] = []
    // Chain events in the same second keep their chain order (block number), reads after them.
    const blockOf = new WeakMap<AuditEntry, bigint>()
    const push = (block: bigint, entry: AuditEntry) => {
      blockOf.set(entry, block)
      entries.push(entry)
    }

    // Records: which ones, and their versions.
    let records: Hex[]
    if (recordFilter !== undefined) {
      records = [recordFilter]
    } else {
      const logs = await getLogsChunked(ctx.publicClient, {
        address: ctx.addresses.consentRegistry,
        event: recordRegistered,
        args: { owner: ctx.address },
        ...range,
        strict: true,
      })
      records = logs.map((l) => l.args.recordId.toLowerCase() as Hex)
    }
    const chainTags = new Map<Hex, Hex | undefined>()
    for (const recordId of records) {
      chainTags.set(recordId, await recordChainTag(ctx, recordId))
      if (grantFilter !== undefined) continue
      for (const v of await getRecordVersions(ctx.publicClient, {
        addresses: ctx.addresses,
        recordId,
        ...range,
      })) {
        if (v.blockNumber > toBlock) continue
        push(v.blockNumber, {
          kind: 'record-registered',
          recordId,
          version: v.version,
          cid: cidFromHex(v.cid, recordId),
          by: v.author,
          at: await times.of(v.blockNumber),
          transactionHash: v.transactionHash,
        })
      }
    }

    // Grants given, and their revocations.
    const listings: GrantListing[] = (
      await getGrants(ctx.publicClient, { addresses: ctx.addresses, grantor: ctx.address, ...range })
    ).filter((l) => {
      if (grantFilter !== undefined && l.grantId.toLowerCase() !== grantFilter.toLowerCase()) return false
      if (recordFilter === undefined) return true
      return covers(toGrant(l, 0).scope, recordFilter, chainTags.get(recordFilter))
    })
    const grantIds = listings.map((l) => l.grantId)
    for (const l of listings) {
      const grant = toGrant(l, 0)
      push(l.blockNumber, {
        kind: 'grant',
        grantId: l.grantId,
        grantee: l.grantee,
        scope: grant.scope,
        purpose: l.purpose,
        expiresAt: l.expiry,
        at: await times.of(l.blockNumber),
        transactionHash: l.transactionHash,
      })
    }
    if (grantIds.length > 0) {
      const revocations = await getLogsChunked(ctx.publicClient, {
        address: ctx.addresses.consentRegistry,
        event: accessRevoked,
        args: { grantor: ctx.address },
        ...range,
        strict: true,
      })
      const wanted = new Set(grantIds.map((g) => g.toLowerCase()))
      for (const log of revocations) {
        if (!wanted.has(log.args.grantId.toLowerCase())) continue
        push(log.blockNumber, {
          kind: 'revocation',
          grantId: log.args.grantId,
          grantee: log.args.grantee,
          by: log.args.revokedBy,
          at: await times.of(log.blockNumber),
          transactionHash: log.transactionHash as Hash,
        })
      }
    }

    // Break-glass windows opened on the vault's records.
    const emergency = await getEmergencyAccesses(ctx.publicClient, {
      addresses: ctx.addresses,
      grantor: ctx.address,
      ...(recordFilter === undefined ? {} : { recordId: recordFilter }),
      ...(grantFilter === undefined ? {} : { grantId: grantFilter }),
      ...range,
    })
    for (const w of emergency.windows) {
      push(w.blockNumber, {
        kind: 'break-glass',
        grantId: w.grantId,
        recordId: w.recordId,
        grantee: w.grantee,
        reason: w.reasonCode,
        startedAt: w.startedAt,
        endsAt: w.endsAt,
        endedAt: w.endedAt,
        at: w.startedAt,
        transactionHash: w.transactionHash,
      })
    }

    // Reads, from the proxies' receipts: over HTTP from every proxy of the grants' proxy sets, unless a
    // source was given (createLocalNetwork reads its proxies in process).
    if (grantIds.length > 0) {
      const filter = { records: recordFilter === undefined ? undefined : [recordFilter], grants: grantIds }
      const reads =
        this.#reads === undefined
          ? await readsOverHttp(ctx, filter, [...new Set(listings.map((l) => l.proxySetId))], signal)
          : await this.#reads(ctx, filter, signal)
      entries.push(...reads)
    }
    return entries.sort((a, b) => {
      if (a.at !== b.at) return a.at - b.at
      const x = blockOf.get(a)
      const y = blockOf.get(b)
      if (x === undefined || y === undefined) return (x === undefined ? 1 : 0) - (y === undefined ? 1 : 0)
      return x < y ? -1 : x > y ? 1 : 0
    })
  }
}

/** Block timestamps, read once per block. */
class BlockTimes {
  readonly #ctx: VaultContext
  readonly #cache = new Map<bigint, Promise<number>>()
  constructor(ctx: VaultContext) {
    this.#ctx = ctx
  }
  of(blockNumber: bigint): Promise<number> {
    let time = this.#cache.get(blockNumber)
    if (time === undefined) {
      time = this.#ctx.publicClient.getBlock({ blockNumber }).then((b) => Number(b.timestamp))
      this.#cache.set(blockNumber, time)
    }
    return time
  }
}

type ReadEntry = Extract<AuditEntry, { kind: 'read' }>

/**
 * The reads under the given grants, from `GET /v1/receipts` of every proxy in the grants' proxy sets: one
 * query per proxy signed by this account (the grantor), paged by time. Each receipt counts only if the proxy
 * asked signed it; it is `anchored` only if its proof leads to a root that proxy anchored on chain. A proxy
 * that does not answer fails the call with its {@link ProxyError}: an audit trail missing a proxy's reads is
 * not passed off as complete.
 */
async function readsOverHttp(
  ctx: VaultContext,
  filter: { records: Hex[] | undefined; grants: Hex[] },
  proxySets: number[],
  signal: AbortSignal | undefined,
): Promise<ReadEntry[]> {
  const domain: ProtocolDomain = { chainId: ctx.chainId, verifyingContract: ctx.addresses.consentRegistry }
  const members = new Set<Address>()
  for (const setId of proxySets) {
    for (const m of await getProxySet(ctx.publicClient, { addresses: ctx.addresses, setId })) members.add(m)
  }
  const grants = new Set(filter.grants.map((g) => g.toLowerCase()))
  const records = filter.records === undefined ? [ALL_RECORDS] : filter.records
  const out: ReadEntry[] = []
  for (const proxy of members) {
    const registered = await getProxy(ctx.publicClient, { addresses: ctx.addresses, operator: proxy })
    if (registered === undefined || registered.retired) continue
    for (const recordId of records) {
      for (const { receipt, signature, anchor } of await receiptsOf(
        ctx,
        domain,
        proxy,
        registered.endpoint,
        recordId,
        signal,
      )) {
        if (!grants.has(receipt.grantId.toLowerCase()) || !isAddressEqual(receipt.proxy, proxy)) continue
        try {
          await verifyReceipt({ domain, receipt, signature, proxy })
        } catch {
          continue
        }
        const hash = receiptHash(domain, receipt)
        const anchored =
          anchor !== undefined &&
          verifyReceiptProof({ root: anchor.root, receiptHash: hash, proof: anchor.proof }) &&
          (await verifyReceiptInclusion(ctx.publicClient, {
            addresses: ctx.addresses,
            proxy,
            root: anchor.root,
            receiptHash: hash,
            proof: anchor.proof,
          }))
        out.push({
          kind: 'read',
          grantId: receipt.grantId,
          recordId: receipt.recordId,
          reader: receipt.requester,
          proxy,
          at: receipt.at,
          receiptHash: hash,
          anchored,
        })
      }
    }
  }
  return out
}

/** Every receipt one proxy holds for this grantor (and record), following pages by time. */
async function receiptsOf(
  ctx: VaultContext,
  domain: ProtocolDomain,
  proxy: Address,
  endpoint: string,
  recordId: Hex,
  signal: AbortSignal | undefined,
): Promise<ReceiptWithAnchor[]> {
  const shown = displayEndpoint(endpoint)
  const fail = (code: string, status?: number, cause?: unknown) =>
    new ProxyError({ proxy, endpoint: shown, code, ...(status === undefined ? {} : { status }) }, { cause })
  const base = endpointBase(endpoint)
  if (base === undefined) throw fail('no_endpoint')
  const all: ReceiptWithAnchor[] = []
  const seen = new Set<Hex>()
  let after = 0
  for (;;) {
    const query = {
      proxy,
      grantor: ctx.address,
      recordId,
      after,
      issuedAt: Math.floor(Date.now() / 1000),
      nonce: randomNonce(),
    }
    const signature = await ctx.walletClient.signTypedData({
      account: ctx.walletClient.account,
      ...receiptsQueryTypedData(domain, query),
    })
    const timeout = AbortSignal.timeout(ctx.proxyTimeoutMs)
    const attempt = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
    let status: number
    let text: string
    try {
      const response = await (ctx.fetch ?? fetch)(
        `${base}/v1/receipts?${new URLSearchParams(receiptsQueryParams(query, signature))}`,
        { headers: { accept: 'application/json' }, signal: attempt, redirect: 'error' },
      )
      status = response.status
      text = await readBounded(response, MAX_RECEIPTS_RESPONSE_BYTES)
    } catch (cause) {
      if (signal?.aborted) throw signal.reason
      throw fail('unreachable', undefined, cause)
    }
    if (status !== 200) throw fail(errorCode(text), status)
    let page: ReceiptWithAnchor[]
    try {
      page = parseReceiptsResponseBody(text)
    } catch (cause) {
      throw fail('bad_response', status, cause)
    }
    for (const r of page) {
      const hash = receiptHash(domain, r.receipt)
      if (seen.has(hash) || r.receipt.at <= after) continue
      seen.add(hash)
      all.push(r)
    }
    if (page.length < MAX_RECEIPTS_PER_ANSWER) return all
    const last = Math.max(...page.map((r) => r.receipt.at))
    // A page that does not move forward in time would ask the same page forever.
    if (last <= after) return all
    after = last
  }
}

function errorCode(text: string): string {
  try {
    const code = (JSON.parse(text) as { error?: { code?: unknown } })?.error?.code
    if (typeof code === 'string' && /^[a-z][a-z0-9_]{0,47}$/.test(code)) return code
  } catch {}
  return 'http_error'
}

/** The body as text, refusing more than `max` bytes. */
async function readBounded(response: Response, max: number): Promise<string> {
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  try {
    for (;;) {
      const { done, value } = await reader.read()
      if (done) break
      length += value.length
      if (length > max) throw new RangeError(`response larger than ${max} bytes`)
      chunks.push(value)
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const c of chunks) {
    bytes.set(c, offset)
    offset += c.length
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
}
