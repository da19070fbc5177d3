/**
 * The chain follower: pins every record envelope registered on chain (each version), the content each
 * envelope links, and every grant's kfrag bundle, so that what patients register stays available from
 * every node that follows the chain.
 *
 * - Events come from `followEvents` over the ConsentRegistry with a file checkpoint. Each block range's
 *   pin requests are written to the pin store (flushed to disk) before the range's checkpoint is saved, so
 *   a kill at any moment loses nothing: the range comes again, and requests are deduplicated by CID and
 *   kind, so nothing is asked for twice.
 * - Envelopes and bundles are decoded with `@medvault/protocol` before they are pinned: a CID registered on
 *   chain that is not a record envelope (or a kfrag bundle) is marked `failed` with the reason and never
 *   pinned, and a record claiming more than `maxRecordBytes` is refused, so a stranger cannot make every
 *   node store arbitrary data by registering it.
 * - What the pins hold is counted per record owner and in all (`follower-quota.ts`): a record past
 *   `maxBytesPerOwner` or `maxTotalBytes` is refused (`failed`, with the reason, counted in the refusal metric)
 *   before its content is fetched, so one registrant cannot fill the node's disk with many records of the
 *   largest allowed size.
 * - Fetching (from connected peers and configured gateways, through `@medvault/storage`) is retried with
 *   exponential backoff for as long as it takes; so are failed chain reads. Between attempts a record holds
 *   only what it fetched under the bounds, so records whose blocks never come do not starve later ones.
 *
 * @module
 */
import {
  type CheckpointStore,
  type EventFollower,
  followEvents,
  type MedvaultAddresses,
  memoryCheckpointStore,
} from '@medvault/chain'
import { fileCheckpointStore } from '@medvault/chain/node'
import { consentRegistryAbi } from '@medvault/contracts'
import { encryptedStreamLength } from '@medvault/crypto'
import {
  encodeKfragBundle,
  encodeRecordEnvelope,
  parseKfragBundle,
  parseRecordEnvelope,
} from '@medvault/protocol'
import { CID, type Storage } from '@medvault/storage'
import {
  type Chain,
  type Client,
  type Hex,
  hexToBytes,
  type ParseEventLogsReturnType,
  type Transport,
  zeroAddress,
} from 'viem'
import { readContract } from 'viem/actions'
import { RecordOwnerUnknownError } from './daemon-errors.ts'
import { FollowerQuota, QuotaBusyError, QuotaExceededError } from './follower-quota.ts'
import { errorField, type NodeLogger, silentLogger } from './logger.ts'
import type { NodeMetrics } from './metrics.ts'
import { cidKey, type PinRecord, type PinStore } from './pin-store.ts'
import { PermanentPinError, type Pinner, type PreparedPin } from './pinner.ts'

/** The pin store owner of everything the follower pins. */
export const FOLLOWER_OWNER = 'follower'

/** What a follower pin is. */
export type FollowedKind = 'envelope' | 'content' | 'kfrags'

export interface ChainFollowerInit {
  /** File of the follower's checkpoint (written atomically); in memory when omitted. */
  checkpointFile?: string | undefined
  /** First block to read without a checkpoint: the deployment block. Default 0. */
  fromBlock?: bigint | undefined
  /** Follow only blocks this deep below the head. Default 0. */
  confirmations?: number | undefined
  /** Most blocks per `eth_getLogs`. Default 1000. */
  batchSize?: number | undefined
  /** Milliseconds between polls once caught up. Default 1000. */
  pollingIntervalMs?: number | undefined
  /** Longest wait after a failed chain read, in ms (the wait doubles from `pollingIntervalMs`). Default 60000. */
  maxBackoffMs?: number | undefined
  /** Largest record (envelope `size`) pinned; larger ones are refused. Default 1 GiB. */
  maxRecordBytes?: number | undefined
  /**
   * Most bytes the pinned records (envelope and content) and kfrag bundles of one record owner (grantor, for
   * bundles) may hold on this node; past it their records are refused. Default: no bound (the daemon's
   * configuration sets 16 GiB).
   */
  maxBytesPerOwner?: number | false | undefined
  /** Most bytes all followed records may hold on this node; past it records are refused. Default: no bound. */
  maxTotalBytes?: number | false | undefined
  /** Owners (addresses) whose records are pinned past both bounds (their bytes still count toward the total). */
  exemptOwners?: readonly string[] | undefined
}

