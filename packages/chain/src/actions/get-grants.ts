import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hash, Hex } from 'viem'
import { getBlockNumber, getContractEvents } from 'viem/actions'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { decodePurpose, type Purpose, type ScopeKindName, scopeKindName } from '../encoding.ts'
import { readLogsChunked } from '../follow/get-logs-chunked.ts'
import type { ActionErrorType, ReadClient } from '../internal.ts'

export type GetGrantsParameters = MedvaultContractsParameter & {
  grantor?: Address | undefined
  grantee?: Address | undefined
  /** First block to search (e.g. the deployment block); default 0. */
  fromBlock?: bigint | undefined
  toBlock?: bigint | undefined
  /**
   * Most blocks per `eth_getLogs`; a range the node refuses is read in halves (`getLogsChunked`). Default 10,000.
   */
  maxBlockRange?: number | bigint | undefined
  signal?: AbortSignal | undefined
}

/** A grant as its events tell it (the full scope, proxy set and kfrag bundle CID are only in the events). */
export type GrantListing = {
  grantId: Hex
  grantor: Address
  grantee: Address
  scopeKind: ScopeKindName
  scopeTarget: Hex
  /** The record list of a `records` scope. */
  records: Hex[]
  purpose: Purpose | number
  notBefore: number
  expiry: number
  threshold: number
  proxySetId: number
  kfragsCid: Hex
  /** Whether an `AccessRevoked` event followed (expiry is not applied: compare with chain time). */
  revoked: boolean
  blockNumber: bigint
  transactionHash: Hash
}

export type GetGrantsReturnType = GrantListing[]

export type GetGrantsErrorType = ActionErrorType

/**
 * Grant ids per `GrantRecordsScoped` query (an OR of topic values): well under what public providers accept in
 * one filter, and few queries even for an account with thousands of records grants.
 */
const GRANT_IDS_PER_QUERY = 100

/**
 * Lists grants by grantor and/or grantee from the `AccessGranted`/`AccessRevoked` event topics, oldest first.
 *
 * `eth_getLogs` per event over `fromBlock..toBlock`, in ranges of at most `maxBlockRange` blocks (halved where a
 * provider refuses one): on a long chain pass the deployment block as `fromBlock`, or keep an index with
 * `followEvents`. The record lists of records grants are read by grant id (100 ids per query, over those
 * grants' blocks only), never every account's.
 */
export async function getGrants(
  client: ReadClient,
  parameters: GetGrantsParameters,
): Promise<GetGrantsReturnType> {
  const args = {
    ...(parameters.grantor === undefined ? {} : { grantor: parameters.grantor }),
    ...(parameters.grantee === undefined ? {} : { grantee: parameters.grantee }),
  }
  const common = {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    strict: true,
  } as const
  const range = {
    fromBlock: parameters.fromBlock ?? 0n,
    // One fixed block for every query: with 'latest', a revocation mined between the two requests could be
    // missed while its grant is listed (or the other way round).
    toBlock: parameters.toBlock ?? (await getBlockNumber(client, { cacheTime: 0 })),
    maxBlockRange: parameters.maxBlockRange,
    signal: parameters.signal,
  }
  const [granted, revoked] = await Promise.all([
    readLogsChunked({
      ...range,
      read: (fromBlock, toBlock) =>
        getContractEvents(client, { ...common, eventName: 'AccessGranted', args, fromBlock, toBlock }),
    }),
    readLogsChunked({
      ...range,
      read: (fromBlock, toBlock) =>
        getContractEvents(client, { ...common, eventName: 'AccessRevoked', args, fromBlock, toBlock }),
    }),
  ])
  const revokedIds = new Set(revoked.map((log) => log.args.grantId))
  const recordSets = new Map<Hex, Hex[]>()
  // A records grant's list is in a `GrantRecordsScoped` event of its own transaction. That event is indexed by
  // grant id only, and anyone can emit it (by granting to their own records): a query without the ids would
  // read every account's, so one flooding account could make every listing slow, or fail outright with one
  // block over a provider's result limit. The ids go in the topic filter, a batch at a time, each batch over
  // its own grants' blocks only.
  const listed = granted.filter((log) => log.args.scopeKind === 2)
  for (let i = 0; i < listed.length; i += GRANT_IDS_PER_QUERY) {
    const batch = listed.slice(i, i + GRANT_IDS_PER_QUERY)
    // The batch's lowest and highest blocks, not its first and last: a node need not answer in chain order, and
    // a range cut from two middle grants would miss the lists of the grants outside it.
    let lowest = batch[0]!.blockNumber
    let highest = lowest
    for (const { blockNumber } of batch) {
      if (blockNumber < lowest) lowest = blockNumber
      if (blockNumber > highest) highest = blockNumber
    }
    const scoped = await readLogsChunked({
      ...range,
      fromBlock: lowest,
      toBlock: highest,
      read: (fromBlock, toBlock) =>
        getContractEvents(client, {
          ...common,
          eventName: 'GrantRecordsScoped',
          args: { grantId: batch.map((log) => log.args.grantId) },
          fromBlock,
          toBlock,
        }),
    })
    for (const log of scoped) recordSets.set(log.args.grantId, [...log.args.records])
  }
  return granted.map((log) => ({
    grantId: log.args.grantId,
    grantor: log.args.grantor,
    grantee: log.args.grantee,
    scopeKind: scopeKindName(log.args.scopeKind),
    scopeTarget: log.args.scopeTarget,
    records: recordSets.get(log.args.grantId) ?? [],
    purpose: decodePurpose(log.args.purpose),
    notBefore: log.args.notBefore,
    expiry: log.args.expiry,
    threshold: log.args.threshold,
    proxySetId: log.args.proxySetId,
    kfragsCid: log.args.kfragsCid,
    revoked: revokedIds.has(log.args.grantId),
    blockNumber: log.blockNumber,
    transactionHash: log.transactionHash,
  }))
}
