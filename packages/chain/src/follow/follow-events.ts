import type { Abi, Address, Chain, Client, Hex, ParseEventLogsReturnType, Transport } from 'viem'
import { parseEventLogs } from 'viem'
import { getBlock, getBlockNumber, getLogs } from 'viem/actions'
import { AbortError, ChainReorgError } from '../errors.ts'
import { type Checkpoint, type CheckpointStore, memoryCheckpointStore } from './checkpoint.ts'
import { LogRangeReader } from './get-logs-chunked.ts'

/** A decoded event of `abi`, as viem's `parseEventLogs` returns it. */
export type FollowedEvent<abi extends Abi = Abi> = ParseEventLogsReturnType<abi>[number]

export type FollowEventsProgressEvent =
  | { type: 'batch'; fromBlock: bigint; toBlock: bigint; events: number; head: bigint }
  | { type: 'idle'; head: bigint; checkpoint: bigint | undefined }

export interface FollowEventsParameters<abi extends Abi = Abi> {
  /** The events to decode; logs that match no event of `abi` are skipped. */
  abi: abi
  /** Contract address(es) to follow; every address when omitted. */
  address?: Address | readonly Address[] | undefined
  /** First block to read when the checkpoint store is empty. Default `0n`. */
  fromBlock?: bigint | undefined
  /** Deliver an event only once its block is this many blocks below the head. Default 0. */
  confirmations?: number | undefined
  /** Where progress is kept. Default: in memory (so only a stop/start in this process resumes). */
  checkpoint?: CheckpointStore | undefined
  /** Most blocks read by one `eth_getLogs`. Default 1000 (many providers cap ranges near this). */
  batchSize?: number | undefined
  /** Milliseconds between polls of the head once caught up. Default: the client's `pollingInterval`. */
  pollingInterval?: number | undefined
  /**
   * Receives the events of one block range, in chain order. The checkpoint advances only after it resolves;
   * if it throws, the same range is delivered again on the next poll.
   */
  onEvents: (
    events: FollowedEvent<abi>[],
    range: { fromBlock: bigint; toBlock: bigint },
  ) => void | Promise<void>
  /** Errors from the RPC or from `onEvents`; the follower keeps going and retries. */
  onError?: ((error: Error) => void) | undefined
  onProgress?: ((event: FollowEventsProgressEvent) => void) | undefined
  /** Aborting stops the follower, as `stop()` does. */
  signal?: AbortSignal | undefined
}

/** A `Startable` service (as in libp2p) that delivers events from the chain in order. */
export interface EventFollower {
  start(): Promise<void>
  /** Finishes the range being delivered, saves the checkpoint and stops. */
  stop(): Promise<void>
  isStarted(): boolean
  /**
   * Delivers everything up to the current confirmed head once, then resolves with the checkpoint.
   * Useful for batch jobs and tests; do not call it while the follower is started.
   */
  sync(options?: { signal?: AbortSignal }): Promise<Checkpoint | undefined>
  /** The last block range handled (after `start()` or `sync()` has loaded it); saved as described above. */
  readonly checkpoint: Checkpoint | undefined
}

export type FollowEventsReturnType = EventFollower

/**
 * Follows contract events from a checkpoint, in block ranges, only `confirmations` blocks deep.
 *
 * Delivery guarantee: events reach `onEvents` in chain order, range by range, and the checkpoint is saved
 * after each range that had events (ranges without events are saved at least once a second and at the end
 * of each pass: a restart may read a few of them again, which delivers nothing). A clean `stop()` (or abort) waits for the range in flight, so stopping and starting
 * again, in this process or after a restart with a file store, never misses nor repeats an event. If the
 * process is killed while `onEvents` runs, that one range is delivered again on restart: make the
 * handler idempotent (each event has a unique `blockHash` + `logIndex`) when that matters.
 *
 * Reorganisations: `confirmations` is the defence. The checkpoint also records the hash of its block; if that
 * block is no longer on the chain (a reorg deeper than `confirmations`), every pass fails with
 * `ChainReorgError` (reported to `onError`) and nothing more is delivered until an operator rewinds the
 * checkpoint, because events already delivered from the abandoned branch cannot be taken back.
 *
 * @example
 * ```ts
 * const follower = followEvents(publicClient, {
 *   abi: recordRegistryAbi,
 *   address: addresses.recordRegistry,
 *   confirmations: 2,
 *   checkpoint: fileCheckpointStore('./state/records.checkpoint.json'),
 *   onEvents: async (events) => { for (const e of events) await pin(e.args.cid) },
 * })
 * await follower.start()
 * ```
 */
