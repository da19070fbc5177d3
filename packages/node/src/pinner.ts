/**
 * The pinner: works through the pin store's `queued` requests, a few at a time, taking each to `pinned`
 * or `failed` with `@medvault/storage`'s `pin` (which fetches every missing block from peers or gateways,
 * verifies it against its CID, then records the pin). It is the one place that pins and unpins content,
 * so a CID shared by several requests is unpinned only when its last request is gone.
 *
 * Work on one CID is serialised (pin, unpin and re-check take turns), a request removed while it pins is
 * aborted, and a failed attempt is retried with exponential backoff: up to `attempts` times for API
 * requests, for as long as it takes for owners registered with `retryForever` (the chain follower, whose
 * content may reach the network after its registration). A `prepare` hook per owner runs before each
 * attempt (the follower decodes and checks what it is about to pin there).
 *
 * @module
 */
import { CID, type CidLike, DagTooLargeError, type Storage } from '@medvault/storage'
import { errorField, type NodeLogger, silentLogger } from './logger.ts'
import type { NodeMetrics } from './metrics.ts'
import type { PinRecord, PinStore } from './pin-store.ts'

export interface PinnerInit {
  /** Pins worked on at once. Default 4. */
  concurrency?: number | undefined
  /** Attempts for a request before it is `failed` (owners with `retryForever` never stop). Default 3. */
  attempts?: number | undefined
  /** First retry delay in ms; doubles each time. Default 1000. */
  retryBaseMs?: number | undefined
  /** Longest retry delay in ms. Default 300000 (5 min). */
  retryMaxMs?: number | undefined
  /** Longest one attempt may take, in ms. Default 600000 (10 min). */
  attemptTimeoutMs?: number | undefined
  /** Longest a best-effort dial of a request's `origins` may take, in ms. Default 5000. */
  dialTimeoutMs?: number | undefined
}

export interface PinnerComponents {
  storage: Pick<Storage, 'pin' | 'unpin' | 'connect'>
  pins: PinStore
  logger?: NodeLogger | undefined
  metrics?: NodeMetrics | undefined
}

/** A failure that no retry can mend (the request becomes `failed` at once). */
export class PermanentPinError extends Error {
  override name = 'PermanentPinError' as const
  readonly reason: string

  constructor(reason: string, options?: { cause?: unknown }) {
    super(reason, options)
    this.reason = reason
  }
}

/** How the pinner treats an owner's requests. */
export interface OwnerPolicy {
  /**
   * Runs before each attempt, with the attempt's signal; throw `PermanentPinError` to fail the request. It may
   * return a byte limit for this attempt's DAG (the lower of it and the request's `meta.maxBytes` applies).
   */
  prepare?: ((record: PinRecord, signal: AbortSignal) => Promise<PreparedPin | undefined>) | undefined
  /** Retry transient failures forever (with backoff capped at `retryMaxMs`). */
  retryForever?: boolean | undefined
  /**
   * Runs once at the end of every attempt that got as far as `prepare`, however it ended: `pinned` with the bytes
   * the pin counted (the whole DAG when a byte limit applied), `failed` for good, `retry` (a retry is
   * scheduled) or `stopped` (the node stops or the request was removed); the last three with the bytes the
   * attempt's walk had counted when it ended, if it began one under a byte limit. The follower's storage
   * bounds hold what `prepare` set aside for the attempt until then.
   */
  settle?: ((record: PinRecord, outcome: PinOutcome) => void) | undefined
}

/** How one attempt ended, as `OwnerPolicy.settle` hears it. */
export type PinOutcome =
  | { status: 'pinned'; bytes: number | undefined }
  | {
      status: 'failed' | 'retry' | 'stopped'
      /**
       * The bytes of the DAG in the store as far as the attempt's walk got: every block it counted (fetched by
       * this attempt or left by an earlier one), under a byte limit only (without one, blocks already here are
       * not read). Undefined when the attempt ended before its walk began, or had no byte limit.
       */
      walked?: number | undefined
    }

/** What an owner's `prepare` learnt about a request before its pin. */
export interface PreparedPin {
  /** The most bytes the DAG may hold, e.g. taken from the block the request names (see `OwnerPolicy`). */
  maxBytes?: number | undefined
}

