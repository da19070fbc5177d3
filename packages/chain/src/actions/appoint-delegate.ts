import { consentRegistryAbi, delegatePermission } from '@medvault/contracts'
import type { Address } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type Timestamp, toSeconds } from '../encoding.ts'
import type {
  ExpiryNotInFutureErrorType,
  InvalidPermissionsErrorType,
  SelfDelegationErrorType,
  ZeroAddressErrorType,
} from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

/** What a delegate may do for the patient. */
export type DelegatePermission = keyof typeof delegatePermission

/** The contract's bit mask from permission names (a number passes through). */
export function encodePermissions(permissions: readonly DelegatePermission[] | number): number {
  if (typeof permissions === 'number') return permissions
  return permissions.reduce((mask, p) => mask | delegatePermission[p], 0)
}

/** Permission names from the contract's bit mask. */
export function decodePermissions(mask: number): DelegatePermission[] {
  return (Object.keys(delegatePermission) as DelegatePermission[]).filter(
    (p) => (mask & delegatePermission[p]) !== 0,
  )
}

export type AppointDelegateParameters = MedvaultContractsParameter &
  WriteParameters & {
    /** The guardian. */
    delegate: Address
    /** `records` (register records, add versions), `grant` (create grants), `revoke` (revoke, end emergencies). */
    permissions: readonly DelegatePermission[] | number
    /** When the delegation lapses (must be in the future). */
    expiry: Timestamp
  }

export type AppointDelegateReturnType = WriteReturnType

export type AppointDelegateErrorType =
  | ZeroAddressErrorType
  | SelfDelegationErrorType
  | InvalidPermissionsErrorType
  | ExpiryNotInFutureErrorType
  | ActionErrorType

/** Appoints (or re-appoints with new terms) a delegate who may act for the sender until `expiry`. */
export async function appointDelegate(
  client: WriteClient,
  parameters: AppointDelegateParameters,
): Promise<AppointDelegateReturnType> {
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'appointDelegate',
    args: [
      parameters.delegate,
      encodePermissions(parameters.permissions),
      toSeconds(parameters.expiry, 'expiry'),
    ],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt }
}