export interface ChainFollowerComponents {
  publicClient: Client<Transport, Chain | undefined>
  addresses: MedvaultAddresses
  storage: Pick<Storage, 'getEnvelope'>
  pins: PinStore
  pinner: Pinner
  logger?: NodeLogger | undefined
  metrics?: NodeMetrics | undefined
}

export interface ChainFollower {
  start(): Promise<void>
  /** Finishes the block range in hand, saves the checkpoint and stops. */
  stop(): Promise<void>
  isStarted(): boolean
  /** Reads the chain up to its head once (when not started). */
  sync(): Promise<void>
  /** The last block fully handled. */
  readonly block: bigint | undefined
  /** The chain head seen at the last pass. */
  readonly head: bigint | undefined
  /** True once a pass has reached the head since start. */
  readonly caughtUp: boolean
  /** Bytes the followed records pinned on this node hold (what the storage bounds count). */
  readonly storedBytes: number
  /** Bytes the pinned records of `owner` (an address) hold on this node. */
  ownerBytes(owner: string): number
}

type ConsentEvent = ParseEventLogsReturnType<typeof consentRegistryAbi, undefined, true>[number]

export function createChainFollower(
  init: ChainFollowerInit,
  components: ChainFollowerComponents,
): ChainFollower {
  return new Follower(init, components)
}

class Follower implements ChainFollower {
  readonly #init: ChainFollowerInit
  readonly #components: ChainFollowerComponents
  readonly #log: NodeLogger
  readonly #events: EventFollower
  readonly #checkpoints: CheckpointStore
  #running: { stop: AbortController; loop: Promise<void> } | undefined
  #head: bigint | undefined
  #caughtUp = false
  readonly #quota: FollowerQuota

