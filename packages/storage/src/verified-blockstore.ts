import type { AbortOptions } from '@libp2p/interface'
import type { Blockstore, InputPair, Pair } from 'interface-blockstore'
import type { CID } from 'multiformats/cid'
import { BlockTooLargeError, BlockVerificationError } from './errors.ts'
import {
  assertVerifiableCid,
  blockMatchesCid,
  cidLabel,
  collect,
  type HasherLookup,
  MAX_BLOCK_SIZE,
} from './verify.ts'

/**
 * Wraps the local blockstore so that every block read back is checked against its CID.
 *
 * Blocks are written only after they were hashed (by the importer, or verified from a CAR or the network),
 * so a mismatch on read means the disk copy was damaged (bit rot, a torn write after power loss, a manual
 * edit). Serving it would spread corruption to peers, so the read fails with {@link BlockVerificationError}
 * and the bad copy is deleted.
 *
 * A CID that no block can be proven to match (a truncated digest, a hash function with no hasher, an identity
 * CID over 128 bytes) is refused both ways with `UnverifiableCidError`: nothing is written under it, and
 * whatever an older version or another program left under it is not served (it stays on disk for gc).
 */
export class VerifiedBlockstore implements Blockstore {
  readonly #child: Blockstore
  readonly #getHasher: HasherLookup
  readonly #verify: boolean

  constructor(child: Blockstore, getHasher: HasherLookup, verify: boolean) {
    this.#child = child
    this.#getHasher = getHasher
    this.#verify = verify
  }

  get child(): Blockstore {
    return this.#child
  }

  has(cid: CID, options?: AbortOptions): boolean | Promise<boolean> {
    return this.#child.has(cid, options)
  }

  // Checked whatever `verify` says: it costs no hashing, and it keeps every write path (Helia's network fetches
  // included, which write here after their own, truncation-tolerant check) from storing under such a CID.
  async put(
    cid: CID,
    bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
    options?: AbortOptions,
  ): Promise<CID> {
    await assertVerifiableCid(cid, this.#getHasher)
    return this.#child.put(cid, await boundedBlock(cid, bytes), options)
  }

  putMany(source: Iterable<InputPair> | AsyncIterable<InputPair>, options?: AbortOptions) {
    const getHasher = this.#getHasher
    return this.#child.putMany(
      (async function* () {
        for await (const pair of source) {
          await assertVerifiableCid(pair.cid, getHasher)
          yield { cid: pair.cid, bytes: await boundedBlock(pair.cid, pair.bytes) }
        }
      })(),
      options,
    )
  }

  async *get(cid: CID, options?: AbortOptions): AsyncGenerator<Uint8Array> {
    if (this.#verify) await assertVerifiableCid(cid, this.#getHasher)
    // One buffer per block (blocks are ≤ 2 MiB): blockstore-fs streams a file in 64 KiB pieces that every
    // consumer (exporter, bitswap) concatenates again anyway, and measured slower than reading it whole.
    const bytes = await collect(this.#child.get(cid, options))
    if (this.#verify && !(await blockMatchesCid(cid, bytes, this.#getHasher))) {
      // The copy is provably wrong and worthless. Removing it lets the store heal: a later put of the same
      // content, a CAR import or a network fetch writes a good copy (they skip blocks that exist).
      try {
        await this.#child.delete(cid)
      } catch {
        // best effort; the error below is what matters
      }
      throw new BlockVerificationError({ cid: cid.toString(), source: 'local' })
    }
    yield bytes
  }

  async *getMany(source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions): AsyncGenerator<Pair> {
    for await (const cid of source) {
      yield { cid, bytes: this.get(cid, options) }
    }
  }

  getAll(options?: AbortOptions) {
    return this.#child.getAll(options)
  }

  delete(cid: CID, options?: AbortOptions): void | Promise<void> {
    return this.#child.delete(cid, options)
  }

  deleteMany(source: Iterable<CID> | AsyncIterable<CID>, options?: AbortOptions) {
    return this.#child.deleteMany(source, options)
  }
}

/**
 * The block to write, refused with {@link BlockTooLargeError} over {@link MAX_BLOCK_SIZE}, so the Node store can
 * refuse a larger file as not its own. A block given in chunks (an iterable or async iterable, as the blockstore
 * interface allows) is gathered here, counted as it comes, and refused at the first chunk past the limit: the rest
 * is not pulled, and nothing of it reaches the store (a chunked write could otherwise leave part of it there). A
 * chunk that is not a `Uint8Array` is refused with a `TypeError`.
 */
async function boundedBlock(
  cid: CID,
  bytes: Uint8Array | Iterable<Uint8Array> | AsyncIterable<Uint8Array>,
): Promise<Uint8Array> {
  if (bytes instanceof Uint8Array) {
    if (bytes.byteLength > MAX_BLOCK_SIZE) throw tooLarge(cid, bytes.byteLength)
    return bytes
  }
  let total = 0
  async function* counted(): AsyncGenerator<Uint8Array> {
    for await (const chunk of bytes as AsyncIterable<unknown>) {
      // Anything else (a string's characters, a plain array's numbers) has no byteLength: the total would be NaN
      // and never pass the limit.
      if (!(chunk instanceof Uint8Array))
        throw new TypeError('Blockstore puts must give a block as Uint8Array chunks.')
      total += chunk.byteLength
      if (total > MAX_BLOCK_SIZE) throw tooLarge(cid, total)
      yield chunk
    }
  }
  return collect(counted())
}

function tooLarge(cid: CID, bytes: number): BlockTooLargeError {
  return new BlockTooLargeError({ cid: cidLabel(cid), bytes, maxBytes: MAX_BLOCK_SIZE, source: 'put' })
}
