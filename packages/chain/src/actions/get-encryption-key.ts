import { keyRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { KeyNotPublishedErrorType } from '../errors.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetEncryptionKeyParameters = MedvaultContractsParameter & {
  /** Whose key. */
  account: Address
}

export type GetEncryptionKeyReturnType = {
  /** The 33-byte compressed public key. */
  publicKey: Hex
  /** Its version (1 = first key). */
  version: number
}

export type GetEncryptionKeyErrorType = KeyNotPublishedErrorType | ActionErrorType

/**
 * The current encryption public key of an account.
 *
 * @throws {KeyNotPublishedError} when the account never published one.
 */
export async function getEncryptionKey(
  client: ReadClient,
  parameters: GetEncryptionKeyParameters,
): Promise<GetEncryptionKeyReturnType> {
  const [publicKey, version] = await read(client, {
    address: parameters.addresses.keyRegistry,
    abi: keyRegistryAbi,
    functionName: 'keyOf',
    args: [parameters.account],
  })
  return { publicKey, version }
}
