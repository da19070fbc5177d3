/**
 * A fixed pool of worker threads for Umbral re-encryption, so curve arithmetic never blocks the proxy's
 * event loop (health checks, refusals and other requests keep being answered while a cfrag is computed).
 *
 * @module
 */
import { availableParallelism } from 'node:os'
import { Worker } from 'node:worker_threads'
import { ReencryptionWorkerError, WorkerPoolClosedError } from './errors.ts'
import type { ReencryptJob, ReencryptOutcome } from './reencrypt.ts'

export interface WorkerPoolInit {
  /** Number of threads. Default: the number of cores (`os.availableParallelism()`). */
  size?: number | undefined
  /** This proxy's ECIES secret key (32 bytes), handed to each thread once. */
  eciesSecretKey: Uint8Array
  /** Opened, verified kfrags each thread keeps (least recently used out); 0 turns the cache off. Default 4096. */
  kfragCacheSize?: number | undefined
}

export interface WorkerPool {
  readonly size: number
  /** Runs one job on the least busy thread. */
  run(job: ReencryptJob): Promise<ReencryptOutcome>
  /** Drops the grant's opened kfrags from every thread's cache (it was revoked). */
  forget(grantId: string): void
  /** How many opened kfrags the threads hold in all (after every message sent before this call). */
  cachedKfrags(): Promise<number>
  /** Terminates every thread; jobs still running are rejected with {@link WorkerPoolClosedError}. */
  close(): Promise<void>
}

interface Pending {
  resolve: (outcome: ReencryptOutcome) => void
  reject: (error: Error) => void
}

interface Slot {
  worker: Worker
  pending: Map<number, Pending>
  counts: Map<number, (cached: number) => void>
}

// From source (tests, `node file.ts`) the worker is the .ts file, which Node runs by stripping types; from
// dist/ it is the compiled .js next to this module.
const workerUrl = new URL(
  import.meta.url.endsWith('.ts') ? './reencrypt-worker.ts' : './reencrypt-worker.js',
  import.meta.url,
)

/** Starts `size` re-encryption threads. */
export function createWorkerPool(init: WorkerPoolInit): WorkerPool {
  const size = init.size ?? availableParallelism()
  const secret = Uint8Array.from(init.eciesSecretKey)
  const cacheSize = init.kfragCacheSize ?? 4096
  let nextId = 0
  let closed = false

  const spawn = (): Slot => {
    const slot: Slot = {
      worker: new Worker(workerUrl, { workerData: { eciesSecretKey: secret, cacheSize } }),
      pending: new Map(),
      counts: new Map(),
    }
    slot.worker.on(
      'message',
      (message: { id: number; outcome: ReencryptOutcome } | { count: number; cached: number }) => {
        if ('count' in message) {
          slot.counts.get(message.count)?.(message.cached)
          slot.counts.delete(message.count)
          return
        }
        const pending = slot.pending.get(message.id)
        slot.pending.delete(message.id)
        pending?.resolve(message.outcome)
      },
    )
    // The error's own message could come from inside the worker: it is replaced, not forwarded.
    slot.worker.on('error', () => fail(slot, 'the thread threw'))
    slot.worker.on('exit', (code) => fail(slot, `the thread exited with code ${code}`))
    return slot
  }

  const fail = (slot: Slot, reason: string): void => {
    for (const pending of slot.pending.values()) {
      pending.reject(closed ? new WorkerPoolClosedError() : new ReencryptionWorkerError({ reason }))
    }
    slot.pending.clear()
    // A thread that died took its cache with it.
    for (const answer of slot.counts.values()) answer(0)
    slot.counts.clear()
    const i = slots.indexOf(slot)
    if (i >= 0 && !closed) slots[i] = spawn()
  }

  const slots: Slot[] = Array.from({ length: size }, spawn)

  return {
    size,
    run(job) {
      if (closed) return Promise.reject(new WorkerPoolClosedError())
      const slot = slots.reduce((a, b) => (b.pending.size < a.pending.size ? b : a))
      const id = nextId++
      return new Promise<ReencryptOutcome>((resolve, reject) => {
        slot.pending.set(id, { resolve, reject })
        slot.worker.postMessage({ id, job })
      })
    },
    forget(grantId) {
      if (closed) return
      for (const slot of slots) slot.worker.postMessage({ forget: grantId })
    },
    async cachedKfrags() {
      if (closed) return 0
      const counts = await Promise.all(
        slots.map(
          (slot) =>
            new Promise<number>((resolve) => {
              const count = nextId++
              slot.counts.set(count, resolve)
              slot.worker.postMessage({ count })
            }),
        ),
      )
      return counts.reduce((a, b) => a + b, 0)
    },
    async close() {
      if (closed) return
      closed = true
      await Promise.all(slots.map((slot) => slot.worker.terminate()))
      secret.fill(0)
    },
  }
}
