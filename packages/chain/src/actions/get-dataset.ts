import { datasetRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { DatasetNotFoundErrorType } from '../errors.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetDatasetParameters = MedvaultContractsParameter & { datasetId: Hex }

export type GetDatasetReturnType = {
  datasetId: Hex
  steward: Address
  cid: Hex
  manifestHash: Hex
  ruleSetHash: Hex
  consentSnapshotBlock: bigint
  registeredAt: number
  licence: string
}

export type GetDatasetErrorType = DatasetNotFoundErrorType | ActionErrorType

/**
 * A registered dataset and its provenance.
 *
 * @throws {DatasetNotFoundError} when no dataset has this id.
 */
export async function getDataset(
  client: ReadClient,
  parameters: GetDatasetParameters,
): Promise<GetDatasetReturnType> {
  const d = await read(client, {
    address: parameters.addresses.datasetRegistry,
    abi: datasetRegistryAbi,
    functionName: 'getDataset',
    args: [parameters.datasetId],
  })
  return {
    datasetId: parameters.datasetId,
    steward: d.steward,
    cid: d.cid,
    manifestHash: d.manifestHash,
    ruleSetHash: d.ruleSetHash,
    consentSnapshotBlock: d.consentSnapshotBlock,
    registeredAt: d.registeredAt,
    licence: d.licence,
  }
}
