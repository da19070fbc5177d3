import { auditAnchorsAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type Timestamp, toSeconds } from '../encoding.ts'
import type {
  InvalidReceiptCountErrorType,
  InvalidRootErrorType,
  InvalidTimeRangeErrorType,
  NotActiveProxyErrorType,
  RootAlreadyAnchoredErrorType,
} from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'
import type { ReceiptTree } from '../merkle.ts'

export type AnchorReceiptsParameters = MedvaultContractsParameter &
  WriteParameters & {
    /** The batch's tree (from `buildReceiptTree`), or its root and receipt count. */
    tree: ReceiptTree | { root: Hex; count: number }
    /** Time of the earliest receipt. */
    fromTime: Timestamp
    /** Time of the latest receipt (not in the future). */
    toTime: Timestamp
  }

export type AnchorReceiptsReturnType = WriteReturnType & { root: Hex }

export type AnchorReceiptsErrorType =
  | NotActiveProxyErrorType
  | InvalidRootErrorType
  | RootAlreadyAnchoredErrorType
  | InvalidReceiptCountErrorType
  | InvalidTimeRangeErrorType
  | ActionErrorType

/**
 * A registered proxy anchors the Merkle root of a batch of its signed access receipts, as its own: the anchor is
 * keyed by (proxy, root), so another account anchoring the same root first neither blocks it nor changes what
 * `getAnchor({ proxy, root })` reads back. Anchoring the same root twice from one proxy fails with
 * `RootAlreadyAnchoredError`.
 */
export async function anchorReceipts(
  client: WriteClient,
  parameters: AnchorReceiptsParameters,
): Promise<AnchorReceiptsReturnType> {
  const { tree } = parameters
  const count = 'receipts' in tree ? tree.receipts.length : tree.count
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.auditAnchors,
    abi: auditAnchorsAbi,
    functionName: 'anchor',
    args: [
      tree.root,
      count,
      toSeconds(parameters.fromTime, 'fromTime'),
      toSeconds(parameters.toTime, 'toTime'),
    ],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt, root: tree.root }
}
