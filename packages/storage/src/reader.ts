/**
 * The read path: how a block is found (its CID checked first, identity CIDs answered from the CID, then the
 * local store, then peers and gateways with a time-out per block), how a DAG is made local before a pin,
 * and how errors from Helia and the exporter become this package's typed errors. Separate because every
 * read goes through here (get, envelopes, pins, CAR export): it is the one place where a block that nobody
 * could send, or that failed verification, is reported.
 */
import type { Helia } from '@helia/interface'
import type { CID } from 'multiformats/cid'
import { isInline, walkDag } from './dag.ts'
import {
  BaseError,
  BlockVerificationError,
  DagTooLargeError,
  NotAFileError,
  NotFoundError,
  UnverifiableCidError,
} from './errors.ts'
import type { PinOptions } from './types.ts'
import { findError, isAbortLike, signalOption } from './util.ts'
import type { VerifiedBlockstore } from './verified-blockstore.ts'
import { assertVerifiableCid, cidLabel, collect, type HasherLookup } from './verify.ts'

/** A read-only source of blocks, as the exporter and the DAG walks want it. */
export interface BlockView {
  get(cid: CID, options?: { signal?: AbortSignal }): AsyncGenerator<Uint8Array>
}

export interface BlockReaderComponents {
  /** Helia's blockstore: local blocks first, then bitswap and the gateway broker for the rest. */
  network: Helia['blockstore']
  /** The local blocks, each checked against its CID on read. */
  local: VerifiedBlockstore
  getHasher: HasherLookup
  /** No network and no gateway: a missing block is `NotFoundError` at once. */
  offline: boolean
  /** How long one missing block may take to arrive. */
  blockTimeoutMs: number
}

export class BlockReader {
  readonly #c: BlockReaderComponents

  constructor(components: BlockReaderComponents) {
    this.#c = components
  }

  /**
   * A read-only block source over Helia's networked blockstore that gives each missing block its own
   * timeout (a whole-read timeout would cut off a large, healthy download) and turns "nobody had it"
   * into `NotFoundError`.
   */
  view(signal: AbortSignal | undefined): BlockView {
    const read = (cid: CID) => this.#read(cid, signal, true)
    return {
      async *get(cid: CID): AsyncGenerator<Uint8Array> {
        yield await read(cid)
      },
    }
  }

  /** One block, from the local store (unless `mayBeLocal` is false: the caller just saw it missing) or the network. */
  async #read(cid: CID, signal: AbortSignal | undefined, mayBeLocal: boolean): Promise<Uint8Array> {
    const { network: blockstore, offline, blockTimeoutMs: timeoutMs, local, getHasher } = this.#c
    // Every block of every read passes here (the exporter's and the DAG walks' too): a CID no block can be
    // proven to match is refused before the blockstore, a peer or a gateway is asked for it.
    await assertVerifiableCid(cid, getHasher)
    // The content of an identity CID is its digest: nothing to look up (the exporter asks for raw ones).
    if (isInline(cid)) return cid.multihash.digest
    if (mayBeLocal) {
      // Read at once rather than asked for first (`has`, then `get`): a block held costs one look-up, and one
      // missing costs none more than before, since Helia's networked `get` below looks in the store anyway.
      try {
        return await collect(local.get(cid, signalOption(signal)))
      } catch (err) {
        const name = (err as { name?: unknown } | null)?.name
        // A block file over MAX_BLOCK_SIZE is not this storage's block, and the store counts it as missing
        // (`has` is false): with a network, the block is fetched like a missing one, and Helia's networked
        // store writes it over the file, which heals the store. Offline, the read fails with that error.
        if (name !== 'NotFoundError' && (name !== 'BlockTooLargeError' || offline)) throw err
      }
    }
    if (offline) throw new NotFoundError({ cid: cid.toString(), offline: true })
    const timeout = AbortSignal.timeout(timeoutMs)
    const combined = signal === undefined ? timeout : AbortSignal.any([signal, timeout])
    try {
      return await collect(blockstore.get(cid, { signal: combined }))
    } catch (err) {
      if (signal?.aborted === true) throw err
      const verification = findError(
        err,
        (e) => e instanceof BlockVerificationError || e instanceof UnverifiableCidError,
      )
      if (verification !== undefined) throw verification
      throw new NotFoundError({
        cid: cid.toString(),
        offline: false,
        ...(timeout.aborted ? { timeoutMs } : {}),
        cause: err,
      })
    }
  }

  /**
   * Makes the whole DAG under `cid` local (fetching what is missing when there is a network or a gateway).
   * Pins call this before writing their record, so an interrupted pin leaves no record and its fetched
   * blocks are ordinary unpinned blocks.
   *
   * With `maxBytes`, every block counts toward it, including raw leaves already held (read for their length
   * only: a leaf is never parsed). Counting only what this walk fetched would let an earlier attempt that was
   * cut off (a block time-out) leave leaves behind that the retry then skips uncounted, so a DAG over the limit
   * could end up pinned after enough retries.
   */
  async makeLocal(
    cid: CID,
    signal: AbortSignal | undefined,
    onProgress: PinOptions['onProgress'] | undefined,
    maxBytes?: number,
  ): Promise<void> {
    const local = this.#c.local
    let blocks = 0
    let bytes = 0
    // The leaf `skipLeaf` just found missing: its read goes to the network without asking the store again.
    let missingLeaf: CID | undefined
    for await (const block of walkDag(
      cid,
      {
        get: async (c) => this.#read(c, signal, c !== missingLeaf),
        skipLeaf: async (c) => {
          if (await local.has(c)) return true
          missingLeaf = c
          return false
        },
      },
      signal,
    )) {
      blocks++
      if (block.bytes !== undefined) bytes += block.bytes.length
      else if (maxBytes !== undefined) bytes += await this.#localLength(block.cid, signal)
      if (maxBytes !== undefined && bytes > maxBytes) {
        throw new DagTooLargeError({ cid: cidLabel(cid), maxBytes, bytes, blocks })
      }
      onProgress?.({ type: 'storage:pin:block', cid: block.cid, blocks, bytes })
    }
  }

  /** The length of a block held locally, from the store as it is (no hashing: only its size is wanted). */
  async #localLength(cid: CID, signal: AbortSignal | undefined): Promise<number> {
    let length = 0
    for await (const chunk of this.#c.local.child.get(cid, signalOption(signal))) length += chunk.length
    return length
  }

  /**
   * What an operation throws for `err`: the abort when the caller aborted, this package's typed errors as
   * they are, and Helia's and the exporter's "not found" and "not UnixFS" as `NotFoundError` and
   * `NotAFileError`.
   */
  mapError(err: unknown, cid: CID | undefined, signal: AbortSignal | undefined): unknown {
    if (signal?.aborted === true) {
      return isAbortLike(err) ? err : signal.reason
    }
    if (err instanceof BaseError || isAbortLike(err) || err instanceof TypeError || err instanceof RangeError)
      return err
    const name = (err as { name?: unknown } | null)?.name
    if (name === 'NotFoundError' || name === 'BlockNotFoundWhileOfflineError') {
      return new NotFoundError({ cid: cid?.toString() ?? 'unknown', offline: this.#c.offline, cause: err })
    }
    if (name === 'NotUnixFSError' || name === 'NoResolverError') {
      return new NotAFileError({ cid: cid?.toString() ?? 'unknown', kind: 'non-UnixFS node' })
    }
    return err
  }
}
