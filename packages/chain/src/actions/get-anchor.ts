import { auditAnchorsAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type { AnchorNotFoundErrorType } from '../errors.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetAnchorParameters = MedvaultContractsParameter & {
  /** The proxy whose anchor to read: the one that signed the receipts in question. */
  proxy: Address
  root: Hex
}

export type GetAnchorReturnType = {
  proxy: Address
  root: Hex
  /** Receipts in the tree, as the proxy declared them. */
  count: number
  /** Unix time of the earliest receipt, as the proxy declared it. */
  fromTime: number
  /** Unix time of the latest receipt, as the proxy declared it. */
  toTime: number
  /** Chain time of the anchoring transaction. */
  anchoredAt: number
}

export type GetAnchorErrorType = AnchorNotFoundErrorType | ActionErrorType

/**
 * A proxy's anchor of a receipt root: how many receipts it holds and their time range, as that proxy declared
 * them, and when it anchored them. Anchors are per proxy: another account anchoring the same root has its own
 * entry, which never changes this one.
 *
 * @throws {AnchorNotFoundError} when `proxy` never anchored `root`.
 */
export async function getAnchor(
  client: ReadClient,
  parameters: GetAnchorParameters,
): Promise<GetAnchorReturnType> {
  const { proxy, root } = parameters
  const a = await read(client, {
    address: parameters.addresses.auditAnchors,
    abi: auditAnchorsAbi,
    functionName: 'getAnchor',
    args: [proxy, root],
  })
  return { proxy, root, count: a.count, fromTime: a.fromTime, toTime: a.toTime, anchoredAt: a.anchoredAt }
}
