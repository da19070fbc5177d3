import { auditAnchorsAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type VerifyReceiptInclusionParameters = MedvaultContractsParameter & {
  /** The proxy that signed the receipt: only its own anchor of `root` counts. */
  proxy: Address
  root: Hex
  /** `keccak256(receipt bytes)`. */
  receiptHash: Hex
  /** From `buildReceiptTree(...).getProof(receiptHash)`. */
  proof: readonly Hex[]
}

export type VerifyReceiptInclusionReturnType = boolean

export type VerifyReceiptInclusionErrorType = ActionErrorType

/**
 * Asks the chain whether a receipt is in a tree that `proxy` anchored: false when that proxy never anchored the
 * root (whoever else did) or the proof does not lead to it. (`verifyReceiptProof` checks the same proof
 * offline, without the anchor.)
 */
export async function verifyReceiptInclusion(
  client: ReadClient,
  parameters: VerifyReceiptInclusionParameters,
): Promise<VerifyReceiptInclusionReturnType> {
  return read(client, {
    address: parameters.addresses.auditAnchors,
    abi: auditAnchorsAbi,
    functionName: 'verifyReceipt',
    args: [parameters.proxy, parameters.root, parameters.receiptHash, parameters.proof],
  })
}
