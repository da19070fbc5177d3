import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hash, Hex } from 'viem'
import { getContractEvents } from 'viem/actions'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { ActionErrorType, ReadClient } from '../internal.ts'

export type GetRecordVersionsParameters = MedvaultContractsParameter & {
  recordId: Hex
  /** First block to search (e.g. the deployment block); default 0. */
  fromBlock?: bigint | undefined
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
 * Pass the deployment block as `fromBlock` on providers that cap `eth_getLogs` ranges.
 */
export async function getRecordVersions(
  client: ReadClient,
  parameters: GetRecordVersionsParameters,
): Promise<GetRecordVersionsReturnType> {
  const common = {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    fromBlock: parameters.fromBlock ?? 0n,
    toBlock: 'latest',
    strict: true,
  } as const
  const [registered, added] = await Promise.all([
    getContractEvents(client, {
      ...common,
      eventName: 'RecordRegistered',
      args: { recordId: parameters.recordId },
    }),
    getContractEvents(client, {
      ...common,
      eventName: 'RecordVersionAdded',
      args: { recordId: parameters.recordId },
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
