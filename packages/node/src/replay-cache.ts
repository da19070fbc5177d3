/**
 * Remembers the digests of the access requests a proxy accepted, for as long as they could still pass the
 * freshness check, so each request is answered at most once.
 *
 * Memory stays bounded by the request rate times the window: an entry is dropped once its request would be
 * refused as stale anyway.
 *
 * @module
 */
import type { Hex } from 'viem'

export interface ReplayCache {
  /**
   * Records `requestHash`; `false` when it was recorded before and has not expired. Synchronous, so two
   * concurrent copies of one request cannot both pass.
   *
   * @param expiresAt - Unix seconds after which the request is stale (its `issuedAt` + the window).
   */
  claim(requestHash: Hex, expiresAt: number, now: number): boolean
  readonly size: number
}

/** A replay cache in memory (a restarted process also restarts its clock check, see docs/proxy.md). */
export function createReplayCache(): ReplayCache {
  const seen = new Map<Hex, number>()
  // Entries in insertion order are not in expiry order (issuedAt varies), so a sweep walks all of them; it
  // runs at most once a second, which keeps a claim O(1) amortised.
  let lastSweep = 0
  const sweep = (now: number): void => {
    if (now === lastSweep) return
    lastSweep = now
    for (const [hash, expiresAt] of seen) if (expiresAt < now) seen.delete(hash)
  }
  return {
    get size() {
      return seen.size
    },
    claim(requestHash, expiresAt, now) {
      sweep(now)
      const key = requestHash.toLowerCase() as Hex
      const known = seen.get(key)
      if (known !== undefined && known >= now) return false
      seen.set(key, expiresAt)
      return true
    },
  }
}
