import { eip712DomainInfo, grantTypes } from '@medvault/contracts'
import type { Account, Address, Hex, TypedDataDomain } from 'viem'
import { getChainId, signTypedData } from 'viem/actions'
import { parseAccount } from 'viem/utils'
import type { MedvaultAddresses, MedvaultContractsParameter } from '../addresses.ts'
import { type Timestamp, toSeconds } from '../encoding.ts'
import { AccountRequiredError } from '../errors.ts'
import { computeGrantId, encodeGrantParams, type GrantParams, type GrantTerms } from '../grant.ts'
import type { ActionErrorType, WriteClient } from '../internal.ts'
import { getSignatureNonce } from './get-signature-nonce.ts'

export type SignGrantParameters = MedvaultContractsParameter &
  GrantTerms & {
    /** The signer; default: the client's account. It must be the grantor or the grantor's grant delegate. */
    account?: Account | Address | undefined
    /** The patient whose records are shared; default: the signer. */
    grantor?: Address | undefined
    /** Last valid time of the signature. */
    deadline: Timestamp
    /** The signer's nonce; default: read from the chain (pass it to sign several grants before any is submitted). */
    nonce?: bigint | undefined
  }

/** Everything a relayer needs to submit the grant with {@link grantBySig}. Contains no secret. */
export type SignedGrant = {
  grantor: Address
  signer: Address
  params: GrantParams
  nonce: bigint
  deadline: bigint
  signature: Hex
  /** The id the grant will get. */
  grantId: Hex
}

export type SignGrantReturnType = SignedGrant

export type SignGrantErrorType = AccountRequiredError | ActionErrorType

/** The ConsentRegistry's EIP-712 domain on this chain. */
export async function consentDomain(
  client: WriteClient,
  addresses: MedvaultAddresses,
): Promise<TypedDataDomain> {
  return {
    ...eip712DomainInfo,
    chainId: client.chain?.id ?? (await getChainId(client)),
    verifyingContract: addresses.consentRegistry,
  }
}

/**
 * Signs a grant off chain (EIP-712 `Grant`), so that a relayer can submit it and pay the gas: the patient
 * needs no ether. The signature binds every term, the grant id (through the salt), the signer's nonce and a
 * deadline; it works once.
 *
 * @example
 * ```ts
 * const signed = await signGrant(patientWallet, { addresses, grantee, scope, purpose: 'TREAT', expiry,
 *   threshold: 2, proxySetId, kfragsCid, deadline: Math.floor(Date.now() / 1000) + 3600 })
 * await grantBySig(relayerWallet, { addresses, signedGrant: signed })
 * ```
 */
export async function signGrant(
  client: WriteClient,
  parameters: SignGrantParameters,
): Promise<SignGrantReturnType> {
  const accountLike = parameters.account ?? client.account
  if (accountLike === undefined) throw new AccountRequiredError('signGrant')
  const signer = parseAccount(accountLike).address
  const grantor = parameters.grantor ?? signer
  const params = encodeGrantParams(parameters)
  const deadline = BigInt(toSeconds(parameters.deadline, 'deadline'))
  const nonce =
    parameters.nonce ?? (await getSignatureNonce(client, { addresses: parameters.addresses, signer }))
  const signature = await signTypedData(client, {
    account: accountLike,
    domain: await consentDomain(client, parameters.addresses),
    types: grantTypes,
    primaryType: 'Grant',
    message: { grantor, ...params, nonce, deadline },
  })
  return {
    grantor,
    signer,
    params,
    nonce,
    deadline,
    signature,
    grantId: computeGrantId(grantor, params.salt),
  }
}
