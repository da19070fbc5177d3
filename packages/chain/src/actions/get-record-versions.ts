import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hash, Hex } from 'viem'
import { getBlockNumber, getContractEvents } from 'viem/actions'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { readLogsChunked } from '../follow/get-logs-chunked.ts'
import type { ActionErrorType, ReadClient } from '../internal.ts'

export type GetRecordVersionsParameters = MedvaultContractsParameter & {
  recordId: Hex
  /** First block to search (e.g. the deployment block); default 0. */
  fromBlock?: bigint | undefined
  /** Last block to search; default: the latest block when the call starts. */
  toBlock?: bigint | undefined
  /**
   * Most blocks per `eth_getLogs`; a range the node refuses is read in halves (`getLogsChunked`). Default 10,000.
   */
  maxBlockRange?: number | bigint | undefined
  signal?: AbortSignal | undefined
}

export type RecordVersion = {
  version: number
  /** The envelope CID, binary, as hex. */
  cid: Hex
  /** The owner (version 1) or the owner/delegate who added the version. */
  author: Address
  blockNumber: bigint
  transactionHash: Hash
}

/** Every version of a record, oldest first; empty when the record is unknown. */
export type GetRecordVersionsReturnType = RecordVersion[]

export type GetRecordVersionsErrorType = ActionErrorType

/**
 * The version history of a record, read from its `RecordRegistered` and `RecordVersionAdded` events (the
 * chain stores only the current version number; CIDs live in the logs, which are just as tamper-evident).
 * Read in ranges of at most `maxBlockRange` blocks (halved where a provider refuses one); on a long chain pass
 * the deployment block as `fromBlock`.
 */
export async function getRecordVersions(
  client: ReadClient,
  parameters: GetRecordVersionsParameters,
): Promise<GetRecordVersionsReturnType> {
  const common = {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    args: { recordId: parameters.recordId },
    strict: true,
  } as const
  const range = {
    fromBlock: parameters.fromBlock ?? 0n,
    // One fixed block for both queries, so every range reads the same chain.
    toBlock: parameters.toBlock ?? (await getBlockNumber(client, { cacheTime: 0 })),
    maxBlockRange: parameters.maxBlockRange,
    signal: parameters.signal,
  }
  const [registered, added] = await Promise.all([
    readLogsChunked({
      ...range,
      read: (fromBlock, toBlock) =>
        getContractEvents(client, { ...common, eventName: 'RecordRegistered', fromBlock, toBlock }),
    }),
    readLogsChunked({
      ...range,
      read: (fromBlock, toBlock) =>
        getContractEvents(client, { ...common, eventName: 'RecordVersionAdded', fromBlock, toBlock }),
    }),
  ])
  const versions: RecordVersion[] = [
    ...registered.map((log) => ({
      version: 1,
      cid: log.args.cid,
      author: log.args.owner,
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
    })),
    ...added.map((log) => ({
      version: log.args.version,
      cid: log.args.cid,
      author: log.args.author,
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
    })),
  ]
  return versions.sort((a, b) => a.version - b.version)
}
