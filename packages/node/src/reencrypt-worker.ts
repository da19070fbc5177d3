/**
 * Entry of a re-encryption worker thread: receives jobs on its port, answers each with its outcome. The ECIES
 * secret key arrives once, in `workerData`, not with every job.
 *
 * Kept free of TypeScript-only syntax so Node can run this file from source (type stripping) as well as
 * from `dist/`.
 *
 * @module
 */
import { parentPort, workerData } from 'node:worker_threads'
import { type ReencryptJob, runReencryptJob } from './reencrypt.ts'

interface JobMessage {
  id: number
  job: ReencryptJob
}

const { eciesSecretKey } = workerData as { eciesSecretKey: Uint8Array }

parentPort?.on('message', ({ id, job }: JobMessage) => {
  let outcome: ReturnType<typeof runReencryptJob>
  try {
    outcome = runReencryptJob(eciesSecretKey, job)
  } catch {
    // runReencryptJob catches its own failures; anything else is reported without its message.
    outcome = { ok: false, failure: 'kfrag_unverified' }
  }
  parentPort?.postMessage({ id, outcome })
})
