import type { Helia } from '@helia/interface'
import type { Startable } from '@libp2p/interface'
import type { CID } from 'multiformats/cid'
import type { ImportProfile } from './profiles.ts'

/** A CID object, or its string form (`bafy…`, `Qm…`). Strings are parsed and refused with `InvalidCidError`. */
export type CidLike = CID | string

export interface NetworkInit {
  /**
   * Multiaddrs to listen on. Only these are listened on; nothing is announced beyond them.
   *
   * @default ['/ip4/127.0.0.1/tcp/0', '/ip4/127.0.0.1/tcp/0/ws'] (loopback only: opt in to `0.0.0.0` yourself)
   */
  listen?: string[]
  /** Multiaddrs to announce to peers instead of the listen addresses (e.g. a public DNS name). */
  announce?: string[]
  /**
   * Peers to dial on start and to keep connected (`/ip4/…/tcp/…/p2p/12D3…`, `/dns4/…/tcp/…/ws/p2p/…`).
   * A Kubo node's addresses (`ipfs id`) work here. These are the only peers dialled: there is no bootstrap
   * list, no DHT, no mDNS, no UPnP, no AutoNAT and no delegated routing.
   */
  peers?: string[]
  /**
   * For a devnet or a local network only: let a browser storage dial the `peers` above that are at loopback or
   * private-network addresses (`127.0.0.0/8`, `10/8`, `172.16/12`, `192.168/16`, link-local, `::1`,
   * `fc00::/7`, `localhost`), over plain `ws://` as well as `wss://`, such as a `medvault-node` on
   * `/ip4/127.0.0.1/tcp/…/ws/p2p/…`. Other private addresses (announced by a peer, or given to `connect`) stay
   * refused: list them in `peers`. Without it libp2p's browser rules refuse them with `DialDeniedError` (and
   * plain `ws://` to any address). Public
   * addresses keep those rules either way: they need `wss://`. Leave it off for a page on the public web: it
   * lets the page's network reach into the visitor's own network. The Node entry dials any address already
   * and ignores it.
   *
   * @default false
   */
  allowPrivateAddresses?: boolean
}

export interface StorageInit {
  /**
   * Keep blocks (`<directory>/blocks`, blockstore-fs) and the datastore (`<directory>/datastore`: pins, the
   * libp2p key) on disk. Without it everything is in memory and gone on `stop()`.
   */
  directory?: string
  /**
   * Browser entry only: keep blocks and the datastore in IndexedDB, in two databases named
   * `<indexedDB>/blocks` and `<indexedDB>/datastore` (blockstore-idb, datastore-idb). Without it the browser
   * storage is in memory. The Node entry refuses it (use `directory`), as the browser entry refuses `directory`.
   */
  indexedDB?: string
  /** Import profile for `putBytes`/`putStream`. @default 'unixfs-v1-2025' */
  profile?: ImportProfile
  /**
   * Join the IPFS network over libp2p (noise, yamux, bitswap; TCP and WebSockets in Node, WebSockets only
   * in browsers, which can only dial). Off by default.
   */
  network?: NetworkInit
  /**
   * Trustless HTTP gateways (`https://trustless-gateway.link`, a medvault-node, a Kubo gateway) to read
   * missing blocks from, as `application/vnd.ipld.raw`. Every block is checked against its CID. Plain
   * `http://` and private addresses are allowed because you listed them yourself.
   */
  gateways?: string[]
  /**
   * How long to look for one missing block on peers and gateways before `NotFoundError`.
   *
   * @default 30_000
   */
  blockTimeoutMs?: number
  /**
   * Re-hash every block read from the local blockstore and refuse one that does not match its CID.
   * Costs one SHA-256 pass over the data read.
   *
   * @default true
   */
  verifyLocalBlocks?: boolean
  /** Start the storage before `createStorage` resolves. @default true */
  start?: boolean
}

