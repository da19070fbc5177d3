/**
 * Interrupted writes (abort, a throwing source, SIGKILL) leave the store readable, earlier CIDs intact and
 * pins consistent; gc then removes exactly the orphans.
 */
import { spawn } from 'node:child_process'
import { createHash, pbkdf2 } from 'node:crypto'
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { createInterface } from 'node:readline'
import { promisify } from 'node:util'
import { type CID, createStorage, type Storage } from '@medvault/storage'
import { afterEach, expect, test } from 'vitest'
import { concat, det, sha256Hex, tempDir } from './helpers.ts'

const MiB = 1_048_576
const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function persistent(): Promise<{ storage: Storage; path: string }> {
  const dir = await tempDir()
  const storage = await createStorage({ directory: dir.path })
  cleanups.push(dir.remove, () => storage.stop())
  return { storage, path: dir.path }
}

async function pins(storage: Storage): Promise<string[]> {
  const out: string[] = []
  for await (const c of storage.listPins()) out.push(c.toString())
  return out.sort()
}

/** Reads every block in the store and checks it against its CID: no torn or corrupt block anywhere. */
async function assertEveryBlockIntact(storage: Storage): Promise<number> {
  let n = 0
  for await (const { cid, bytes } of storage.helia.blockstore.getAll()) {
    const data = await concat(bytes)
    expect(createHash('sha256').update(data).digest().equals(Buffer.from(cid.multihash.digest))).toBe(true)
    n++
  }
  return n
}

async function* slow(
  source: AsyncIterable<Uint8Array>,
  onChunk: (i: number) => void,
): AsyncGenerator<Uint8Array> {
  let i = 0
  for await (const chunk of source) {
    onChunk(i++)
    yield chunk
  }
}

async function earlier(storage: Storage): Promise<CID> {
  return storage.putStream(det(2 * MiB + 3, 'earlier'))
}

test('behavior: an abort half-way through a put leaves earlier content and pins intact; gc removes the orphans', async () => {
  const { storage } = await persistent()
  const before = await earlier(storage)
  const controller = new AbortController()
  const err = await storage
    .putStream(
      slow(det(32 * MiB, 'aborted'), (i) => {
        if (i === 12) controller.abort()
      }),
      { signal: controller.signal },
    )
    .catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'AbortError' })
  expect(await pins(storage)).toEqual([before.toString()])
  expect(await sha256Hex(storage.get(before))).toEqual(await sha256Hex(det(2 * MiB + 3, 'earlier')))
  const { removed, kept } = await storage.gc()
  expect(removed).toBeGreaterThan(0)
  expect(kept).toBe(4)
  expect(await assertEveryBlockIntact(storage)).toBe(4)
})

test('behavior: a source that throws is passed through; nothing is pinned, the store stays usable', async () => {
  const { storage } = await persistent()
  const before = await earlier(storage)
  const boom = new Error('source failed')
  const err = await storage
    .putStream(
      slow(det(16 * MiB, 'throws'), (i) => {
        if (i === 5) throw boom
      }),
    )
    .catch((e: unknown) => e)
  expect(err).toBe(boom)
  expect(await pins(storage)).toEqual([before.toString()])
  // the same put, completed this time, reuses the blocks the failed one left and gets pinned
  const again = await storage.putStream(det(16 * MiB, 'throws'))
  expect(await pins(storage)).toEqual([before.toString(), again.toString()].sort())
  await storage.gc()
  expect(await sha256Hex(storage.get(again))).toEqual(await sha256Hex(det(16 * MiB, 'throws')))
})

test('behavior: gc waits for a put in progress instead of collecting its blocks', async () => {
  const { storage } = await persistent()
  let gcDone: Promise<unknown> | undefined
  const put = storage.putStream(
    slow(det(8 * MiB, 'racing-gc'), (i) => {
      if (i === 3) gcDone = storage.gc()
    }),
  )
  const cid = await put
  // gc was really started mid-put (otherwise this test would race nothing)
  expect(gcDone).toBeInstanceOf(Promise)
  // it ran after the put: nothing removed, and the put's 8 leaves and root kept
  expect(await gcDone).toEqual({ removed: 0, kept: 9 })
  expect(await storage.stat(cid)).toMatchObject({ local: true, pinned: true })
  expect(await sha256Hex(storage.get(cid))).toEqual(await sha256Hex(det(8 * MiB, 'racing-gc')))
})

test('behavior: a store reopened after stop has its blocks and pins', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const first = await createStorage({ directory: dir.path })
  const file = await earlier(first)
  const env = await first.putEnvelope({ file })
  await first.stop()
  const second = await createStorage({ directory: dir.path })
  cleanups.push(() => second.stop())
  expect(await pins(second)).toEqual([file.toString(), env.toString()].sort())
  expect(await second.getEnvelope(env)).toEqual({ file })
  expect(await second.gc()).toEqual({ removed: 0, kept: 5 })
})

