/**
 * Token buckets per key (an IP address, a recovered requester address): each key may send `burst` requests
 * at once and `perSecond` on average. The map is bounded: past `maxKeys`, the least recently seen key is
 * forgotten (it starts again with a full bucket, which only ever favours the client).
 *
 * @module
 */

/** One limit: a bucket of `burst` tokens refilled at `perSecond`. */
export interface RateLimit {
  perSecond: number
  burst: number
}

export interface TokenBuckets {
  /** Takes one token for `key`: 0 when granted, else the whole seconds until one is available. */
  take(key: string, nowMs?: number): number
  readonly size: number
}

export function createTokenBuckets(limit: RateLimit, maxKeys = 100_000): TokenBuckets {
  const buckets = new Map<string, { tokens: number; at: number }>()
  return {
    // A monotonic clock: with the wall clock, setting it back by S seconds would cost every known client
    // S × perSecond tokens and lock it out for about S seconds.
    take(key, nowMs = performance.now()) {
      const known = buckets.get(key)
      const bucket = known ?? { tokens: limit.burst, at: nowMs }
      bucket.tokens = Math.min(limit.burst, bucket.tokens + ((nowMs - bucket.at) / 1000) * limit.perSecond)
      bucket.at = nowMs
      // Most recently seen last: the first key of the map is the one to forget.
      buckets.delete(key)
      buckets.set(key, bucket)
      if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value as string)
      if (bucket.tokens >= 1) {
        bucket.tokens -= 1
        return 0
      }
      return Math.max(1, Math.ceil((1 - bucket.tokens) / limit.perSecond))
    },
    get size() {
      return buckets.size
    },
  }
}

/**
 * The key a client's IP address is limited under: an IPv4 address (an IPv4-mapped IPv6 one as its IPv4), or
 * an IPv6 address's /64 — one host usually holds a whole /64, and keyed per address it would get a fresh
 * bucket for each of its 2^64 addresses.
 */
export function clientKey(ip: string): string {
  const address = ip.split('%')[0] ?? ip // no zone index
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  if (mapped !== null) return mapped[1] as string
  if (!address.includes(':')) return address
  const [head = '', tail] = address.split('::')
  const front = head === '' ? [] : head.split(':')
  const back = tail === undefined || tail === '' ? [] : tail.split(':')
  const groups =
    tail === undefined
      ? front
      : [...front, ...Array(Math.max(0, 8 - front.length - back.length)).fill('0'), ...back]
  const prefix = groups.slice(0, 4).map((g) => (Number.parseInt(g, 16) || 0).toString(16))
  return `${prefix.join(':')}::/64`
}