  constructor(init: ChainFollowerInit, components: ChainFollowerComponents) {
    this.#init = init
    this.#components = components
    this.#log = components.logger ?? silentLogger()
    this.#checkpoints =
      init.checkpointFile === undefined ? memoryCheckpointStore() : fileCheckpointStore(init.checkpointFile)
    this.#events = followEvents(components.publicClient, {
      abi: consentRegistryAbi,
      address: components.addresses.consentRegistry,
      fromBlock: init.fromBlock ?? 0n,
      confirmations: init.confirmations ?? 0,
      batchSize: init.batchSize ?? 1000,
      checkpoint: this.#checkpoints,
      onEvents: (events) => this.#onEvents(events as ConsentEvent[]),
      onProgress: (event) => {
        this.#head = event.head
        const block = event.type === 'batch' ? event.toBlock : event.checkpoint
        if (block !== undefined) components.metrics?.followerBlock.set(Number(block))
        if (block !== undefined) components.metrics?.followerLag.set(Number(event.head - block))
      },
    })
    const maxRecordBytes = init.maxRecordBytes ?? 1024 ** 3
    this.#quota = new FollowerQuota(init, components.pins, FOLLOWER_OWNER)
    components.pinner.policy(FOLLOWER_OWNER, {
      retryForever: true,
      prepare: (record, signal) => this.#prepare(record, signal, maxRecordBytes),
      settle: (record, outcome) => this.#quota.settle(record, outcome),
    })
    components.metrics?.onCollect(() => components.metrics!.followerStoredBytes.set(this.#quota.totalBytes))
  }

  get storedBytes(): number {
    return this.#quota.totalBytes
  }

  ownerBytes(owner: string): number {
    return this.#quota.ownerBytes(owner)
  }

  get block(): bigint | undefined {
    return this.#events.checkpoint?.blockNumber
  }

  get head(): bigint | undefined {
    return this.#head
  }

  get caughtUp(): boolean {
    return this.#caughtUp
  }

  isStarted(): boolean {
    return this.#running !== undefined
  }

  async sync(): Promise<void> {
    await this.#events.sync()
  }

  async start(): Promise<void> {
    if (this.#running !== undefined) return
    // What the pins already hold counts from the first block read (the pin store is open by now).
    this.#quota.load()
    const stop = new AbortController()
    this.#running = { stop, loop: this.#loop(stop.signal) }
  }

  async stop(): Promise<void> {
    const running = this.#running
    if (running === undefined) return
    this.#running = undefined
    running.stop.abort()
    await running.loop
    this.#caughtUp = false
  }

  /** One pass to the head at a time; after a failure the wait doubles, up to `maxBackoffMs`. */
  async #loop(signal: AbortSignal): Promise<void> {
    const base = this.#init.pollingIntervalMs ?? 1000
    const max = this.#init.maxBackoffMs ?? 60_000
    let failures = 0
    while (!signal.aborted) {
      try {
        await this.#events.sync({ signal })
        failures = 0
        this.#caughtUp = true
      } catch (err) {
        if (signal.aborted) break
        failures++
        this.#log.warn({ error: errorField(err), failures }, 'chain follower pass failed')
      }
      const wait = failures === 0 ? base : Math.min(max, base * 2 ** Math.min(failures, 20))
      await sleep(wait, signal)
    }
  }

  async #onEvents(events: ConsentEvent[]): Promise<void> {
    const owners = await this.#versionOwners(events)
    // Adds are started together so the pin store writes the whole range with one flush; each add updates
    // memory at once, so a CID named twice in the range is still requested once.
    const adds: Array<Promise<PinRecord | undefined>> = []
    for (const event of events) {
      this.#components.metrics?.followerEvents.inc({ event: event.eventName })
      const wanted = wantedPin(event)
      if (wanted === undefined) continue
      const cid = cidFromChain(wanted.cidHex)
      if (cid === undefined) {
        this.#log.warn(
          { event: event.eventName, ...wanted.meta },
          'chain event names bytes that are not a CID',
        )
        continue
      }
      const owner = wanted.owner ?? owners.get(wanted.meta.recordId ?? '')
      // Every envelope and bundle is charged to an owner: one requested without would pass the per-owner bound.
      // `#versionOwners` names the owner of every version, so this fails the range only if that breaks.
      if (owner === undefined) throw new RecordOwnerUnknownError({ recordId: wanted.meta.recordId ?? '' })
      const meta = { ...wanted.meta, owner: owner.toLowerCase() }
      adds.push(this.#add(cid, wanted.kind, wanted.name, meta))
    }
    const added = (await Promise.all(adds)).filter((r): r is PinRecord => r !== undefined)
    // Requests are durable before followEvents saves this range's checkpoint; only then are they worked on.
    for (const record of added) this.#components.pinner.enqueue(record.requestid)
  }

  /**
   * The owners of the records whose new versions the range names and that are not requested yet: from the
   * range's own registrations, else read from the chain (the storage bounds charge a version to its record's
   * owner, not to the delegate who added it). A failed read fails the range, which is read again.
   */
  async #versionOwners(events: ConsentEvent[]): Promise<Map<string, string>> {
    const owners = new Map<string, string>()
    const unknown = new Set<Hex>()
    for (const event of events) {
      if (event.eventName === 'RecordRegistered') owners.set(event.args.recordId, event.args.owner)
      else if (event.eventName === 'RecordVersionAdded' && !owners.has(event.args.recordId)) {
        const cid = cidFromChain(event.args.cid)
        if (cid === undefined) continue
        // Only a request of this very record (a replayed range, or the same CID re-added as a new version)
        // tells its owner, which is written once and never changes: another record naming the same CID may
        // be anyone's. The owner is taken from it, never skipped: a version requested without one would be
        // keyed apart from the owner's request and charged to no one's bound.
        const owner = this.#components.pins
          .byKey(cidKey(cid))
          .find(
            (r) =>
              r.owner === FOLLOWER_OWNER &&
              r.meta?.kind === 'envelope' &&
              r.meta.recordId === event.args.recordId &&
              r.meta.owner !== undefined &&
              r.meta.owner !== '' &&
              r.meta.owner !== zeroAddress,
          )?.meta?.owner
        if (owner === undefined) unknown.add(event.args.recordId)
        else owners.set(event.args.recordId, owner)
      }
    }
    // A few reads at a time: a catch-up range may name thousands of versions, and the RPC endpoint is shared.
    const pending = [...unknown].filter((id) => !owners.has(id))
    for (let i = 0; i < pending.length; i += OWNER_READS_AT_ONCE) {
      await Promise.all(
        pending.slice(i, i + OWNER_READS_AT_ONCE).map(async (recordId) => {
          // At the latest block, not the event's: a record's owner is written once and never changes, and an
          // old block's state is gone from a node that is not an archive node, which would halt a catch-up.
          const owner = await readContract(this.#components.publicClient, {
            address: this.#components.addresses.consentRegistry,
            abi: consentRegistryAbi,
            functionName: 'ownerOf',
            args: [recordId],
          })
          // The version's event proves the record registered, so no owner means a node behind that block (a
          // backend of a load-balanced endpoint): charged to the zero address, the version would count
          // toward no one's bound. The range fails and is read again.
          if (owner === zeroAddress) throw new RecordOwnerUnknownError({ recordId })
          owners.set(recordId, owner)
        }),
      )
    }
    return owners
  }

  /**
   * Adds a follower request unless one for this CID, kind and owner exists (a replayed range adds nothing).
   * The owner is part of the key: registration is open, so a request made first for a CID by someone whose
   * records are refused (over their quota) must not stand for the same CID named later by another owner.
   * A CID two owners really share is charged to both, which errs on the safe side.
   */
  async #add(
    cid: CID,
    kind: FollowedKind,
    name: string,
    meta: Record<string, string>,
  ): Promise<PinRecord | undefined> {
    const { pins } = this.#components
    const key = cidKey(cid)
    const owner = meta.owner
    const existing = pins
      .byKey(key)
      .find((r) => r.owner === FOLLOWER_OWNER && r.meta?.kind === kind && r.meta.owner === owner)
    if (existing !== undefined) return undefined
    // No await before `pins.add` records it in memory: concurrent adds of one CID see each other.
    const record = await pins.add({
      owner: FOLLOWER_OWNER,
      cid: cid.toString(),
      name,
      meta: { ...meta, kind },
    })
    this.#log.info({ requestid: record.requestid, cid: key, kind }, 'follower pin requested')
    return record
  }

  /** Before an envelope or bundle is pinned: fetch it, decode it, and (envelopes) request its content. */
  async #prepare(
    record: PinRecord,
    signal: AbortSignal,
    maxRecordBytes: number,
  ): Promise<PreparedPin | undefined> {
    const kind = record.meta?.kind
    if (kind === 'content') {
      this.#contentMayPin(record)
      return undefined
    }
    if (kind !== 'envelope' && kind !== 'kfrags') return undefined
    const value = await this.#components.storage.getEnvelope(record.cid, { signal })
    if (kind === 'kfrags') {
      let bundle: ReturnType<typeof parseKfragBundle>
      try {
        bundle = parseKfragBundle(value)
      } catch (err) {
        throw new PermanentPinError(`not a kfrag bundle (${errorField(err)})`, { cause: err })
      }
      // A bundle is one block (canonical DAG-CBOR, so its encoding is the block): nothing past it is fetched.
      const maxBytes = encodeKfragBundle(bundle).length
      this.#admit(record, maxBytes)
      return { maxBytes }
    }
    let envelope: ReturnType<typeof parseRecordEnvelope>
    try {
      envelope = parseRecordEnvelope(value)
    } catch (err) {
      throw new PermanentPinError(`not a record envelope (${errorField(err)})`, { cause: err })
    }
    if (envelope.size > maxRecordBytes) {
      throw new PermanentPinError(
        `the record is ${envelope.size} bytes, over this node's limit of ${maxRecordBytes}`,
      )
    }
    // The envelope's pin walks into the content it links, so it carries the same bound (plus the envelope
    // block itself); unbounded, it would fetch and keep the whole DAG the content request refuses. That bound
    // is what the storage bounds set aside, before the content is even requested.
    const contentLimit = contentByteLimit(envelope.size, envelope.segment)
    const maxBytes = encodeRecordEnvelope(envelope).length + contentLimit
    this.#admit(record, maxBytes)
    // Not awaited: the content request is in memory at once and its line is queued ahead of this
    // envelope's `pinned` line in the same append-only file, so no restart can find the envelope pinned and
    // its content request missing. Waiting for the flush would hold a pinner slot idle for it.
    void this.#add(envelope.content, 'content', `content:${record.meta?.recordId ?? ''}`, {
      maxBytes: String(contentLimit),
      envelope: record.requestid,
      // Its envelope's owner keys it, so another owner's envelope naming the same content has its own.
      ...(record.meta?.owner === undefined ? {} : { owner: record.meta.owner }),
      ...(record.meta?.recordId === undefined ? {} : { recordId: record.meta.recordId }),
      ...(record.meta?.version === undefined ? {} : { version: record.meta.version }),
    }).then(
      (content) => {
        if (content !== undefined) this.#components.pinner.enqueue(content.requestid)
      },
      (err: unknown) => this.#log.error({ error: errorField(err) }, 'content pin request not saved'),
    )
    return { maxBytes }
  }

  /**
   * A record's content is pinned only once its envelope is pinned: the envelope's pin, which walks into the
   * content, is what the storage bounds charge, and it has fetched the content by then (this costs only the
   * order). Pinning it while the envelope is merely in flight would leave it uncharged if that envelope then
   * failed or was refused. A content request whose envelope failed fails with it.
   */
  #contentMayPin(record: PinRecord): void {
    const envelopeId = record.meta?.envelope
    if (envelopeId === undefined) return
    const envelope = this.#components.pins.get(envelopeId)
    if (envelope?.status === 'pinned') return
    if (envelope === undefined || envelope.status === 'failed') {
      throw new PermanentPinError(
        `its envelope was not pinned (${envelope?.info?.status_details ?? 'the request is gone'})`,
      )
    }
    throw new QuotaBusyError('envelope')
  }

  /** Sets the pin's bytes aside under the storage bounds; a refusal is counted and logged (CID and owner only). */
  #admit(record: PinRecord, maxBytes: number): void {
    try {
      this.#quota.admit(record, maxBytes)
    } catch (err) {
      if (err instanceof QuotaExceededError) {
        this.#components.metrics?.refusals.inc({ service: 'follower', reason: err.bound })
        this.#log.warn(
          {
            requestid: record.requestid,
            cid: record.key,
            owner: record.meta?.owner ?? null,
            bound: err.bound,
          },
          'record refused: over a storage bound',
        )
      }
      throw err
    }
  }
}

