/**
 * The chain follower's storage bounds: how many bytes of followed records one record owner may hold on this
 * node (`follower.maxBytesPerOwner`) and how many all of them together may (`follower.maxTotalBytes`).
 * Registration on chain is open, and each record is bounded only by its own size, so without these anyone
 * paying gas could register records until every following node's disk is full.
 *
 * What is counted is what the pins counted: a record's envelope pin walks the envelope block and the content
 * DAG it links with a byte limit, so every block of the DAG is counted (`info.bytes` of the pinned request),
 * and that number is charged to the record's owner; a kfrag bundle's one block is charged to its grantor.
 * The content request of a record is not charged again (its DAG is inside the envelope's). Usage is rebuilt
 * from the pin store, which keeps each request durably with its status and byte count, so it survives a
 * restart without a file of its own; the follower never unpins, and a request gone from the pin store frees
 * its bytes at the next start.
 *
 * A record is admitted only when the most it can take (the byte limit of its pin) still fits under each bound
 * next to what is already pinned, so the bounds are never exceeded. While pins of the same owner (or any, for
 * the total) are still in flight and would make it not fit, the attempt waits and is retried: those pins may
 * end up smaller than their limit, or fail. A pin in flight keeps its share through its own retries (the
 * blocks its attempts fetched are on disk) until it is pinned, fails for good or is removed. A record that does not fit next to what is already pinned is
 * refused for good (`failed`, with the reason): it is not fetched, not retried, and stays refused after a
 * restart. Owners the operator lists (`follower.exemptOwners`) are never refused; their bytes still count
 * toward the total, so other owners' records are refused once it is reached.
 *
 * @module
 */

import type { PinRecord, PinStore } from './pin-store.ts'
import type { PinOutcome } from './pinner.ts'
import { PermanentPinError } from './pinner.ts'

export interface FollowerQuotaInit {
  /** Most bytes one record owner's records may hold; `false` or undefined for no bound. */
  maxBytesPerOwner?: number | false | undefined
  /** Most bytes all followed records may hold; `false` or undefined for no bound. */
  maxTotalBytes?: number | false | undefined
  /** Owners (addresses, any case) whose records are never refused. */
  exemptOwners?: readonly string[] | undefined
}

/** Which bound refused a record (the label of the refusal metric). */
export type QuotaBound = 'owner_quota' | 'total_quota'

/** A record refused for good because it does not fit under a storage bound. */
export class QuotaExceededError extends PermanentPinError {
  // Keeps the name `PermanentPinError` (a literal of the base class): the pinner fails it for good as such.
  readonly bound: QuotaBound

  constructor(bound: QuotaBound, reason: string) {
    super(reason)
    this.bound = bound
  }
}

/**
 * A pin that must wait: a record that does not fit while other pins are in flight, or a record's content until
 * its envelope's pin (which the bounds charge, and which fetches the content) is done. The attempt is retried with backoff.
 */
export class QuotaBusyError extends Error {
  override name = 'QuotaBusyError' as const
  readonly shortMessage: string

  constructor(waitingFor: QuotaBound | 'envelope') {
    const shortMessage =
      waitingFor === 'owner_quota'
        ? "waiting for the owner's pins in flight to settle (follower.maxBytesPerOwner)"
        : waitingFor === 'total_quota'
          ? 'waiting for the pins in flight to settle (follower.maxTotalBytes)'
          : "waiting for the record's envelope pin, which the storage bounds charge"
    super(shortMessage)
    this.shortMessage = shortMessage
  }
}

/** The request kinds charged (the content request's DAG is inside its envelope's, charged there). */
const CHARGED_KINDS = new Set(['envelope', 'kfrags'])

export class FollowerQuota {
  readonly #perOwner: number | undefined
  readonly #total: number | undefined
  readonly #exempt: ReadonlySet<string>
  readonly #pins: PinStore
  readonly #followerOwner: string
  readonly #used = new Map<string, number>()
  #usedTotal = 0
  /** Bytes set aside for attempts in flight, by request id. */
  readonly #reserved = new Map<string, { owner: string; bytes: number }>()
  readonly #reservedByOwner = new Map<string, number>()
  #reservedTotal = 0
  #loaded = false

  constructor(init: FollowerQuotaInit, pins: PinStore, followerOwner: string) {
    this.#perOwner = typeof init.maxBytesPerOwner === 'number' ? init.maxBytesPerOwner : undefined
    this.#total = typeof init.maxTotalBytes === 'number' ? init.maxTotalBytes : undefined
    this.#exempt = new Set((init.exemptOwners ?? []).map((o) => o.toLowerCase()))
    this.#pins = pins
    this.#followerOwner = followerOwner
  }

