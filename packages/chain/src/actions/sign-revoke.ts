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
  /** The signer (the grantor or its revoke delegate); default: the client's account. */
  account?: Account | Address | undefined
  grantId: Hex
  deadline: Timestamp
  nonce?: bigint | undefined
}

/** A signed revocation, for {@link revokeBySig}. */
export type SignedRevoke = { grantId: Hex; signer: Address; nonce: bigint; deadline: bigint; signature: Hex }

export type SignRevokeReturnType = SignedRevoke

export type SignRevokeErrorType = AccountRequiredError | ActionErrorType

/** Signs a revocation off chain (EIP-712 `Revoke`) for a relayer to submit. */
export async function signRevoke(
  client: WriteClient,
  parameters: SignRevokeParameters,
): Promise<SignRevokeReturnType> {
  const accountLike = parameters.account ?? client.account
  if (accountLike === undefined) throw new AccountRequiredError('signRevoke')
  const signer = parseAccount(accountLike).address
  const deadline = BigInt(toSeconds(parameters.deadline, 'deadline'))
  const nonce =
    parameters.nonce ?? (await getSignatureNonce(client, { addresses: parameters.addresses, signer }))
  const signature = await signTypedData(client, {
    account: accountLike,
    domain: await consentDomain(client, parameters.addresses),
    types: revokeTypes,
    primaryType: 'Revoke',
    message: { grantId: parameters.grantId, nonce, deadline },
  })
  return { grantId: parameters.grantId, signer, nonce, deadline, signature }
}