/** The pin an event asks for, if any. */
function wantedPin(
  event: ConsentEvent,
):
  | { cidHex: Hex; kind: FollowedKind; name: string; meta: Record<string, string>; owner?: string }
  | undefined {
  switch (event.eventName) {
    case 'RecordRegistered':
      return {
        cidHex: event.args.cid,
        kind: 'envelope',
        name: `envelope:${event.args.recordId}:1`,
        meta: { recordId: event.args.recordId, version: '1' },
        owner: event.args.owner,
      }
    case 'RecordVersionAdded':
      return {
        cidHex: event.args.cid,
        kind: 'envelope',
        name: `envelope:${event.args.recordId}:${event.args.version}`,
        meta: { recordId: event.args.recordId, version: String(event.args.version) },
      }
    case 'AccessGranted':
      return {
        cidHex: event.args.kfragsCid,
        kind: 'kfrags',
        name: `kfrags:${event.args.grantId}`,
        meta: { grantId: event.args.grantId },
        owner: event.args.grantor,
      }
    default:
      return undefined
  }
}

function cidFromChain(hex: Hex): CID | undefined {
  try {
    return CID.decode(hexToBytes(hex))
  } catch {
    return undefined
  }
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

/**
 * The most bytes the content DAG of an envelope may hold: its ciphertext (the size the envelope states,
 * encrypted with its segment size) plus the UnixFS structure around it (links and wrappers: well under 1/16
 * for chunks of a kilobyte or more) and a fixed allowance. The envelope's own size check bounds what an honest
 * record can be; this bounds what a stranger's envelope can make every following node fetch and store.
 */
export function contentByteLimit(size: number, segment: number): number {
  const ciphertext = encryptedStreamLength(size, segment)
  return ciphertext + Math.ceil(ciphertext / 16) + CONTENT_ALLOWANCE_BYTES
}

const CONTENT_ALLOWANCE_BYTES = 1_048_576

/** `ownerOf` reads in flight at once while a range's new versions are attributed to their records' owners. */
const OWNER_READS_AT_ONCE = 16
