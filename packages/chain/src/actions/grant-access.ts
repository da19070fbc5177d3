import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import { parseAccount } from 'viem/utils'
import type { MedvaultContractsParameter } from '../addresses.ts'
import {
  AccountRequiredError,
  type GrantAlreadyExistsErrorType,
  type GrantOutlivesDelegationErrorType,
  type InvalidCidLengthErrorType,
  type InvalidPurposeErrorType,
  type InvalidRecordSetSizeErrorType,
  type InvalidScopeErrorType,
  type InvalidThresholdErrorType,
  type InvalidValidityErrorType,
  type NotRecordOwnerErrorType,
  type RecordNotFoundErrorType,
  type UnauthorizedErrorType,
  type UnknownProxySetErrorType,
  type ZeroAddressErrorType,
} from '../errors.ts'
import { computeGrantId, encodeGrantParams, type GrantTerms } from '../grant.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type GrantAccessParameters = MedvaultContractsParameter &
  WriteParameters &
  GrantTerms & {
    /** Grant on behalf of this patient, as their grant delegate. Default: the sender is the grantor. */
    grantor?: Address | undefined
  }

export type GrantAccessReturnType = WriteReturnType & {
  /** `keccak256(abi.encode(grantor, salt))`. */
  grantId: Hex
  /** The salt used (random unless given). */
  salt: Hex
}

/** Every way a grant can be refused. */
export type GrantErrorType =
  | GrantAlreadyExistsErrorType
  | GrantOutlivesDelegationErrorType
  | InvalidPurposeErrorType
  | InvalidValidityErrorType
  | InvalidThresholdErrorType
  | UnknownProxySetErrorType
  | InvalidScopeErrorType
  | InvalidRecordSetSizeErrorType
  | NotRecordOwnerErrorType
  | RecordNotFoundErrorType
  | InvalidCidLengthErrorType
  | ZeroAddressErrorType
  | UnauthorizedErrorType

export type GrantAccessErrorType = GrantErrorType | ActionErrorType

/**
 * Grants `grantee` access to the sender's records (or, as a grant delegate, to `grantor`'s) within a scope,
 * for one purpose of use, until `expiry`, through `threshold` of the proxies in `proxySetId`.
 *
 * @example
 * ```ts
 * const { grantId } = await grantAccess(patient, {
 *   addresses, grantee: doctor, scope: { kind: 'record', recordId }, purpose: 'TREAT',
 *   expiry: new Date(Date.now() + 86_400_000), threshold: 2, proxySetId: 1, kfragsCid,
 * })
 * ```
 */
export async function grantAccess(
  client: WriteClient,
  parameters: GrantAccessParameters,
): Promise<GrantAccessReturnType> {
  const sender = parameters.account ?? client.account
  if (sender === undefined) throw new AccountRequiredError('grantAccess')
  const from = parseAccount(sender).address
  const params = encodeGrantParams(parameters)
  const grantor = parameters.grantor ?? from
  const address = parameters.addresses.consentRegistry
  const { hash, receipt } =
    grantor.toLowerCase() === from.toLowerCase()
      ? await write(client, {
          address,
          abi: consentRegistryAbi,
          functionName: 'grant',
          args: [params],
          account: sender,
          waitForReceipt: parameters.waitForReceipt,
          signal: parameters.signal,
        })
      : await write(client, {
          address,
          abi: consentRegistryAbi,
          functionName: 'grantFor',
          args: [grantor, params],
          account: sender,
          waitForReceipt: parameters.waitForReceipt,
          signal: parameters.signal,
        })
  return { hash, receipt, grantId: computeGrantId(grantor, params.salt), salt: params.salt }
}
