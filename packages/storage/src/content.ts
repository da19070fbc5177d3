/**
 * Content in and out: UnixFS files (put as a stream with an import profile, read whole or as a byte range),
 * dag-cbor envelopes, and `stat` from local blocks. Separate because this is the code that knows the
 * formats medvault stores; how blocks are found (reader.ts) and kept (pins.ts) is decided elsewhere.
 */
import type { Helia } from '@helia/interface'
import type { UnixFS } from '@helia/unixfs'
import * as dagCbor from '@ipld/dag-cbor'
import { exporter } from 'ipfs-unixfs-exporter'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  DAG_CBOR,
  DAG_PB,
  decodeDagCbor,
  decodeDagPb,
  inlineLinks,
  isInline,
  linkDepth,
  linksOf,
  multihashKey,
  RAW,
  unixfsOf,
} from './dag.ts'
import { MalformedBlockError, NotAFileError, NotAnEnvelopeError } from './errors.ts'
import type { Pins } from './pins.ts'
import { type ImportProfile, importerOptions } from './profiles.ts'
import type { BlockReader } from './reader.ts'
import type { GetOptions, OperationOptions, PutEnvelopeOptions, PutOptions, StatResult } from './types.ts'
import { signalOption } from './util.ts'
import type { VerifiedBlockstore } from './verified-blockstore.ts'
import { assertVerifiableCid, cidLabel, collect, type HasherLookup } from './verify.ts'

/** The identity multicodec used as a CID's codec: the CID holds its content and nothing decodes it. */
const IDENTITY_CODEC = 0x00

export interface ContentComponents {
  helia: Helia
  fs: UnixFS
  local: VerifiedBlockstore
  getHasher: HasherLookup
  reader: BlockReader
  pins: Pins
  /** The storage's import profile, for puts that name none. */
  profile: ImportProfile
}

/** The put and get paths of a storage; the caller has checked that the storage is started. */
export class Content {
  readonly #c: ContentComponents

  constructor(components: ContentComponents) {
    this.#c = components
  }