/** Settled requests are reported here (for replication and tests). */
export type PinSettledListener = (record: PinRecord) => void

export interface Pinner {
  start(): Promise<void>
  /** Aborts attempts in flight and waits for them; queued requests stay queued for the next start. */
  stop(): Promise<void>
  isStarted(): boolean
  /** Sets how an owner's requests (owner name, or a prefix ending in `:`) are handled. */
  policy(owner: string, policy: OwnerPolicy): void
  /** Schedules a queued request. */
  enqueue(requestid: string): void
  /** Aborts the request's attempt (if any) and drops it from the queue; resolves once it stopped. */
  cancel(requestid: string): Promise<void>
  /** Unpins the CID from storage when no request refers to it any more. */
  release(cid: CidLike): Promise<void>
  onSettled(listener: PinSettledListener): void
  /** Resolves once no request is queued, pinning or waiting for a retry (tests, `sync` jobs). */
  idle(): Promise<void>
  /** Requests waiting for a retry. */
  readonly retrying: number
}

export function createPinner(init: PinnerInit, components: PinnerComponents): Pinner {
  return new PinQueue(init, components)
}

interface Job {
  controller: AbortController
  done: Promise<void>
}

class PinQueue implements Pinner {
  readonly #concurrency: number
  readonly #attempts: number
  readonly #retryBaseMs: number
  readonly #retryMaxMs: number
  readonly #attemptTimeoutMs: number
  readonly #dialTimeoutMs: number
  readonly #components: PinnerComponents
  readonly #log: NodeLogger
  readonly #policies = new Map<string, OwnerPolicy>()
  // Requests waiting for a slot, in arrival order: a FIFO with a moving head, since `Array.shift` copies the
  // whole array once it is large (a catch-up queues every record on chain at once). `#queued` is the truth:
  // an entry of `#queue` that is no longer in it was cancelled and is skipped.
  #queue: string[] = []
  #head = 0
  readonly #queued = new Set<string>()
  /** Status writes of settled attempts still being flushed (see `#attempt`). */
  #writes = 0
  readonly #jobs = new Map<string, Job>()
  readonly #timers = new Map<string, NodeJS.Timeout>()
  readonly #tries = new Map<string, number>()
  readonly #cidTurns = new Map<string, Promise<void>>()
  readonly #listeners: PinSettledListener[] = []
  #idleWaiters: Array<() => void> = []
  #started = false

  constructor(init: PinnerInit, components: PinnerComponents) {
    this.#concurrency = init.concurrency ?? 4
    this.#attempts = init.attempts ?? 3
    this.#retryBaseMs = init.retryBaseMs ?? 1000
    this.#retryMaxMs = init.retryMaxMs ?? 300_000
    this.#attemptTimeoutMs = init.attemptTimeoutMs ?? 600_000
    this.#dialTimeoutMs = init.dialTimeoutMs ?? 5000
    this.#components = components
    this.#log = components.logger ?? silentLogger()
  }

  get retrying(): number {
    return this.#timers.size
  }

  isStarted(): boolean {
    return this.#started
  }

  policy(owner: string, policy: OwnerPolicy): void {
    this.#policies.set(owner, policy)
  }

  onSettled(listener: PinSettledListener): void {
    this.#listeners.push(listener)
  }

