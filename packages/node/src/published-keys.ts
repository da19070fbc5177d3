/**
 * The KeyRegistry keys a proxy checks every kfrag bundle against (the grantor's verifying key, the grantee's
 * receiving key), cached per account so that a request does not read them from the chain each time.
 *
 * An account's keys change only by a `KeysPublished` event, which the grant index reads in the same passes
 * as the ConsentRegistry's and hands to {@link PublishedKeysCache.forget}. A miss reads the keys at the block
 * the index has fully read (`blockNumber`): every publication up to that block is in the answer, and every
 * later one reaches `forget` afterwards. A read during which any account's keys were forgotten is answered
 * but not kept (it may predate that publication). So a cached entry is always the keys as of the block the
 * index has read: a key published or rotated on chain counts from the index's next pass (`pollingInterval`,
 * or at once when the index catches up for a grant or record it did not know). That holds only while the
 * index keeps reading: the proxy does not use this cache once the index's last complete pass is too old
 * (`AccessContext.keyCacheMaxAgeMs`), and reads the keys at the latest block instead.
 *
 * @module
 */
import type { Address, Hex } from 'viem'

export interface PublishedKeys {
  receivingKey: Hex
  verifyingKey: Hex
}

export interface PublishedKeysCache {
  /**
   * The account's keys: cached, or `read` at `blockNumber` (the index's block; undefined: the latest) and
   * kept. Concurrent misses for one account share one read; a failed read is not kept.
   */
  get(
    account: Address,
    blockNumber: bigint | undefined,
    read: (blockNumber: bigint | undefined) => Promise<PublishedKeys>,
  ): Promise<PublishedKeys>
  /** Drops the account's keys (the index read a `KeysPublished` event of it). */
  forget(account: Address): void
  readonly size: number
}

/** A cache of at most `capacity` accounts' keys, least recently used out. */
export function createPublishedKeysCache(capacity = 65_536): PublishedKeysCache {
  const entries = new Map<string, PublishedKeys>()
  const reading = new Map<string, { epoch: number; promise: Promise<PublishedKeys> }>()
  // Bumped by every forget: a read that began before one may hold keys that event replaced.
  let epoch = 0
  return {
    get(account, blockNumber, read) {
      const id = account.toLowerCase()
      const hit = entries.get(id)
      if (hit !== undefined) {
        entries.delete(id)
        entries.set(id, hit)
        return Promise.resolve(hit)
      }
      const shared = reading.get(id)
      if (shared !== undefined && shared.epoch === epoch) return shared.promise
      const started = epoch
      const promise = read(blockNumber).then((keys) => {
        if (epoch === started) {
          entries.set(id, keys)
          if (entries.size > capacity) entries.delete(entries.keys().next().value as string)
        }
        return keys
      })
      const entry = { epoch: started, promise }
      reading.set(id, entry)
      const done = () => {
        if (reading.get(id) === entry) reading.delete(id)
      }
      promise.then(done, done)
      return promise
    },
    forget(account) {
      epoch++
      entries.delete(account.toLowerCase())
    },
    get size() {
      return entries.size
    },
  }
}