  async putStream(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: PutOptions,
  ): Promise<CID> {
    const { signal, onProgress } = options
    signal?.throwIfAborted()
    const profile = options.profile ?? this.#c.profile
    const release = await this.#c.pins.lock.shared()
    try {
      let bytes = 0
      // Counting as the importer pulls: the importer pulls a chunk only when it has room to hash and write
      // it, so the count tracks what was written within a bounded number of in-flight chunks.
      const counted = async function* (): AsyncGenerator<Uint8Array> {
        for await (const chunk of source) {
          signal?.throwIfAborted()
          if (!(chunk instanceof Uint8Array))
            throw new TypeError('putStream sources must yield Uint8Array chunks.')
          bytes += chunk.byteLength
          yield chunk
          onProgress?.({ type: 'storage:put:bytes', bytes })
        }
      }
      const cid = await this.#c.fs.addByteStream(counted(), {
        ...importerOptions(profile),
        ...(signal !== undefined ? { signal } : {}),
      })
      signal?.throwIfAborted()
      // The pin record is written last and in one atomic datastore write: an interrupted put leaves
      // unpinned blocks (collected by gc) and never a pin that points at a partial DAG.
      if (options.pin !== false) await this.#c.pins.write(cid, signal)
      return cid
    } finally {
      release()
    }
  }

  async putEnvelope(value: unknown, options: PutEnvelopeOptions): Promise<CID> {
    options.signal?.throwIfAborted()
    let bytes: Uint8Array
    try {
      bytes = dagCbor.encode(value)
    } catch (err) {
      // e.g. `undefined`, a function, a class instance, NaN: not in the IPLD data model
      throw new TypeError('putEnvelope: the value cannot be encoded as dag-cbor (IPLD data model only).', {
        cause: err,
      })
    }
    const cid = CID.createV1(DAG_CBOR, await sha256.digest(bytes))
    const release = await this.#c.pins.lock.shared()
    try {
      await this.#c.helia.blockstore.put(cid, bytes, signalOption(options.signal))
      if (options.pin !== false) {
        // A pin is recursive: it protects what the envelope links to, so those blocks must be here (or be
        // fetched now) before the pin record exists. A pin over a missing block would make every later gc
        // stop, since gc cannot tell which blocks such a DAG still needs. The envelope's own block is the
        // bytes just hashed (not read back), and a link that is itself pinned is whole already: a pin record
        // is written only over a complete DAG, and gc, which alone deletes blocks, waits for the lock held
        // here. That is the usual case (content put and pinned just before its envelope), and spares a read
        // of every block of the content on each put.
        for (const link of linksOf(cid, bytes)) {
          if (await this.#c.pins.has(link, options.signal)) continue
          await this.#c.reader.makeLocal(link, options.signal, undefined)
        }
        await this.#c.pins.write(cid, options.signal)
      }
      return cid
    } catch (err) {
      throw this.#c.reader.mapError(err, cid, options.signal)
    } finally {
      release()
    }
  }

  async *get(cid: CID, options: GetOptions): AsyncGenerator<Uint8Array> {
    const { signal, onProgress } = options
    const offset = checkRange('offset', options.offset)
    const length = checkRange('length', options.length)
    if (cid.code === DAG_CBOR) throw new NotAFileError({ cid: cidLabel(cid), kind: 'dag-cbor envelope' })
    // Files are dag-pb (UnixFS) or raw, and the identity codec is its own content; an identity CID of another
    // codec (dag-json…) holds no file either, and the exporter would hand it to that codec's decoder.
    if (cid.code !== DAG_PB && cid.code !== RAW && cid.code !== IDENTITY_CODEC) {
      throw new NotAFileError({ cid: cidLabel(cid), kind: `block with codec 0x${cid.code.toString(16)}` })
    }
    // Before anything is looked up: the exporter reads some CIDs (identity ones) without asking the view.
    await assertVerifiableCid(cid, this.#c.getHasher)
    const network = this.#c.reader.view(signal)
    // The exporter decodes dag-pb and UnixFS itself and fails with untyped errors on a malformed block: each
    // block is checked here first, so that one is reported as MalformedBlockError, naming it.
    const view = {
      async *get(c: CID): AsyncGenerator<Uint8Array> {
        const block = await collect(network.get(c))
        if (c.code === DAG_PB) unixfsOf(c, decodeDagPb(c, block))
        yield block
      },
    }
    let bytes = 0
    try {
      const entry = await exporter(cid, view, signalOption(signal))
      if (entry.type !== 'file' && entry.type !== 'raw' && entry.type !== 'identity') {
        throw new NotAFileError({ cid: cidLabel(cid), kind: entry.type })
      }
      const contentOptions = {
        ...signalOption(signal),
        ...(offset !== undefined ? { offset } : {}),
        ...(length !== undefined ? { length } : {}),
      }
      for await (const chunk of entry.content(contentOptions)) {
        bytes += chunk.byteLength
        yield chunk
        onProgress?.({ type: 'storage:get:bytes', bytes })
      }
    } catch (err) {
      // Well-formed blocks that disagree with each other: a file's sizes and its blocks, a UnixFS type.
      const name = (err as { name?: unknown } | null)?.name
      if (
        signal?.aborted !== true &&
        (name === 'OverReadError' || name === 'UnderReadError' || name === 'InvalidTypeError')
      ) {
        throw new MalformedBlockError({
          cid: cidLabel(cid),
          format: 'UnixFS',
          reason: 'the sizes and blocks of the file disagree',
        })
      }
      throw this.#c.reader.mapError(err, cid, signal)
    }
  }

  async getEnvelope<T>(cid: CID, options: OperationOptions<never>): Promise<T> {
    if (cid.code !== DAG_CBOR) throw new NotAnEnvelopeError({ cid: cidLabel(cid), codec: cid.code })
    try {
      const bytes = await collect(this.#c.reader.view(options.signal).get(cid))
      return decodeDagCbor<T>(cid, bytes)
    } catch (err) {
      throw this.#c.reader.mapError(err, cid, options.signal)
    }
  }

  async stat(cid: CID, options: OperationOptions<never>): Promise<StatResult> {
    const { signal } = options
    const codec =
      cid.code === DAG_PB ? 'dag-pb' : cid.code === DAG_CBOR ? 'dag-cbor' : cid.code === RAW ? 'raw' : null
    if (codec === null)
      throw new NotAFileError({ cid: cidLabel(cid), kind: `codec 0x${cid.code.toString(16)}` })
    const pinned = await this.#c.pins.has(cid, signal)
    let size: number | undefined
    let blocks = 0
    let localBlocks = 0
    const seen = new Set<string>()
    const stack: CID[] = [cid]
    const depths: number[] = [linkDepth(0, cid)]
    const push = (links: CID[], depth: number) => {
      for (const link of links) {
        stack.push(link)
        depths.push(linkDepth(depth, link))
      }
    }
    try {
      while (stack.length > 0) {
        signal?.throwIfAborted()
        const next = stack.pop()!
        const depth = depths.pop()!
        const key = `${next.code}:${multihashKey(next)}`
        if (seen.has(key)) continue
        seen.add(key)
        if (isInline(next)) {
          // The CID holds its block: nothing stored to count, and its size is known without a read. An
          // identity CID over the length limit is refused here as on every other path. What its block links
          // to is counted like the links of any block, so a DAG reached through it is not reported local
          // while its blocks are missing.
          const links = inlineLinks(next, depth, cid, 'none')
          if (next === cid) size = rootSize(cid, cid.multihash.digest)
          push(links, depth)
          continue
        }
        blocks++
        if (!(await this.#c.local.has(next, signalOption(signal)))) continue
        localBlocks++
        if (next.code === RAW && next !== cid) continue
        const bytes = await collect(this.#c.local.get(next, signalOption(signal)))
        if (next === cid) size = rootSize(cid, bytes)
        push(linksOf(next, bytes), depth)
      }
    } catch (err) {
      throw this.#c.reader.mapError(err, cid, signal)
    }
    return { cid, codec, size, blocks, localBlocks, local: blocks === localBlocks, pinned }
  }
}

function checkRange(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`${name} must be a non-negative safe integer.`)
  }
  return value
}

function rootSize(cid: CID, bytes: Uint8Array): number {
  if (cid.code === DAG_PB) {
    const data = unixfsOf(cid, decodeDagPb(cid, bytes))
    if (data === undefined) return 0
    return data.isDirectory() ? 0 : Number(data.fileSize())
  }
  return bytes.byteLength
}
