/**
 * Constant memory: a 256 MiB record goes in (put from a generator) and out (a grantee's stream through the
 * proxies) with the process's resident memory growing by far less than the record. Measured in a child
 * process (large-child.ts) so nothing else in the test runner counts; the bound is asserted, not the time.
 */
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'

const MIB = 1024 * 1024
const RECORD_MIB = 256
/** Half the record: a put or read that buffered the record (or a good part of it) would exceed it. */
const BOUND = 128 * MIB

test('behavior: a 256 MiB record puts and reads (as a grantee, streamed) in constant memory', async () => {
  const { stdout } = await promisify(execFile)(
    process.execPath,
    ['--expose-gc', new URL('./large-child.ts', import.meta.url).pathname],
    { env: { ...process.env, MEDVAULT_LARGE_MIB: String(RECORD_MIB) }, maxBuffer: 1024 * 1024 },
  )
  const result = JSON.parse(stdout.trim().split('\n').at(-1)!) as {
    size: number
    bytes: number
    same: boolean
    baseline: number
    putPeak: number
    readBaseline: number
    readPeak: number
  }
  expect(result.size).toBe(RECORD_MIB * MIB)
  expect(result.bytes).toBe(RECORD_MIB * MIB)
  expect(result.same).toBe(true)
  const put = result.putPeak - result.baseline
  const read = result.readPeak - result.readBaseline
  console.log(
    `peak RSS growth: put ${Math.round(put / MIB)} MiB, read ${Math.round(read / MIB)} MiB, record ${RECORD_MIB} MiB`,
  )
  expect(put).toBeLessThan(BOUND)
  expect(read).toBeLessThan(BOUND)
}, 600_000)
