import { keyRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { KeyNotPublishedErrorType } from '../errors.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetPublicKeysParameters = MedvaultContractsParameter & {
  /** Whose keys. */
  account: Address
  /** Read at this block rather than the latest. */
  blockNumber?: bigint | undefined
}

export type GetPublicKeysReturnType = {
  /** The 33-byte compressed Umbral receiving public key: generate kfrags for it to grant to `account`. */
  receivingKey: Hex
  /** The 33-byte compressed kfrag-signing verifying key: `account`'s kfrags verify against it. */
  verifyingKey: Hex
  /** Their version (1 = first publication); both keys change together. */
  version: number
  /** Chain time of their publication (Unix seconds). */
  updatedAt: number
}

export type GetPublicKeysErrorType = KeyNotPublishedErrorType | ActionErrorType

/**
 * The current public keys of an account, by address: its Umbral receiving key and its kfrag-signing verifying key.
 *
 * @throws {KeyNotPublishedError} when the account never published them.
 */
export async function getPublicKeys(
  client: ReadClient,
  parameters: GetPublicKeysParameters,
): Promise<GetPublicKeysReturnType> {
  const [receivingKey, verifyingKey, version, updatedAt] = await read(client, {
    address: parameters.addresses.keyRegistry,
    abi: keyRegistryAbi,
    functionName: 'keysOf',
    args: [parameters.account],
    ...(parameters.blockNumber === undefined ? {} : { blockNumber: parameters.blockNumber }),
  })
  return { receivingKey, verifyingKey, version, updatedAt }
}
