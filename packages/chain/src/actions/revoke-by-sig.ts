import { consentRegistryAbi } from '@medvault/contracts'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type {
  GrantNotFoundErrorType,
  GrantRevokedErrorType,
  InvalidNonceErrorType,
  InvalidSignatureErrorType,
  SignatureExpiredErrorType,
  UnauthorizedErrorType,
} from '../errors.ts'
import {
  type ActionErrorType,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'
import type { SignedRevoke } from './sign-revoke.ts'

export type RevokeBySigParameters = MedvaultContractsParameter &
  WriteParameters & { signedRevoke: SignedRevoke }

export type RevokeBySigReturnType = WriteReturnType

export type RevokeBySigErrorType =
  | SignatureExpiredErrorType
  | InvalidNonceErrorType
  | InvalidSignatureErrorType
  | GrantNotFoundErrorType
  | GrantRevokedErrorType
  | UnauthorizedErrorType
  | ActionErrorType

/** Submits a signed revocation; the sender (any relayer) pays the gas. */
export async function revokeBySig(
  client: WriteClient,
  parameters: RevokeBySigParameters,
): Promise<RevokeBySigReturnType> {
  const s = parameters.signedRevoke
  const { hash, receipt } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'revokeBySig',
    args: [s.grantId, s.signer, s.nonce, s.deadline, s.signature],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  return { hash, receipt }
}
