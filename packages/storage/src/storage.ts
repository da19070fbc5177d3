/**
 * `HeliaStorage`, the class behind `createStorage`: it builds the parts and composes them, and holds what is
 * left once they are out: the lifecycle (start, stop, the directory claim), the put paths (UnixFS files
 * and envelopes), the get paths and `stat`. The parts: `network.ts` (the Helia node, libp2p, peers),
 * `gateways.ts` (trustless HTTP gateways), `reader.ts` (how a block is found and errors mapped), `pins.ts`
 * (pin records, gc and the lock between them) and `car.ts` (CAR export and import).
 */
import type { Helia } from '@helia/interface'
import { type UnixFS, unixfs } from '@helia/unixfs'
import * as dagCbor from '@ipld/dag-cbor'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'
import { exporter } from 'ipfs-unixfs-exporter'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { type CarComponents, exportCar, importCar } from './car.ts'
import {
  DAG_CBOR,
  DAG_PB,
  decodeDagCbor,
  decodeDagPb,
  isInline,
  linksOf,
  multihashKey,
  RAW,
  unixfsOf,
} from './dag.ts'
import { MalformedBlockError, NotAFileError, NotAnEnvelopeError, StorageClosedError } from './errors.ts'
import { gatewayOrigin } from './gateways.ts'
import { createHeliaNode, Network } from './network.ts'
import { Pins } from './pins.ts'
import type { Platform } from './platform.ts'
import { DEFAULT_PROFILE, type ImportProfile, importerOptions } from './profiles.ts'
import { BlockReader } from './reader.ts'
import type {
  CidLike,
  ExportCarOptions,
  GcOptions,
  GcResult,
  GetOptions,
  ImportCarOptions,
  OperationOptions,
  PinOptions,
  PutEnvelopeOptions,
  PutOptions,
  StatResult,
  Storage,
  StorageInit,
} from './types.ts'
import { signalOption, toCid } from './util.ts'
import { VerifiedBlockstore } from './verified-blockstore.ts'
import { assertVerifiableCid, cidLabel, collect } from './verify.ts'

/** The identity multicodec used as a CID's codec: the CID holds its content and nothing decodes it. */
const IDENTITY_CODEC = 0x00
const DEFAULT_BLOCK_TIMEOUT_MS = 30_000

type Status = Storage['status']

/** The storage behind `createStorage`. Use the `Storage` interface; this class is not exported. */
export class HeliaStorage implements Storage {
  readonly helia: Helia
  readonly #init: StorageInit
  readonly #platform: Platform
  readonly #blocks: Blockstore
  readonly #datastore: Datastore
  readonly #local: VerifiedBlockstore
  readonly #fs: UnixFS
  readonly #network: Network
  readonly #reader: BlockReader
  readonly #pins: Pins
  readonly #car: CarComponents
  readonly #profile: ImportProfile
  // Late-bound: Helia owns the registry of hashers but is created in the constructor, after this.
  readonly #getHasher = (code: number) => this.helia.getHasher(code)
  #status: Status = 'stopped'
  #unlockDirectory: (() => Promise<void>) | undefined

