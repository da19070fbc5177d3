import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { readdir, readFile, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { tcp } from '@libp2p/tcp'
import { webSockets } from '@libp2p/websockets'
import { MemoryBlockstore } from 'blockstore-core'
import { FsBlockstore } from 'blockstore-fs'
import { NextToLast } from 'blockstore-fs/sharding'
import { MemoryDatastore } from 'datastore-core'
import { FsDatastore } from 'datastore-fs'
import type { Key } from 'interface-datastore'
import type { CID } from 'multiformats/cid'
import { lockDirectory } from './directory-lock.ts'
import type { Platform } from './platform.ts'

/** Node: blocks and the datastore on disk under `directory` (locked while open) or in memory; TCP and WebSockets. */
export const nodePlatform: Platform = {
  stores(init) {
    if (init.indexedDB !== undefined) {
      throw new TypeError(
        'createStorage: `indexedDB` is for browsers; in Node keep blocks on disk with `directory`.',
      )
    }
    if (init.directory !== undefined) {
      return {
        blocks: new WholeFileBlockstore(join(init.directory, 'blocks')),
        datastore: new SmallWriteDatastore(join(init.directory, 'datastore')),
      }
    }
    return { blocks: new MemoryBlockstore(), datastore: new MemoryDatastore() }
  },
  async claim(init) {
    if (init.directory === undefined) return undefined
    const unlock = await lockDirectory(init.directory)
    // Only here, with the directory locked and nothing started, can a temp file be known stale: later one
    // may belong to a write in flight (a block fetched by a get, a libp2p peer record) that gc's lock does
    // not cover.
    await removeStaleTempFiles(init.directory)
    return unlock
  },
  transports: () => [tcp(), webSockets()],
  defaultListen: ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'],
}

/**
 * blockstore-fs and datastore-fs write through `steno`: bytes go to `.<name>.tmp` beside the target, then a
 * rename puts them in place, so a crash never leaves a torn block under its real name. It can leave the
 * temp file, which nothing else removes: `start()` does.
 */
async function removeStaleTempFiles(directory: string): Promise<void> {
  for (const sub of ['blocks', 'datastore']) {
    let entries: string[]
    try {
      entries = await readdir(join(directory, sub), { recursive: true })
    } catch {
      continue
    }
    for (const entry of entries) {
      const base = entry.split('/').pop() ?? ''
      if (base.startsWith('.') && base.endsWith('.tmp')) {
        await unlink(join(directory, sub, entry)).catch(() => {})
      }
    }
  }
}

/**
 * Files up to this size (envelopes, kfrag bundles, pin records, directory and file roots) are written with
 * synchronous calls; larger ones (content leaves) through the stores' own asynchronous writer.
 */
const SMALL_WRITE = 16 * 1024

/**
 * Writes a small file as blockstore-fs and datastore-fs do (the bytes to `.<name>.tmp` beside it, then a rename,
 * so a crash never leaves a torn file under its real name, and start-up removes a stale temp file), but with
 * synchronous calls. Each asynchronous file call is a round trip through libuv's thread pool, and the stores make
 * four or five per file (mkdir, open, write, close, rename): a few hundred microseconds per small file, against
 * some sixty for the same calls made in place (no fsync either way, so they only reach the page cache). A put
 * writes four small files (content, envelope and a pin record for each). The directory is made only when the
 * write finds it missing.
 *
 * False (nothing thrown) when any call fails: the caller then writes through the asynchronous writer, which
 * retries a rename the platform refused (a file held open by another process on Windows) and reports errors its
 * own way.
 */
function writeSmall(file: string, bytes: Uint8Array): boolean {
  const directory = dirname(file)
  const temp = join(directory, `.${basename(file)}.tmp`)
  try {
    try {
      writeFileSync(temp, bytes)
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code !== 'ENOENT') throw err
      mkdirSync(directory, { recursive: true })
      writeFileSync(temp, bytes)
    }
    renameSync(temp, file)
    return true
  } catch {
    return false
  }
}

/** datastore-fs with small values (pin records and the like, all of them in practice) written in place. */
class SmallWriteDatastore extends FsDatastore {
  override async put(key: Key, value: Uint8Array, options?: { signal?: AbortSignal }): Promise<Key> {
    if (value.byteLength <= SMALL_WRITE) {
      options?.signal?.throwIfAborted()
      if (writeSmall(this._encode(key).file, value)) return key
    }
    return super.put(key, value, options)
  }
}

/**
 * blockstore-fs reads a block through a file read stream, which allocates a 64 KiB buffer per read however
 * small the block: envelopes and kfrag bundles are a few hundred bytes, and reading one cost more in
 * allocation and garbage collection than in I/O. A block is at most a few MiB and is wanted whole (it is
 * hashed before use), so it is read whole, in one buffer of its own size.
 */
class WholeFileBlockstore extends FsBlockstore {
  // blockstore-fs's own default, kept here too: its field is private, and both must map a CID to one path.
  readonly #sharding: NextToLast

  constructor(location: string) {
    const sharding = new NextToLast()
    super(location, { shardingStrategy: sharding })
    this.#sharding = sharding
  }

  override async put(key: CID, value: Uint8Array, options?: { signal?: AbortSignal }): Promise<CID> {
    if (value.byteLength <= SMALL_WRITE) {
      options?.signal?.throwIfAborted()
      const { dir, file } = this.#sharding.encode(key)
      if (writeSmall(join(this.path, dir, file), value)) return key
    }
    return super.put(key, value, options)
  }

  override async *get(key: CID, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    const { dir, file } = this.#sharding.encode(key)
    let bytes: Uint8Array
    try {
      bytes = await readFile(
        join(this.path, dir, file),
        options?.signal === undefined ? {} : { signal: options.signal },
      )
    } catch (err) {
      if ((err as { name?: unknown } | null)?.name === 'AbortError') throw err
      // The name the stores' callers (Helia, this package's reader) test for, as blockstore-fs's own error has.
      throw Object.assign(new Error('Block not found in the file system store.', { cause: err }), {
        name: 'NotFoundError',
      })
    }
    yield bytes
  }
}