  /** Bytes the followed records pinned on this node hold (those charged to an owner and the rest). */
  get totalBytes(): number {
    return this.#usedTotal
  }

  /** Bytes the pinned records of `owner` hold on this node. */
  ownerBytes(owner: string): number {
    return this.#used.get(owner.toLowerCase()) ?? 0
  }

  /** Rebuilds usage from the pin store (once; the store must be open). */
  load(): void {
    if (this.#loaded) return
    this.#loaded = true
    for (const record of this.#pins.byOwner(this.#followerOwner)) {
      if (record.status !== 'pinned') continue
      const bytes = chargedBytes(record)
      if (bytes !== undefined) this.#charge(ownerOf(record), bytes)
    }
  }

  /**
   * Sets `bound` bytes aside for the attempt on `record` (its owner in `meta.owner`), or throws:
   * `QuotaExceededError` when it does not fit next to what is pinned, `QuotaBusyError` when it does not fit
   * only because of attempts in flight.
   */
  admit(record: PinRecord, bound: number): void {
    this.load()
    // A retried attempt still holds what its last attempt set aside: it is set aside anew (and, since no
    // later admission counted on it being free, fits again).
    this.#unreserve(record.requestid)
    const owner = ownerOf(record)
    if (!this.#exempt.has(owner)) {
      if (this.#perOwner !== undefined && owner !== '') {
        const used = this.#used.get(owner) ?? 0
        if (used + bound > this.#perOwner) {
          throw new QuotaExceededError(
            'owner_quota',
            `refused: the records of owner ${owner} hold ${used} bytes on this node and this one may take up to ${bound} more, over follower.maxBytesPerOwner (${this.#perOwner})`,
          )
        }
        if (used + (this.#reservedByOwner.get(owner) ?? 0) + bound > this.#perOwner)
          throw new QuotaBusyError('owner_quota')
      }
      if (this.#total !== undefined) {
        if (this.#usedTotal + bound > this.#total) {
          throw new QuotaExceededError(
            'total_quota',
            `refused: followed records hold ${this.#usedTotal} bytes on this node and this one (owner ${owner || 'unknown'}) may take up to ${bound} more, over follower.maxTotalBytes (${this.#total})`,
          )
        }
        if (this.#usedTotal + this.#reservedTotal + bound > this.#total)
          throw new QuotaBusyError('total_quota')
      }
    }
    this.#reserved.set(record.requestid, { owner, bytes: bound })
    this.#reservedByOwner.set(owner, (this.#reservedByOwner.get(owner) ?? 0) + bound)
    this.#reservedTotal += bound
  }

  /**
   * The end of an attempt: a pin is charged what it counted (its limit when unknown) in place of its
   * reservation; a failed or stopped one gives its reservation back. An attempt to be retried keeps it: the
   * blocks it fetched stay in the store, uncounted, so giving the share back at each time-out would let an
   * owner whose records never complete have every next record admitted and fetched as far as it goes.
   */
  settle(record: PinRecord, outcome: PinOutcome): void {
    const reservation = this.#reserved.get(record.requestid)
    if (reservation === undefined || outcome.status === 'retry') return
    this.#unreserve(record.requestid)
    if (outcome.status === 'pinned') this.#charge(reservation.owner, outcome.bytes ?? reservation.bytes)
  }

  #unreserve(requestid: string): void {
    const reservation = this.#reserved.get(requestid)
    if (reservation === undefined) return
    this.#reserved.delete(requestid)
    const left = (this.#reservedByOwner.get(reservation.owner) ?? 0) - reservation.bytes
    if (left <= 0) this.#reservedByOwner.delete(reservation.owner)
    else this.#reservedByOwner.set(reservation.owner, left)
    this.#reservedTotal -= reservation.bytes
  }

  #charge(owner: string, bytes: number): void {
    this.#usedTotal += bytes
    if (owner !== '') this.#used.set(owner, (this.#used.get(owner) ?? 0) + bytes)
  }
}

/** The owner a follower request is charged to (lowercase address), or '' when it names none. */
function ownerOf(record: PinRecord): string {
  return record.meta?.owner?.toLowerCase() ?? ''
}

/** The bytes a pinned follower request holds, when it is a charged kind and its pin counted them. */
function chargedBytes(record: PinRecord): number | undefined {
  if (!CHARGED_KINDS.has(record.meta?.kind ?? '')) return undefined
  const text = record.info?.bytes
  if (text === undefined || !/^\d{1,15}$/.test(text)) return undefined
  return Number(text)
}
