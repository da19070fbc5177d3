import { withBitswap } from '@helia/bitswap'
import { fallbackRouter } from '@helia/fallback-router'
import type { BlockBroker, Helia, Router } from '@helia/interface'
import type { HeliaWithLibp2p } from '@helia/libp2p'
import { withLibp2pLight } from '@helia/libp2p'
import { trustlessGatewayBlockBroker } from '@helia/trustless-gateway-client'
import { type UnixFS, unixfs } from '@helia/unixfs'
import { CarBlockIterator } from '@ipld/car/iterator'
import { CarWriter } from '@ipld/car/writer'
import * as dagCbor from '@ipld/dag-cbor'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { createHeliaLight } from 'helia'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'
import { Key } from 'interface-datastore'
import { exporter } from 'ipfs-unixfs-exporter'
import type { Libp2pOptions } from 'libp2p'
import { base64 } from 'multiformats/bases/base64'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import {
  DAG_CBOR,
  DAG_PB,
  decodeDagCbor,
  decodeDagPb,
  isInline,
  linksOf,
  RAW,
  unixfsOf,
  walkDag,
} from './dag.ts'
import {
  BaseError,
  BlockVerificationError,
  CarImportError,
  InvalidCidError,
  InvalidGatewayError,
  MalformedBlockError,
  NotAFileError,
  NotAnEnvelopeError,
  NotFoundError,
  PinnedDagIncompleteError,
  StorageClosedError,
  UnsupportedCodecError,
  UnverifiableCidError,
} from './errors.ts'
import { SharedExclusiveLock } from './lock.ts'
import { DEFAULT_PROFILE, type ImportProfile, importerOptions } from './profiles.ts'
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
import { VerifiedBlockstore } from './verified-blockstore.ts'
import { assertVerifiableCid, blockMatchesCid, cidLabel, collect, fullDigestSha256 } from './verify.ts'

/** The identity multicodec used as a CID's codec: the CID holds its content and nothing decodes it. */
const IDENTITY_CODEC = 0x00
const DEFAULT_BLOCK_TIMEOUT_MS = 30_000
const PIN_PREFIX = '/medvault/pins/'
const DIAL_TIMEOUT_MS = 10_000

type Status = Storage['status']

/**
 * What differs between Node and browsers: where blocks and the datastore live, how a directory is claimed,
 * and which libp2p transports exist. Each entry point (index.ts, browser.ts) passes its own, so a browser
 * bundle never reaches node:fs, blockstore-fs or @libp2p/tcp.
 */
export interface Platform {
  /** The blockstore and datastore for this init (on disk, in IndexedDB or in memory). */
  stores(init: StorageInit): { blocks: Blockstore; datastore: Datastore }
  /** Claims the storage's persistent location on start (Node: the directory lock); returns its release. */
  claim?(init: StorageInit): Promise<(() => Promise<void>) | undefined>
  /** libp2p transports for `network`. */
  transports(): NonNullable<Libp2pOptions['transports']>
  /** Listen addresses when `network.listen` is not given. */
  defaultListen: string[]
}

/** The storage behind `createStorage`. Use the `Storage` interface; this class is not exported. */
export class HeliaStorage implements Storage {
  readonly helia: Helia
  readonly #init: StorageInit
  readonly #platform: Platform
  readonly #blocks: Blockstore
  readonly #datastore: Datastore
  readonly #local: VerifiedBlockstore
  readonly #fs: UnixFS
  readonly #lock = new SharedExclusiveLock()
  /** one set per CAR import under way: the pin keys other operations wrote meanwhile (see importCar) */
  readonly #pinWatchers = new Set<Set<string>>()
  readonly #offline: boolean
  readonly #profile: ImportProfile
  readonly #blockTimeoutMs: number
  // Late-bound: Helia owns the registry of hashers but is created in the constructor, after this.
  readonly #getHasher = (code: number) => this.helia.getHasher(code)
  #status: Status = 'stopped'
  #unlockDirectory: (() => Promise<void>) | undefined

