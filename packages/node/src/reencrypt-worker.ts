/**
 * Entry of a re-encryption worker thread: receives jobs on its port, answers each with its outcome. The ECIES
 * secret key arrives once, in `workerData`, not with every job. Opened, verified kfrags stay in this thread's
 * cache (see `VerifiedKfragCache`); `{ forget: grantId }` drops a revoked grant's.
 *
 * Kept free of TypeScript-only syntax so Node can run this file from source (type stripping) as well as
 * from `dist/`.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import { type ReencryptJob, runReencryptJob, VerifiedKfragCache } from './reencrypt.ts'

type Message = { id: number; job: ReencryptJob } | { forget: string } | { count: number }

const { eciesSecretKey, cacheSize } = workerData as { eciesSecretKey: Uint8Array; cacheSize: number }
const cache = cacheSize > 0 ? new VerifiedKfragCache(cacheSize) : undefined

parentPort?.on('message', (message: Message) => {
  if ('forget' in message) {
    cache?.forget(message.forget)
    return
  }
  if ('count' in message) {
    parentPort?.postMessage({ count: message.count, cached: cache?.size ?? 0 })
    return
  }
  const { id, job } = message
  let outcome: ReturnType<typeof runReencryptJob>
  try {
    outcome = runReencryptJob(eciesSecretKey, job, cache)
  } catch {
    // runReencryptJob catches its own failures; anything else is reported without its message.
    outcome = { ok: false, failure: 'kfrag_unverified' }
  }
  parentPort?.postMessage({ id, outcome })
})
