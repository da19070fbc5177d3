/**
 * @medvault/storage against Helia's own UnixFS in the same run.
 *
 * 1. putStream / get of 256 MiB through `createStorage` vs `unixfs(helia).addByteStream` / `cat` on a bare
 *    Helia node with the same kind of blockstore (blockstore-fs in a temp dir) and the same import settings.
 *    Reported as a ratio of throughputs (≥ 0.95 means the wrapper costs under 5 %).
 * 2. Peak RSS of a 64 MiB and a 1 GiB putStream, each in its own child process: constant memory means the
 *    two figures are close. The 1 GiB input is Kubo's `det(1 GiB, "v1-2025-seed")`, whose unixfs-v1-2025
 *    CID Kubo's tests assert, so the run doubles as that known-answer check.
 *
 * Run: `npx -y pnpm@10 exec node bench/storage.bench.ts` (build @medvault/storage first).
 */
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unixfs } from '@helia/unixfs'
import { createStorage } from '@medvault/storage'
import { FsBlockstore } from 'blockstore-fs'
import { createHeliaLight } from 'helia'
import { det } from '../test/storage/helpers.ts'
import { peakRssMiB, printTable, type Row, type Table, writeResults } from './lib.ts'

const MiB = 1_048_576
const KUBO_1GIB_CID = 'bafybeihmf37wcuvtx4hpu7he5zl5qaf2ineo2lqlfrapokkm5zzw7zyhvm'

if (process.argv[2] === 'rss-child') {
  // Child mode: one put of `size` bytes into a fresh persistent store, then report peak RSS and the CID.
  const size = Number(process.argv[3])
  const dir = mkdtempSync(join(tmpdir(), 'medvault-bench-rss-'))
  try {
    const storage = await createStorage({ directory: dir })
    const base = peakRssMiB()
    const start = performance.now()
    const cid = await storage.putStream(det(size, 'v1-2025-seed'))
    const ms = performance.now() - start
    await storage.stop()
    process.stdout.write(`${JSON.stringify({ cid: cid.toString(), peak: peakRssMiB(), base, ms })}\n`)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
  process.exit(0)
}

const SIZE = 256 * MiB
const ROUNDS = 5

async function drain(source: AsyncIterable<Uint8Array>): Promise<number> {
  let n = 0
  for await (const chunk of source) n += chunk.byteLength
  return n
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)]!
}

async function time(fn: () => Promise<unknown>): Promise<number> {
  const start = performance.now()
  await fn()
  return performance.now() - start
}

const dirs: string[] = []
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'medvault-bench-'))
  dirs.push(d)
  return d
}

try {
  const blockstore = new FsBlockstore(join(tmp(), 'blocks'))
  await blockstore.open()
  const helia = await createHeliaLight({ blockstore })
  await helia.start()
  const fs = unixfs(helia)
  const storage = await createStorage({ directory: tmp() })
  const unverified = await createStorage({ directory: tmp(), verifyLocalBlocks: false })

  const samples: Record<string, number[]> = {}
  const add = (k: string, ms: number) => {
    samples[k] ??= []
    samples[k].push(ms)
  }
  // Interleaved rounds so that machine noise (2 shared cores) hits both sides alike.
  for (let round = 0; round < ROUNDS; round++) {
    const seed = `bench-${round}`
    let heliaCid: unknown
    let ourCid: unknown
    let rawCid: unknown
    // The order rotates every round: a put that follows another one competes with the kernel writing back
    // the first one's 256 MiB of dirty pages, a bias that would otherwise always fall on the same side.
    const puts: Array<[string, () => Promise<void>]> = [
      [
        'helia put',
        async () => {
          heliaCid = await fs.addByteStream(det(SIZE, seed))
        },
      ],
      [
        'storage put',
        async () => {
          ourCid = await storage.putStream(det(SIZE, seed))
        },
      ],
      [
        'storage put (no verify)',
        async () => {
          rawCid = await unverified.putStream(det(SIZE, seed))
        },
      ],
    ]
    for (let i = 0; i < puts.length; i++) {
      const [name, put] = puts[(round + i) % puts.length]!
      add(name, await time(put))
    }
    if (String(heliaCid) !== String(ourCid) || String(ourCid) !== String(rawCid)) {
      throw new Error('CIDs differ between Helia and @medvault/storage')
    }
    add('helia get', await time(async () => drain(fs.cat(heliaCid as never))))
    add('storage get', await time(async () => drain(storage.get(String(ourCid)))))
    add('storage get (no verify)', await time(async () => drain(unverified.get(String(ourCid)))))
  }
  await storage.stop()
  await unverified.stop()
  await helia.stop()

  const mibps = (k: string) => SIZE / MiB / (median(samples[k]!) / 1000)
  const rows: Row[] = []
  for (const op of ['put', 'get']) {
    const baseline = mibps(`helia ${op}`)
    rows.push({
      operation: `${op} 256 MiB`,
      implementation: 'helia unixfs (baseline)',
      'MiB/s': baseline,
      ratio: 1,
    })
    for (const impl of [`storage ${op}`, `storage ${op} (no verify)`]) {
      rows.push({
        operation: `${op} 256 MiB`,
        implementation: impl.replace(`storage ${op}`, '@medvault/storage'),
        'MiB/s': mibps(impl),
        ratio: mibps(impl) / baseline,
      })
    }
  }
  const throughput: Table = {
    title: 'putStream / get, 256 MiB, blockstore-fs, median of 5 interleaved rounds',
    rows,
    notes: [
      'ratio = throughput / Helia baseline; target ≥ 0.95. "no verify" = verifyLocalBlocks: false (default re-hashes every block read).',
      'storage put also writes its pin record (default pin: true); the CIDs of all three are checked equal.',
    ],
  }
  printTable(throughput)

  const rss: Row[] = []
  for (const size of [64 * MiB, 1024 * MiB]) {
    const res = spawnSync(process.execPath, [import.meta.filename, 'rss-child', String(size)], {
      encoding: 'utf8',
    })
    if (res.status !== 0) throw new Error(`rss child failed: ${res.stderr}`)
    const out = JSON.parse(res.stdout.trim().split('\n').at(-1)!) as {
      cid: string
      peak: number
      base: number
      ms: number
    }
    rss.push({
      put: `${size / MiB} MiB`,
      'peak RSS MiB': out.peak,
      'RSS before put MiB': out.base,
      'MiB/s': size / MiB / (out.ms / 1000),
      cid: out.cid,
      ...(size === 1024 * MiB ? { 'matches Kubo': String(out.cid === KUBO_1GIB_CID) } : {}),
    })
  }
  const flat: Table = {
    title: 'Peak RSS of one putStream in a fresh process (constant memory means both rows are close)',
    rows: rss,
    notes: [
      `peak ratio 1 GiB / 64 MiB = ${(Number(rss[1]!['peak RSS MiB']) / Number(rss[0]!['peak RSS MiB'])).toFixed(2)}`,
      `1 GiB input = det(1 GiB, "v1-2025-seed"); Kubo's unixfs-v1-2025 CID for it: ${KUBO_1GIB_CID}`,
    ],
  }
  printTable(flat)
  console.log(`\nresults: ${writeResults('storage', [throughput, flat])}`)
} finally {
  for (const d of dirs) rmSync(d, { recursive: true, force: true })
}