export function followEvents<const abi extends Abi>(
  client: Client<Transport, Chain | undefined>,
  parameters: FollowEventsParameters<abi>,
): FollowEventsReturnType {
  const {
    abi,
    address,
    fromBlock = 0n,
    confirmations = 0,
    checkpoint: store = memoryCheckpointStore(),
    batchSize = 1000,
    pollingInterval = client.pollingInterval,
    onEvents,
    onError,
    onProgress,
    signal,
  } = parameters
  if (!Number.isInteger(confirmations) || confirmations < 0) {
    throw new RangeError('confirmations must be a non-negative integer')
  }
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError('batchSize must be a positive integer')
  if (fromBlock < 0n) throw new RangeError('fromBlock must be >= 0')

  let cursor: Checkpoint | undefined
  /** The checkpoint last written to the store (`cursor` may be ahead of it by ranges without events). */
  let saved: Checkpoint | undefined
  let savedAt = 0
  /**
   * Blocks per `eth_getLogs`: `batchSize` until an answer is too large, then what fitted, kept for the next
   * ranges (a dense stretch of chain would otherwise have every range fetched whole and refused first), as
   * `getLogsChunked` does.
   */
  const reader = new LogRangeReader({ maxBlockRange: batchSize })
  let loaded = false
  let running: Promise<void> | undefined
  let stopping: AbortController | undefined

  const load = async (): Promise<void> => {
    if (loaded) return
    cursor = await store.load()
    saved = cursor
    loaded = true
  }

  /**
   * The logs of `from` to at most `to`, the last block they cover and its hash. A range is counted in blocks,
   * not events, so a dense one can exceed what the node or viem will return: then the range is cut in half,
   * down to single blocks, instead of failing the follower forever on the same range (`LogRangeReader`).
   */
  const readRange = async (
    from: bigint,
    to: bigint,
  ): Promise<{ logs: Awaited<ReturnType<typeof getLogs>>; to: bigint; hash: Hex }> => {
    let hash: Hex | undefined
    const { logs, toBlock } = await reader.read(from, to, async (fromBlock, toBlock) => {
      // The hash is read before the logs: a reorg in between then fails the next pass's check of it.
      hash = (await getBlock(client, { blockNumber: toBlock, includeTransactions: false })).hash
      return getLogs(client, {
        ...(address === undefined ? {} : { address: address as Address | Address[] }),
        fromBlock,
        toBlock,
      })
    })
    return { logs, to: toBlock, hash: hash as Hex }
  }

  /**
   * Saves `next` when the range delivered events (their checkpoint must follow them), when the last save is
   * a second old, or at the end of a pass. A range without events needs no save of its own: a restart reads
   * it again and finds nothing, so catching up over a sparse chain does not flush a file per empty range.
   */
  const advance = async (next: Checkpoint, delivered: boolean): Promise<void> => {
    cursor = next
    if (delivered || Date.now() - savedAt >= SAVE_EVERY_MS) await persist()
  }

  const persist = async (): Promise<void> => {
    if (cursor === undefined || cursor === saved) return
    const next = cursor
    await store.save(next)
    saved = next
    savedAt = Date.now()
  }

  /** One pass: from the checkpoint to the confirmed head. Returns when caught up or stopping. */
  const pass = async (stop: AbortSignal): Promise<void> => {
    await load()
    const head = await getBlockNumber(client, { cacheTime: 0 })
    if (cursor?.blockHash !== undefined) {
      // The chain under the checkpoint must not have changed: events delivered from the old branch may not
      // exist on the new one, which no amount of re-reading can repair.
      const current =
        cursor.blockNumber <= head
          ? await getBlock(client, { blockNumber: cursor.blockNumber, includeTransactions: false })
          : undefined
      if (current?.hash !== cursor.blockHash) throw new ChainReorgError(cursor.blockNumber)
    }
    const safe = head - BigInt(confirmations)
    let from = cursor === undefined ? fromBlock : cursor.blockNumber + 1n
    try {
      while (from <= safe && !stop.aborted) {
        const { logs, to, hash } = await readRange(from, safe)
        const events = parseEventLogs({ abi, logs, strict: true }) as FollowedEvent<abi>[]
        if (events.length > 0) await onEvents(events, { fromBlock: from, toBlock: to })
        await advance({ blockNumber: to, blockHash: hash }, events.length > 0)
        onProgress?.({ type: 'batch', fromBlock: from, toBlock: to, events: events.length, head })
        from = to + 1n
      }
    } finally {
      // Also after a failed read: the ranges handled before it need not be read again.
      await persist()
    }
    onProgress?.({ type: 'idle', head, checkpoint: cursor?.blockNumber })
  }

  const loop = async (stop: AbortSignal): Promise<void> => {
    while (!stop.aborted) {
      try {
        await pass(stop)
      } catch (err) {
        if (stop.aborted) break
        onError?.(err instanceof Error ? err : new Error(String(err)))
      }
      await sleep(pollingInterval, stop)
    }
  }

  const stopFollower = async (): Promise<void> => {
    stopping?.abort()
    const wasRunning = running
    await wasRunning
    if (running === wasRunning) {
      running = undefined
      stopping = undefined
    }
  }

  const onAbort = (): void => {
    void stopFollower()
  }

  return {
    get checkpoint() {
      return cursor
    },
    isStarted() {
      return running !== undefined
    },
    async start() {
      if (running !== undefined) return
      if (signal?.aborted === true) throw new AbortError({ cause: signal.reason })
      await load()
      const controller = new AbortController()
      stopping = controller
      signal?.addEventListener('abort', onAbort, { once: true })
      running = loop(controller.signal).finally(() => signal?.removeEventListener('abort', onAbort))
    },
    stop: stopFollower,
    async sync(options = {}) {
      const controller = new AbortController()
      const abort = (): void => controller.abort()
      options.signal?.addEventListener('abort', abort, { once: true })
      signal?.addEventListener('abort', abort, { once: true })
      try {
        await pass(controller.signal)
        if (controller.signal.aborted) throw new AbortError()
        return cursor
      } finally {
        options.signal?.removeEventListener('abort', abort)
        signal?.removeEventListener('abort', abort)
      }
    },
  }
}

/** Longest a follower goes without saving its checkpoint while it reads ranges without events. */
const SAVE_EVERY_MS = 1000

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
