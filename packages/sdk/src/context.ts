/**
 * What every part of a vault shares: the account and its keys, the clients, the deployment, the storage,
 * and one queue for transactions.
 *
 * @module
 */
import type { MedvaultAddresses } from '@medvault/chain'
import type { DerivedKeys } from '@medvault/crypto'
import type { Storage } from '@medvault/storage'
import type { Account, Address, Chain, Hash, PublicClient, Transport, WalletClient } from 'viem'
import type { ReadIndex } from './read-index.ts'
import type { VaultProgressEvent } from './types.ts'

export interface VaultContext {
  readonly address: Address
  readonly chainId: number
  readonly addresses: MedvaultAddresses
  /** First block to search for events (the deployment block). */
  readonly fromBlock: bigint
  /** Most blocks per `eth_getLogs` (`chain.logBlockRange`): every event query reads in ranges of this size. */
  readonly logBlockRange: number
  readonly publicClient: PublicClient<Transport, Chain>
  /** Record versions and grants to this account already read from the chain (read-index.ts). */
  readonly index: ReadIndex
  readonly walletClient: WalletClient<Transport, Chain, Account>
  readonly storage: Storage
  /** The proxy set new grants go through unless a grant names another. */
  readonly proxySet: number | undefined
  readonly hedgeDelayMs: number
  readonly proxyTimeoutMs: number
  readonly fetch: typeof fetch | undefined
  /** The account's keys, derived once on first use. */
  keys(): Promise<DerivedKeys>
  /**
   * Runs one transaction after every earlier one of this account (in this process) has been mined, so that
   * concurrent calls never pick the same nonce.
   */
  write<T extends { hash: Hash }>(
    action: string,
    send: (signal: AbortSignal | undefined) => Promise<T>,
    signal: AbortSignal | undefined,
    onProgress?: ((event: VaultProgressEvent) => void) | undefined,
  ): Promise<T>
  /** Publishes the keys on first use (a no-op once published). */
  ready(signal?: AbortSignal): Promise<void>
}

/**
 * One queue per (chain, account) in this process: two vaults of one account share it, so their transactions
 * are never sent with the same nonce either.
 */
const queues = new Map<string, Promise<unknown>>()

/** Runs `task` after the previous task queued under `key` has settled. */
export function serialize<T>(key: string, task: () => Promise<T>): Promise<T> {
  const previous = queues.get(key) ?? Promise.resolve()
  const run = previous.then(task, task)
  const tail = run.then(
    () => {},
    () => {},
  )
  queues.set(key, tail)
  // Drop the entry once nothing is queued behind it, so a long-lived process keeps no stale keys.
  void tail.then(() => {
    if (queues.get(key) === tail) queues.delete(key)
  })
  return run
}