/** Events reported through `onProgress`. Each carries running totals for the operation. */
export type StorageProgressEvent =
  | { type: 'storage:put:bytes'; bytes: number }
  | { type: 'storage:get:bytes'; bytes: number }
  /**
   * `bytes`: the bytes of the blocks this walk read, so far. Raw leaves already held are not read, so not
   * counted, unless `maxBytes` is set: then every block counts.
   */
  | { type: 'storage:pin:block'; cid: CID; blocks: number; bytes: number }
  | { type: 'storage:car:export:block'; cid: CID; blocks: number }
  | { type: 'storage:car:import:block'; cid: CID; blocks: number }
  | { type: 'storage:gc:removed'; cid: CID; removed: number }

export type ProgressOf<T extends StorageProgressEvent['type']> = Extract<StorageProgressEvent, { type: T }>

export interface OperationOptions<E extends StorageProgressEvent = StorageProgressEvent> {
  signal?: AbortSignal
  onProgress?: (event: E) => void
}

export interface PutOptions extends OperationOptions<ProgressOf<'storage:put:bytes'>> {
  /** Override the storage's import profile for this put. */
  profile?: ImportProfile
  /** Pin the new root so `gc()` keeps it. @default true */
  pin?: boolean
}

export interface GetOptions extends OperationOptions<ProgressOf<'storage:get:bytes'>> {
  /** First byte to return. @default 0 */
  offset?: number
  /** How many bytes to return. @default to the end */
  length?: number
}

export interface PutEnvelopeOptions extends OperationOptions<never> {
  /** Pin the envelope block so `gc()` keeps it. @default true */
  pin?: boolean
}

export interface PinOptions extends OperationOptions<ProgressOf<'storage:pin:block'>> {
  /**
   * The most bytes the whole DAG may hold: every block counts, those already local (read for their size)
   * as well as those fetched, so the bound holds whatever earlier attempts left in the store. Past it the
   * pin fails with `DagTooLargeError` and records nothing. Use it for content named by someone you do not
   * trust (an envelope registered on chain by anyone). Costs a read of each local raw leaf.
   */
  maxBytes?: number
}

export interface GcOptions extends OperationOptions<ProgressOf<'storage:gc:removed'>> {}

export interface GcResult {
  /** blocks deleted */
  removed: number
  /** blocks kept (reachable from a pin) */
  kept: number
}

export interface ExportCarOptions extends OperationOptions<ProgressOf<'storage:car:export:block'>> {}

export interface ImportCarOptions extends OperationOptions<ProgressOf<'storage:car:import:block'>> {
  /**
   * Pin every root. The CAR must then hold each root's complete DAG, or it is refused.
   *
   * @default true
   */
  pin?: boolean
  /**
   * The most bytes the CAR may hold, counted as they come from the source (a CARv2's index, when its sender sends
   * one, counts as received). Past it the import fails with a `CarImportError` caused by a `CarTooLargeError`, the
   * rest of the stream unread, and keeps nothing. Unlimited by default, as a CAR of your own (a backup, an export)
   * can be any size; set it, `maxBlocks`, and a `signal` with a deadline (`AbortSignal.timeout`), whenever the CAR
   * comes from someone else (an upload, a peer), or the sender decides how much disk the import takes. The limits do
   * not bound time: a sender that stalls, or sends empty chunks, is ended only by the signal.
   */
  maxBytes?: number
  /**
   * The most blocks (sections) the CAR may hold, repeated ones included, and the most roots its header may name
   * (each root is a pin record, and an identity CID or a block held already needs no section). Past it the import
   * fails with a `CarImportError` caused by a `CarTooLargeError`, before the next block is read (or, for roots, once
   * the header is read), and keeps nothing. Unlimited by default. Each block is a file in a Node store, so a CAR of
   * many tiny blocks costs far more than its bytes say.
   */
  maxBlocks?: number
}

export interface StatResult {
  cid: CID
  /** 'dag-pb' (UnixFS), 'raw' or 'dag-cbor' */
  codec: 'dag-pb' | 'raw' | 'dag-cbor'
  /**
   * Bytes of content: the file size for a UnixFS file, the block size for a raw block or an envelope (for an
   * identity CID, which holds its block, that of the inline block). `undefined` when the root block is not local.
   */
  size: number | undefined
  /** Blocks known to belong to the DAG (the whole DAG when `local` is true). */
  blocks: number
  /** Of those, how many are in the local blockstore. */
  localBlocks: number
  /** True when every block of the DAG is local: it can be read, exported and served offline. */
  local: boolean
  /** True when this CID is pinned as a root. */
  pinned: boolean
}