  constructor(init: StorageInit, platform: Platform) {
    this.#init = init
    this.#profile = init.profile ?? DEFAULT_PROFILE
    importerOptions(this.#profile) // refuse an unknown profile now, not at the first put
    this.#platform = platform
    const { blocks, datastore } = platform.stores(init)
    this.#blocks = blocks
    this.#datastore = datastore
    const gateways = (init.gateways ?? []).map(gatewayOrigin)

    this.#local = new VerifiedBlockstore(this.#blocks, this.#getHasher, init.verifyLocalBlocks ?? true)
    this.helia = createHeliaNode({
      blockstore: this.#local,
      datastore: this.#datastore,
      network: init.network,
      gateways,
      platform,
    })
    this.#fs = unixfs(this.helia)
    this.#network = new Network(this.helia, init.network, () => this.#status === 'stopped')
    this.#reader = new BlockReader({
      network: this.helia.blockstore,
      local: this.#local,
      getHasher: this.#getHasher,
      offline: init.network === undefined && gateways.length === 0,
      blockTimeoutMs: init.blockTimeoutMs ?? DEFAULT_BLOCK_TIMEOUT_MS,
    })
    this.#pins = new Pins({ datastore, blocks, local: this.#local, reader: this.#reader })
    this.#car = {
      blockstore: this.helia.blockstore,
      local: this.#local,
      getHasher: this.#getHasher,
      reader: this.#reader,
      pins: this.#pins,
      status: () => this.#status,
    }
  }

  get status(): Status {
    return this.#status
  }

  get peerId(): string | undefined {
    return this.#network.peerId
  }

  multiaddrs(): string[] {
    return this.#network.multiaddrs()
  }

  async connect(address: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertStarted('connect')
    await this.#network.dial(address, options.signal)
  }

  async start(): Promise<void> {
    if (this.#status !== 'stopped') return
    this.#status = 'starting'
    try {
      this.#unlockDirectory = await this.#platform.claim?.(this.#init)
      await openStore(this.#blocks)
      await openStore(this.#datastore)
      await this.helia.start()
      await this.#network.dialPeers()
    } catch (err) {
      this.#status = 'stopped'
      await this.helia.stop().catch(() => {})
      await this.#releaseDirectory()
      throw err
    } finally {
      if (this.#status === 'starting') this.#status = 'started'
    }
  }

  async stop(): Promise<void> {
    if (this.#status !== 'started') return
    this.#status = 'stopping'
    // New operations are refused from here on; puts, pins, imports and a gc already running finish first
    // (their callers can abort them). Only then is the directory given up: another storage opened on it
    // at once could otherwise run gc while this one still writes a DAG it has not pinned yet.
    const release = await this.#pins.lock.exclusive()
    try {
      await this.helia.stop()
      await closeStore(this.#datastore)
      await closeStore(this.#blocks)
    } finally {
      await this.#releaseDirectory()
      this.#status = 'stopped'
      // Last: an import rollback waiting for this lock must see 'stopped' (see importCar).
      release()
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  async #releaseDirectory(): Promise<void> {
    const unlock = this.#unlockDirectory
    this.#unlockDirectory = undefined
    await unlock?.().catch(() => {})
  }

  // ------------------------------------------------------------------ put

  async putBytes(bytes: Uint8Array, options: PutOptions = {}): Promise<CID> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('putBytes expects a Uint8Array.')
    return this.putStream([bytes], options)
  }

  async putStream(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: PutOptions = {},
  ): Promise<CID> {
    this.#assertStarted('putStream')
    const { signal, onProgress } = options
    signal?.throwIfAborted()
    const profile = options.profile ?? this.#profile
    const release = await this.#pins.lock.shared()
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
      const cid = await this.#fs.addByteStream(counted(), {
        ...importerOptions(profile),
        ...(signal !== undefined ? { signal } : {}),
      })
      signal?.throwIfAborted()
      // The pin record is written last and in one atomic datastore write: an interrupted put leaves
      // unpinned blocks (collected by gc) and never a pin that points at a partial DAG.
      if (options.pin !== false) await this.#pins.write(cid, signal)
      return cid
    } finally {
      release()
    }
  }

  async putEnvelope(value: unknown, options: PutEnvelopeOptions = {}): Promise<CID> {
    this.#assertStarted('putEnvelope')
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
    const release = await this.#pins.lock.shared()
    try {
      await this.helia.blockstore.put(cid, bytes, signalOption(options.signal))
      if (options.pin !== false) {
        // A pin is recursive: it protects what the envelope links to, so those blocks must be here (or be
        // fetched now) before the pin record exists. A pin over a missing block would make every later gc
        // stop, since gc cannot tell which blocks such a DAG still needs.
        await this.#reader.makeLocal(cid, options.signal, undefined)
        await this.#pins.write(cid, options.signal)
      }
      return cid
    } catch (err) {
      throw this.#reader.mapError(err, cid, options.signal)
    } finally {
      release()
    }
  }

  // ------------------------------------------------------------------ get

  async *get(cidLike: CidLike, options: GetOptions = {}): AsyncGenerator<Uint8Array> {
    const cid = toCid(cidLike)
    this.#assertStarted('get')
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
    await assertVerifiableCid(cid, this.#getHasher)
    const network = this.#reader.view(signal)
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
        throw new NotAFileError({ cid: cid.toString(), kind: entry.type })
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
      throw this.#reader.mapError(err, cid, signal)
    }
  }

  async getEnvelope<T = unknown>(cidLike: CidLike, options: OperationOptions<never> = {}): Promise<T> {
    const cid = toCid(cidLike)
    this.#assertStarted('getEnvelope')
    if (cid.code !== DAG_CBOR) throw new NotAnEnvelopeError({ cid: cid.toString(), codec: cid.code })
    try {
      const bytes = await collect(this.#reader.view(options.signal).get(cid))
      return decodeDagCbor<T>(cid, bytes)
    } catch (err) {
      throw this.#reader.mapError(err, cid, options.signal)
    }
  }

  async stat(cidLike: CidLike, options: OperationOptions<never> = {}): Promise<StatResult> {
    const cid = toCid(cidLike)
    this.#assertStarted('stat')
    const { signal } = options
    const codec =
      cid.code === DAG_PB ? 'dag-pb' : cid.code === DAG_CBOR ? 'dag-cbor' : cid.code === RAW ? 'raw' : null
    if (codec === null)
      throw new NotAFileError({ cid: cid.toString(), kind: `codec 0x${cid.code.toString(16)}` })
    const pinned = await this.#pins.has(cid)
    let size: number | undefined
    let blocks = 0
    let localBlocks = 0
    const seen = new Set<string>()
    const stack: CID[] = [cid]
    try {
      while (stack.length > 0) {
        signal?.throwIfAborted()
        const next = stack.pop()!
        const key = `${next.code}:${multihashKey(next)}`
        if (seen.has(key) || isInline(next)) continue
        seen.add(key)
        blocks++
        if (!(await this.#local.has(next))) continue
        localBlocks++
        if (next.code === RAW && next !== cid) continue
        const bytes = await collect(this.#local.get(next, signalOption(signal)))
        if (next === cid) size = rootSize(cid, bytes)
        stack.push(...linksOf(next, bytes))
      }
    } catch (err) {
      throw this.#reader.mapError(err, cid, signal)
    }
    return { cid, codec, size, blocks, localBlocks, local: blocks === localBlocks, pinned }
  }

  // ------------------------------------------------------------------ pins and gc (pins.ts)

  async pin(cidLike: CidLike, options: PinOptions = {}): Promise<void> {
    const cid = toCid(cidLike)
    this.#assertStarted('pin')
    await this.#pins.pin(cid, options)
  }

  async unpin(cidLike: CidLike, options: OperationOptions<never> = {}): Promise<boolean> {
    const cid = toCid(cidLike)
    this.#assertStarted('unpin')
    return this.#pins.unpin(cid, options.signal)
  }

  async isPinned(cidLike: CidLike, options: OperationOptions<never> = {}): Promise<boolean> {
    const cid = toCid(cidLike)
    this.#assertStarted('isPinned')
    return this.#pins.has(cid, options.signal)
  }

  async *listPins(options: OperationOptions<never> = {}): AsyncGenerator<CID> {
    this.#assertStarted('listPins')
    yield* this.#pins.roots(options.signal)
  }

  async gc(options: GcOptions = {}): Promise<GcResult> {
    this.#assertStarted('gc')
    return this.#pins.gc(options)
  }

  // ------------------------------------------------------------------ CAR (car.ts)

  async *exportCar(cidLike: CidLike, options: ExportCarOptions = {}): AsyncGenerator<Uint8Array> {
    const cid = toCid(cidLike)
    this.#assertStarted('exportCar')
    yield* exportCar(this.#car, cid, options)
  }

  async importCar(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: ImportCarOptions = {},
  ): Promise<CID[]> {
    this.#assertStarted('importCar')
    return importCar(this.#car, source, options)
  }

  #assertStarted(operation: string): void {
    if (this.#status !== 'started') throw new StorageClosedError({ operation, status: this.#status })
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

async function openStore(store: unknown): Promise<void> {
  const s = store as { open?: () => Promise<void> }
  if (typeof s.open === 'function') await s.open()
}

async function closeStore(store: unknown): Promise<void> {
  const s = store as { close?: () => Promise<void> }
  if (typeof s.close === 'function') await s.close()
}
