import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hash, Hex } from 'viem'
import { watchContractEvent } from 'viem/actions'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { decodePurpose, type Purpose, type ScopeKindName, scopeKindName } from '../encoding.ts'
import type { ReadClient } from '../internal.ts'

/** A grant or a revocation seen on chain. */
export type GrantEvent =
  | {
      type: 'granted'
      grantId: Hex
      grantor: Address
      grantee: Address
      scopeKind: ScopeKindName
      scopeTarget: Hex
      purpose: Purpose | number
      notBefore: number
      expiry: number
      threshold: number
      proxySetId: number
      kfragsCid: Hex
      blockNumber: bigint
      transactionHash: Hash
      logIndex: number
    }
  | {
      type: 'revoked'
      grantId: Hex
      grantor: Address
      grantee: Address
      revokedBy: Address
      blockNumber: bigint
      transactionHash: Hash
      logIndex: number
    }

export type WatchGrantsParameters = MedvaultContractsParameter & {
  /** Only grants by this grantor. */
  grantor?: Address | undefined
  /** Only grants to this grantee. */
  grantee?: Address | undefined
  /** Called with new grants and revocations, in chain order within each callback. */
  onGrants: (events: GrantEvent[]) => void
  onError?: ((error: Error) => void) | undefined
  /** Deliver events from this block on (also ones already mined); default: from the next block. */
  fromBlock?: bigint | undefined
  /** Polling interval in ms; default the client's. */
  pollingInterval?: number | undefined
}

/** Call it to stop watching. */
export type WatchGrantsReturnType = () => void

export type WatchGrantsErrorType = Error

/**
 * Watches `AccessGranted` and `AccessRevoked` for a grantor and/or grantee from now on (a light, live view
 * for apps). A service that must not miss an event across restarts uses `followEvents` with a checkpoint.
 */
export function watchGrants(client: ReadClient, parameters: WatchGrantsParameters): WatchGrantsReturnType {
  const { addresses, grantor, grantee, onGrants, onError, pollingInterval, fromBlock } = parameters
  const args = {
    ...(grantor === undefined ? {} : { grantor }),
    ...(grantee === undefined ? {} : { grantee }),
  }
  const common = {
    address: addresses.consentRegistry,
    abi: consentRegistryAbi,
    args,
    strict: true,
    ...(onError === undefined ? {} : { onError }),
    ...(pollingInterval === undefined ? {} : { pollingInterval }),
    ...(fromBlock === undefined ? {} : { fromBlock }),
  } as const
  const unwatchGranted = watchContractEvent(client, {
    ...common,
    eventName: 'AccessGranted',
    onLogs: (logs) =>
      onGrants(
        logs.map((log) => ({
          type: 'granted',
          grantId: log.args.grantId,
          grantor: log.args.grantor,
          grantee: log.args.grantee,
          scopeKind: scopeKindName(log.args.scopeKind),
          scopeTarget: log.args.scopeTarget,
          purpose: decodePurpose(log.args.purpose),
          notBefore: log.args.notBefore,
          expiry: log.args.expiry,
          threshold: log.args.threshold,
          proxySetId: log.args.proxySetId,
          kfragsCid: log.args.kfragsCid,
          blockNumber: log.blockNumber,
          transactionHash: log.transactionHash,
          logIndex: log.logIndex,
        })),
      ),
  })
  const unwatchRevoked = watchContractEvent(client, {
    ...common,
    eventName: 'AccessRevoked',
    onLogs: (logs) =>
      onGrants(
        logs.map((log) => ({
          type: 'revoked',
          grantId: log.args.grantId,
          grantor: log.args.grantor,
          grantee: log.args.grantee,
          revokedBy: log.args.revokedBy,
          blockNumber: log.blockNumber,
          transactionHash: log.transactionHash,
          logIndex: log.logIndex,
        })),
      ),
  })
  return () => {
    unwatchGranted()
    unwatchRevoked()
  }
}
