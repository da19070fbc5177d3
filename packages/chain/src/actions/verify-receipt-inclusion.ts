import { auditAnchorsAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type VerifyReceiptInclusionParameters = MedvaultContractsParameter & {
  root: Hex
  /** `keccak256(receipt bytes)`. */
  receiptHash: Hex
  /** From `buildReceiptTree(...).getProof(receiptHash)`. */
  proof: readonly Hex[]
}

export type VerifyReceiptInclusionReturnType = boolean

export type VerifyReceiptInclusionErrorType = ActionErrorType

/**
 * Asks the chain whether a receipt is in an anchored tree: false when the root was never anchored or the
 * proof does not lead to it. (`verifyReceiptProof` checks the same proof offline, without the anchor.)
 */
export async function verifyReceiptInclusion(
  client: ReadClient,
  parameters: VerifyReceiptInclusionParameters,
): Promise<VerifyReceiptInclusionReturnType> {
  return read(client, {
    address: parameters.addresses.auditAnchors,
    abi: auditAnchorsAbi,
    functionName: 'verifyReceipt',
    args: [parameters.root, parameters.receiptHash, parameters.proof],
  })
}