  async start(): Promise<void> {
    if (this.#started) return
    this.#started = true
    // Whatever was queued or pinning when the node stopped (or died) is taken up again.
    for (const record of this.#components.pins.all()) {
      if (record.status === 'queued' || record.status === 'pinning') this.enqueue(record.requestid)
    }
    this.#pump()
  }

  async stop(): Promise<void> {
    if (!this.#started) return
    this.#started = false
    for (const timer of this.#timers.values()) clearTimeout(timer)
    this.#timers.clear()
    this.#queue = []
    this.#head = 0
    this.#queued.clear()
    const jobs = [...this.#jobs.values()]
    for (const job of jobs) job.controller.abort(new Error('the node is stopping'))
    await Promise.allSettled(jobs.map((j) => j.done))
    await Promise.allSettled([...this.#cidTurns.values()])
    this.#notifyIdle()
  }

  enqueue(requestid: string): void {
    if (!this.#started || this.#queued.has(requestid) || this.#jobs.has(requestid)) return
    if (this.#timers.has(requestid)) return
    this.#queued.add(requestid)
    this.#queue.push(requestid)
    this.#pump()
  }

  async cancel(requestid: string): Promise<void> {
    const timer = this.#timers.get(requestid)
    if (timer !== undefined) {
      clearTimeout(timer)
      this.#timers.delete(requestid)
    }
    this.#queued.delete(requestid)
    this.#tries.delete(requestid)
    const job = this.#jobs.get(requestid)
    if (job !== undefined) {
      job.controller.abort(new Error('the pin request was removed'))
      await job.done.catch(() => {})
    }
    this.#notifyIdle()
  }

  async release(cidLike: CidLike): Promise<void> {
    const cid = typeof cidLike === 'string' ? CID.parse(cidLike) : cidLike
    const key = cid.toV1().toString()
    await this.#turn(key, async () => {
      if (this.#components.pins.byKey(key).length > 0) return
      await this.#components.storage.unpin(cid)
    })
  }

  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve()
    return new Promise((resolve) => this.#idleWaiters.push(resolve))
  }

  #isIdle(): boolean {
    return this.#queued.size === 0 && this.#jobs.size === 0 && this.#timers.size === 0 && this.#writes === 0
  }

  #notifyIdle(): void {
    if (!this.#isIdle()) return
    const waiters = this.#idleWaiters
    this.#idleWaiters = []
    for (const resolve of waiters) resolve()
  }

  #policyFor(owner: string): OwnerPolicy {
    const exact = this.#policies.get(owner)
    if (exact !== undefined) return exact
    for (const [name, policy] of this.#policies)
      if (name.endsWith(':') && owner.startsWith(name)) return policy
    return {}
  }

  #next(): string | undefined {
    while (this.#head < this.#queue.length) {
      const requestid = this.#queue[this.#head]!
      this.#head++
      if (this.#head >= 1024 && this.#head * 2 >= this.#queue.length) {
        this.#queue = this.#queue.slice(this.#head)
        this.#head = 0
      }
      if (this.#queued.delete(requestid)) return requestid
    }
    return undefined
  }

  #pump(): void {
    while (this.#started && this.#jobs.size < this.#concurrency && this.#queued.size > 0) {
      const requestid = this.#next()
      if (requestid === undefined) break
      const controller = new AbortController()
      const job: Job = { controller, done: Promise.resolve() }
      this.#jobs.set(requestid, job)
      job.done = this.#attempt(requestid, controller.signal).finally(() => {
        this.#jobs.delete(requestid)
        this.#pump()
        this.#notifyIdle()
      })
    }
  }

  /** One CID's work runs in turn with the other work on the same CID. */
  #turn(key: string, fn: () => Promise<void>): Promise<void> {
    const previous = this.#cidTurns.get(key) ?? Promise.resolve()
    const next = previous.catch(() => {}).then(fn)
    const settled = next.catch(() => {})
    this.#cidTurns.set(key, settled)
    void settled.then(() => {
      if (this.#cidTurns.get(key) === settled) this.#cidTurns.delete(key)
    })
    return next
  }

  async #attempt(requestid: string, signal: AbortSignal): Promise<void> {
    const { pins, storage } = this.#components
    const record = pins.get(requestid)
    if (record === undefined || record.status === 'pinned' || record.status === 'failed') return
    const policy = this.#policyFor(record.owner)
    // A timer of our own, cleared when the attempt ends: `AbortSignal.timeout` + `AbortSignal.any` would keep
    // every attempt's signals and listeners alive for the whole timeout, which a catch-up of 100,000 records
    // turns into hundreds of thousands of live objects.
    const attempt = new AbortController()
    const forward = (): void => attempt.abort(signal.reason)
    if (signal.aborted) forward()
    else signal.addEventListener('abort', forward, { once: true })
    const timer = setTimeout(
      () => attempt.abort(new DOMException('the pin attempt timed out', 'TimeoutError')),
      this.#attemptTimeoutMs,
    )
    timer.unref()
    const attemptSignal = attempt.signal
    let outcome: PinOutcome = { status: 'stopped' }
    let ranPrepare = false
    // Under a byte limit, what the walk has counted so far (see PinOutcome): an attempt that ends early tells
    // the owner's `settle` how much of the DAG is in the store.
    let walked: number | undefined
    try {
      await pins.setStatus(requestid, 'pinning')
      ranPrepare = true
      const prepared = await policy.prepare?.(record, attemptSignal)
      await this.#dialOrigins(record, attemptSignal)
      let blocks = 0
      let bytes: number | undefined
      const maxBytes = lowerLimit(byteLimitOf(record), prepared?.maxBytes)
      await this.#turn(record.key, async () => {
        if (pins.get(requestid) === undefined) return
        if (maxBytes !== undefined) walked = 0
        // A DAG larger than its request allows is stopped as it is fetched, not after: whoever made the
        // request (an envelope on chain that anyone can register) must not make this node store more. The
        // storage counts every block, those an earlier, cut-off attempt left in the store included.
        await storage.pin(record.cid, {
          signal: attemptSignal,
          ...(maxBytes === undefined ? {} : { maxBytes }),
          onProgress: (event) => {
            blocks = event.blocks
            bytes = event.bytes
            if (maxBytes !== undefined) walked = event.bytes
          },
        })
      })
      if (pins.get(requestid) === undefined) {
        // Removed while it pinned: the content stays only if another request wants it.
        await this.release(record.cid)
        return
      }
      // The block and byte counts come from the pin's own walk: a `stat` here would read the whole DAG again.
      // With a byte limit every block counts, so `bytes` is the whole DAG (what storage bounds charge).
      outcome = { status: 'pinned', bytes: maxBytes === undefined ? undefined : bytes }
      const durable = pins.setStatus(
        requestid,
        'pinned',
        blocks > 0
          ? {
              blocks: String(blocks),
              ...(bytes === undefined || maxBytes === undefined ? {} : { bytes: String(bytes) }),
            }
          : undefined,
      )
      this.#tries.delete(requestid)
      this.#components.metrics?.pinOutcomes.inc({ outcome: 'pinned' })
      this.#log.info({ requestid, cid: record.key, owner: record.owner }, 'pinned')
      // The slot is free before the status is on disk: the pin itself is in storage already, and a crash
      // before the line lands leaves the request `queued`, pinned again (idempotently) after the restart.
      // Waiting here would make every slot sit through a flush per pin. Listeners (replication, tests) hear
      // of it only once the status is durable, and `idle()` waits for it.
      this.#afterWrite(durable, () => this.#settled(requestid))
    } catch (err) {
      if (signal.aborted) {
        // Stopping or removed: a stop leaves it queued for the next start.
        outcome = { status: 'stopped', walked }
        if (pins.get(requestid)?.status === 'pinning')
          await pins.setStatus(requestid, 'queued').catch(() => {})
        return
      }
      outcome = { status: await this.#failed(requestid, record, policy, asPermanent(err)), walked }
    } finally {
      clearTimeout(timer)
      signal.removeEventListener('abort', forward)
      if (ranPrepare) this.#settle(policy, record, outcome)
    }
  }

  #afterWrite(durable: Promise<void>, then: () => void): void {
    this.#writes++
    durable
      .then(then, (err: unknown) => {
        // The pin store refuses every later change after a failed flush; the request is retried after a restart.
        this.#log.error({ error: errorField(err) }, 'pin status not saved')
      })
      .finally(() => {
        this.#writes--
        this.#notifyIdle()
      })
  }

