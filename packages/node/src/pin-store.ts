/**
 * The node's pin requests: every Pinning Service API request and every pin the chain follower asked for,
 * with its owner, name, metadata, creation time and status. The content store (`@medvault/storage`) knows
 * only which roots are pinned; this store knows who asked and why, so that a CID asked for twice is unpinned
 * only when its last request goes.
 *
 * Durable when given a directory: one append-only JSON-lines file (`pins.ndjson`), each change written and
 * flushed to disk (`fdatasync`) before the call resolves; changes that arrive together share one flush. A
 * restart replays the file (a torn last line from a crash is dropped: its caller never got an answer) and
 * rewrites it compactly when most of it is history.
 *
 * `pinning` is a transient state kept in memory only: after a restart such a request is `queued` again and
 * the pin is retried, which `storage.pin` makes idempotent.
 *
 * @module
 */
import { randomUUID } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdir, open, rename, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { CID } from 'multiformats/cid'
import { NodeStateCorruptError } from './daemon-errors.ts'
import type { PsaStatus } from './psa-spec.ts'

/** One pin request. */
export interface PinRecord {
  readonly requestid: string
  /** Who asked: a token name for Pinning Service API requests, or an internal owner such as the follower. */
  readonly owner: string
  /** The CID as the requester wrote it. */
  readonly cid: string
  /** The CID in canonical form (CIDv1, base32): requests for `Qm…` and its `bafy…` form share it. */
  readonly key: string
  readonly name?: string | undefined
  readonly origins?: readonly string[] | undefined
  readonly meta?: Readonly<Record<string, string>> | undefined
  /**
   * RFC 3339 with microseconds; unique across the store, so it can page results. The milliseconds are the
   * clock's; requests made within one millisecond are told apart by the digits below it (a sequence, not
   * a measurement), so a burst of requests never moves `created` ahead of the clock.
   */
  readonly created: string
  /** `created` in Unix milliseconds (the sequence below the millisecond dropped). */
  readonly createdMs: number
  /** `created` in Unix microseconds: unique and increasing in creation order. */
  readonly createdUs: number
  status: PsaStatus
  info?: Record<string, string> | undefined
}

/** What a new request carries. */
export interface NewPin {
  owner: string
  cid: string
  name?: string | undefined
  origins?: readonly string[] | undefined
  meta?: Readonly<Record<string, string>> | undefined
}

export interface PinStoreInit {
  /** Directory of `pins.ndjson`; in memory when omitted. */
  dir?: string | undefined
}

/** The file name of the durable pin store inside its directory. */
export const PIN_STORE_FILE = 'pins.ndjson'

type Line =
  | { t: 'add'; r: StoredRecord }
  | { t: 'set'; id: string; status: PsaStatus; info?: Record<string, string> }
  | { t: 'del'; id: string }

type StoredRecord = Omit<PinRecord, 'key' | 'createdMs' | 'createdUs'>

/** The canonical key of a CID string (CIDv1, base32). @throws {Error} when the string is not a CID. */
export function cidKey(cid: string | CID): string {
  const parsed = typeof cid === 'string' ? CID.parse(cid) : cid
  return parsed.toV1().toString()
}

/** Creates a pin store; call `open()` before use. */
export function createPinStore(init: PinStoreInit = {}): PinStore {
  return new PinStore(init.dir)
}

export class PinStore {
  readonly #dir: string | undefined
  readonly #records = new Map<string, PinRecord>()
  readonly #byOwner = new Map<string, Map<string, PinRecord>>()
  readonly #byKey = new Map<string, Set<string>>()
  /** Requests by owner and status, kept as changes apply, so `counts` (metrics, status) never scans. */
  readonly #counts = new Map<string, Record<PsaStatus, number>>()
  /** The latest `createdUs` in the store: the next request's is later. */
  #lastCreatedUs = 0
  #handle: Awaited<ReturnType<typeof open>> | undefined
  #opened = false
  #broken: unknown
  #pending:
    | { lines: string[]; resolve: () => void; reject: (e: unknown) => void; promise: Promise<void> }
    | undefined
  #writing: Promise<void> | undefined

