import { keyRegistryAbi } from '@medvault/contracts'
import { parseEventLogs } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type BytesLike, toBytesHex } from '../encoding.ts'
import type { InvalidPublishedKeyErrorType } from '../errors.ts'
import {
  type ActionErrorType,
  logsOf,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type PublishKeysParameters = MedvaultContractsParameter &
  WriteParameters & {
    /** The 33-byte compressed Umbral receiving public key: what grantors generate kfrags for. */
    receivingKey: BytesLike
    /** The 33-byte compressed verifying key of the sender's kfrag-signing key: what kfrags are checked against. */
    verifyingKey: BytesLike
  }

export type PublishKeysReturnType = WriteReturnType & {
  /** 1 for a first publication, incremented on every rotation (both keys share it). */
  version: number
}

export type PublishKeysErrorType = InvalidPublishedKeyErrorType | ActionErrorType

/**
 * Publishes the sender's public keys, or rotates them, so that anyone can find them by address: the receiving key
 * (others grant to the sender by generating kfrags for it) and the kfrag-signing verifying key (proxies and
 * grantees check the sender's kfrags against it). Both go in one transaction under one version.
 *
 * @example
 * ```ts
 * import { deriveKeysFromPrivateKey, publicKeys } from '@medvault/crypto'
 * import { hexToBytes } from 'viem'
 * // the account's own 0x… private key; a browser wallet derives the same way with deriveKeysFromSignature
 * const { receiving, verifying } = publicKeys(deriveKeysFromPrivateKey(hexToBytes(privateKey)))
 * const { version } = await publishKeys(wallet, { addresses, receivingKey: receiving, verifyingKey: verifying })
 * ```
 */
export async function publishKeys(
  client: WriteClient,
  parameters: PublishKeysParameters,
): Promise<PublishKeysReturnType> {
  const { hash, receipt, result } = await write(client, {
    address: parameters.addresses.keyRegistry,
    abi: keyRegistryAbi,
    functionName: 'publishKeys',
    args: [
      toBytesHex(parameters.receivingKey, 'receivingKey'),
      toBytesHex(parameters.verifyingKey, 'verifyingKey'),
    ],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  // The mined value, not the simulated one: the state can move between simulation and inclusion.
  const [event] = parseEventLogs({
    abi: keyRegistryAbi,
    eventName: 'KeysPublished',
    logs: logsOf(receipt, parameters.addresses.keyRegistry),
  })
  return { hash, receipt, version: event?.args.version ?? result }
}
