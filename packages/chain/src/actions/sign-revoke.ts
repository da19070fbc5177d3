import { revokeTypes } from '@medvault/contracts'
import type { Account, Address, Hex } from 'viem'
import { signTypedData } from 'viem/actions'
import { parseAccount } from 'viem/utils'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type Timestamp, toSeconds } from '../encoding.ts'
import { AccountRequiredError } from '../errors.ts'
import type { ActionErrorType, WriteClient } from '../internal.ts'
import { getSignatureNonce } from './get-signature-nonce.ts'
import { consentDomain } from './sign-grant.ts'

export type SignRevokeParameters = MedvaultContractsParameter & {
  /** The account that signs; default: the client's account. */
  account?: Account | Address | undefined
  /**
   * The address the contract checks the signature against, named in the signed message: the grantor or its
   * revoke delegate. Default: the signing account. Set it to a smart-contract wallet (ERC-1271) when the signing
   * account is that wallet's owner key; the nonce read is then the wallet's.
   */
  signer?: Address | undefined
  grantId: Hex
  deadline: Timestamp
  nonce?: bigint | undefined
}

/** A signed revocation, for {@link revokeBySig}. */
export type SignedRevoke = { grantId: Hex; signer: Address; nonce: bigint; deadline: bigint; signature: Hex }

export type SignRevokeReturnType = SignedRevoke

export type SignRevokeErrorType = AccountRequiredError | ActionErrorType

/**
 * Signs a revocation off chain (EIP-712 `Revoke`: signer, grant id, the signer's nonce, deadline) for a relayer to
 * submit with {@link revokeBySig}. The signer is part of the message, so the signature cannot be submitted in the
 * name of another account, even one whose ERC-1271 check would accept the same signature.
 */
export async function signRevoke(
  client: WriteClient,
  parameters: SignRevokeParameters,
): Promise<SignRevokeReturnType> {
  const accountLike = parameters.account ?? client.account
  if (accountLike === undefined) throw new AccountRequiredError('signRevoke')
  const signer = parameters.signer ?? parseAccount(accountLike).address
  const deadline = BigInt(toSeconds(parameters.deadline, 'deadline'))
  const nonce =
    parameters.nonce ?? (await getSignatureNonce(client, { addresses: parameters.addresses, signer }))
  const signature = await signTypedData(client, {
    account: accountLike,
    domain: await consentDomain(client, parameters.addresses),
    types: revokeTypes,
    primaryType: 'Revoke',
    message: { signer, grantId: parameters.grantId, nonce, deadline },
  })
  return { grantId: parameters.grantId, signer, nonce, deadline, signature }
}