  constructor(dir: string | undefined) {
    this.#dir = dir
  }

  /** Loads the file (replaying it) and opens it for appending. Idempotent. */
  async open(): Promise<void> {
    if (this.#opened) return
    if (this.#dir !== undefined) {
      await mkdir(this.#dir, { recursive: true })
      const path = join(this.#dir, PIN_STORE_FILE)
      const { lines, torn } = await this.#replay(path)
      // Rewrite when the file is mostly history (or ends in a torn line), so replay stays proportional to
      // the live pins rather than to every change ever made.
      if (torn || lines > 2 * this.#records.size + 1000) await this.#compact(path)
      this.#handle = await open(path, 'a')
    }
    this.#opened = true
  }

  /** Waits for pending writes and closes the file. */
  async close(): Promise<void> {
    await this.#writing?.catch(() => {})
    await this.#handle?.close()
    this.#handle = undefined
    this.#opened = false
  }

  get size(): number {
    return this.#records.size
  }

  get(requestid: string): PinRecord | undefined {
    return this.#records.get(requestid)
  }

  /** Every request of `owner`, newest first. */
  *byOwner(owner: string): Generator<PinRecord> {
    const map = this.#byOwner.get(owner)
    if (map === undefined) return
    const list = [...map.values()]
    for (let i = list.length - 1; i >= 0; i--) yield list[i]!
  }

  /** Every request (any owner) for this canonical CID key. */
  byKey(key: string): PinRecord[] {
    const ids = this.#byKey.get(key)
    return ids === undefined ? [] : [...ids].map((id) => this.#records.get(id)!)
  }

  /** Every request, oldest first. */
  all(): IterableIterator<PinRecord> {
    return this.#records.values()
  }

  /** Number of requests by status (optionally only those whose owner passes `filter`). */
  counts(filter?: (owner: string) => boolean): Record<PsaStatus, number> {
    const counts: Record<PsaStatus, number> = { queued: 0, pinning: 0, pinned: 0, failed: 0 }
    for (const [owner, owned] of this.#counts) {
      if (filter !== undefined && !filter(owner)) continue
      for (const status of STATUS_LIST) counts[status] += owned[status]
    }
    return counts
  }

  /** Records a new request as `queued` (durably) and returns it. */
  async add(pin: NewPin): Promise<PinRecord> {
    const record = this.#newRecord(pin)
    this.#apply({ t: 'add', r: stored(record) })
    await this.#write([{ t: 'add', r: stored(record) }])
    return this.#records.get(record.requestid)!
  }

  /**
   * Records `next` and removes `requestid` in one flush: the spec's replace, during which the content
   * common to both is never without a request.
   */
  async replace(requestid: string, next: NewPin): Promise<PinRecord> {
    const record = this.#newRecord(next)
    const lines: Line[] = [
      { t: 'add', r: stored(record) },
      { t: 'del', id: requestid },
    ]
    for (const line of lines) this.#apply(line)
    await this.#write(lines)
    return this.#records.get(record.requestid)!
  }

  /** Sets a request's status; `pinning` stays in memory (see the module notes). */
  async setStatus(requestid: string, status: PsaStatus, info?: Record<string, string>): Promise<void> {
    const line: Line = { t: 'set', id: requestid, status, ...(info === undefined ? {} : { info }) }
    if (!this.#apply(line)) return
    if (status !== 'pinning') await this.#write([line])
  }

  /** Removes a request; returns it, or undefined when there was none. */
  async remove(requestid: string): Promise<PinRecord | undefined> {
    const record = this.#records.get(requestid)
    if (record === undefined) return undefined
    const line: Line = { t: 'del', id: requestid }
    this.#apply(line)
    await this.#write([line])
    return record
  }

  #newRecord(pin: NewPin): PinRecord {
    this.#assertUsable()
    // Unique, increasing creation times: the spec pages by `created`, which needs every value distinct. A
    // request made in the same millisecond as the last (or while the clock is behind it) takes the next
    // microsecond. Bumping whole milliseconds instead put a burst of 100,000 requests ~100 s in the future,
    // and every later request with them; now only a thousand requests within one millisecond move it by one.
    const createdUs = Math.max(Date.now() * 1000, this.#lastCreatedUs + 1)
    const createdMs = Math.floor(createdUs / 1000)
    return {
      requestid: randomUUID(),
      owner: pin.owner,
      cid: pin.cid,
      key: cidKey(pin.cid),
      ...(pin.name === undefined ? {} : { name: pin.name }),
      ...(pin.origins === undefined ? {} : { origins: [...pin.origins] }),
      ...(pin.meta === undefined ? {} : { meta: { ...pin.meta } }),
      created: formatCreated(createdUs),
      createdMs,
      createdUs,
      status: 'queued',
    }
  }

  /** Applies one change in memory; false when it refers to an unknown request. */
  #apply(line: Line): boolean {
    switch (line.t) {
      case 'add': {
        const createdUs = parseTimeUs(line.r.created)!
        const createdMs = Math.floor(createdUs / 1000)
        const record: PinRecord = { ...line.r, key: cidKey(line.r.cid), createdMs, createdUs }
        const replaced = this.#records.get(record.requestid)
        if (replaced !== undefined) this.#count(replaced.owner, replaced.status, -1)
        this.#count(record.owner, record.status, 1)
        this.#records.set(record.requestid, record)
        const owned = this.#byOwner.get(record.owner) ?? new Map<string, PinRecord>()
        this.#byOwner.set(record.owner, owned)
        owned.set(record.requestid, record)
        const ids = this.#byKey.get(record.key) ?? new Set<string>()
        this.#byKey.set(record.key, ids)
        ids.add(record.requestid)
        if (createdUs > this.#lastCreatedUs) this.#lastCreatedUs = createdUs
        return true
      }
      case 'set': {
        const record = this.#records.get(line.id)
        if (record === undefined) return false
        this.#count(record.owner, record.status, -1)
        this.#count(record.owner, line.status, 1)
        record.status = line.status
        record.info = line.info
        return true
      }
      case 'del': {
        const record = this.#records.get(line.id)
        if (record === undefined) return false
        this.#count(record.owner, record.status, -1)
        this.#records.delete(line.id)
        this.#byOwner.get(record.owner)?.delete(line.id)
        const ids = this.#byKey.get(record.key)
        ids?.delete(line.id)
        if (ids?.size === 0) this.#byKey.delete(record.key)
        return true
      }
    }
  }

  #count(owner: string, status: PsaStatus, by: 1 | -1): void {
    let owned = this.#counts.get(owner)
    if (owned === undefined) {
      owned = { queued: 0, pinning: 0, pinned: 0, failed: 0 }
      this.#counts.set(owner, owned)
    }
    owned[status] += by
    if (by < 0 && STATUS_LIST.every((s) => owned[s] === 0)) this.#counts.delete(owner)
  }

  #assertUsable(): void {
    if (this.#broken !== undefined) throw this.#broken
  }

  /** Appends lines; calls arriving while a flush runs share the next one. */
  #write(lines: Line[]): Promise<void> {
    if (this.#dir === undefined) return Promise.resolve()
    this.#assertUsable()
    if (this.#pending === undefined) {
      let resolve!: () => void
      let reject!: (e: unknown) => void
      const promise = new Promise<void>((res, rej) => {
        resolve = res
        reject = rej
      })
      this.#pending = { lines: [], resolve, reject, promise }
    }
    const batch = this.#pending
    for (const line of lines) batch.lines.push(JSON.stringify(line))
    this.#writing ??= this.#flush().finally(() => {
      this.#writing = undefined
    })
    return batch.promise
  }

  async #flush(): Promise<void> {
    while (this.#pending !== undefined) {
      const batch = this.#pending
      this.#pending = undefined
      try {
        if (this.#handle === undefined) throw new Error('the pin store is not open')
        await this.#handle.write(`${batch.lines.join('\n')}\n`)
        await this.#handle.datasync()
        batch.resolve()
      } catch (err) {
        // Memory is now ahead of the disk: refuse every later change rather than drift further.
        this.#broken = err
        batch.reject(err)
      }
    }
  }

  async #replay(path: string): Promise<{ lines: number; torn: boolean }> {
    const exists = await stat(path).then(
      () => true,
      () => false,
    )
    if (!exists) return { lines: 0, torn: false }
    const input = createInterface({
      input: createReadStream(path, 'utf8'),
      crlfDelay: Number.POSITIVE_INFINITY,
    })
    let count = 0
    let pending: { text: string; at: number } | undefined
    for await (const text of input) {
      count++
      if (pending !== undefined) this.#apply(parseLine(pending.text, pending.at))
      pending = text === '' ? undefined : { text, at: count }
    }
    if (pending === undefined) return { lines: count, torn: false }
    try {
      this.#apply(parseLine(pending.text, pending.at))
      return { lines: count, torn: false }
    } catch {
      // A crash mid-append tears only the last line; nobody was told that change happened.
      return { lines: count, torn: true }
    }
  }

  async #compact(path: string): Promise<void> {
    const temp = `${path}.${process.pid}.tmp`
    const handle = await open(temp, 'w')
    try {
      const lines = [...this.#records.values()].map((r) => JSON.stringify({ t: 'add', r: stored(r) }))
      if (lines.length > 0) await handle.write(`${lines.join('\n')}\n`)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, path)
    const dir = await open(this.#dir!, 'r')
    try {
      await dir.sync()
    } finally {
      await dir.close()
    }
  }
}

function stored(r: PinRecord): StoredRecord {
  const { key: _k, createdMs: _c, createdUs: _u, ...rest } = r
  return rest
}

const STATUS_LIST: readonly PsaStatus[] = ['queued', 'pinning', 'pinned', 'failed']
const STATUSES = new Set<string>(STATUS_LIST)

function parseLine(text: string, at: number): Line {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new NodeStateCorruptError({ file: PIN_STORE_FILE, line: at, cause: err })
  }
  const line = value as Partial<Line> | null
  const ok =
    line !== null &&
    typeof line === 'object' &&
    ((line.t === 'add' &&
      typeof line.r === 'object' &&
      line.r !== null &&
      typeof line.r.requestid === 'string' &&
      typeof line.r.owner === 'string' &&
      typeof line.r.cid === 'string' &&
      typeof line.r.created === 'string' &&
      parseTimeUs(line.r.created) !== undefined &&
      STATUSES.has(line.r.status)) ||
      (line.t === 'set' && typeof line.id === 'string' && STATUSES.has(line.status as string)) ||
      (line.t === 'del' && typeof line.id === 'string'))
  if (!ok) throw new NodeStateCorruptError({ file: PIN_STORE_FILE, line: at })
  if (line.t === 'add') {
    try {
      cidKey(line.r!.cid)
    } catch (err) {
      throw new NodeStateCorruptError({ file: PIN_STORE_FILE, line: at, cause: err })
    }
  }
  return line as Line
}

/** `created` for a time in Unix microseconds: RFC 3339, UTC, six digits after the second. */
export function formatCreated(us: number): string {
  const iso = new Date(Math.floor(us / 1000)).toISOString() // …T04:10:00.123Z
  return `${iso.slice(0, -1)}${String(us % 1000).padStart(3, '0')}Z`
}

/**
 * An RFC 3339 time in Unix microseconds (digits past the microsecond dropped), or undefined when it is not
 * one. `Date.parse` keeps milliseconds only: the digits below them are read here, so that `before` and
 * `after` given as a `created` value select exactly the requests on either side of it.
 */
export function parseTimeUs(text: string): number | undefined {
  const ms = Date.parse(text)
  if (Number.isNaN(ms)) return undefined
  const fraction = /T\d{2}:\d{2}:\d{2}\.(\d+)/.exec(text)?.[1] ?? ''
  const below = fraction.length > 3 ? Number(fraction.slice(3, 6).padEnd(3, '0')) : 0
  return ms * 1000 + below
}
