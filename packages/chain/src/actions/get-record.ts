import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { RecordNotFoundErrorType } from '../errors.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetRecordParameters = MedvaultContractsParameter & { recordId: Hex }

export type GetRecordReturnType = {
  owner: Address
  /** The current version (1 for a new record). */
  version: number
  /** The 8-byte tag, `0x0000000000000000` when none. */
  tag: Hex
}

export type GetRecordErrorType = RecordNotFoundErrorType | ActionErrorType

/**
 * The owner, current version and tag of a record. The CIDs of its versions are in the events
 * (see {@link getRecordVersions}).
 *
 * @throws {RecordNotFoundError} when no such record is registered.
 */
export async function getRecord(
  client: ReadClient,
  parameters: GetRecordParameters,
): Promise<GetRecordReturnType> {
  const record = await read(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'getRecord',
    args: [parameters.recordId],
  })
  return { owner: record.owner, version: record.version, tag: record.tag }
}
