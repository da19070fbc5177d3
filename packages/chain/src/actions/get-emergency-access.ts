import { consentRegistryAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { type ActionErrorType, type ReadClient, read } from '../internal.ts'

export type GetEmergencyAccessParameters = MedvaultContractsParameter & { grantId: Hex; recordId: Hex }

/** `endsAt` is 0 when no emergency access ever started; compare it with chain time to know if it runs. */
export type GetEmergencyAccessReturnType = { endsAt: number; maxDuration: number }

export type GetEmergencyAccessErrorType = ActionErrorType

/** When the emergency access of a break-glass grant to a record ends (or ended), and the grant's time box. */
export async function getEmergencyAccess(
  client: ReadClient,
  parameters: GetEmergencyAccessParameters,
): Promise<GetEmergencyAccessReturnType> {
  const address = parameters.addresses.consentRegistry
  const [endsAt, maxDuration] = await Promise.all([
    read(client, {
      address,
      abi: consentRegistryAbi,
      functionName: 'emergencyAccessEndsAt',
      args: [parameters.grantId, parameters.recordId],
    }),
    read(client, {
      address,
      abi: consentRegistryAbi,
      functionName: 'breakGlassDuration',
      args: [parameters.grantId],
    }),
  ])
  return { endsAt, maxDuration }
}
