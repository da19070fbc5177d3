/**
 * Run by large.test.ts in a child process: puts a record of MEDVAULT_LARGE_MIB MiB through the SDK from a
 * generator, then reads it back as a grantee (through the proxies) as a stream, hashing both sides, while
 * sampling the resident set size. Prints one JSON line: the RSS before and the peaks during put and read.
 */
import { createHash } from 'node:crypto'
import { createLocalNetwork } from '@medvault/sdk'

const mib = Number(process.env.MEDVAULT_LARGE_MIB ?? '256')
const CHUNK = 1024 * 1024

let peak = 0
const sample = () => {
  peak = Math.max(peak, process.memoryUsage.rss())
}
const timer = setInterval(sample, 25)

const net = await createLocalNetwork({ proxies: 2 })
try {
  const [patient, clinic] = await Promise.all([net.vault(0), net.vault(1)])
  // Warm up every path once (modules, workers, caches) before the baseline is taken.
  const warm = await patient.records.put(new Uint8Array(CHUNK))
  await patient.grants.create({
    to: clinic.address,
    records: [warm.id],
    purpose: 'TREAT',
    expiresIn: '1d',
    threshold: 2,
  })
  for await (const _ of clinic.records.stream(warm.id)) {
  }
  globalThis.gc?.()
  const baseline = process.memoryUsage.rss()
  peak = baseline

  const written = createHash('sha256')
  async function* content() {
    const chunk = new Uint8Array(CHUNK)
    for (let i = 0; i < mib; i++) {
      // Different bytes in every chunk (no dedup can help); generated, never held all at once.
      chunk.fill(i & 0xff)
      chunk[0] = i >> 8
      written.update(chunk)
      yield chunk.slice()
    }
  }
  const rec = await patient.records.put(content(), { mediaType: 'application/octet-stream' })
  sample()
  const putPeak = peak

  await patient.grants.create({
    to: clinic.address,
    records: [rec.id],
    purpose: 'TREAT',
    expiresIn: '1d',
    threshold: 2,
  })
  globalThis.gc?.()
  peak = process.memoryUsage.rss()
  const readBaseline = peak
  const read = createHash('sha256')
  let bytes = 0
  for await (const chunk of clinic.records.stream(rec.id)) {
    read.update(chunk)
    bytes += chunk.length
  }
  sample()
  console.log(
    JSON.stringify({
      mib,
      size: rec.size,
      bytes,
      same: written.digest('hex') === read.digest('hex'),
      baseline,
      putPeak,
      readBaseline,
      readPeak: peak,
    }),
  )
} finally {
  clearInterval(timer)
  await net.stop()
}