  constructor(init: StorageInit, platform: Platform) {
    this.#init = init
    this.#profile = init.profile ?? DEFAULT_PROFILE
    importerOptions(this.#profile) // refuse an unknown profile now, not at the first put
    this.#blockTimeoutMs = init.blockTimeoutMs ?? DEFAULT_BLOCK_TIMEOUT_MS
    this.#platform = platform
    const { blocks, datastore } = platform.stores(init)
    this.#blocks = blocks
    this.#datastore = datastore
    const gateways = (init.gateways ?? []).map(gatewayOrigin)
    this.#offline = init.network === undefined && gateways.length === 0

    this.#local = new VerifiedBlockstore(this.#blocks, this.#getHasher, init.verifyLocalBlocks ?? true)

    // Nothing here may reach the internet unless configured: no routers, no brokers by default. Helia's
    // `createHelia` would add delegated routing, public gateways, bootstrap peers, DHT, mDNS and UPnP.
    let helia: Helia = createHeliaLight({
      blockstore: this.#local,
      datastore: this.#datastore,
      codecs: [dagCbor],
      // replaces Helia's sha2-256, which accepts a digest truncated to 20 bytes from peers and gateways
      hashers: [fullDigestSha256],
      routers: gateways.length > 0 ? [noProviders(), fallbackRouter({ gateways, shuffle: false })] : [],
      blockBrokers: gateways.length > 0 ? [verifyingGatewayBroker()] : [],
    })
    if (init.network !== undefined) {
      const network = init.network
      helia = withBitswap(
        withLibp2pLight(helia, {
          addresses: {
            listen: network.listen ?? platform.defaultListen,
            ...(network.announce !== undefined ? { announce: network.announce } : {}),
          },
          transports: platform.transports(),
          connectionEncrypters: [noise()],
          streamMuxers: [yamux()],
          peerDiscovery: [],
          services: { identify: identify() },
        }),
      )
    }
    this.helia = helia
    this.#fs = unixfs(helia)
  }

  get status(): Status {
    return this.#status
  }

  get peerId(): string | undefined {
    return this.#libp2p()?.peerId.toString()
  }

  multiaddrs(): string[] {
    return (
      this.#libp2p()
        ?.getMultiaddrs()
        .map((m) => m.toString()) ?? []
    )
  }

  async connect(address: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertStarted('connect')
    await this.#dial(address, options.signal)
  }

  async #dial(address: string, signal: AbortSignal | undefined): Promise<void> {
    const libp2p = this.#libp2p()
    if (libp2p === undefined) {
      throw new BaseError('Cannot connect: this storage has no network.', {
        metaMessages: ['Pass `network: {}` to createStorage to enable libp2p.'],
      })
    }
    const ma = multiaddr(address)
    const id = ma.getComponents().find((c) => c.name === 'p2p')?.value
    if (id !== undefined) {
      // Tagged keep-alive so libp2p redials the peer after a disconnect.
      await libp2p.peerStore.merge(peerIdFromString(id), {
        multiaddrs: [ma],
        tags: { 'keep-alive': { value: 1 } },
      })
    }
    await libp2p.dial(ma, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)].filter((s) => s !== undefined)),
    })
  }

  async start(): Promise<void> {
    if (this.#status !== 'stopped') return
    this.#status = 'starting'
    try {
      this.#unlockDirectory = await this.#platform.claim?.(this.#init)
      await openStore(this.#blocks)
      await openStore(this.#datastore)
      await this.helia.start()
      // Peers from config are dialled but a peer that is down must not stop the storage from starting.
      await Promise.allSettled((this.#init.network?.peers ?? []).map(async (p) => this.#dial(p, undefined)))
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
    const release = await this.#lock.exclusive()
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
    const release = await this.#lock.shared()
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
      if (options.pin !== false) await this.#writePin(cid, signal)
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
    const release = await this.#lock.shared()
    try {
      await this.helia.blockstore.put(cid, bytes, signalOption(options.signal))
      if (options.pin !== false) {
        // A pin is recursive: it protects what the envelope links to, so those blocks must be here (or be
        // fetched now) before the pin record exists. A pin over a missing block would make every later gc
        // stop, since gc cannot tell which blocks such a DAG still needs.
        await this.#makeLocal(cid, options.signal, undefined)
        await this.#writePin(cid, options.signal)
      }
      return cid
    } catch (err) {
      throw this.#mapError(err, cid, options.signal)
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
    const network = this.#networkView(signal)
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
      throw this.#mapError(err, cid, signal)
    }
  }

  async getEnvelope<T = unknown>(cidLike: CidLike, options: OperationOptions<never> = {}): Promise<T> {
    const cid = toCid(cidLike)
    this.#assertStarted('getEnvelope')
    if (cid.code !== DAG_CBOR) throw new NotAnEnvelopeError({ cid: cid.toString(), codec: cid.code })
    try {
      const bytes = await collect(this.#networkView(options.signal).get(cid))
      return decodeDagCbor<T>(cid, bytes)
    } catch (err) {
      throw this.#mapError(err, cid, options.signal)
    }
  }

  // ------------------------------------------------------------------ pins and gc

  async pin(cidLike: CidLike, options: PinOptions = {}): Promise<void> {
    const cid = toCid(cidLike)
    this.#assertStarted('pin')
    const { signal, onProgress } = options
    const release = await this.#lock.shared()
    try {
      // Walked even when already pinned: pin() is also how a pinned DAG that lost a block (a damaged copy
      // is deleted on read) gets it back from a peer or gateway.
      await this.#makeLocal(cid, signal, onProgress)
      // Always written (not only when missing): a CAR import under way that pinned the same root must
      // learn of this pin so that its rollback leaves the record alone.
      await this.#writePin(cid, signal)
    } catch (err) {
      throw this.#mapError(err, cid, signal)
    } finally {
      release()
    }
  }

  async unpin(cidLike: CidLike, options: OperationOptions<never> = {}): Promise<boolean> {
    const cid = toCid(cidLike)
    this.#assertStarted('unpin')
    const key = pinKey(cid)
    if (!(await this.#datastore.has(key, signalOption(options.signal)))) return false
    await this.#datastore.delete(key, signalOption(options.signal))
    return true
  }

  async isPinned(cidLike: CidLike, options: OperationOptions<never> = {}): Promise<boolean> {
    const cid = toCid(cidLike)
    this.#assertStarted('isPinned')
    return this.#datastore.has(pinKey(cid), signalOption(options.signal))
  }

  async *listPins(options: OperationOptions<never> = {}): AsyncGenerator<CID> {
    this.#assertStarted('listPins')
    yield* this.#pinRoots(options.signal)
  }

  /** The pinned roots, for operations already under way (they finish even while the storage stops). */
  async *#pinRoots(signal: AbortSignal | undefined): AsyncGenerator<CID> {
    for await (const key of this.#datastore.queryKeys({ prefix: PIN_PREFIX }, signalOption(signal))) {
      yield CID.parse(key.toString().slice(PIN_PREFIX.length))
    }
  }

  async gc(options: GcOptions = {}): Promise<GcResult> {
    this.#assertStarted('gc')
    const { signal, onProgress } = options
    const release = await this.#lock.exclusive()
    try {
      const live = await this.#markLive(signal)
      // Sweep. Blockstores key blocks by multihash, so a raw and a dag-pb CID of the same bytes share a file.
      let removed = 0
      let kept = 0
      for await (const { cid } of this.#blocks.getAll(signalOption(signal))) {
        signal?.throwIfAborted()
        if (live.has(multihashKey(cid))) {
          kept++
          continue
        }
        await this.#blocks.delete(cid, signalOption(signal))
        removed++
        onProgress?.({ type: 'storage:gc:removed', cid, removed })
      }
      return { removed, kept }
    } catch (err) {
      throw this.#mapError(err, undefined, signal)
    } finally {
      release()
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
    const pinned = await this.#datastore.has(pinKey(cid))
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
      throw this.#mapError(err, cid, signal)
    }
    return { cid, codec, size, blocks, localBlocks, local: blocks === localBlocks, pinned }
  }

  // ------------------------------------------------------------------ CAR

  async *exportCar(cidLike: CidLike, options: ExportCarOptions = {}): AsyncGenerator<Uint8Array> {
    const cid = toCid(cidLike)
    this.#assertStarted('exportCar')
    const { signal, onProgress } = options
    // Stops the walk when the consumer stops reading early.
    const stop = new AbortController()
    const walkSignal = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal])
    const view = this.#networkView(walkSignal)
    const { writer, out } = CarWriter.create([cid])
    let failure: unknown
    // The writer's `put` resolves once the consumer has taken the bytes, so this loop runs at the
    // consumer's pace: memory stays at one block whatever the DAG size.
    const producer = (async () => {
      try {
        let blocks = 0
        for await (const block of walkDag(cid, { get: async (c) => collect(view.get(c)) }, walkSignal)) {
          await writer.put({ cid: block.cid, bytes: block.bytes! })
          blocks++
          onProgress?.({ type: 'storage:car:export:block', cid: block.cid, blocks })
        }
      } catch (err) {
        failure = err
      } finally {
        await writer.close()
      }
    })()
    const iterator = out[Symbol.asyncIterator]()
    let finished = false
    try {
      while (true) {
        const next = await iterator.next()
        if (next.done === true) break
        yield next.value
      }
      finished = true
    } finally {
      if (!finished) {
        // The consumer left (break, return, throw): stop the walk, and keep draining so that a `put`
        // waiting for a reader settles and the producer can close the writer.
        stop.abort()
        void (async () => {
          try {
            while ((await iterator.next()).done !== true) {
              // discard
            }
          } catch {
            // nothing is listening any more
          }
        })()
      }
      await producer
    }
    if (failure !== undefined) throw this.#mapError(failure, cid, signal)
  }

  async importCar(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: ImportCarOptions = {},
  ): Promise<CID[]> {
    this.#assertStarted('importCar')
    const { signal, onProgress } = options
    signal?.throwIfAborted()
    const release = await this.#lock.shared()
    // what the finally releases: the shared lock, or the exclusive one a rollback takes instead
    let releaseAll = release
    const written: CID[] = []
    const pinned: CID[] = []
    const repinned = new Set<string>()
    this.#pinWatchers.add(repinned)
    try {
      let reader: CarBlockIterator
      try {
        reader = await CarBlockIterator.fromIterable(toAsync(source))
      } catch (err) {
        throw new CarImportError({
          reason: 'The stream is not a readable CAR (v1 or v2) header.',
          cause: err,
        })
      }
      const roots = await reader.getRoots()
      // A root no block can be proven to match would be returned (and pinned) as if it were content.
      for (const root of roots) await this.#assertCarCid(root)
      let blocks = 0
      try {
        for await (const { cid, bytes } of reader) {
          signal?.throwIfAborted()
          await this.#assertCarCid(cid)
          // Verify before the block touches the store: a bad block is never written, not even briefly.
          if (!(await blockMatchesCid(cid, bytes, this.#getHasher))) {
            throw new CarImportError({
              reason: `Block ${cidLabel(cid)} does not match its CID.`,
              cause: new BlockVerificationError({ cid: cidLabel(cid), source: 'car' }),
            })
          }
          if (!isInline(cid) && !(await this.#local.has(cid))) {
            await this.helia.blockstore.put(cid, bytes, signalOption(signal))
            written.push(cid)
          }
          blocks++
          onProgress?.({ type: 'storage:car:import:block', cid, blocks })
        }
      } catch (err) {
        if (err instanceof CarImportError || isAbort(err, signal)) throw err
        throw new CarImportError({ reason: 'The CAR stream is truncated or malformed.', cause: err })
      }
      if (options.pin !== false) {
        for (const root of roots) {
          try {
            for await (const _ of walkDag(
              root,
              {
                get: async (c) => this.#localOrMissing(c, signal),
                skipLeaf: async (c) => this.#localOrMissingLeaf(c),
              },
              signal,
            )) {
              // walking is the completeness check
            }
          } catch (err) {
            if (err instanceof UnsupportedCodecError) {
              throw new CarImportError({
                reason: `${err.shortMessage} Import it with pin: false to keep its blocks unpinned.`,
                cause: err,
              })
            }
            if (err instanceof MalformedBlockError)
              throw new CarImportError({ reason: err.shortMessage, cause: err })
            if (err instanceof MissingBlockError || err instanceof BaseError || isAbort(err, signal))
              throw err
            // the bytes match the CID but do not decode as its codec says (dag-pb, dag-cbor)
            throw new CarImportError({
              reason: `A block of the DAG of ${root} does not decode as its codec says.`,
              cause: err,
            })
          }
          // Written even when the root is pinned already, for the same reason as in pin(): another import
          // of it that fails must not take this import's pin with it.
          const existed = await this.#datastore.has(pinKey(root))
          await this.#writePin(root, signal, repinned)
          if (!existed) pinned.push(root)
        }
      }
      return roots
    } catch (err) {
      // Roll back: nothing from a refused CAR stays. Blocks that were here before the import are not
      // touched. A block this import wrote may meanwhile be relied on by another operation (a put or an
      // import of the same content skips blocks that exist, then pins them), so the rollback waits until no
      // put, pin or import runs (the exclusive lock) and deletes only the blocks that no pin reaches: it is a
      // gc limited to this import's blocks.
      // The same goes for this import's pin records: one that another put or pin wrote again meanwhile is
      // that operation's pin now, and stays.
      release()
      releaseAll = await this.#lock.exclusive()
      // stop() ran first and gave up the directory, which another storage may own by now: deleting
      // anything could take blocks it relies on. The import's pins and blocks stay, as after a crash (pins
      // only of complete DAGs; the blocks are unpinned garbage otherwise).
      if (this.#status === 'stopped') throw this.#mapError(err, undefined, signal)
      for (const root of pinned) {
        const key = pinKey(root)
        if (!repinned.has(key.toString())) await ignoreFailure(async () => this.#datastore.delete(key))
      }
      await ignoreFailure(async () => {
        if (written.length === 0) return
        const live = await this.#markLive(undefined)
        for (const cid of written) {
          if (!live.has(multihashKey(cid))) await ignoreFailure(async () => this.#blocks.delete(cid))
        }
      })
      if (err instanceof MissingBlockError) {
        throw new CarImportError({
          reason: `The CAR does not hold the complete DAG of its roots (block ${err.cid} is missing); import it with pin: false to keep a partial DAG.`,
        })
      }
      throw this.#mapError(err, undefined, signal)
    } finally {
      this.#pinWatchers.delete(repinned)
      releaseAll()
    }
  }

  // ------------------------------------------------------------------ internals

  /** Refuses a CAR whose roots or blocks carry a CID that no block can be proven to match. */
  async #assertCarCid(cid: CID): Promise<void> {
    try {
      await assertVerifiableCid(cid, this.#getHasher)
    } catch (err) {
      if (!(err instanceof UnverifiableCidError)) throw err
      throw new CarImportError({ reason: err.shortMessage, cause: err })
    }
  }

  /**
   * Makes the whole DAG under `cid` local (fetching what is missing when there is a network or a gateway).
   * Pins call this before writing their record, so an interrupted pin leaves no record and its fetched
   * blocks are ordinary unpinned blocks.
   */
  async #makeLocal(
    cid: CID,
    signal: AbortSignal | undefined,
    onProgress: PinOptions['onProgress'] | undefined,
  ): Promise<void> {
    const view = this.#networkView(signal)
    let blocks = 0
    for await (const block of walkDag(
      cid,
      {
        get: async (c) => collect(view.get(c)),
        skipLeaf: async (c) => this.#local.has(c),
      },
      signal,
    )) {
      blocks++
      onProgress?.({ type: 'storage:pin:block', cid: block.cid, blocks })
    }
  }

  /**
   * Mark: the multihash of every block reachable from a pin, read from local blocks only. A pinned DAG
   * with a block missing or corrupt throws rather than guess (a sweep on a wrong live set would delete
   * data). Call it holding the exclusive lock.
   */
  async #markLive(signal: AbortSignal | undefined): Promise<Set<string>> {
    const live = new Set<string>()
    for await (const root of this.#pinRoots(signal)) {
      let reading: CID | undefined
      try {
        for await (const block of walkDag(
          root,
          {
            get: async (c) => {
              reading = c
              return collect(this.#local.get(c, signalOption(signal)))
            },
            skipLeaf: async () => true,
          },
          signal,
        )) {
          live.add(multihashKey(block.cid))
        }
      } catch (err) {
        if (isAbort(err, signal)) throw err
        throw new PinnedDagIncompleteError({ root: root.toString(), cid: reading?.toString(), cause: err })
      }
    }
    return live
  }

  #assertStarted(operation: string): void {
    if (this.#status !== 'started') throw new StorageClosedError({ operation, status: this.#status })
  }

  #libp2p(): HeliaWithLibp2p['libp2p'] | undefined {
    if (this.#init.network === undefined || this.#status === 'stopped') return undefined
    return (this.helia as HeliaWithLibp2p).libp2p
  }

  async #writePin(cid: CID, signal: AbortSignal | undefined, writer?: Set<string>): Promise<void> {
    const record = dagCbor.encode({ v: 1, cid, pinnedAt: Date.now() })
    const key = pinKey(cid)
    // Told before the write, so a rollback never deletes a record whose writer has already returned.
    for (const watcher of this.#pinWatchers) if (watcher !== writer) watcher.add(key.toString())
    await this.#datastore.put(key, record, signalOption(signal))
  }

  async #localOrMissing(cid: CID, signal: AbortSignal | undefined): Promise<Uint8Array> {
    if (!(await this.#local.has(cid))) throw new MissingBlockError(cid)
    return collect(this.#local.get(cid, signalOption(signal)))
  }

  async #localOrMissingLeaf(cid: CID): Promise<boolean> {
    if (!(await this.#local.has(cid))) throw new MissingBlockError(cid)
    return true
  }

  /**
   * A read-only block source over Helia's networked blockstore that gives each missing block its own
   * timeout (a whole-read timeout would cut off a large, healthy download) and turns "nobody had it"
   * into `NotFoundError`.
   */
  #networkView(signal: AbortSignal | undefined): {
    get(cid: CID, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array>
  } {
    const blockstore = this.helia.blockstore
    const offline = this.#offline
    const timeoutMs = this.#blockTimeoutMs
    const local = this.#local
    const getHasher = this.#getHasher
    return {
      async *get(cid: CID): AsyncGenerator<Uint8Array> {
        // Every block of every read passes here (the exporter's and the DAG walks' too): a CID no block can be
        // proven to match is refused before the blockstore, a peer or a gateway is asked for it.
        await assertVerifiableCid(cid, getHasher)
        // The content of an identity CID is its digest: nothing to look up (the exporter asks for raw ones).
        if (isInline(cid)) {
          yield cid.multihash.digest
          return
        }
        if (await local.has(cid)) {
          yield* local.get(cid, signalOption(signal))
          return
        }
        if (offline) throw new NotFoundError({ cid: cid.toString(), offline: true })
        const timeout = AbortSignal.timeout(timeoutMs)
        const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
        try {
          yield await collect(blockstore.get(cid, { signal: combined }))
        } catch (err) {
          if (signal?.aborted === true) throw err
          const verification = findError(
            err,
            (e) => e instanceof BlockVerificationError || e instanceof UnverifiableCidError,
          )
          if (verification !== undefined) throw verification
          throw new NotFoundError({
            cid: cid.toString(),
            offline: false,
            ...(timeout.aborted ? { timeoutMs } : {}),
            cause: err,
          })
        }
      },
    }
  }

  #mapError(err: unknown, cid: CID | undefined, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted === true) {
      return isAbortLike(err) ? err : signal.reason
    }
    if (err instanceof BaseError || isAbortLike(err) || err instanceof TypeError || err instanceof RangeError)
      return err
    const name = (err as { name?: unknown } | null)?.name
    if (name === 'NotFoundError' || name === 'BlockNotFoundWhileOfflineError') {
      return new NotFoundError({ cid: cid?.toString() ?? 'unknown', offline: this.#offline, cause: err })
    }
    if (name === 'NotUnixFSError' || name === 'NoResolverError') {
      return new NotAFileError({ cid: cid?.toString() ?? 'unknown', kind: 'non-UnixFS node' })
    }
    return err
  }
}

class MissingBlockError extends Error {
  override name = 'MissingBlockError'
  readonly cid: CID
  constructor(cid: CID) {
    super(`Block ${cid} is missing.`)
    this.cid = cid
  }
}

/**
 * A router that knows no providers. Helia 7's routing runs fallback routers (the gateways) only after
 * the default routers; with no default router at all its merge never finishes and the lookup hangs, so
 * an embedded storage with gateways needs one default router that ends at once.
 */
function noProviders(): Router {
  return {
    name: 'medvault-no-providers',
    async *findProviders() {},
  }
}

/**
 * Wraps Helia's trustless-gateway broker so a block that failed verification is reported as such instead of
 * vanishing into "no gateway had it" (the broker silently moves on to the next gateway).
 */
function verifyingGatewayBroker(): (components: never) => BlockBroker {
  const factory = trustlessGatewayBlockBroker({ allowInsecure: true, allowLocal: true })
  return (components) => {
    const inner = factory(components) as BlockBroker
    return {
      name: inner.name,
      async retrieve(cid, options = {}) {
        let rejected: unknown
        const validateFn = options.validateFn
        try {
          return await inner.retrieve!(cid, {
            ...options,
            ...(validateFn !== undefined
              ? {
                  validateFn: async (block: Uint8Array) => {
                    try {
                      await validateFn(block)
                    } catch (err) {
                      rejected = err
                      throw err
                    }
                  },
                }
              : {}),
          })
        } catch (err) {
          // The CID itself cannot be verified (the full-digest hasher refused the truncation): no gateway can
          // send a block that passes, so that is the error, now naming the CID.
          if (rejected instanceof UnverifiableCidError) {
            throw new UnverifiableCidError({
              cid: cid.toString(),
              reason: rejected.reason,
              hash: rejected.hash,
              digestLength: rejected.digestLength,
              ...(rejected.expectedLength !== undefined ? { expectedLength: rejected.expectedLength } : {}),
            })
          }
          if (rejected !== undefined)
            throw new BlockVerificationError({ cid: cid.toString(), source: 'network', cause: err })
          throw err
        }
      },
    }
  }
}

/**
 * Checks a gateway URL and returns its origin. Helia's gateway client keeps only the scheme, host and port
 * (the URL becomes a multiaddr) and sends no credentials, so a URL with `user:password@` or a path prefix
 * would be accepted and then fail with 401s or 404s as "not found": it is refused here instead. Nothing of a
 * URL's credentials goes into the error (not even as the cause: Node's invalid-URL error carries the input).
 */
function gatewayOrigin(value: string, index: number): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidGatewayError({ index, url: undefined, reason: 'not a valid URL.' })
  }
  const hasCredentials = url.username !== '' || url.password !== ''
  url.username = ''
  url.password = ''
  const shown = hasCredentials ? url.href.replace('://', '://***@') : url.href
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidGatewayError({ index, url: shown, reason: 'the URL must be http or https.' })
  }
  if (hasCredentials) {
    throw new InvalidGatewayError({
      index,
      url: shown,
      reason:
        'credentials in gateway URLs are not supported (the gateway client cannot send them); use a gateway that needs none, or a local proxy that adds them.',
    })
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new InvalidGatewayError({
      index,
      url: shown,
      reason:
        'a gateway is an origin: blocks are requested at /ipfs/<cid>, so a path or query would be ignored.',
    })
  }
  return url.origin
}

function toCid(value: CidLike): CID {
  if (typeof value === 'string') {
    try {
      return CID.parse(value.trim())
    } catch (err) {
      throw new InvalidCidError({ reason: 'The string is not a valid CID.', cause: err })
    }
  }
  const cid = CID.asCID(value)
  if (cid === null)
    throw new InvalidCidError({ reason: `Expected a CID or a CID string, got ${typeOf(value)}.` })
  return cid
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
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

function pinKey(cid: CID): Key {
  return new Key(`${PIN_PREFIX}${cid.toString()}`)
}

function multihashKey(cid: CID): string {
  // A map key only: base64 of the multihash, without Node's Buffer (this module also runs in browsers).
  return base64.baseEncode(cid.multihash.bytes)
}

function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal }
}

function isAbortLike(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name
  return name === 'AbortError' || name === 'TimeoutError'
}

function isAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || isAbortLike(err)
}

function findError(err: unknown, fn: (e: unknown) => boolean, depth = 0): unknown {
  if (depth > 8 || err === null || typeof err !== 'object') return undefined
  if (fn(err)) return err
  if (err instanceof AggregateError) {
    for (const e of err.errors) {
      const found = findError(e, fn, depth + 1)
      if (found !== undefined) return found
    }
  }
  return 'cause' in err ? findError(err.cause, fn, depth + 1) : undefined
}

async function ignoreFailure(fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch {
    // best effort: a rollback failure must not hide the original error
  }
}

async function* toAsync(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield* source
}

async function openStore(store: unknown): Promise<void> {
  const s = store as { open?: () => Promise<void> }
  if (typeof s.open === 'function') await s.open()
}

async function closeStore(store: unknown): Promise<void> {
  const s = store as { close?: () => Promise<void> }
  if (typeof s.close === 'function') await s.close()
}
