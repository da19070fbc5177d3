/**
 * The records a grant covers, from chain data: the grant's own `AccessGranted` event (found by its grant-id
 * topic) says its scope, and the grantor's `RecordRegistered` events (found by the owner topic, or by the
 * record-id topics of a records scope) say which records exist in it. A tag grant's grantee learns the record
 * ids without asking the patient, and nothing more: the tag stays the opaque 8 bytes the chain holds.
 *
 * @module
 */
import {
  GrantIdCancelledError as ChainGrantIdCancelledError,
  GrantNotFoundError as ChainGrantNotFoundError,
  getGrant,
  getLogsChunked,
} from '@medvault/chain'
import { type Address, type Hash, type Hex, parseAbiItem } from 'viem'
import type { VaultContext } from './context.ts'
import { GrantExpiredError, GrantNotFoundError, GrantRevokedError } from './errors.ts'
import type { CallOptions } from './types.ts'

/** One record a grant covers. */
export interface GrantRecord {
  /** The record id: read it with `records.get(id)`. */
  id: Hex
  owner: Address
  /** The opaque 8-byte tag on chain (undefined: untagged). */
  chainTag: Hex | undefined
  /** Where it was registered. */
  blockNumber: bigint
  transactionHash: Hash
}

export interface GrantRecordsOptions extends CallOptions {}

const accessGranted = parseAbiItem(
  'event AccessGranted(bytes32 indexed grantId, address indexed grantor, address indexed grantee, uint8 scopeKind, bytes32 scopeTarget, uint8 purpose, uint32 notBefore, uint32 expiry, uint8 threshold, uint32 proxySetId, bytes kfragsCid)',
)
const grantRecordsScoped = parseAbiItem(
  'event GrantRecordsScoped(bytes32 indexed grantId, bytes32[] records)',
)
const recordRegistered = parseAbiItem(
  'event RecordRegistered(bytes32 indexed recordId, address indexed owner, bytes8 tag, bytes cid)',
)

const UNTAGGED = /^0x0{16}$/

/**
 * The records grant `grantId` covers at the latest block, in registration order: its records, or every record
 * of its grantor with its tag (or of any tag, for an all-records grant), including records registered after
 * the grant. A record's owner cannot change and neither can its tag, so the events say it exactly.
 *
 * @throws {GrantNotFoundError} no grant has this id; {@link GrantRevokedError} / {@link GrantExpiredError}
 *   the grant covers nothing any more.
 */
export async function listGrantRecords(
  ctx: VaultContext,
  grantId: Hex,
  options: GrantRecordsOptions = {},
): Promise<GrantRecord[]> {
  const { signal } = options
  signal?.throwIfAborted()
  const toBlock = await ctx.publicClient.getBlockNumber({ cacheTime: 0 })
  let grant: Awaited<ReturnType<typeof getGrant>>
  try {
    grant = await getGrant(ctx.publicClient, { addresses: ctx.addresses, grantId })
  } catch (err) {
    if (err instanceof ChainGrantNotFoundError || err instanceof ChainGrantIdCancelledError) {
      throw new GrantNotFoundError({ grantId, cause: err })
    }
    throw err
  }
  if (grant.revoked) throw new GrantRevokedError({ grantId })
  const now = Number((await ctx.publicClient.getBlock({ blockNumber: toBlock })).timestamp)
  if (now >= grant.expiry) throw new GrantExpiredError({ grantId, expiredAt: grant.expiry })
  signal?.throwIfAborted()

  // Every query is read in ranges a capped provider answers, all up to one head.
  const range = { toBlock, maxBlockRange: ctx.logBlockRange, signal }
  const [granted] = await getLogsChunked(ctx.publicClient, {
    address: ctx.addresses.consentRegistry,
    event: accessGranted,
    args: { grantId },
    fromBlock: ctx.fromBlock,
    ...range,
    strict: true,
  })
  // getGrant found it, so its event is there unless the vault's deployBlock is past the grant's block.
  if (granted === undefined) throw new GrantNotFoundError({ grantId })
  const { scopeKind, scopeTarget } = granted.args
  let logs: Awaited<ReturnType<typeof getRecordLogs>>
  const getRecordLogs = (args: { owner: Address } | { recordId: Hex[] }) =>
    getLogsChunked(ctx.publicClient, {
      address: ctx.addresses.consentRegistry,
      event: recordRegistered,
      args,
      fromBlock: ctx.fromBlock,
      ...range,
      strict: true,
    })
  switch (scopeKind) {
    case 1:
      logs = await getRecordLogs({ recordId: [scopeTarget] })
      break
    case 2: {
      // Emitted in the grant's own transaction: one block to search.
      const [scoped] = await ctx.publicClient.getLogs({
        address: ctx.addresses.consentRegistry,
        event: grantRecordsScoped,
        args: { grantId },
        fromBlock: granted.blockNumber,
        toBlock: granted.blockNumber,
        strict: true,
      })
      const ids = [...(scoped?.args.records ?? [])]
      logs = ids.length === 0 ? [] : await getRecordLogs({ recordId: ids })
      break
    }
    case 3: {
      const tag = scopeTarget.slice(0, 18).toLowerCase()
      logs = (await getRecordLogs({ owner: grant.grantor })).filter((l) => l.args.tag.toLowerCase() === tag)
      break
    }
    default:
      logs = await getRecordLogs({ owner: grant.grantor })
  }
  signal?.throwIfAborted()
  const seen = new Set<string>()
  const out: GrantRecord[] = []
  for (const log of logs) {
    const id = log.args.recordId.toLowerCase() as Hex
    // Every scope also requires the grantor to own the record (a records scope was checked at grant time).
    if (seen.has(id) || log.args.owner.toLowerCase() !== grant.grantor.toLowerCase()) continue
    seen.add(id)
    out.push({
      id,
      owner: log.args.owner,
      chainTag: UNTAGGED.test(log.args.tag) ? undefined : (log.args.tag.toLowerCase() as Hex),
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
    })
  }
  return out
}