test('behavior: a child SIGKILLed during a 200 MiB put leaves a consistent store that reopens', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const child = spawn(process.execPath, [join(import.meta.dirname, 'crash-child.ts'), dir.path], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise<NodeJS.Signals | null>((resolve) =>
    child.on('exit', (_code, signal) => resolve(signal)),
  )
  let early: string[] = []
  let killedAt = 0
  for await (const line of createInterface({ input: child.stdout })) {
    const [kind, ...rest] = line.split(' ')
    if (kind === 'early') early = rest
    if (kind === 'progress' && Number(rest[0]) >= 32 * MiB && killedAt === 0) {
      killedAt = Number(rest[0])
      child.kill('SIGKILL')
    }
    expect(kind).not.toBe('done')
  }
  expect(await exited, stderr).toBe('SIGKILL')
  expect(killedAt).toBeGreaterThan(0)
  expect(early).toHaveLength(2)

  const storage = await createStorage({ directory: dir.path })
  cleanups.push(() => storage.stop())
  // every block on disk, including the half-written put's, is whole
  const onDisk = await assertEveryBlockIntact(storage)
  expect(onDisk).toBeGreaterThan(6)
  expect(await pins(storage)).toEqual([...early].sort())
  expect(new TextDecoder().decode(await concat(storage.get(early[0]!)))).toBe('written before the crash')
  expect(await sha256Hex(storage.get(early[1]!))).toEqual(await sha256Hex(det(3 * MiB + 5, 'before-crash')))
  const { removed, kept } = await storage.gc()
  expect(kept).toBe(6)
  expect(removed).toBe(onDisk - 6)
  // no steno temp file (`.<block>.data.tmp`) is left behind either
  const files = await readdir(dir.path, { recursive: true })
  expect(files.filter((f) => f.endsWith('.tmp'))).toEqual([])
  // and the store takes new writes
  const after = await storage.putStream(det(4 * MiB, 'after-crash'))
  expect(await storage.stat(after)).toMatchObject({ local: true, pinned: true })
})

test('error: a block damaged on disk is refused on read, not served', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const first = await createStorage({ directory: dir.path })
  const cid = await first.putBytes(new TextEncoder().encode('one block, soon damaged'))
  await first.stop()
  const files = (await readdir(join(dir.path, 'blocks'), { recursive: true })).filter((f) =>
    f.endsWith('.data'),
  )
  expect(files).toHaveLength(1)
  const path = join(dir.path, 'blocks', files[0]!)
  const bytes = await readFile(path)
  bytes[0]! ^= 0x01
  await writeFile(path, bytes)
  const second = await createStorage({ directory: dir.path })
  cleanups.push(() => second.stop())
  const err = await concat(second.get(cid)).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'BlockVerificationError', cid: cid.toString() })
  expect((err as Error).message).toContain(
    'The copy in the local blockstore was corrupt and has been removed',
  )
  // the bad copy is gone, so the store heals: the block is missing, and putting the content again restores it
  expect(await second.stat(cid)).toMatchObject({ localBlocks: 0, pinned: true })
  await expect(concat(second.get(cid))).rejects.toMatchObject({ name: 'NotFoundError' })
  expect((await second.putBytes(new TextEncoder().encode('one block, soon damaged'))).equals(cid)).toBe(true)
  expect(new TextDecoder().decode(await concat(second.get(cid)))).toBe('one block, soon damaged')
})

test('behavior: temp files a crash left are removed when the store opens; gc leaves those of writes in flight alone', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const first = await createStorage({ directory: dir.path })
  await first.putBytes(new TextEncoder().encode('so the sub-directories exist'))
  await first.stop()
  const leftovers = [
    join(dir.path, 'blocks', '.crashed.data.tmp'),
    join(dir.path, 'datastore', '.crashed.data.tmp'),
    join(dir.path, 'datastore', '.crashed.data.4242.s.tmp'),
  ]
  for (const f of leftovers) await writeFile(f, 'half')
  const storage = await createStorage({ directory: dir.path })
  cleanups.push(() => storage.stop())
  expect((await readdir(dir.path, { recursive: true })).filter((f) => f.endsWith('.tmp'))).toEqual([])
  // a write in flight (a block fetched by a get, a libp2p peer record) has its temp file beside the target:
  // deleting it would make that write fail, so gc does not
  const inFlight = join(dir.path, 'datastore', '.in-flight.data.tmp')
  await writeFile(inFlight, 'being written')
  await storage.gc()
  expect(await readFile(inFlight, 'utf8')).toBe('being written')
})

