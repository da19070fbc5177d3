import { consentRegistryAbi } from '@medvault/contracts'
import { type Hex, parseEventLogs } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type {
  GrantExpiredErrorType,
  GrantNotFoundErrorType,
  GrantNotYetValidErrorType,
  GrantRevokedErrorType,
  InvalidReasonLengthErrorType,
  NotBreakGlassGrantErrorType,
  NotGranteeErrorType,
  RecordOutOfScopeErrorType,
} from '../errors.ts'
import {
  type ActionErrorType,
  logsOf,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type BreakGlassParameters = MedvaultContractsParameter &
  WriteParameters & {
    grantId: Hex
    recordId: Hex
    /** Why (1 to 256 bytes). It is public and permanent: never put health data in it. */
    reason: string
  }

export type BreakGlassReturnType = WriteReturnType & {
  /** Unix time when the emergency access ends. */
  endsAt: number
}

export type BreakGlassErrorType =
  | GrantNotFoundErrorType
  | NotBreakGlassGrantErrorType
  | NotGranteeErrorType
  | GrantRevokedErrorType
  | GrantExpiredErrorType
  | GrantNotYetValidErrorType
  | RecordOutOfScopeErrorType
  | InvalidReasonLengthErrorType
  | ActionErrorType

/** The grantee of a break-glass grant opens a time-boxed emergency access to one record, saying why. */
export async function breakGlass(
  client: WriteClient,
  parameters: BreakGlassParameters,
): Promise<BreakGlassReturnType> {
  const { hash, receipt, result } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'breakGlass',
    args: [parameters.grantId, parameters.recordId, parameters.reason],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  // The mined value, not the simulated one: the state can move between simulation and inclusion.
  const [event] = parseEventLogs({
    abi: consentRegistryAbi,
    eventName: 'EmergencyAccessStarted',
    logs: logsOf(receipt, parameters.addresses.consentRegistry),
  })
  return { hash, receipt, endsAt: event?.args.endsAt ?? result }
}
