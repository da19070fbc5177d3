/**
 * `HeliaStorage`, the class behind `createStorage`: it builds the parts of a storage, composes them, and
 * owns the lifecycle (start, stop, the directory claim) and the check that an operation runs on a started
 * storage. The parts: `network.ts` (the Helia node, libp2p, peers), `gateways.ts` (trustless HTTP
 * gateways), `reader.ts` (how a block is found, how errors are mapped), `content.ts` (files, envelopes,
 * stat), `pins.ts` (pin records, gc and the lock between them) and `car.ts` (CAR export and import).
 */
import type { Helia } from '@helia/interface'
import { unixfs } from '@helia/unixfs'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'
import type { CID } from 'multiformats/cid'
import { type CarComponents, exportCar, importCar } from './car.ts'
import { Content } from './content.ts'
import { StorageClosedError } from './errors.ts'
import { gatewayOrigin } from './gateways.ts'
import { createHeliaNode, Network } from './network.ts'
import { Pins } from './pins.ts'
import type { Platform } from './platform.ts'
import { DEFAULT_PROFILE, importerOptions } from './profiles.ts'
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
import { toCid } from './util.ts'
import { VerifiedBlockstore } from './verified-blockstore.ts'

const DEFAULT_BLOCK_TIMEOUT_MS = 30_000

type Status = Storage['status']

/** What both entry points' `createStorage` do, each with its own platform. */
export async function createStorageOn(init: StorageInit, platform: Platform): Promise<Storage> {
  const storage = new HeliaStorage(init, platform)
  if (init.start !== false) await storage.start()
  return storage
}

/** The storage behind `createStorage`. Use the `Storage` interface; this class is not exported. */
class HeliaStorage implements Storage {
  readonly helia: Helia
  readonly #init: StorageInit
  readonly #platform: Platform
  readonly #blocks: Blockstore
  readonly #datastore: Datastore
  readonly #local: VerifiedBlockstore
  readonly #network: Network
  readonly #reader: BlockReader
  readonly #pins: Pins
  readonly #content: Content
  readonly #car: CarComponents
  // Late-bound: Helia owns the registry of hashers but is created in the constructor, after this.
  readonly #getHasher = (code: number) => this.helia.getHasher(code)
  #status: Status = 'stopped'
  #unlockDirectory: (() => Promise<void>) | undefined
  /** The start or stop under way (settled, never rejected), which the next start or stop waits for. */
  #lifecycle: Promise<void> | undefined

  constructor(init: StorageInit, platform: Platform) {
    this.#init = init
    const profile = init.profile ?? DEFAULT_PROFILE
    importerOptions(profile) // refuse an unknown profile now, not at the first put
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
    this.#network = new Network(this.helia, init.network, () => this.#status === 'stopped')
    this.#reader = new BlockReader({
      network: this.helia.blockstore,
      local: this.#local,
      getHasher: this.#getHasher,
      offline: init.network === undefined && gateways.length === 0,
      blockTimeoutMs: init.blockTimeoutMs ?? DEFAULT_BLOCK_TIMEOUT_MS,
    })
    this.#pins = new Pins({ datastore, blocks, local: this.#local, reader: this.#reader })
    this.#content = new Content({
      helia: this.helia,
      fs: unixfs(this.helia),
      local: this.#local,
      getHasher: this.#getHasher,
      reader: this.#reader,
      pins: this.#pins,
      profile,
    })
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
    return this.#serialize(() => this.#start())
  }

  async stop(): Promise<void> {
    return this.#serialize(() => this.#stop())
  }

  /**
   * Runs starts and stops one after another, each after the one under way. Without it a stop() during a
   * start returned at once and left the storage running, and a second stop() returned while the first
   * still held the directory, so reopening it failed. With nothing under way the step begins at once, so a
   * stop() refuses new operations from the moment it is called.
   */
  #serialize(step: () => Promise<void>): Promise<void> {
    const previous = this.#lifecycle
    const run = previous === undefined ? step() : previous.then(step)
    const settled = run.then(
      () => {},
      () => {},
    )
    this.#lifecycle = settled
    void settled.then(() => {
      if (this.#lifecycle === settled) this.#lifecycle = undefined
    })
    return run
  }

  async #start(): Promise<void> {
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

  async #stop(): Promise<void> {
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

  // ------------------------------------------------------------------ put and get (content.ts)

  async putBytes(bytes: Uint8Array, options: PutOptions = {}): Promise<CID> {
    if (!(bytes instanceof Uint8Array)) throw new TypeError('putBytes expects a Uint8Array.')
    return this.putStream([bytes], options)
  }

  async putStream(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options: PutOptions = {},
  ): Promise<CID> {
    this.#assertStarted('putStream')
    return this.#content.putStream(source, options)
  }

  async putEnvelope(value: unknown, options: PutEnvelopeOptions = {}): Promise<CID> {
    this.#assertStarted('putEnvelope')
    return this.#content.putEnvelope(value, options)
  }

  async *get(cidLike: CidLike, options: GetOptions = {}): AsyncGenerator<Uint8Array> {
    const cid = toCid(cidLike)
    this.#assertStarted('get')
    yield* this.#content.get(cid, options)
  }

  async getEnvelope<T = unknown>(cidLike: CidLike, options: OperationOptions<never> = {}): Promise<T> {
    const cid = toCid(cidLike)
    this.#assertStarted('getEnvelope')
    return this.#content.getEnvelope<T>(cid, options)
  }

  async stat(cidLike: CidLike, options: OperationOptions<never> = {}): Promise<StatResult> {
    const cid = toCid(cidLike)
    this.#assertStarted('stat')
    return this.#content.stat(cid, options)
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

async function openStore(store: unknown): Promise<void> {
  const s = store as { open?: () => Promise<void> }
  if (typeof s.open === 'function') await s.open()
}

async function closeStore(store: unknown): Promise<void> {
  const s = store as { close?: () => Promise<void> }
  if (typeof s.close === 'function') await s.close()
}
