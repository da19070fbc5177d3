/**
 * A proxy's re-encryption loop in a worker thread, for the throughput table of bench/umbral.bench.ts:
 * parse the capsule of each request from bytes, re-encrypt it with a kfrag verified once at start-up,
 * serialize the cfrag. Runs for `ms` milliseconds after the start message and reports how many it made.
 */
import { parentPort, workerData } from 'node:worker_threads'
import { Capsule, KeyFrag, PublicKey, reencrypt, setBackend } from '@medvault/crypto/umbral'

const { backend, capsule, kfrag, verifying, delegating, receiving } = workerData as {
  backend: 'noble' | 'wasm'
  capsule: Uint8Array
  kfrag: Uint8Array
  verifying: Uint8Array
  delegating: Uint8Array
  receiving: Uint8Array
}
setBackend(backend)
const verified = KeyFrag.fromBytes(kfrag).verify(
  PublicKey.fromCompressedBytes(verifying),
  PublicKey.fromCompressedBytes(delegating),
  PublicKey.fromCompressedBytes(receiving),
)
const port = parentPort
if (port === null) throw new Error('not a worker')
port.on('message', (ms: number) => {
  let count = 0
  const end = performance.now() + ms
  while (performance.now() < end) {
    reencrypt(Capsule.fromBytes(capsule), verified).toBytes()
    count++
  }
  port.postMessage(count)
})
port.postMessage('ready')
