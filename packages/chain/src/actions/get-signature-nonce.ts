import { consentRegistryAbi } from '@medvault/contracts'
import type { Address } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetSignatureNonceParameters = MedvaultContractsParameter & { signer: Address }

export type GetSignatureNonceReturnType = bigint

export type GetSignatureNonceErrorType = ActionErrorType

/** The next EIP-712 nonce of `signer` for signed revocations (sequential, per signer); signed grants use their salt. */
export async function getSignatureNonce(
  client: ReadClient,
  parameters: GetSignatureNonceParameters,
): Promise<GetSignatureNonceReturnType> {
  return read(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'nonces',
    args: [parameters.signer],
  })
}
