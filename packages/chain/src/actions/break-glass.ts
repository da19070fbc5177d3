import { consentRegistryAbi } from '@medvault/contracts'
import { type Hex, parseEventLogs, zeroHash } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { encodePurpose, type Purpose } from '../encoding.ts'
import type {
  BreakGlassWindowsExhaustedErrorType,
  EmergencyAccessAlreadyActiveErrorType,
  EmergencyAccessHaltedErrorType,
  GrantExpiredErrorType,
  GrantNotFoundErrorType,
  GrantNotYetValidErrorType,
  GrantRevokedErrorType,
  InvalidPurposeErrorType,
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
    /**
     * Why, as a purpose-of-use code (`'ETREAT'`, `'BTG'`, … or its `uint8`). A code, not text: the event is
     * public and permanent beside the patient's address, so no clinical words may go on chain.
     */
    reasonCode: Purpose | number
    /**
     * Optional opaque reference (default zero): e.g. a salted hash of, or the digest of an encrypted, note kept
     * off chain, so an auditor given the note can match it. Never an unsalted hash of guessable text.
     */
    reasonRef?: Hex | undefined
  }

export type BreakGlassReturnType = WriteReturnType & {
  /** Unix time when the emergency access ends. */
  endsAt: number
  /**
   * The window's number within its grant (1 = first), read from the mined event; `undefined` with
   * `waitForReceipt: false`.
   */
  window: number | undefined
}

export type BreakGlassErrorType =
  | GrantNotFoundErrorType
  | NotBreakGlassGrantErrorType
  | NotGranteeErrorType
  | GrantRevokedErrorType
  | GrantExpiredErrorType
  | GrantNotYetValidErrorType
  | RecordOutOfScopeErrorType
  | InvalidPurposeErrorType
  | EmergencyAccessHaltedErrorType
  | EmergencyAccessAlreadyActiveErrorType
  | BreakGlassWindowsExhaustedErrorType
  | ActionErrorType

/**
 * The grantee of a break-glass grant opens a time-boxed emergency access window on one record, saying why as a
 * code. One window runs at a time per record (`EmergencyAccessAlreadyActiveError`); a record the patient halted
 * stays closed until the patient re-authorises it (`EmergencyAccessHaltedError`); a grant opens at most
 * `limits.maxBreakGlassWindows` windows (`BreakGlassWindowsExhaustedError`).
 */
export async function breakGlass(
  client: WriteClient,
  parameters: BreakGlassParameters,
): Promise<BreakGlassReturnType> {
  const { hash, receipt, result } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'breakGlass',
    args: [
      parameters.grantId,
      parameters.recordId,
      encodePurpose(parameters.reasonCode),
      parameters.reasonRef ?? zeroHash,
    ],
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
  return { hash, receipt, endsAt: event?.args.endsAt ?? result, window: event?.args.window }
}