test('behavior: small blocks and pin records are written in place: shard directories made when missing, no temp file left, all read back after reopening', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const first = await createStorage({ directory: dir.path })
  const small = await first.putBytes(new TextEncoder().encode('a small block'))
  // Shard directories removed under the store (a copy restored without its empty directories, say): the next
  // small writes find them missing and make them.
  await first.unpin(small)
  await first.gc()
  for (const sub of ['blocks', 'datastore']) {
    for (const entry of await readdir(join(dir.path, sub), { withFileTypes: true })) {
      if (entry.isDirectory() && (await readdir(join(dir.path, sub, entry.name))).length === 0) {
        await rm(join(dir.path, sub, entry.name), { recursive: true })
      }
    }
  }
  const again = await first.putBytes(new TextEncoder().encode('a small block'))
  const envelope = await first.putEnvelope({ again, note: 'x'.repeat(1000) })
  const large = await first.putStream(det(MiB + 7, 'large'))
  await first.stop()
  expect((await readdir(dir.path, { recursive: true })).filter((f) => f.endsWith('.tmp'))).toEqual([])
  const second = await createStorage({ directory: dir.path })
  cleanups.push(() => second.stop())
  expect(await pins(second)).toEqual([again.toString(), envelope.toString(), large.toString()].sort())
  expect(new TextDecoder().decode(await concat(second.get(again)))).toBe('a small block')
  expect(await second.getEnvelope(envelope)).toEqual({ again, note: 'x'.repeat(1000) })
  expect(await sha256Hex(second.get(large))).toEqual(await sha256Hex(det(MiB + 7, 'large')))
  expect(await assertEveryBlockIntact(second)).toBeGreaterThan(3)
})

test('error: a small write the disk refuses is reported, not lost: the put fails and nothing is pinned', async () => {
  const { storage, path } = await persistent()
  const bytes = new TextEncoder().encode('refused')
  const blocks = async () =>
    new Set((await readdir(join(path, 'blocks'), { recursive: true })).filter((f) => f.endsWith('.data')))
  const before = await blocks()
  const cid = await storage.putBytes(bytes)
  const [file] = [...(await blocks())].filter((f) => !before.has(f))
  expect(file).toBeDefined()
  await storage.unpin(cid)
  await storage.gc()
  // Directories where the block's temp files go: the in-place write fails, then the store's own writer.
  const parts = (file as string).split('/')
  const temps = [`.${parts.at(-1)}.${process.pid}.s.tmp`, `.${parts.at(-1)}.tmp`].map((name) =>
    join(path, 'blocks', ...parts.slice(0, -1), name),
  )
  for (const temp of temps) await mkdir(temp)
  const pinned = await pins(storage)
  await expect(storage.putBytes(bytes)).rejects.toThrow()
  expect(await pins(storage)).toEqual(pinned)
  for (const temp of temps) await rm(temp, { recursive: true })
  expect((await storage.putBytes(bytes)).equals(cid)).toBe(true)
  expect(new TextDecoder().decode(await concat(storage.get(cid)))).toBe('refused')
})

/** The pin record of `cid`: its key, as the datastore lists it, and its file. */
async function pinRecord(storage: Storage, path: string, cid: CID) {
  const keys = []
  for await (const key of storage.helia.datastore.queryKeys({ prefix: '/medvault/pins/' })) {
    if (key.toString().endsWith(cid.toString())) keys.push(key)
  }
  expect(keys).toHaveLength(1)
  const key = keys[0]!
  return { key, file: join(path, 'datastore', `${key.toString()}.data`) }
}

test('behavior: a small write does not share its temp file with an asynchronous write of the same record in flight', async () => {
  const { storage, path } = await persistent()
  const cid = await storage.putBytes(new TextEncoder().encode('pinned'))
  const { key, file } = await pinRecord(storage, path, cid)
  const record = await readFile(file)
  // The datastore's asynchronous writer (steno) is half-way through writing a larger value of the same record:
  // its temp file is open and partly written.
  const inFlight = await open(join(dirname(file), `.${basename(file)}.tmp`), 'w')
  try {
    await inFlight.write(new Uint8Array(20 * 1024).fill(1))
    await storage.helia.datastore.put(key, record)
    // the in-flight write goes on into its own file, not the one just put in place
    await inFlight.write(new Uint8Array(20 * 1024).fill(2))
  } finally {
    await inFlight.close()
  }
  expect(await readFile(file)).toEqual(record)
})

test('behavior: a datastore delete issued before a put of the same key lands first, even with the thread pool busy', async () => {
  // An unpin racing a pin of the same CID: the record must end as the later operation left it. Deletes are file
  // calls libuv runs on its thread pool, small puts synchronous: with the pool busy (other file I/O, hashing) an
  // unlink issued first could run last and take the newer record.
  const { storage, path } = await persistent()
  const cid = await storage.putBytes(new TextEncoder().encode('unpinned, pinned again'))
  const { key, file } = await pinRecord(storage, path, cid)
  const record = await readFile(file)
  const pbkdf2Async = promisify(pbkdf2)
  for (let i = 0; i < 3; i++) {
    // four tasks (the pool's default size) of a few tens of milliseconds each keep the pool busy
    const busy = Array.from({ length: 4 }, () => pbkdf2Async('busy', 'pool', 100_000, 32, 'sha256'))
    const deleted = storage.helia.datastore.delete(key)
    const put = storage.helia.datastore.put(key, record)
    await Promise.all([deleted, put, ...busy])
    expect(await storage.helia.datastore.has(key)).toBe(true)
    expect(await pins(storage)).toEqual([cid.toString()])
  }
  // and a delete of a missing record is no error
  await storage.helia.datastore.delete(key)
  await storage.helia.datastore.delete(key)
  expect(await pins(storage)).toEqual([])
})
