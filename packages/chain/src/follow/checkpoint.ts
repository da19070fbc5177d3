import type { Hex } from 'viem'

/** How far an event follower has got: every event up to and including `blockNumber` has been delivered. */
export interface Checkpoint {
  readonly blockNumber: bigint
  /** Hash of that block when it was processed; lets a follower notice that the chain under it changed. */
  readonly blockHash?: Hex | undefined
}

/** Where a follower keeps its {@link Checkpoint}. `save` must be atomic: a crash leaves the old or the new value. */
export interface CheckpointStore {
  load(): Promise<Checkpoint | undefined>
  save(checkpoint: Checkpoint): Promise<void>
}

/** A checkpoint kept in memory: survives a follower's stop/start within one process, not a restart. */
export function memoryCheckpointStore(
  initial?: Checkpoint,
): CheckpointStore & { readonly current: Checkpoint | undefined } {
  let current = initial
  return {
    get current() {
      return current
    },
    async load() {
      return current
    },
    async save(checkpoint) {
      current = checkpoint
    },
  }
}
