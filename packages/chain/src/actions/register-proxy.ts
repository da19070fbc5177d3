import { proxyRegistryAbi } from '@medvault/contracts'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type BytesLike, toBytesHex } from '../encoding.ts'
import type {
  InvalidEndpointLengthErrorType,
  InvalidPublicKeyErrorType,
  ProxyAlreadyRegisteredErrorType,
} from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type RegisterProxyParameters = MedvaultContractsParameter &
  WriteParameters & {
    /** The proxy's 33-byte compressed public key (kfrags are encrypted to it). */
    publicKey: BytesLike
    /** Its endpoint URL, without credentials (at most 256 bytes). */
    endpoint: string
  }

export type RegisterProxyReturnType = WriteReturnType

export type RegisterProxyErrorType =
  | ProxyAlreadyRegisteredErrorType
  | InvalidPublicKeyErrorType
  | InvalidEndpointLengthErrorType
  | ActionErrorType

/** Registers the sender (a node operator) as a re-encryption proxy. */
export async function registerProxy(
  client: WriteClient,
  parameters: RegisterProxyParameters,
): Promise<RegisterProxyReturnType> {
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.proxyRegistry,
    abi: proxyRegistryAbi,
    functionName: 'registerProxy',
    args: [toBytesHex(parameters.publicKey, 'publicKey'), parameters.endpoint],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt }
}
