import { constants, mkdirSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { type FileHandle, open, readdir, unlink } from 'node:fs/promises'
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
import { BlockReadError, BlockTooLargeError } from './errors.ts'
import type { Platform } from './platform.ts'
import { cidLabel, MAX_BLOCK_SIZE } from './verify.ts'

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
 * Writes a small file as blockstore-fs and datastore-fs do (the bytes to a temp file beside it, then a rename,
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
  // Not steno's `.<name>.tmp`: a write through the asynchronous writer to the same file may be in flight (a
  // datastore value that crossed SMALL_WRITE, a fallback), and sharing its temp file would truncate and rename its
  // inode mid-write, so the file could end up a mix of both values. Still `.….tmp`, so start-up removes a leftover.
  const temp = join(directory, `.${basename(file)}.${process.pid}.s.tmp`)
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

/**
 * Whether a regular file is there and at most `maxBytes` long, with one synchronous `stat`: Helia asks `has` before
 * every block it puts and the store before every link it pins, and, like the small writes above, a call made in
 * place costs a few microseconds where a round trip through the thread pool costs a hundred or more. Missing
 * (ENOENT, ENOTDIR) or not reachable: absent, as blockstore-fs and datastore-fs answer. A named pipe, a socket or a
 * device is absent too: the stores write only regular files, a read refuses it, and its size says nothing (a pipe's
 * is 0), so a put writes over it (a rename replaces it). A directory is left present, as before: a rename cannot
 * replace it, so counting it absent would only turn a put that skips the block into one that fails, with
 * blockstore-fs's error, whose message names the file's path. Symbolic links are followed, as the reads follow them.
 */
function presentAtMost(file: string, maxBytes: number): boolean {
  try {
    const found = statSync(file, { throwIfNoEntry: false })
    if (found === undefined) return false
    return found.isDirectory() || (found.isFile() && found.size <= maxBytes)
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

  override async has(key: Key, options?: { signal?: AbortSignal }): Promise<boolean> {
    options?.signal?.throwIfAborted()
    return presentAtMost(this._encode(key).file, Number.MAX_SAFE_INTEGER)
  }

  /**
   * Deletes in place, as `put` writes: datastore-fs's delete is a `fs.unlink` run on libuv's thread pool, so a
   * delete issued before a small put of the same key (an unpin racing a pin of the same CID) could run after it
   * and take the newer value. Synchronous, both land in the order they were issued. A missing file is no error, as
   * in datastore-fs; any other failure goes to datastore-fs's own delete, which reports it its way.
   */
  override async delete(key: Key, options?: { signal?: AbortSignal }): Promise<void> {
    options?.signal?.throwIfAborted()
    try {
      unlinkSync(this._encode(key).file)
    } catch (err) {
      if ((err as { code?: unknown } | null)?.code === 'ENOENT') return
      return super.delete(key, options)
    }
  }
}

/**
 * blockstore-fs reads a block through a file read stream, which allocates a 64 KiB buffer per read however
 * small the block: envelopes and kfrag bundles are a few hundred bytes, and reading one cost more in
 * allocation and garbage collection than in I/O. A block is at most {@link MAX_BLOCK_SIZE} and is wanted whole
 * (it is hashed before use), so it is read whole, in one buffer of its own size, and no file larger than that is
 * read at all.
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

  /**
   * A block file over {@link MAX_BLOCK_SIZE} is reported absent (blockstore-fs says present for any file): `get`
   * refuses it unread, and Helia's put, a CAR import and a fetch all skip a block the store says it has, so only
   * then does putting, importing or fetching the block again write it over the file and heal the store.
   */
  override async has(key: CID, options?: { signal?: AbortSignal }): Promise<boolean> {
    options?.signal?.throwIfAborted()
    const { dir, file } = this.#sharding.encode(key)
    return presentAtMost(join(this.path, dir, file), MAX_BLOCK_SIZE)
  }

  override async *get(key: CID, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array> {
    options?.signal?.throwIfAborted()
    const { dir, file } = this.#sharding.encode(key)
    yield await readBlockFile(join(this.path, dir, file), key)
  }
}

/**
 * Read-only, and non-blocking where the platform has it: opening a named pipe (FIFO) for reading otherwise waits
 * until something opens it for writing, holding one of libuv's four threads the while (four such reads stall every
 * file and crypto call of the process). With `O_NONBLOCK` the open returns at once and the type check after `fstat`
 * refuses it. On a regular file the flag changes nothing. Symbolic links are followed (no `O_NOFOLLOW`), as `has`
 * follows them: a link to a regular file is read like one, and a link to anything else is refused the same way.
 */
const READ_FLAGS = constants.O_RDONLY | (constants.O_NONBLOCK ?? 0)

/**
 * A block file, whole, but never more than {@link MAX_BLOCK_SIZE} bytes of it: this storage writes no larger
 * block, so a larger file is another program's or a damaged file system's, and reading it whole would allocate
 * whatever its size is. It is refused unread ({@link BlockTooLargeError}) and left in place: it is not proven
 * wrong (an older version may have imported a block that large), and gc removes it once no pin reaches it.
 *
 * A missing file (or shard directory) is a missing block, thrown with the name the stores' callers (Helia, this
 * package's reader) test for, as blockstore-fs's own error has; any other failure (permissions, an I/O error, a
 * directory, a pipe, a socket or a device in the file's place) is a {@link BlockReadError}: fetching the block again would not help. Neither
 * keeps the file system's own error, whose message names the file's absolute path: see {@link withoutPath}.
 */
async function readBlockFile(path: string, cid: CID): Promise<Uint8Array> {
  let handle: FileHandle | undefined
  try {
    handle = await open(path, READ_FLAGS)
    const stats = await handle.stat()
    // Not a regular file: nothing this storage wrote, and a read could wait for ever (a pipe with no writer).
    if (!stats.isFile()) throw new BlockReadError({ cid: cidLabel(cid), code: undefined, notAFile: true })
    const { size } = stats
    if (size > MAX_BLOCK_SIZE) throw tooLarge(cid, size)
    // A buffer of exactly the size fstat said, so the block owns all of it: nothing past its end in `.buffer`, nor
    // in a structured clone.
    const block = Buffer.allocUnsafeSlow(size)
    let filled = 0
    // A read may return fewer bytes than asked before the end of the file (NFS, FUSE, a signal): only 0 is the end.
    while (filled < size) {
      const { bytesRead } = await handle.read(block, filled, size - filled, filled)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    if (filled === size) return block
    // Shorter than fstat said: changed in place since (this storage replaces a block file by a rename, never in
    // place, so another program or a damaged file system did it). The bytes read, in a buffer of their own (never
    // the unread, uninitialised rest), go to the CID check like any others. Bytes added past fstat's size are not
    // read, for the same reason: the CID check judges what was, and a later read sees the new size.
    return new Uint8Array(block.subarray(0, filled))
  } catch (err) {
    if (err instanceof BlockTooLargeError || err instanceof BlockReadError) throw err
    const code = (err as { code?: unknown } | null)?.code
    if (code === 'ENOENT' || code === 'ENOTDIR') {
      throw Object.assign(
        new Error('Block not found in the file system store.', { cause: withoutPath(err) }),
        {
          name: 'NotFoundError',
        },
      )
    }
    throw new BlockReadError({
      cid: cidLabel(cid),
      code: typeof code === 'string' ? code : undefined,
      cause: withoutPath(err),
    })
  } finally {
    await handle?.close().catch(() => {})
  }
}

/**
 * A file system error as a cause that names no path: Node's message (and its `path` and `dest`) holds the block
 * file's absolute path, which tells where the store lives (a user's home directory, a patient's name in a folder)
 * to every log that prints an error's causes. The error code and the system call are what a reader of the log
 * needs; the message names the CID already.
 */
function withoutPath(err: unknown): Error {
  const { code, syscall, errno } = (err ?? {}) as { code?: unknown; syscall?: unknown; errno?: unknown }
  const call = typeof syscall === 'string' ? syscall : 'file system call'
  const sanitized = new Error(
    typeof code === 'string' ? `${call} failed (${code})` : `${call} failed (${errorName(err)})`,
  )
  return Object.assign(sanitized, {
    ...(typeof code === 'string' ? { code } : {}),
    ...(typeof syscall === 'string' ? { syscall } : {}),
    ...(typeof errno === 'number' ? { errno } : {}),
  })
}

function errorName(err: unknown): string {
  const name = (err as { name?: unknown } | null)?.name
  return typeof name === 'string' ? name : 'unknown error'
}

function tooLarge(cid: CID, bytes: number): BlockTooLargeError {
  return new BlockTooLargeError({ cid: cidLabel(cid), bytes, maxBytes: MAX_BLOCK_SIZE, source: 'local' })
}
