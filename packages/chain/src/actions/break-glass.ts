import { consentRegistryAbi } from '@medvault/contracts'
import { type Hex, parseEventLogs, zeroHash } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { encodePurpose, type Purpose } from '../encoding.ts'
import type {
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
  | ActionErrorType

/** The grantee of a break-glass grant opens a time-boxed emergency access to one record, saying why as a code. */
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
  return { hash, receipt, endsAt: event?.args.endsAt ?? result }
}
