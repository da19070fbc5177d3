import { eip712DomainInfo, grantTypes } from '@medvault/contracts'
import type { Account, Address, Hex, TypedDataDomain } from 'viem'
import {
  isAddressEqual,
  parseSignature,
  recoverTypedDataAddress,
  serializeCompactSignature,
  signatureToCompactSignature,
} from 'viem'
import { getChainId, signTypedData } from 'viem/actions'
import { parseAccount } from 'viem/utils'
import type { MedvaultAddresses, MedvaultContractsParameter } from '../addresses.ts'
import { type Timestamp, toSeconds } from '../encoding.ts'
import { AccountRequiredError } from '../errors.ts'
import { computeGrantId, encodeGrantParams, type GrantParams, type GrantTerms } from '../grant.ts'
import type { ActionErrorType, WriteClient } from '../internal.ts'

export type SignGrantParameters = MedvaultContractsParameter &
  GrantTerms & {
    /** The account that signs; default: the client's account. */
    account?: Account | Address | undefined
    /**
     * The address the contract checks the signature against, named in the signed message: the grantor or the
     * grantor's grant delegate. Default: the signing account. Set it to a smart-contract wallet (ERC-1271) when
     * the signing account is that wallet's owner key and the wallet accepts its owner's signatures.
     */
    signer?: Address | undefined
    /** The patient whose records are shared; default: the signer. */
    grantor?: Address | undefined
    /** Last valid time of the signature. */
    deadline: Timestamp
  }

/** Everything a relayer needs to submit the grant with {@link grantBySig}. Contains no secret. */
export type SignedGrant = {
  grantor: Address
  signer: Address
  params: GrantParams
  deadline: bigint
  /**
   * The signature. An account's ECDSA signature is in the 64-byte EIP-2098 form (r, yParity ‖ s), 32 bytes of
   * calldata cheaper than 65; any other signature (ERC-1271 of a contract signer) as the wallet returned it.
   */
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
 * needs no ether. The signature binds every term, the grant id (through the salt), the signer and a deadline; it
 * works once.
 * The salt is the signature's nonce: unordered and single-use, since the grant id it makes can be created once
 * (a replay fails with `GrantAlreadyExistsError`). No nonce is read from the chain, so any number of grants can
 * be signed ahead; void an unused one with `cancelGrantSalt` (or let its deadline pass).
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
  const signer = parameters.signer ?? parseAccount(accountLike).address
  const grantor = parameters.grantor ?? signer
  const params = encodeGrantParams(parameters)
  const deadline = BigInt(toSeconds(parameters.deadline, 'deadline'))
  const typedData = {
    domain: await consentDomain(client, parameters.addresses),
    types: grantTypes,
    primaryType: 'Grant',
    message: { grantor, signer, ...params, deadline },
  } as const
  const signature = await signTypedData(client, { account: accountLike, ...typedData })
  return {
    grantor,
    signer,
    params,
    deadline,
    signature: await compactIfEcdsa(signature, signer, () =>
      recoverTypedDataAddress({ ...typedData, signature }),
    ),
    grantId: computeGrantId(grantor, params.salt),
  }
}

/**
 * The EIP-2098 form of a 65-byte signature that recovers to `signer` (the contract's ECDSA check takes both
 * forms); anything else unchanged, since a contract signer's ERC-1271 check needs its own bytes.
 */
async function compactIfEcdsa(
  signature: Hex,
  signer: Address,
  recover: () => Promise<Address>,
): Promise<Hex> {
  if (signature.length !== 132) return signature
  try {
    if (!isAddressEqual(await recover(), signer)) return signature
    return serializeCompactSignature(signatureToCompactSignature(parseSignature(signature)))
  } catch {
    // Not a recoverable ECDSA signature (e.g. a contract wallet's own format): submitted as it is.
    return signature
  }
}
