import { keyRegistryAbi } from '@medvault/contracts'
import { parseEventLogs } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type BytesLike, toBytesHex } from '../encoding.ts'
import type { InvalidPublicKeyErrorType } from '../errors.ts'
import {
  type ActionErrorType,
  logsOf,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type PublishEncryptionKeyParameters = MedvaultContractsParameter &
  WriteParameters & {
    /** The 33-byte compressed secp256k1 (Umbral) public key. */
    publicKey: BytesLike
  }

export type PublishEncryptionKeyReturnType = WriteReturnType & {
  /** 1 for a first key, incremented on every rotation. */
  version: number
}

export type PublishEncryptionKeyErrorType = InvalidPublicKeyErrorType | ActionErrorType

/**
 * Publishes the sender's encryption public key, or rotates it, so others can grant to the sender by address.
 *
 * @example
 * ```ts
 * const { version } = await publishEncryptionKey(wallet, { addresses, publicKey: keys.encryption.publicKey })
 * ```
 */
export async function publishEncryptionKey(
  client: WriteClient,
  parameters: PublishEncryptionKeyParameters,
): Promise<PublishEncryptionKeyReturnType> {
  const { hash, receipt, result } = await write(client, {
    address: parameters.addresses.keyRegistry,
    abi: keyRegistryAbi,
    functionName: 'publishKey',
    args: [toBytesHex(parameters.publicKey, 'publicKey')],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  // The mined value, not the simulated one: the state can move between simulation and inclusion.
  const [event] = parseEventLogs({
    abi: keyRegistryAbi,
    eventName: 'EncryptionKeyPublished',
    logs: logsOf(receipt, parameters.addresses.keyRegistry),
  })
  return { hash, receipt, version: event?.args.version ?? result }
}
