/**
 * Replication to remote pinning services: the node as a Pinning Service API *client*. Every pin the chain
 * follower completed is also asked of each configured remote (an IPFS Cluster's PSA endpoint, a commercial
 * pinning service, another medvault-node), with this node's own addresses as `origins` so the remote can
 * fetch straight from it. The remote's status is polled until `pinned`; a `failed` request is replaced
 * (the spec's retry) with backoff, and a request the remote forgot (404) is made again.
 *
 * What was asked of which remote is kept in `state/replication.json` (written atomically), so a restart
 * neither loses track of remote requests nor asks twice.
 *
 * @module
 */
import { open, readFile, rename } from 'node:fs/promises'
import { basename } from 'node:path'
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
  #dirty = false
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
      if (record.status === 'pinned' && this.#select(record)) this.#wake?.()
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
  }

  entry(remote: string, requestid: string): RemoteEntry | undefined {
    return this.#state[remote]?.[requestid]
  }

  summary(): Record<string, Record<PsaStatus | 'missing', number>> {
    const out: Record<string, Record<PsaStatus | 'missing', number>> = {}
    const wanted = [...this.#components.pins.all()].filter((r) => r.status === 'pinned' && this.#select(r))
    for (const remote of this.#init.remotes) {
      const counts = { queued: 0, pinning: 0, pinned: 0, failed: 0, missing: 0 }
      for (const r of wanted) {
        const e = this.#state[remote.name]?.[r.requestid]
        counts[e?.status ?? 'missing']++
      }
      out[remote.name] = counts
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
    const wanted = [...this.#components.pins.all()].filter((r) => r.status === 'pinned' && this.#select(r))
    await Promise.all(this.#init.remotes.map((remote) => this.#reconcileRemote(remote, wanted)))
    await this.#save()
  }

  async #reconcileRemote(remote: RemoteService, wanted: PinRecord[]): Promise<void> {
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
      for (const record of wanted) {
        if (budget <= 0) break
        const entry = state[record.requestid]
        if (entry === undefined) {
          budget--
          state[record.requestid] = await this.#add(remote, record)
          this.#dirty = true
          continue
        }
        if (entry.status === 'pinned' || Date.now() < entry.retryAt) continue
        budget--
        const status = await this.#status(remote, entry.requestid)
        if (status === undefined) {
          // The remote no longer knows the request: ask again.
          state[record.requestid] = await this.#add(remote, record)
        } else if (status.status === 'failed') {
          const failures = entry.failures + 1
          const replaced = await this.#call(remote, `/pins/${encodeURIComponent(entry.requestid)}`, {
            method: 'POST',
            body: this.#pinBody(record),
          })
          state[record.requestid] = {
            requestid: (replaced as PsaPinStatus).requestid,
            status: (replaced as PsaPinStatus).status,
            failures,
            retryAt: Date.now() + Math.min(300_000, 1000 * 2 ** Math.min(failures, 20)),
            askedAt: Date.now(),
          }
          this.#log.warn({ remote: remote.name, cid: record.key, failures }, 'remote pin failed; replaced')
        } else if (status.status !== entry.status) {
          state[record.requestid] = { ...entry, status: status.status }
          if (status.status === 'pinned')
            this.#log.info({ remote: remote.name, cid: record.key }, 'replicated')
        } else {
          continue
        }
        this.#dirty = true
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
      delete state[local]
      this.#dirty = true
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
    if (file === undefined) return
    try {
      const value = JSON.parse(await readFile(file, 'utf8')) as { v?: number; remotes?: State }
      if (value.v !== 1 || typeof value.remotes !== 'object' || value.remotes === null)
        throw new Error('shape')
      this.#state = value.remotes
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
      this.#loaded = false
      throw new NodeStateCorruptError({ file: basename(file), cause: err })
    }
  }

  async #save(): Promise<void> {
    const file = this.#init.stateFile
    if (file === undefined || !this.#dirty) return
    this.#dirty = false
    const temp = `${file}.${process.pid}.tmp`
    const handle = await open(temp, 'w', 0o600)
    try {
      await handle.write(JSON.stringify({ v: 1, remotes: this.#state }))
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, file)
  }
}
