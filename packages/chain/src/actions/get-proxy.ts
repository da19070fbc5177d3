import { proxyRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetProxyParameters = MedvaultContractsParameter & { operator: Address }

/** The proxy of an operator, or `undefined` when it never registered. */
export type GetProxyReturnType =
  | {
      operator: Address
      /** 33-byte compressed public key. */
      publicKey: Hex
      endpoint: string
      registeredAt: number
      retired: boolean
    }
  | undefined

export type GetProxyErrorType = ActionErrorType

/** A registered proxy: public key, endpoint, and whether it is retired. */
export async function getProxy(
  client: ReadClient,
  parameters: GetProxyParameters,
): Promise<GetProxyReturnType> {
  const p = await read(client, {
    address: parameters.addresses.proxyRegistry,
    abi: proxyRegistryAbi,
    functionName: 'getProxy',
    args: [parameters.operator],
  })
  if (p.registeredAt === 0) return undefined
  return {
    operator: parameters.operator,
    publicKey: `${p.publicKeyPrefix}${p.publicKeyX.slice(2)}` as Hex,
    endpoint: p.endpoint,
    registeredAt: p.registeredAt,
    retired: p.retired,
  }
}
