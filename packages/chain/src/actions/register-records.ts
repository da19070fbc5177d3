import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import { parseAccount } from 'viem/utils'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { assertBytes, type BytesLike, toBytesHex } from '../encoding.ts'
import {
  AccountRequiredError,
  type EmptyBatchErrorType,
  type InvalidCidLengthErrorType,
  type InvalidRecordIdErrorType,
  type RecordAlreadyRegisteredErrorType,
  type UnauthorizedErrorType,
} from '../errors.ts'
import { randomBytes32 } from '../grant.ts'
import {
  type ActionErrorType,
  type WorkAheadParameters,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'
import { NO_TAG } from './register-record.ts'

export type RegisterRecordsParameters = MedvaultContractsParameter &
  WriteParameters &
  WorkAheadParameters & {
    /** The records: each with an envelope CID, optionally an id (default random) and an 8-byte tag. */
    records: readonly { recordId?: Hex | undefined; cid: BytesLike; tag?: Hex | undefined }[]
    /** The owner (the sender, or a patient the sender is a records delegate of). Default: the sender. */
    owner?: Address | undefined
  }

export type RegisterRecordsReturnType = WriteReturnType & { recordIds: Hex[] }

export type RegisterRecordsErrorType =
  | EmptyBatchErrorType
  | InvalidRecordIdErrorType
  | RecordAlreadyRegisteredErrorType
  | InvalidCidLengthErrorType
  | UnauthorizedErrorType
  | ActionErrorType

/** Registers many records in one transaction: all or none. */
export async function registerRecords(
  client: WriteClient,
  parameters: RegisterRecordsParameters,
): Promise<RegisterRecordsReturnType> {
  const sender = parameters.account ?? client.account
  if (sender === undefined) throw new AccountRequiredError('registerRecords')
  const owner = parameters.owner ?? parseAccount(sender).address
  const records = parameters.records.map((r) => {
    const recordId = r.recordId ?? randomBytes32()
    const tag = r.tag ?? NO_TAG
    assertBytes(recordId, 32, 'recordId')
    assertBytes(tag, 8, 'tag')
    return { recordId, tag, cid: toBytesHex(r.cid, 'cid') }
  })
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'registerRecords',
    args: [owner, records],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
    beforeSend: parameters.beforeSend,
  })
  return { hash, receipt, recordIds: records.map((r) => r.recordId) }
}