/**
 * Content-addressed storage over Helia. Create one with `createStorage`.
 */
export interface Storage extends Startable {
  /** Opens the stores, starts Helia (and libp2p) and dials the configured peers. Idempotent. */
  start(): Promise<void>
  /** Stops libp2p and Helia and closes the stores. Idempotent; operations then throw `StorageClosedError`. */
  stop(): Promise<void>
  /** `stop()`, so that `await using storage = await createStorage()` stops it at the end of the scope. */
  [Symbol.asyncDispose](): Promise<void>
  readonly status: 'stopped' | 'starting' | 'started' | 'stopping'
  /** The Helia node underneath (an escape hatch: blocks written through it bypass pins and the gc lock). */
  readonly helia: Helia
  /** The libp2p peer id (networked mode only). */
  readonly peerId: string | undefined
  /** The addresses this node listens on, with `/p2p/<peerId>` (networked mode only, after start). */
  multiaddrs(): string[]
  /** Dial a peer by multiaddr (networked mode only). */
  connect(address: string, options?: { signal?: AbortSignal }): Promise<void>

  /** Import bytes as a UnixFS file and return its root CID. Pinned unless `pin: false`. */
  putBytes(bytes: Uint8Array, options?: PutOptions): Promise<CID>
  /** Import a stream as a UnixFS file in constant memory and return its root CID. Pinned unless `pin: false`. */
  putStream(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>, options?: PutOptions): Promise<CID>
  /** Read a UnixFS file or raw block, optionally a byte range; only the blocks covering the range are read. */
  get(cid: CidLike, options?: GetOptions): AsyncIterable<Uint8Array>
  /** Store a dag-cbor object (CIDv1, sha2-256) and return its CID. Pinned unless `pin: false`. */
  putEnvelope(value: unknown, options?: PutEnvelopeOptions): Promise<CID>
  /** Read and decode a dag-cbor object. */
  getEnvelope<T = unknown>(cid: CidLike, options?: OperationOptions<never>): Promise<T>

  /** Pin a DAG: fetch every missing block (when networked), then record the pin. Idempotent. */
  pin(cid: CidLike, options?: PinOptions): Promise<void>
  /** Remove a pin. Returns false when it was not pinned. Blocks go at the next `gc()`. */
  unpin(cid: CidLike, options?: OperationOptions<never>): Promise<boolean>
  /** True when `cid` is pinned as a root. */
  isPinned(cid: CidLike, options?: OperationOptions<never>): Promise<boolean>
  /** Every pinned root. */
  listPins(options?: OperationOptions<never>): AsyncIterable<CID>
  /** Delete every block not reachable from a pin (mark and sweep), and stale temp files. */
  gc(options?: GcOptions): Promise<GcResult>
  /** Size and local presence of a DAG, from local blocks only (never fetches). */
  stat(cid: CidLike, options?: OperationOptions<never>): Promise<StatResult>

  /** Stream a DAG as a CARv1 (one root, depth-first, each block once). Fetches missing blocks when networked. */
  exportCar(cid: CidLike, options?: ExportCarOptions): AsyncIterable<Uint8Array>
  /**
   * Import a CAR (v1 or v2): every block is verified before it is kept; on any failure nothing is kept. The import
   * holds gc off while it runs, so `signal` also ends a wait on a source that stops sending, and the source is left
   * as it is (close it if it is yours). The import rejects with the signal's reason (or its own error) at once when
   * it had written no block and no pin; otherwise once it has rolled them back, which waits until the puts, pins and
   * imports running at that moment have finished (they may rely on its blocks), and holds new ones off meanwhile.
   * Bound a CAR from someone else with `maxBytes`, `maxBlocks` and a `signal` with a deadline
   * (`AbortSignal.timeout`); a source yielding anything but `Uint8Array` chunks is refused with a `TypeError`.
   */
  importCar(
    source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options?: ImportCarOptions,
  ): Promise<CID[]>
}
