/**
 * Replication to remote pinning services: the node as a Pinning Service API *client*. Every pin the chain
 * follower completed is also asked of each configured remote (an IPFS Cluster's PSA endpoint, a commercial
 * pinning service, another medvault-node), with this node's own addresses as `origins` so the remote can
 * fetch straight from it. The remote's status is polled until `pinned`; a `failed` request is replaced
 * (the spec's retry) with backoff, and a request the remote forgot (404) is made again.
 *
 * What was asked of which remote is kept in `state/replication.json` (a snapshot, written atomically) and
 * `replication.json.journal` (the entries changed since, one JSON line each, appended and flushed after each
 * pass), so a restart neither loses track of remote requests nor asks twice. The snapshot is rewritten and
 * the journal emptied only when the journal has grown past the snapshot's size: a pass costs what it
 * changed, not the size of the state.
 *
 * A pass looks only at the requests that still need something at a remote (never asked, or not `pinned`
 * there yet), kept in a work list per remote as pins complete; a request that stays waiting moves to the
 * back of the list, so a slow remote does not starve the others. With 100,000 followed pins a pass costs
 * its `batch` of calls, not a scan of every pin.
 *
 * @module
 */
import { open, readFile, rename, stat, truncate } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { type AppendLog, openAppendLog, readLines, syncDir } from './append-log.ts'
import type { RemoteService } from './config.ts'
import { NodeStateCorruptError } from './daemon-errors.ts'
import { errorField, type NodeLogger, silentLogger } from './logger.ts'
import type { NodeMetrics } from './metrics.ts'
import type { PinRecord, PinStore } from './pin-store.ts'
import type { Pinner } from './pinner.ts'
import type { PsaPinResults, PsaPinStatus, PsaStatus } from './psa-spec.ts'

export interface ReplicationInit {
  remotes: readonly RemoteService[]
  /** File of the replication state; in memory when omitted. */
  stateFile?: string | undefined
  /** Milliseconds between reconciliation passes. Default 5000. */
  intervalMs?: number | undefined
  /** Requests sent to one remote per pass (adds and status checks together). Default 100. */
  batch?: number | undefined
  /** Longest one call to a remote may take, in ms. Default 15000. */
  timeoutMs?: number | undefined
  /**
   * How often the remote's whole list of this node's requests is read, to notice requests it lost (even
   * `pinned` ones), in ms. Default 600000 (10 min).
   */
  auditIntervalMs?: number | undefined
  /**
   * An audit keeps requests made less than this long ago even when the remote does not list them yet
   * (services whose listings lag). Default 60000.
   */
  auditGraceMs?: number | undefined
  /** The journal is folded into the snapshot once larger than this and than the snapshot. Default 1 MiB. */
  journalMaxBytes?: number | undefined
  /** Which local requests are replicated. Default: every one the chain follower made. */
  select?: ((record: PinRecord) => boolean) | undefined
}

export interface ReplicationComponents {
  pins: PinStore
  pinner: Pinner
  /** This node's own addresses, sent as `origins`. */
  origins: () => string[]
  logger?: NodeLogger | undefined
  metrics?: NodeMetrics | undefined
  fetch?: typeof fetch | undefined
}

/** What one remote was asked for one local request. */
export interface RemoteEntry {
  requestid: string
  status: PsaStatus
  /** Times the remote reported `failed` (for backoff). */
  failures: number
  /** Unix ms before which the entry is not retried. */
  retryAt: number
  /** Unix ms when the remote was asked (an audit never drops a request younger than a minute). */
  askedAt?: number | undefined
}

export interface Replication {
  start(): Promise<void>
  stop(): Promise<void>
  isStarted(): boolean
  /** Runs one reconciliation pass now (also while stopped). */
  reconcile(): Promise<void>
  /** The state of local request `requestid` at `remote`. */
  entry(remote: string, requestid: string): RemoteEntry | undefined
  /** Counts of remote statuses by remote name (missing: not yet asked). */
  summary(): Record<string, Record<PsaStatus | 'missing', number>>
}

