/**
 * The proxy's index of what the chain says, fed by a checkpointed event follower over the ConsentRegistry:
 * grants (terms, kfrag bundle CID, revocation), proxy sets, and each record's owner, tag and current
 * envelope CID. A request is then checked with map lookups — the same cost with ten thousand grants on chain
 * as with one — and no request ever scans the chain's history.
 *
 * With a directory the index is durable: one append-only JSON-lines file holds the index operations and,
 * after each block range, a checkpoint line. A restart replays the file and follows on from the last
 * checkpoint. Operations are idempotent, so a range delivered twice (after a crash between its operations
 * and its checkpoint) changes nothing.
 *
 * The file is compacted when it has grown large and is mostly history (a checkpoint line per poll, grants
 * later revoked, records later versioned): right after a checkpoint, a snapshot of the whole index (the
 * fewest operations that rebuild it, then the checkpoint) is written to a temporary file, flushed, and
 * renamed over the log, which then grows again from the snapshot. A crash at any point leaves either the old
 * log or the complete snapshot; a temporary file left behind is deleted when the index opens.
 *
 * @module
 */
import { open, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import {
  type Checkpoint,
  type CheckpointStore,
  followEvents,
  type MedvaultAddresses,
  memoryCheckpointStore,
  type ScopeKindName,
  scopeKindName,
} from '@medvault/chain'
import { consentRegistryAbi, keyRegistryAbi } from '@medvault/contracts'
import {
  type Address,
  type Chain,
  type Client,
  getAddress,
  type Hex,
  type ParseEventLogsReturnType,
  type Transport,
} from 'viem'
import { type AppendLog, openAppendLog, readLines, syncDir } from './append-log.ts'
import { GrantIndexCorruptError } from './errors.ts'

/** A grant as its events describe it. */
export interface IndexedGrant {
  grantId: Hex
  grantor: Address
  grantee: Address
  scopeKind: ScopeKindName
  /** Record id (record scope), left-aligned 8-byte tag (tag scope), else zero. */
  scopeTarget: Hex
  /** The records of a records-list scope (lowercase hex), empty otherwise. */
  records: Hex[]
  purpose: number
  notBefore: number
  expiry: number
  threshold: number
  proxySetId: number
  /** CID bytes of the kfrag bundle, as registered. */
  kfragsCid: Hex
  revoked: boolean
}

/** A record as its events describe it. */
export interface IndexedRecord {
  recordId: Hex
  owner: Address
  /** The 8-byte tag, `0x0000000000000000` when none. */
  tag: Hex
  /** The current version (1 = as registered). */
  version: number
  /** CID bytes of the current version's envelope. */
  cid: Hex
}

/** One index change; also the line format of the index file (with `t: 'checkpoint'` lines between ranges). */
export type IndexOp =
  | ({ t: 'grant' } & Omit<IndexedGrant, 'revoked' | 'records'>)
  | { t: 'records'; grantId: Hex; records: Hex[] }
  | { t: 'revoke'; grantId: Hex }
  | { t: 'set'; setId: number; members: Address[] }
  | { t: 'record'; recordId: Hex; owner: Address; tag: Hex; cid: Hex }
  | { t: 'version'; recordId: Hex; version: number; cid: Hex }

export interface GrantIndexInit {
  addresses: MedvaultAddresses
  /** First block to read when there is no checkpoint: the deployment block. Default 0. */
  fromBlock?: bigint | undefined
  /** Index an event only this many blocks below the head. Default 0. */
  confirmations?: number | undefined
  /** Milliseconds between polls once caught up. Default 1000. */
  pollingInterval?: number | undefined
  /** Most blocks per `eth_getLogs`. Default 1000. */
  batchSize?: number | undefined
  /** Directory of the durable index; in memory when omitted. */
  dir?: string | undefined
  /** Errors of background polls (the follower keeps going). */
  onError?: ((error: Error) => void) | undefined
  /** Told of each revocation as it is indexed (the proxy drops the grant's opened kfrags). */
  onRevoked?: ((grantId: Hex) => void) | undefined
  /**
   * Told of each publication or rotation of an account's keys in the KeyRegistry, in the same passes as the
   * ConsentRegistry's events (the proxy's cache of published keys drops the account's). Not stored: the
   * index itself holds no keys.
   */
  onKeysPublished?: ((account: Address) => void) | undefined
  /**
   * Compact the file once it reaches this many bytes and at least twice its size after the last compaction.
   * Default 16 MiB.
   */
  compactAtBytes?: number | undefined
}

export interface GrantIndex {
  /** Loads the index (replaying its file), catches up with the chain once, then keeps polling. */
  start(): Promise<void>
  /** Stops polling (after the range in flight); the index stays in memory for a later `start()`. */
  stop(): Promise<void>
  /**
   * Reads up to the current head now; concurrent callers share one pass. With `toBlock` (a block the caller
   * saw on chain), passes repeat (a few at most) until the index has read up to it, `confirmations` aside:
   * a node behind a load balancer may answer with an older head than the one the caller saw.
   */
  catchUp(toBlock?: bigint): Promise<void>
  grant(grantId: Hex): IndexedGrant | undefined
  /** Every grant `grantor` made (revoked ones too), oldest first. */
  grantsOf(grantor: Address): IndexedGrant[]
  record(recordId: Hex): IndexedRecord | undefined
  proxySet(setId: number): readonly Address[] | undefined
  /** The last block fully indexed. */
  readonly indexedBlock: bigint | undefined
  /**
   * The last block whose events have been handed to the index's handlers (`onRevoked`, `onKeysPublished`):
   * `indexedBlock` or, while a range is being stored, that range's last block. State read from the chain at
   * this block is never older than what those handlers were told.
   */
  readonly deliveredBlock: bigint | undefined
  /**
   * When (`performance.now()`, a monotonic clock: a wall-clock step back must not make a halted index look
   * live) the last pass that reached the head began: every event mined before that moment, and
   * `confirmations` deep then, has been handed to the handlers. Undefined before the first such pass. It stops
   * moving while the index is halted (a reorganisation deeper than `confirmations`, a node whose `eth_getLogs`
   * keeps failing): what the handlers were told is then only as recent as this.
   */
  readonly syncedAt: number | undefined
  readonly counts: { grants: number; records: number; proxySets: number }
}

/**
 * Milliseconds since the index's last pass that reached the head began (`syncedAt`), on the same monotonic
 * clock; undefined before the first such pass. The proxy judges the index live while this stays under three
 * polling intervals and a second.
 */
export function syncAgeMs(index: Pick<GrantIndex, 'syncedAt'>): number | undefined {
  const synced = index.syncedAt
  return synced === undefined ? undefined : performance.now() - synced
}

/** The index file name inside its directory. */
export const GRANT_INDEX_FILE = 'grant-index.ndjson'

/** The snapshot being written by a compaction, renamed over {@link GRANT_INDEX_FILE} once complete. */
export const GRANT_INDEX_COMPACTING_FILE = `${GRANT_INDEX_FILE}.compact.tmp`

// followEvents decodes strictly (`strict: true`), so every argument is present.
type ConsentEvent = ParseEventLogsReturnType<typeof consentRegistryAbi, undefined, true>[number]
type KeyEvent = ParseEventLogsReturnType<typeof keyRegistryAbi, undefined, true>[number]
type FollowedEvent = ConsentEvent | KeyEvent
/** The events of both contracts the index follows (their event names differ). */
const FOLLOWED_ABI = [...consentRegistryAbi, ...keyRegistryAbi] as const

/** Creates a grant index over the ConsentRegistry of `addresses` (not started). */
export function createGrantIndex(
  client: Client<Transport, Chain | undefined>,
  init: GrantIndexInit,
): GrantIndex {
  const state = new IndexState()
  const store =
    init.dir === undefined ? memoryStore() : fileStore(init.dir, state, init.compactAtBytes ?? 16 * 2 ** 20)
  const keyRegistry = init.addresses.keyRegistry.toLowerCase()
  let delivered: bigint | undefined
  const follower = followEvents(client, {
    abi: FOLLOWED_ABI,
    // The KeyRegistry only when someone listens for its events: each pass then reads both contracts' logs.
    address:
      init.onKeysPublished === undefined
        ? init.addresses.consentRegistry
        : [init.addresses.consentRegistry, init.addresses.keyRegistry],
    fromBlock: init.fromBlock ?? 0n,
    confirmations: init.confirmations ?? 0,
    batchSize: init.batchSize ?? 1000,
    checkpoint: store,
    onEvents: async (events, range) => {
      // Set in the same tick as the keys' forgets below: a key read at this block, started from now on, holds
      // every publication the forgets announce.
      if (delivered === undefined || range.toBlock > delivered) delivered = range.toBlock
      const consent: ConsentEvent[] = []
      for (const event of events as FollowedEvent[]) {
        if (event.address.toLowerCase() !== keyRegistry) consent.push(event as ConsentEvent)
        else if (event.eventName === 'KeysPublished') init.onKeysPublished?.(getAddress(event.args.account))
      }
      const ops = consent.flatMap(toOps)
      await store.append(ops)
      for (const op of ops) {
        state.apply(op)
        if (op.t === 'revoke') init.onRevoked?.(op.grantId)
      }
    },
  })
  const pollingInterval = init.pollingInterval ?? 1000
  let running: { stop: AbortController; loop: Promise<void> } | undefined
  let inflight: Promise<void> | undefined
  let queued: Promise<void> | undefined
  let syncedAt: number | undefined

  const pass = async (): Promise<void> => {
    // The pass reads up to the head as it is when the pass begins: a later event may not be in it.
    // Monotonic: `syncedAt` is compared with the time since, and a wall clock set back would stretch that.
    const began = performance.now()
    await store.open()
    await follower.sync()
    if (syncedAt === undefined || began > syncedAt) syncedAt = began
  }

  // At most one pass runs; a caller arriving during it gets the next one, which starts after it and so sees
  // every block mined before the call.
  const catchUp = (): Promise<void> => {
    if (inflight === undefined) {
      inflight = pass().finally(() => {
        inflight = undefined
      })
      return inflight
    }
    if (queued === undefined) {
      queued = inflight
        .catch(() => {})
        .then(() => {
          queued = undefined
          return catchUp()
        })
    }
    return queued
  }

  const confirmations = BigInt(init.confirmations ?? 0)
  const catchUpTo = async (toBlock?: bigint): Promise<void> => {
    for (let pass = 0; pass < 3; pass++) {
      await catchUp()
      const at = follower.checkpoint?.blockNumber
      if (toBlock === undefined || (at !== undefined && at + confirmations >= toBlock)) return
    }
  }

  const loop = async (signal: AbortSignal): Promise<void> => {
    while (!signal.aborted) {
      await sleep(pollingInterval, signal)
      if (signal.aborted) break
      try {
        await catchUp()
      } catch (err) {
        init.onError?.(err instanceof Error ? err : new Error(String(err)))
      }
    }
  }

  return {
    async start() {
      if (running !== undefined) return
      await store.open()
      await catchUp()
      const stop = new AbortController()
      running = { stop, loop: loop(stop.signal) }
    },
    async stop() {
      const current = running
      running = undefined
      current?.stop.abort()
      await current?.loop
      await inflight?.catch(() => {})
      await queued?.catch(() => {})
      await store.close()
    },
    catchUp: catchUpTo,
    grant: (grantId) => state.grants.get(key(grantId)),
    grantsOf: (grantor) => {
      const ids = state.byGrantor.get(key(grantor))
      return ids === undefined ? [] : [...ids].map((id) => state.grants.get(id)!)
    },
    record: (recordId) => state.records.get(key(recordId)),
    proxySet: (setId) => state.sets.get(setId),
    get indexedBlock() {
      return follower.checkpoint?.blockNumber
    },
    get deliveredBlock() {
      const indexed = follower.checkpoint?.blockNumber
      if (delivered === undefined) return indexed
      return indexed === undefined || delivered > indexed ? delivered : indexed
    },
    get syncedAt() {
      return syncedAt
    },
    get counts() {
      return { grants: state.grants.size, records: state.records.size, proxySets: state.sets.size }
    },
  }
}

const key = (hex: Hex): Hex => hex.toLowerCase() as Hex

/** The index in memory; every operation is idempotent. */
class IndexState {
  readonly grants = new Map<Hex, IndexedGrant>()
  readonly records = new Map<Hex, IndexedRecord>()
  readonly sets = new Map<number, Address[]>()
  /** Grant ids by grantor (lowercase), for the receipts a grantor asks for. */
  readonly byGrantor = new Map<Hex, Set<Hex>>()

  apply(op: IndexOp): void {
    switch (op.t) {
      case 'grant': {
        const { t: _, ...terms } = op
        const known = this.grants.get(key(op.grantId))
        const grantor = key(op.grantor)
        let ids = this.byGrantor.get(grantor)
        if (ids === undefined) {
          ids = new Set()
          this.byGrantor.set(grantor, ids)
        }
        ids.add(key(op.grantId))
        // A grant id is created once on chain; a re-delivered event must not undo a revocation or a list.
        this.grants.set(key(op.grantId), {
          ...terms,
          records: known?.records ?? [],
          revoked: known?.revoked ?? false,
        })
        return
      }
      case 'records': {
        const grant = this.grants.get(key(op.grantId))
        if (grant !== undefined) grant.records = op.records.map(key)
        return
      }
      case 'revoke': {
        const grant = this.grants.get(key(op.grantId))
        if (grant !== undefined) grant.revoked = true
        return
      }
      case 'set':
        this.sets.set(op.setId, op.members)
        return
      case 'record':
        if (!this.records.has(key(op.recordId))) {
          this.records.set(key(op.recordId), {
            recordId: op.recordId,
            owner: op.owner,
            tag: op.tag,
            version: 1,
            cid: op.cid,
          })
        }
        return
      case 'version': {
        const record = this.records.get(key(op.recordId))
        if (record !== undefined && op.version > record.version) {
          record.version = op.version
          record.cid = op.cid
        }
        return
      }
    }
  }
}

/** The fewest operations that rebuild `state` when replayed into an empty index. */
function snapshotOps(state: IndexState): IndexOp[] {
  const ops: IndexOp[] = []
  for (const grant of state.grants.values()) {
    const { records, revoked, ...terms } = grant
    ops.push({ t: 'grant', ...terms })
    if (records.length > 0) ops.push({ t: 'records', grantId: grant.grantId, records })
    if (revoked) ops.push({ t: 'revoke', grantId: grant.grantId })
  }
  for (const [setId, members] of state.sets) ops.push({ t: 'set', setId, members })
  for (const record of state.records.values()) {
    ops.push({
      t: 'record',
      recordId: record.recordId,
      owner: record.owner,
      tag: record.tag,
      cid: record.cid,
    })
    if (record.version > 1)
      ops.push({ t: 'version', recordId: record.recordId, version: record.version, cid: record.cid })
  }
  return ops
}

/** The index operations of one decoded ConsentRegistry event (none for events the proxy does not need). */
export function toOps(event: ConsentEvent): IndexOp[] {
  switch (event.eventName) {
    case 'AccessGranted': {
      const a = event.args
      return [
        {
          t: 'grant',
          grantId: key(a.grantId),
          grantor: getAddress(a.grantor),
          grantee: getAddress(a.grantee),
          scopeKind: scopeKindName(a.scopeKind),
          scopeTarget: key(a.scopeTarget),
          purpose: a.purpose,
          notBefore: a.notBefore,
          expiry: a.expiry,
          threshold: a.threshold,
          proxySetId: a.proxySetId,
          kfragsCid: key(a.kfragsCid),
        },
      ]
    }
    case 'GrantRecordsScoped':
      return [{ t: 'records', grantId: key(event.args.grantId), records: event.args.records.map(key) }]
    case 'AccessRevoked':
      return [{ t: 'revoke', grantId: key(event.args.grantId) }]
    case 'ProxySetCreated':
      return [{ t: 'set', setId: event.args.setId, members: event.args.members.map((m) => getAddress(m)) }]
    case 'RecordRegistered':
      return [
        {
          t: 'record',
          recordId: key(event.args.recordId),
          owner: getAddress(event.args.owner),
          tag: key(event.args.tag),
          cid: key(event.args.cid),
        },
      ]
    case 'RecordVersionAdded':
      return [
        {
          t: 'version',
          recordId: key(event.args.recordId),
          version: event.args.version,
          cid: key(event.args.cid),
        },
      ]
    default:
      return []
  }
}

/** A checkpoint store that also persists the index operations ahead of each checkpoint. */
interface IndexStore extends CheckpointStore {
  open(): Promise<void>
  append(ops: IndexOp[]): Promise<void>
  close(): Promise<void>
}

function memoryStore(): IndexStore {
  const checkpoints = memoryCheckpointStore()
  return {
    load: () => checkpoints.load(),
    save: (c) => checkpoints.save(c),
    async open() {},
    async append() {},
    async close() {},
  }
}

type CheckpointLine = { t: 'checkpoint'; blockNumber: string; blockHash?: Hex }

function fileStore(dir: string, state: IndexState, compactAtBytes: number): IndexStore {
  const path = join(dir, GRANT_INDEX_FILE)
  const temp = join(dir, GRANT_INDEX_COMPACTING_FILE)
  let log: AppendLog | undefined
  let loaded = false
  let checkpoint: Checkpoint | undefined
  /** The file's size now, and right after the last compaction (or at open). */
  let bytes = 0
  let compactedBytes = 0

  const write = async (lines: string[]): Promise<void> => {
    await log!.append(lines)
    for (const line of lines) bytes += Buffer.byteLength(line) + 1
  }

  /** Snapshot to the temporary file, flushed, renamed over the log; the log is then reopened on it. */
  const compact = async (at: Checkpoint): Promise<void> => {
    const handle = await open(temp, 'w')
    let written = 0
    try {
      // In chunks of about 1 MiB: a large index would not fit in one string.
      let chunk: string[] = []
      let size = 0
      const flush = async (): Promise<void> => {
        const text = chunk.join('')
        chunk = []
        size = 0
        await handle.write(text)
        written += Buffer.byteLength(text)
      }
      for (const line of [...snapshotOps(state), checkpointLine(at)]) {
        const text = `${JSON.stringify(line)}\n`
        chunk.push(text)
        size += text.length
        if (size >= 2 ** 20) await flush()
      }
      await flush()
      await handle.sync()
    } finally {
      await handle.close()
    }
    try {
      // Renamed while the old log is still open: until this succeeds, the old log stays the index.
      await rename(temp, path)
    } catch (err) {
      await rm(temp, { force: true })
      throw err
    }
    await syncDir(dir)
    const old = log!
    log = await openAppendLog(path)
    await old.close()
    bytes = written
    compactedBytes = written
  }

  return {
    async open() {
      if (log === undefined) {
        // A snapshot that was never renamed is incomplete or superseded: the log is the index.
        await rm(temp, { force: true })
        log = await openAppendLog(path)
        bytes = (await stat(path)).size
        compactedBytes = bytes
      }
      if (loaded) return
      try {
        checkpoint = await replayFile(path, state)
      } catch (err) {
        await log.close()
        log = undefined
        throw err
      }
      loaded = true
    },
    async load() {
      return checkpoint
    },
    async save(next) {
      await write([JSON.stringify(checkpointLine(next))])
      checkpoint = next
      // Only here, between ranges: the state in memory is exactly what the file holds up to `next`.
      if (bytes >= compactAtBytes && bytes >= 2 * compactedBytes) await compact(next)
    },
    async append(ops) {
      if (ops.length > 0) await write(ops.map((op) => JSON.stringify(op)))
    },
    async close() {
      await log?.close()
      log = undefined
    },
  }
}

function checkpointLine(at: Checkpoint): CheckpointLine {
  return {
    t: 'checkpoint',
    blockNumber: at.blockNumber.toString(),
    ...(at.blockHash === undefined ? {} : { blockHash: at.blockHash }),
  }
}

/** Replays the index file into `state` and returns its last checkpoint. */
async function replayFile(path: string, state: IndexState): Promise<Checkpoint | undefined> {
  let checkpoint: Checkpoint | undefined
  for await (const { line, number } of readLines(path)) {
    const value = parseIndexLine(line, number)
    if (value.t === 'checkpoint') {
      checkpoint = {
        blockNumber: BigInt(value.blockNumber),
        ...(value.blockHash === undefined ? {} : { blockHash: value.blockHash }),
      }
    } else {
      state.apply(value)
    }
  }
  return checkpoint
}

const OP_TYPES = new Set(['grant', 'records', 'revoke', 'set', 'record', 'version', 'checkpoint'])

function parseIndexLine(text: string, line: number): IndexOp | CheckpointLine {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new GrantIndexCorruptError({ file: GRANT_INDEX_FILE, line, cause: err })
  }
  if (typeof value !== 'object' || value === null || !OP_TYPES.has((value as { t?: unknown }).t as string)) {
    throw new GrantIndexCorruptError({ file: GRANT_INDEX_FILE, line })
  }
  const op = value as IndexOp | CheckpointLine
  if (op.t === 'checkpoint' && !/^\d+$/.test(op.blockNumber)) {
    throw new GrantIndexCorruptError({ file: GRANT_INDEX_FILE, line })
  }
  return op
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
