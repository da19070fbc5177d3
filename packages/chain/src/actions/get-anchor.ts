import { auditAnchorsAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { AnchorNotFoundErrorType } from '../errors.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetAnchorParameters = MedvaultContractsParameter & { root: Hex }

export type GetAnchorReturnType = {
  root: Hex
  proxy: Address
  count: number
  fromTime: number
  toTime: number
}

export type GetAnchorErrorType = AnchorNotFoundErrorType | ActionErrorType

/**
 * Who anchored a receipt root, how many receipts it holds and their time range.
 *
 * @throws {AnchorNotFoundError} when the root was never anchored.
 */
export async function getAnchor(
  client: ReadClient,
  parameters: GetAnchorParameters,
): Promise<GetAnchorReturnType> {
  const a = await read(client, {
    address: parameters.addresses.auditAnchors,
    abi: auditAnchorsAbi,
    functionName: 'getAnchor',
    args: [parameters.root],
  })
  return { root: parameters.root, proxy: a.proxy, count: a.count, fromTime: a.fromTime, toTime: a.toTime }
}
