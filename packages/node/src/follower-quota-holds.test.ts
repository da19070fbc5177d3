/**
 * What the follower's storage bounds hold for an attempt that ends without a pin (a block that never arrives,
 * a stalled peer, the attempt's time-out): the bytes its walk found in the store, not its whole limit. The
 * bounds and the pin store are the real ones; the attempts' outcomes are what the pinner reports (its own
 * tests, and follower-quota.test.ts end to end, run them over real stores and bitswap).
 */
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { beforeEach, describe, expect, test } from 'vitest'
import { FOLLOWER_OWNER } from './chain-follower.ts'
import { FollowerQuota, QuotaBusyError, QuotaExceededError } from './follower-quota.ts'
import { createPinStore, type PinRecord, type PinStore } from './pin-store.ts'

const RAW = 0x55
const attacker = '0x00000000000000000000000000000000000000a1'
const honest = '0x00000000000000000000000000000000000000b2'

let pins: PinStore
let serial = 0

beforeEach(async () => {
  pins = createPinStore()
  await pins.open()
})

/** A follower envelope request of `owner`. */
async function request(owner: string): Promise<PinRecord> {
  const digest = await sha256.digest(new TextEncoder().encode(`record ${serial++}`))
  return pins.add({
    owner: FOLLOWER_OWNER,
    cid: CID.create(1, RAW, digest).toString(),
    meta: { kind: 'envelope', owner },
  })
}

describe('what an attempt that ends without a pin holds', () => {
  test('attack: a record whose blocks never arrive gives back all but what it fetched when its attempt fails, so another owner’s record is admitted under follower.maxTotalBytes (on the old code it held its whole limit through every retry)', async () => {
    const quota = new FollowerQuota({ maxTotalBytes: 1500 }, pins, FOLLOWER_OWNER)
    const stuck = await request(attacker)
    const later = await request(honest)
    quota.admit(stuck, 1000)
    // In flight it holds its whole limit: the next record waits.
    expect(() => quota.admit(later, 1000)).toThrow(QuotaBusyError)
    // Its attempt timed out after fetching its envelope block (100 bytes) and is to be retried.
    quota.settle(stuck, { status: 'retry', walked: 100 })
    expect(quota.heldBytes).toBe(100)
    quota.admit(later, 1000)
    expect(quota.heldBytes).toBe(1100)
    quota.settle(later, { status: 'pinned', bytes: 900 })
    expect(quota.totalBytes).toBe(900)
    expect(quota.heldBytes).toBe(100)
  })

  test('behavior: what a failed attempt fetched stays counted through later attempts, one told to wait or one that ends before its walk included, and never drops below what an earlier attempt found', async () => {
    const quota = new FollowerQuota({ maxTotalBytes: 1500 }, pins, FOLLOWER_OWNER)
    const stalled = await request(attacker)
    const other = await request(honest)
    quota.admit(stalled, 1000)
    quota.settle(stalled, { status: 'retry', walked: 400 })
    quota.admit(other, 1000)
    // Told to wait while the other record is in flight (400 + 1000 held, 1000 more asked): it keeps its 400,
    // so a record of 101 bytes does not fit next to them (it would if the 400 were dropped).
    expect(() => quota.admit(stalled, 1000)).toThrow(QuotaBusyError)
    quota.settle(stalled, { status: 'retry' })
    expect(quota.heldBytes).toBe(1400)
    const small = await request(honest)
    expect(() => quota.admit(small, 101)).toThrow(QuotaBusyError)
    quota.admit(small, 100)
    quota.settle(small, { status: 'failed' })
    quota.settle(other, { status: 'retry', walked: 0 })
    expect(quota.heldBytes).toBe(400)
    // Admitted again (its 400 are part of its limit, so it is weighed without them), it ends before its walk:
    // still 400.
    quota.admit(stalled, 1000)
    expect(quota.heldBytes).toBe(1000)
    quota.settle(stalled, { status: 'retry' })
    expect(quota.heldBytes).toBe(400)
    // A walk that counted less (an earlier block timed out first) does not lower it; one that counted more
    // raises it, never past the record's limit.
    quota.admit(stalled, 1000)
    quota.settle(stalled, { status: 'retry', walked: 250 })
    expect(quota.heldBytes).toBe(400)
    quota.admit(stalled, 1000)
    quota.settle(stalled, { status: 'retry', walked: 5000 })
    expect(quota.heldBytes).toBe(1000)
    // Failed for good: freed.
    quota.settle(stalled, { status: 'failed', walked: 1000 })
    expect(quota.heldBytes).toBe(0)
  })

  test('behavior: under follower.maxBytesPerOwner an owner’s stalled records hold what they fetched, so its next record is weighed next to it', async () => {
    const quota = new FollowerQuota({ maxBytesPerOwner: 1500 }, pins, FOLLOWER_OWNER)
    const first = await request(attacker)
    const second = await request(attacker)
    quota.admit(first, 1000)
    expect(() => quota.admit(second, 1000)).toThrow(QuotaBusyError)
    quota.settle(first, { status: 'retry', walked: 600 })
    expect(quota.heldBytes).toBe(600)
    // 600 fetched and 1000 more asked is over 1500: the owner's next record still waits...
    expect(() => quota.admit(second, 1000)).toThrow(QuotaBusyError)
    // ...and one that fits next to the 600 is admitted (on the old code the stalled record kept its 1000).
    const third = await request(attacker)
    quota.admit(third, 900)
    expect(quota.heldBytes).toBe(1500)
    // Stopped (the node stops, or the request is removed): freed.
    quota.settle(first, { status: 'stopped' })
    expect(quota.heldBytes).toBe(900)
  })
})

describe('a request that names no owner', () => {
  test('attack: an envelope request naming no owner (a pin store line written without one) is refused for good under follower.maxBytesPerOwner, not admitted past it and charged to no one (on the old code it was admitted with the per-owner bound skipped)', async () => {
    const quota = new FollowerQuota({ maxBytesPerOwner: 1000, maxTotalBytes: 10_000 }, pins, FOLLOWER_OWNER)
    const full = await request(attacker)
    quota.admit(full, 1000)
    quota.settle(full, { status: 'pinned', bytes: 1000 })
    // The owner is at its bound; the same bytes asked for under no owner name are refused, with the reason.
    const digest = await sha256.digest(new TextEncoder().encode(`record ${serial++}`))
    const nameless = await pins.add({
      owner: FOLLOWER_OWNER,
      cid: CID.create(1, RAW, digest).toString(),
      meta: { kind: 'envelope' },
    })
    let refusal: unknown
    try {
      quota.admit(nameless, 1000)
    } catch (err) {
      refusal = err
    }
    expect(refusal).toBeInstanceOf(QuotaExceededError)
    expect((refusal as QuotaExceededError).bound).toBe('owner_quota')
    expect((refusal as QuotaExceededError).reason).toMatch(/^refused: the request names no record owner/)
    expect(quota.heldBytes).toBe(0)
    expect(quota.totalBytes).toBe(1000)
    // Without a per-owner bound there is nothing to evade: it is weighed under the total alone.
    const unbounded = new FollowerQuota({ maxTotalBytes: 10_000 }, pins, FOLLOWER_OWNER)
    unbounded.admit(nameless, 1000)
    expect(unbounded.heldBytes).toBe(1000)
  })
})
