import { datasetRegistryAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type BytesLike, toBytesHex } from '../encoding.ts'
import type {
  DatasetAlreadyRegisteredErrorType,
  InvalidCidLengthErrorType,
  InvalidLicenceLengthErrorType,
  NotStewardErrorType,
  SnapshotBlockNotInPastErrorType,
  ZeroHashErrorType,
} from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type RegisterDatasetParameters = MedvaultContractsParameter &
  WriteParameters & {
    /** The dataset's root CID. */
    cid: BytesLike
    /** 32-byte hash of the manifest. */
    manifestHash: Hex
    /** 32-byte hash of the de-identification rule set. */
    ruleSetHash: Hex
    /** The block whose consent state the export used (must be in the past). */
    consentSnapshotBlock: bigint
    /** SPDX id or URL. */
    licence: string
  }

export type RegisterDatasetReturnType = WriteReturnType & {
  /** `keccak256(cid)`. */
  datasetId: Hex
}

export type RegisterDatasetErrorType =
  | NotStewardErrorType
  | DatasetAlreadyRegisteredErrorType
  | InvalidCidLengthErrorType
  | InvalidLicenceLengthErrorType
  | ZeroHashErrorType
  | SnapshotBlockNotInPastErrorType
  | ActionErrorType

/** An approved data steward registers a de-identified research dataset with its provenance. */
export async function registerDataset(
  client: WriteClient,
  parameters: RegisterDatasetParameters,
): Promise<RegisterDatasetReturnType> {
  const { hash, receipt, result } = await write(client, {
    address: parameters.addresses.datasetRegistry,
    abi: datasetRegistryAbi,
    functionName: 'registerDataset',
    args: [
      toBytesHex(parameters.cid, 'cid'),
      parameters.manifestHash,
      parameters.ruleSetHash,
      parameters.consentSnapshotBlock,
      parameters.licence,
    ],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt, datasetId: result }
}
