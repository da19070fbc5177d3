import { consentRegistryAbi } from '@medvault/contracts'
import { type Hex, parseEventLogs } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type BytesLike, toBytesHex } from '../encoding.ts'
import type { InvalidCidLengthErrorType, RecordNotFoundErrorType, UnauthorizedErrorType } from '../errors.ts'
import {
  type ActionErrorType,
  logsOf,
  type WorkAheadParameters,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type RegisterRecordVersionParameters = MedvaultContractsParameter &
  WriteParameters &
  WorkAheadParameters & {
    recordId: Hex
    /** The new version's envelope CID. */
    cid: BytesLike
  }

export type RegisterRecordVersionReturnType = WriteReturnType & {
  /** The new, now current, version number. */
  version: number
}

export type RegisterRecordVersionErrorType =
  | RecordNotFoundErrorType
  | UnauthorizedErrorType
  | InvalidCidLengthErrorType
  | ActionErrorType

/** Adds a version that supersedes the record's current one (history stays in the events); owner or records delegate. */
export async function registerRecordVersion(
  client: WriteClient,
  parameters: RegisterRecordVersionParameters,
): Promise<RegisterRecordVersionReturnType> {
  const { hash, receipt, result } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'addVersion',
    args: [parameters.recordId, toBytesHex(parameters.cid, 'cid')],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
    beforeSend: parameters.beforeSend,
  })
  // The mined value, not the simulated one: the state can move between simulation and inclusion.
  const [event] = parseEventLogs({
    abi: consentRegistryAbi,
    eventName: 'RecordVersionAdded',
    logs: logsOf(receipt, parameters.addresses.consentRegistry),
  })
  return { hash, receipt, version: event?.args.version ?? result }
}
