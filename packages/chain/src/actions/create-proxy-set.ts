import { consentRegistryAbi } from '@medvault/contracts'
import { type Address, parseEventLogs } from 'viem'
import type { MedvaultContractsParameter } from '../addresses.ts'
import type {
  DuplicateProxyErrorType,
  InvalidProxySetSizeErrorType,
  ProxyNotActiveErrorType,
} from '../errors.ts'
import {
  type ActionErrorType,
  logsOf,
  type WriteClient,
  type WriteParameters,
  type WriteReturnType,
  write,
} from '../internal.ts'

export type CreateProxySetParameters = MedvaultContractsParameter &
  WriteParameters & {
    /** 1 to 32 distinct active proxy operators, in kfrag order (kfrag i is encrypted to member i). */
    members: readonly Address[]
  }

export type CreateProxySetReturnType = WriteReturnType & { setId: number }

export type CreateProxySetErrorType =
  | InvalidProxySetSizeErrorType
  | DuplicateProxyErrorType
  | ProxyNotActiveErrorType
  | ActionErrorType

/** Creates an immutable proxy set that grants can reference (kept by the ConsentRegistry, which checks grants against it). */
export async function createProxySet(
  client: WriteClient,
  parameters: CreateProxySetParameters,
): Promise<CreateProxySetReturnType> {
  const { hash, receipt, result } = await write(client, {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    functionName: 'createProxySet',
    args: [parameters.members],
    account: parameters.account,
    waitForReceipt: parameters.waitForReceipt,
    signal: parameters.signal,
  })
  // The mined value, not the simulated one: the state can move between simulation and inclusion.
  const [event] = parseEventLogs({
    abi: consentRegistryAbi,
    eventName: 'ProxySetCreated',
    logs: logsOf(receipt, parameters.addresses.consentRegistry),
  })
  return { hash, receipt, setId: event?.args.setId ?? result }
}
