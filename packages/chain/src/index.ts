/**
 * @packageDocumentation
 *
 * viem actions over medvault's consent, record and audit contracts, an event follower with checkpoints,
 * and an embedded devnet: a real Foundry anvil node spawned on 127.0.0.1.
 *
 * @example
 * ```ts
 * import { startAnvil } from '@medvault/chain'
 * import { createPublicClient, http } from 'viem'
 * import { foundry } from 'viem/chains'
 *
 * const anvil = await startAnvil()
 * const client = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl) })
 * console.log(await client.getBlockNumber())
 * await anvil.stop()
 * ```
 */

export {
  type Anvil,
  type AnvilAccount,
  anvilBinaryPath,
  DEFAULT_MNEMONIC,
  deriveAccounts,
  type StartAnvilOptions,
  startAnvil,
} from './anvil.ts'
export {
  AbortError,
  type AbortErrorType,
  AnvilNotFoundError,
  type AnvilNotFoundErrorType,
  AnvilStartError,
  type AnvilStartErrorType,
  BaseError,
  type BaseErrorParameters,
  CheckpointCorruptError,
  type CheckpointCorruptErrorType,
} from './errors.ts'
export {
  type Checkpoint,
  type CheckpointStore,
  fileCheckpointStore,
  memoryCheckpointStore,
} from './follow/checkpoint.ts'
export {
  type EventFollower,
  type FollowEventsParameters,
  type FollowEventsProgressEvent,
  type FollowEventsReturnType,
  type FollowedEvent,
  followEvents,
} from './follow/follow-events.ts'
