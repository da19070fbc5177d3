import { consentRegistryAbi, grantFlag } from '@medvault/contracts'
import type { Address, Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { decodePurpose, type Purpose, type ScopeKindName, scopeKindName } from '../encoding.ts'
import type { GrantNotFoundErrorType } from '../errors.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetGrantParameters = MedvaultContractsParameter & {
  grantId: Hex
  /** Read the grant as it stood at this block (default: the latest). Old blocks need a node that keeps their state. */
  blockNumber?: bigint | undefined
}

export type GetGrantReturnType = {
  grantId: Hex
  grantor: Address
  grantee: Address
  scopeKind: ScopeKindName
  /**
   * Record scope: `keccak256(abi.encode(grantId, recordId))`'s first 12 bytes; tag scope: the tag; else zero.
   * The full target is in the AccessGranted event.
   */
  scopeKey: Hex
  purpose: Purpose | number
  notBefore: number
  expiry: number
  threshold: number
  revoked: boolean
  /** A break-glass grant: dormant until the grantee starts an emergency access. */
  breakGlass: boolean
}

export type GetGrantErrorType = GrantNotFoundErrorType | ActionErrorType

/**
 * The stored state of a grant. Whether it allows an access right now also depends on the chain time and the
 * record: ask {@link isAccessAllowed}.
 *
 * @throws {GrantNotFoundError} when no grant has this id.
 */
export async function getGrant(
  client: ReadClient,
  parameters: GetGrantParameters,
): Promise<GetGrantReturnType> {
  const g = await read(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'getGrant',
    args: [parameters.grantId],
    ...(parameters.blockNumber === undefined ? {} : { blockNumber: parameters.blockNumber }),
  })
  return {
    grantId: parameters.grantId,
    grantor: g.grantor,
    grantee: g.grantee,
    scopeKind: scopeKindName(g.scopeKind),
    scopeKey: g.scopeKey,
    purpose: decodePurpose(g.purpose),
    notBefore: g.notBefore,
    expiry: g.expiry,
    threshold: g.threshold,
    revoked: (g.flags & grantFlag.revoked) !== 0,
    breakGlass: (g.flags & grantFlag.breakGlass) !== 0,
  }
}
