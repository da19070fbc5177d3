import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import { parseAccount } from 'viem/utils'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { assertBytes, type BytesLike, toBytesHex } from '../encoding.ts'
import type {
  InvalidCidLengthErrorType,
  InvalidRecordIdErrorType,
  RecordAlreadyRegisteredErrorType,
  UnauthorizedErrorType,
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

export const NO_TAG = '0x0000000000000000' as const

export type RegisterRecordParameters = MedvaultContractsParameter &
  WriteParameters &
  WorkAheadParameters & {
    /** The record id (32 bytes, non-zero); default: 32 random bytes. */
    recordId?: Hex | undefined
    /** The envelope CID of version 1 (hex, bytes or a multiformats CID). */
    cid: BytesLike
    /** Opaque 8-byte category tag; default none. */
    tag?: Hex | undefined
    /** Register for this patient as their records delegate; default: the sender owns the record. */
    owner?: Address | undefined
  }

export type RegisterRecordReturnType = WriteReturnType & { recordId: Hex }

export type RegisterRecordErrorType =
  | InvalidRecordIdErrorType
  | RecordAlreadyRegisteredErrorType
  | InvalidCidLengthErrorType
  | UnauthorizedErrorType
  | ActionErrorType

/**
 * Registers a record (its version 1) owned by the sender, or by `owner` when the sender is their delegate.
 *
 * @example
 * ```ts
 * const { recordId } = await registerRecord(wallet, { addresses, cid: envelopeCid })
 * ```
 */
export async function registerRecord(
  client: WriteClient,
  parameters: RegisterRecordParameters,
): Promise<RegisterRecordReturnType> {
  const recordId = parameters.recordId ?? randomBytes32()
  const tag = parameters.tag ?? NO_TAG
  assertBytes(recordId, 32, 'recordId')
  assertBytes(tag, 8, 'tag')
  const cid = toBytesHex(parameters.cid, 'cid')
  const sender = parameters.account ?? client.account
  const forOther =
    parameters.owner !== undefined &&
    (sender === undefined || parseAccount(sender).address.toLowerCase() !== parameters.owner.toLowerCase())
  const { hash, receipt } = forOther
    ? await write(client, {
        address: parameters.addresses.consentRegistry,
        abi: consentRegistryAbi,
        functionName: 'registerRecordFor',
        args: [parameters.owner as Address, recordId, tag, cid],
        account: parameters.account,
        waitForReceipt: parameters.waitForReceipt,
        signal: parameters.signal,
        beforeSend: parameters.beforeSend,
      })
    : await write(client, {
        address: parameters.addresses.consentRegistry,
        abi: consentRegistryAbi,
        functionName: 'registerRecord',
        args: [recordId, tag, cid],
        account: parameters.account,
        waitForReceipt: parameters.waitForReceipt,
        signal: parameters.signal,
        beforeSend: parameters.beforeSend,
      })
  return { hash, receipt, recordId }
}
