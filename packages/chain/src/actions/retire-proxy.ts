import { proxyRegistryAbi } from '@medvault/contracts'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { ProxyNotActiveErrorType } from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type RetireProxyParameters = MedvaultContractsParameter & WriteParameters

export type RetireProxyReturnType = WriteReturnType

export type RetireProxyErrorType = ProxyNotActiveErrorType | ActionErrorType

/** Retires the sender's proxy for good; existing proxy sets keep it as a (silent) member. */
export async function retireProxy(
  client: WriteClient,
  parameters: RetireProxyParameters,
): Promise<RetireProxyReturnType> {
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.proxyRegistry,
    abi: proxyRegistryAbi,
    functionName: 'retireProxy',
    args: [],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt }
}
