/**
 * The audit trail of a vault's records, from the chain: registrations and versions, grants, revocations,
 * break-glass windows; and reads, from the proxies' signed receipts, each checked against the proxy's
 * signature and, when anchored, against the Merkle root the proxy anchored on chain.
 *
 * @module
 */
import { type GrantListing, getEmergencyAccesses, getGrants, getRecordVersions } from '@medvault/chain'
import { type Hash, type Hex, parseAbiItem } from 'viem'
import { cidFromHex } from './content.ts'
import type { VaultContext } from './context.ts'
import { covers, parseGrantId, recordChainTag, toGrant } from './grants.ts'
import { parseRecordId } from './options.ts'
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
    const range = { fromBlock: ctx.fromBlock, toBlock }
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
      const logs = await ctx.publicClient.getLogs({
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
        fromBlock: ctx.fromBlock,
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
      const revocations = await ctx.publicClient.getLogs({
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

    // Reads, from the proxies' receipts.
    if (this.#reads !== undefined && grantIds.length > 0) {
      const reads = await this.#reads(
        ctx,
        { records: recordFilter === undefined ? undefined : [recordFilter], grants: grantIds },
        signal,
      )
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
