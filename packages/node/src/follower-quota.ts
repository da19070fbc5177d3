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
 * next to what is already pinned and what other attempts hold, so the bounds are never exceeded. While they
 * would make it not fit, the attempt waits and is retried: those pins may end up smaller than their limit, or
 * fail. An attempt holds its whole limit only while it runs. When it ends without a pin (a block that never
 * arrives, a peer that stalls, the attempt's time-out) and is to be retried, it keeps only what its walk found
 * of the DAG in the store (the blocks it and earlier attempts fetched, which stay on disk) and gives the rest
 * back: a record whose content never comes holds its envelope block between attempts, not the bytes it might
 * have taken, so records announced by a peer that never serves them cannot starve the follower, while what
 * they did fetch is still counted. That share is kept through every later attempt (one told to wait
 * included) until the record is pinned (then charged what its pin counted), fails for good or is removed
 * (then freed). A record that does not fit next to what is already pinned is refused for good (`failed`,
 * with the reason): it is not fetched, not retried, and stays refused after a restart. Owners the operator lists (`follower.exemptOwners`) are never refused; their bytes still count
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
  /**
   * Bytes held by request id: an attempt in flight holds its limit (`bytes`); between attempts a record holds
   * what its attempts left in the store (`fetched`, then also `bytes`).
   */
  readonly #reserved = new Map<string, Reservation>()
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
   * `QuotaExceededError` when it does not fit next to what is pinned or, under a per-owner bound, names no
   * owner; `QuotaBusyError` when it does not fit only because of attempts in flight.
   */
  admit(record: PinRecord, bound: number): void {
    this.load()
    const owner = ownerOf(record)
    // What this record holds already (its earlier attempts' blocks) is part of `bound` (its walk counts them):
    // it is weighed without it, and keeps it when told to wait or refused here.
    const held = this.#reserved.get(record.requestid)
    const ownHeld = held !== undefined && held.owner === owner ? held.bytes : 0
    // A request naming no owner could be charged to no one's bound, so it would pass `maxBytesPerOwner` for
    // good: the follower names the owner of every envelope and bundle, and one without (a damaged pin store
    // line) is refused, not pinned past the bound.
    if (this.#perOwner !== undefined && owner === '') {
      throw new QuotaExceededError(
        'owner_quota',
        `refused: the request names no record owner, so follower.maxBytesPerOwner (${this.#perOwner}) cannot be applied to it`,
      )
    }
    if (!this.#exempt.has(owner)) {
      if (this.#perOwner !== undefined) {
        const used = this.#used.get(owner) ?? 0
        if (used + bound > this.#perOwner) {
          throw new QuotaExceededError(
            'owner_quota',
            `refused: the records of owner ${owner} hold ${used} bytes on this node and this one may take up to ${bound} more, over follower.maxBytesPerOwner (${this.#perOwner})`,
          )
        }
        if (used + (this.#reservedByOwner.get(owner) ?? 0) - ownHeld + bound > this.#perOwner)
          throw new QuotaBusyError('owner_quota')
      }
      if (this.#total !== undefined) {
        if (this.#usedTotal + bound > this.#total) {
          throw new QuotaExceededError(
            'total_quota',
            `refused: followed records hold ${this.#usedTotal} bytes on this node and this one (owner ${owner || 'unknown'}) may take up to ${bound} more, over follower.maxTotalBytes (${this.#total})`,
          )
        }
        if (this.#usedTotal + this.#reservedTotal - (held?.bytes ?? 0) + bound > this.#total)
          throw new QuotaBusyError('total_quota')
      }
    }
    this.#hold(record.requestid, { owner, bytes: bound, fetched: held?.fetched ?? 0, bound })
  }

  /**
   * The end of an attempt: a pin is charged what it counted (its limit when unknown) in place of what it held;
   * a failed or stopped one frees it. One to be retried keeps only the bytes of its DAG in the store — as far as
   * its walk counted them, and never less than earlier attempts found — until its next attempt: holding its
   * whole limit between attempts would let records whose blocks never arrive hold the bounds for good, and
   * holding nothing would let an owner whose records never complete have every next record admitted and
   * fetched as far as it goes, uncounted.
   */
  settle(record: PinRecord, outcome: PinOutcome): void {
    const reservation = this.#reserved.get(record.requestid)
    if (reservation === undefined) return
    if (outcome.status === 'retry') {
      // An attempt that did not reach its walk (its envelope not found, told to wait) found nothing new.
      const fetched = Math.min(reservation.bound, Math.max(reservation.fetched, outcome.walked ?? 0))
      this.#hold(record.requestid, { ...reservation, bytes: fetched, fetched })
      return
    }
    this.#unreserve(record.requestid)
    if (outcome.status === 'pinned') this.#charge(reservation.owner, outcome.bytes ?? reservation.bound)
  }

  /** Bytes held now by attempts in flight and by records between attempts (what the bounds count besides pins). */
  get heldBytes(): number {
    return this.#reservedTotal
  }

  /** Replaces what `requestid` holds. */
  #hold(requestid: string, reservation: Reservation): void {
    this.#unreserve(requestid)
    this.#reserved.set(requestid, reservation)
    this.#reservedByOwner.set(
      reservation.owner,
      (this.#reservedByOwner.get(reservation.owner) ?? 0) + reservation.bytes,
    )
    this.#reservedTotal += reservation.bytes
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

interface Reservation {
  owner: string
  /** What the bounds count for it now: `bound` in flight, `fetched` between attempts. */
  bytes: number
  /** The bytes of its DAG its attempts' walks found in the store (the most any of them counted). */
  fetched: number
  /** Its pin's byte limit, as last admitted. */
  bound: number
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
