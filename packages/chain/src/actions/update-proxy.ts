import { proxyRegistryAbi } from '@medvault/contracts'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type BytesLike, toBytesHex } from '../encoding.ts'
import type {
  InvalidEndpointLengthErrorType,
  InvalidPublicKeyErrorType,
  ProxyNotActiveErrorType,
} from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type UpdateProxyParameters = MedvaultContractsParameter &
  WriteParameters & { publicKey: BytesLike; endpoint: string }

export type UpdateProxyReturnType = WriteReturnType

export type UpdateProxyErrorType =
  | ProxyNotActiveErrorType
  | InvalidPublicKeyErrorType
  | InvalidEndpointLengthErrorType
  | ActionErrorType

/** Changes the sender's proxy endpoint and public key. */
export async function updateProxy(
  client: WriteClient,
  parameters: UpdateProxyParameters,
): Promise<UpdateProxyReturnType> {
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.proxyRegistry,
    abi: proxyRegistryAbi,
    functionName: 'updateProxy',
    args: [toBytesHex(parameters.publicKey, 'publicKey'), parameters.endpoint],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt }
}