export function createReplication(init: ReplicationInit, components: ReplicationComponents): Replication {
  return new RemoteReplication(init, components)
}

type State = Record<string, Record<string, RemoteEntry>>

class RemoteReplication implements Replication {
  readonly #init: ReplicationInit
  readonly #components: ReplicationComponents
  readonly #log: NodeLogger
  readonly #fetch: typeof fetch
  readonly #select: (record: PinRecord) => boolean
  #state: State = {}
  #loaded = false
  /** Entries changed since the last save, by remote (null: removed). */
  #changed = new Map<string, Map<string, RemoteEntry | null>>()
  /** Per remote, the local requests that still need a call there, oldest first. */
  readonly #work = new Map<string, Set<string>>()
  #journal: AppendLog | undefined
  #journalBytes = 0
  #snapshotBytes = 0
  #running: { stop: AbortController; loop: Promise<void> } | undefined
  #wake: (() => void) | undefined
  #pass: Promise<void> | undefined
  readonly #remoteBackoff = new Map<string, { failures: number; until: number }>()
  readonly #lastAudit = new Map<string, number>()

  constructor(init: ReplicationInit, components: ReplicationComponents) {
    this.#init = init
    this.#components = components
    this.#log = components.logger ?? silentLogger()
    this.#fetch = components.fetch ?? fetch
    this.#select = init.select ?? ((r) => r.owner === 'follower')
    components.pinner.onSettled((record) => {
      if (record.status !== 'pinned' || !this.#select(record)) return
      for (const remote of this.#init.remotes) {
        if (this.#state[remote.name]?.[record.requestid]?.status !== 'pinned')
          this.#workOf(remote.name).add(record.requestid)
      }
      this.#wake?.()
    })
    components.metrics?.onCollect(() => {
      const gauge = components.metrics!.replication
      gauge.reset()
      for (const [remote, counts] of Object.entries(this.summary())) {
        for (const [status, n] of Object.entries(counts)) gauge.set({ remote, status }, n)
      }
    })
  }

  isStarted(): boolean {
    return this.#running !== undefined
  }

  async start(): Promise<void> {
    if (this.#running !== undefined) return
    await this.#load()
    const stop = new AbortController()
    this.#running = { stop, loop: this.#loop(stop.signal) }
  }

  async stop(): Promise<void> {
    const running = this.#running
    if (running === undefined) return
    this.#running = undefined
    running.stop.abort()
    this.#wake?.()
    await running.loop
    await this.#pass?.catch(() => {})
    await this.#save()
    await this.#journal?.close()
    this.#journal = undefined
  }

  entry(remote: string, requestid: string): RemoteEntry | undefined {
    return this.#state[remote]?.[requestid]
  }

  summary(): Record<string, Record<PsaStatus | 'missing', number>> {
    const out: Record<string, Record<PsaStatus | 'missing', number>> = {}
    for (const remote of this.#init.remotes)
      out[remote.name] = { queued: 0, pinning: 0, pinned: 0, failed: 0, missing: 0 }
    // One pass over the pins for all remotes (metrics scrapes call this; passes never do).
    for (const r of this.#components.pins.all()) {
      if (r.status !== 'pinned' || !this.#select(r)) continue
      for (const remote of this.#init.remotes) {
        const e = this.#state[remote.name]?.[r.requestid]
        out[remote.name]![e?.status ?? 'missing']++
      }
    }
    return out
  }

  reconcile(): Promise<void> {
    this.#pass ??= this.#reconcile().finally(() => {
      this.#pass = undefined
    })
    return this.#pass
  }

  async #loop(signal: AbortSignal): Promise<void> {
    const interval = this.#init.intervalMs ?? 5000
    while (!signal.aborted) {
      try {
        await this.reconcile()
      } catch (err) {
        this.#log.error({ error: errorField(err) }, 'replication pass failed')
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, interval)
        this.#wake = () => {
          clearTimeout(timer)
          resolve()
        }
      })
      this.#wake = undefined
    }
  }

  async #reconcile(): Promise<void> {
    await this.#load()
    await Promise.all(this.#init.remotes.map((remote) => this.#reconcileRemote(remote)))
    await this.#save()
  }

  #workOf(remote: string): Set<string> {
    let work = this.#work.get(remote)
    if (work === undefined) {
      work = new Set()
      this.#work.set(remote, work)
    }
    return work
  }

  /** Records an entry change (in memory now, on disk at the end of the pass). */
  #set(remote: string, requestid: string, entry: RemoteEntry | null): void {
    const state = this.#state[remote] ?? {}
    this.#state[remote] = state
    if (entry === null) delete state[requestid]
    else state[requestid] = entry
    let changed = this.#changed.get(remote)
    if (changed === undefined) {
      changed = new Map()
      this.#changed.set(remote, changed)
    }
    changed.set(requestid, entry)
  }

  async #reconcileRemote(remote: RemoteService): Promise<void> {
    const backoff = this.#remoteBackoff.get(remote.name)
    if (backoff !== undefined && Date.now() < backoff.until) return
    const state = this.#state[remote.name] ?? {}
    this.#state[remote.name] = state
    let budget = this.#init.batch ?? 100
    try {
      const auditEvery = this.#init.auditIntervalMs ?? 600_000
      if (Date.now() - (this.#lastAudit.get(remote.name) ?? 0) >= auditEvery) {
        await this.#audit(remote, state)
        this.#lastAudit.set(remote.name, Date.now())
      }
      const work = this.#workOf(remote.name)
      // A snapshot of the list: entries re-added during the pass (moved to the back) are not met twice.
      for (const requestid of [...work]) {
        if (budget <= 0) break
        const record = this.#components.pins.get(requestid)
        if (record === undefined || record.status !== 'pinned' || !this.#select(record)) {
          work.delete(requestid)
          continue
        }
        const entry = state[requestid]
        if (entry?.status === 'pinned') {
          work.delete(requestid)
          continue
        }
        if (entry !== undefined && Date.now() < entry.retryAt) continue
        budget--
        // To the back of the list: it is called on again only after the others had their turn.
        work.delete(requestid)
        work.add(requestid)
        if (entry === undefined) {
          this.#set(remote.name, requestid, await this.#add(remote, record))
          continue
        }
        const status = await this.#status(remote, entry.requestid)
        if (status === undefined) {
          // The remote no longer knows the request: ask again.
          this.#set(remote.name, requestid, await this.#add(remote, record))
        } else if (status.status === 'failed') {
          const failures = entry.failures + 1
          const replaced = await this.#call(remote, `/pins/${encodeURIComponent(entry.requestid)}`, {
            method: 'POST',
            body: this.#pinBody(record),
          })
          this.#set(remote.name, requestid, {
            requestid: (replaced as PsaPinStatus).requestid,
            status: (replaced as PsaPinStatus).status,
            failures,
            retryAt: Date.now() + Math.min(300_000, 1000 * 2 ** Math.min(failures, 20)),
            askedAt: Date.now(),
          })
          this.#log.warn({ remote: remote.name, cid: record.key, failures }, 'remote pin failed; replaced')
        } else if (status.status !== entry.status) {
          this.#set(remote.name, requestid, { ...entry, status: status.status })
          if (status.status === 'pinned') {
            work.delete(requestid)
            this.#log.info({ remote: remote.name, cid: record.key }, 'replicated')
          }
        }
      }
      this.#remoteBackoff.delete(remote.name)
    } catch (err) {
      const failures = (backoff?.failures ?? 0) + 1
      this.#remoteBackoff.set(remote.name, {
        failures,
        until: Date.now() + Math.min(300_000, 1000 * 2 ** Math.min(failures, 20)),
      })
      this.#components.metrics?.replicationErrors.inc({ remote: remote.name })
      this.#log.warn(
        { remote: remote.name, error: errorField(err), failures },
        'remote pinning service call failed',
      )
    }
  }

  #pinBody(record: PinRecord): string {
    const origins = this.#components
      .origins()
      .filter((a) => /\/p2p\/[^/]+$/.test(a))
      .slice(0, 20)
    return JSON.stringify({
      cid: record.cid,
      ...(record.name === undefined ? {} : { name: record.name.slice(0, 255) }),
      ...(origins.length === 0 ? {} : { origins }),
      meta: { ...(record.meta ?? {}), source: 'medvault-node' },
    })
  }

  async #add(remote: RemoteService, record: PinRecord): Promise<RemoteEntry> {
    const status = (await this.#call(remote, '/pins', {
      method: 'POST',
      body: this.#pinBody(record),
    })) as PsaPinStatus
    if (typeof status?.requestid !== 'string')
      throw new Error('the remote answered a pin request without a requestid')
    return {
      requestid: status.requestid,
      status: status.status,
      failures: 0,
      retryAt: 0,
      askedAt: Date.now(),
    }
  }

  /** Drops entries whose request the remote no longer lists, so the next pass asks again. */
  async #audit(remote: RemoteService, state: Record<string, RemoteEntry>): Promise<void> {
    const started = Date.now()
    const listed = new Set<string>()
    let before: string | undefined
    for (;;) {
      const query = `/pins?status=queued,pinning,pinned,failed&limit=1000${
        before === undefined ? '' : `&before=${encodeURIComponent(before)}`
      }`
      const page = (await this.#call(remote, query, { method: 'GET' })) as PsaPinResults | undefined
      const results = page?.results ?? []
      for (const r of results) listed.add(r.requestid)
      if (results.length < 1000) break
      before = results.at(-1)!.created
    }
    for (const [local, entry] of Object.entries(state)) {
      if (listed.has(entry.requestid) || (entry.askedAt ?? 0) > started - (this.#init.auditGraceMs ?? 60_000))
        continue
      this.#set(remote.name, local, null)
      this.#workOf(remote.name).add(local)
      this.#log.warn(
        { remote: remote.name, requestid: entry.requestid },
        'remote lost a pin request; asking again',
      )
    }
  }

  async #status(remote: RemoteService, requestid: string): Promise<PsaPinStatus | undefined> {
    return (await this.#call(remote, `/pins/${encodeURIComponent(requestid)}`, { method: 'GET' }, true)) as
      | PsaPinStatus
      | undefined
  }

  /** One call; 404 is `undefined` when `allowMissing`; any other non-2xx throws (status only, no body). */
  async #call(
    remote: RemoteService,
    path: string,
    init: RequestInit,
    allowMissing = false,
  ): Promise<unknown> {
    const res = await this.#fetch(`${remote.endpoint}${path}`, {
      ...init,
      headers: {
        authorization: `Bearer ${remote.token}`,
        accept: 'application/json',
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      signal: AbortSignal.timeout(this.#init.timeoutMs ?? 15_000),
    })
    if (allowMissing && res.status === 404) {
      await res.body?.cancel()
      return undefined
    }
    if (res.status < 200 || res.status >= 300) {
      await res.body?.cancel()
      throw new Error(
        `${remote.name} answered HTTP ${res.status} to ${init.method} ${path.split('/').slice(0, 2).join('/')}`,
      )
    }
    const text = await res.text()
    return text === '' ? undefined : JSON.parse(text)
  }

  async #load(): Promise<void> {
    if (this.#loaded) return
    this.#loaded = true
    const file = this.#init.stateFile
    try {
      if (file !== undefined) await this.#loadFiles(file)
    } catch (err) {
      this.#loaded = false
      this.#state = {}
      throw err
    }
    // The work lists: every selected pin not yet `pinned` at a remote. The one full scan, at load.
    for (const record of this.#components.pins.all()) {
      if (record.status !== 'pinned' || !this.#select(record)) continue
      for (const remote of this.#init.remotes) {
        if (this.#state[remote.name]?.[record.requestid]?.status !== 'pinned')
          this.#workOf(remote.name).add(record.requestid)
      }
    }
  }

  async #loadFiles(file: string): Promise<void> {
    try {
      const text = await readFile(file, 'utf8')
      this.#snapshotBytes = Buffer.byteLength(text)
      const value = JSON.parse(text) as { v?: number; remotes?: State }
      if (value.v !== 1 || typeof value.remotes !== 'object' || value.remotes === null)
        throw new Error('shape')
      this.#state = value.remotes
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT')
        throw new NodeStateCorruptError({ file: basename(file), cause: err })
    }
    const journal = `${file}${JOURNAL_SUFFIX}`
    // Opening cuts a torn last line (a crash mid-append: that pass's changes were never relied on).
    this.#journal = await openAppendLog(journal)
    this.#journalBytes = (await stat(journal)).size
    for await (const { line, number } of readLines(journal)) {
      let change: JournalLine
      try {
        change = JSON.parse(line) as JournalLine
        if (typeof change.r !== 'string' || typeof change.id !== 'string') throw new Error('shape')
      } catch (err) {
        throw new NodeStateCorruptError({ file: basename(journal), line: number, cause: err })
      }
      const state = this.#state[change.r] ?? {}
      this.#state[change.r] = state
      if (change.e === null) delete state[change.id]
      else state[change.id] = change.e
    }
  }

  async #save(): Promise<void> {
    const file = this.#init.stateFile
    if (file === undefined || this.#changed.size === 0) {
      this.#changed.clear()
      return
    }
    const lines: string[] = []
    for (const [r, changes] of this.#changed)
      for (const [id, e] of changes) lines.push(JSON.stringify({ r, id, e } satisfies JournalLine))
    this.#changed = new Map()
    this.#journal ??= await openAppendLog(`${file}${JOURNAL_SUFFIX}`)
    await this.#journal.append(lines)
    for (const line of lines) this.#journalBytes += Buffer.byteLength(line) + 1
    const max = this.#init.journalMaxBytes ?? JOURNAL_MAX_BYTES
    if (this.#journalBytes > Math.max(max, this.#snapshotBytes)) await this.#snapshot(file)
  }

  /** Writes the whole state as the snapshot (temp file, fsync, rename), then empties the journal. */
  async #snapshot(file: string): Promise<void> {
    const text = JSON.stringify({ v: 1, remotes: this.#state })
    const temp = `${file}.${process.pid}.tmp`
    const handle = await open(temp, 'w', 0o600)
    try {
      await handle.write(text)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, file)
    // The rename must be durable before the journal is emptied: a power cut could otherwise bring back the old
    // snapshot with an empty journal, and requests already made at the remotes would be made again (orphans).
    await syncDir(dirname(file))
    // A crash before this truncation replays the journal over the new snapshot: its entries are whole
    // values, so that changes nothing.
    await this.#journal?.close()
    await truncate(`${file}${JOURNAL_SUFFIX}`, 0)
    this.#journal = await openAppendLog(`${file}${JOURNAL_SUFFIX}`)
    this.#snapshotBytes = Buffer.byteLength(text)
    this.#journalBytes = 0
  }
}

/** The journal beside the snapshot file. */
const JOURNAL_SUFFIX = '.journal'
/** Default `journalMaxBytes`. */
const JOURNAL_MAX_BYTES = 1 << 20

/** One changed entry: remote name, local request id, the entry (null: removed). */
interface JournalLine {
  r: string
  id: string
  e: RemoteEntry | null
}