  #settle(policy: OwnerPolicy, record: PinRecord, outcome: PinOutcome): void {
    try {
      policy.settle?.(record, outcome)
    } catch (err) {
      this.#log.error({ error: errorField(err) }, 'pin settle hook failed')
    }
  }

  /** Marks a failed attempt `failed` for good or schedules its retry; says which (`stopped`: removed). */
  async #failed(
    requestid: string,
    record: PinRecord,
    policy: OwnerPolicy,
    err: unknown,
  ): Promise<'failed' | 'retry' | 'stopped'> {
    const { pins } = this.#components
    if (pins.get(requestid) === undefined) return 'stopped'
    const reason = describeFailure(err)
    const tries = (this.#tries.get(requestid) ?? 0) + 1
    this.#tries.set(requestid, tries)
    const permanent = err instanceof PermanentPinError || isPermanentStorageError(err)
    if (permanent || (!policy.retryForever && tries >= this.#attempts)) {
      this.#tries.delete(requestid)
      await pins.setStatus(requestid, 'failed', { status_details: reason })
      this.#components.metrics?.pinOutcomes.inc({ outcome: 'failed' })
      this.#log.warn({ requestid, cid: record.key, owner: record.owner, reason }, 'pin failed')
      this.#settled(requestid)
      return 'failed'
    }
    const delay = Math.min(this.#retryMaxMs, this.#retryBaseMs * 2 ** Math.min(tries - 1, 30))
    await pins.setStatus(requestid, 'queued', {
      status_details: `attempt ${tries} failed (${reason}); retrying in ${Math.ceil(delay / 1000)} s`,
    })
    this.#components.metrics?.pinOutcomes.inc({ outcome: 'retry' })
    this.#log.info({ requestid, cid: record.key, owner: record.owner, reason, delayMs: delay }, 'pin retry')
    if (!this.#started) return 'retry'
    const timer = setTimeout(() => {
      this.#timers.delete(requestid)
      this.enqueue(requestid)
    }, delay)
    timer.unref()
    this.#timers.set(requestid, timer)
    return 'retry'
  }

  async #dialOrigins(record: PinRecord, signal: AbortSignal): Promise<void> {
    if (record.origins === undefined || record.origins.length === 0) return
    // Best effort, as the spec asks: an origin that cannot be dialled does not fail the pin.
    const dialSignal = AbortSignal.any([signal, AbortSignal.timeout(this.#dialTimeoutMs)])
    await Promise.allSettled(
      record.origins.map((origin) => this.#components.storage.connect(origin, { signal: dialSignal })),
    )
  }

  #settled(requestid: string): void {
    const record = this.#components.pins.get(requestid)
    if (record === undefined) return
    for (const listener of this.#listeners) {
      try {
        listener(record)
      } catch (err) {
        this.#log.error({ error: errorField(err) }, 'pin listener failed')
      }
    }
  }
}

/** The storage's refusal of a DAG over its request's byte limit, as the line `status_details` shows. */
function asPermanent(err: unknown): unknown {
  if (err instanceof DagTooLargeError) {
    return new PermanentPinError(`the DAG is larger than this request allows (over ${err.maxBytes} bytes)`, {
      cause: err,
    })
  }
  return err
}

/** Errors of the content store that no retry can mend. */
function isPermanentStorageError(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name
  return (
    name === 'UnverifiableCidError' ||
    name === 'UnsupportedCodecError' ||
    name === 'InvalidCidError' ||
    name === 'DagTooWideError' ||
    name === 'InlineDagTooDeepError'
  )
}

/** A failure as the one line shown in `info.status_details`: error names and CIDs, nothing else. */
function describeFailure(err: unknown): string {
  if (err instanceof PermanentPinError) return err.reason
  if (err instanceof Error) {
    const short = (err as { shortMessage?: unknown }).shortMessage
    const text = typeof short === 'string' ? `${err.name}: ${short}` : err.name
    return text.length > 240 ? `${text.slice(0, 237)}...` : text
  }
  return 'unknown error'
}

function lowerLimit(a: number | undefined, b: number | undefined): number | undefined {
  if (a === undefined) return b
  if (b === undefined) return a
  return Math.min(a, b)
}

/**
 * The byte limit a request carries in `meta.maxBytes` (set by the chain follower from the envelope that
 * asked for the content), or undefined for none.
 */
export function byteLimitOf(record: PinRecord): number | undefined {
  const text = record.meta?.maxBytes
  if (text === undefined || !/^\d{1,15}$/.test(text)) return undefined
  return Number(text)
}
