/**
 * Pins and garbage collection: the pin records (`/medvault/pins/<cid>` in the datastore, one atomic write
 * each), mark and sweep over them, and the shared/exclusive lock that keeps gc away from DAGs still being
 * written. Separate because what gc may delete is decided here alone: every operation that writes a pin
 * goes through `write`, and every operation that writes blocks it will pin holds `lock` shared.
 */
import * as dagCbor from '@ipld/dag-cbor'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'
import { Key } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import { multihashKey, walkDag } from './dag.ts'
import { PinnedDagIncompleteError } from './errors.ts'
import { SharedExclusiveLock } from './lock.ts'
import type { BlockReader } from './reader.ts'
import type { GcOptions, GcResult, PinOptions } from './types.ts'
import { isAbort, signalOption } from './util.ts'
import type { VerifiedBlockstore } from './verified-blockstore.ts'
import { collect } from './verify.ts'

const PIN_PREFIX = '/medvault/pins/'

export interface PinsComponents {
  datastore: Datastore
  /** The blocks as stored: gc sweeps them without reading them. */
  blocks: Blockstore
  /** The same blocks, checked on read: the mark reads pinned DAGs through it. */
  local: VerifiedBlockstore
  reader: BlockReader
}

export class Pins {
  /** Held shared by whatever writes blocks it will pin (put, pin, CAR import) and exclusively by gc and stop. */
  readonly lock = new SharedExclusiveLock()
  readonly #c: PinsComponents
  /** one set per CAR import under way: the pin keys other operations wrote meanwhile (see importCar) */
  readonly #watchers = new Set<Set<string>>()
  /** pin records being written now, by key, with how many writes of each are under way */
  readonly #inflight = new Map<string, number>()

  constructor(components: PinsComponents) {
    this.#c = components
  }

  async pin(cid: CID, options: PinOptions): Promise<void> {
    const { signal, onProgress, maxBytes } = options
    if (maxBytes !== undefined && !(Number.isSafeInteger(maxBytes) && maxBytes >= 0)) {
      throw new RangeError('pin: maxBytes must be a non-negative safe integer.')
    }
    const release = await this.lock.shared()
    try {
      // Walked even when already pinned: pin() is also how a pinned DAG that lost a block (a damaged copy
      // is deleted on read) gets it back from a peer or gateway.
      await this.#c.reader.makeLocal(cid, signal, onProgress, maxBytes)
      // Always written (not only when missing): a CAR import under way that pinned the same root must
      // learn of this pin so that its rollback leaves the record alone.
      await this.write(cid, signal)
    } catch (err) {
      throw this.#c.reader.mapError(err, cid, signal)
    } finally {
      release()
    }
  }

  /**
   * Held shared, like a pin. Without it an unpin during a gc is still safe (gc deletes only blocks no pin it
   * read reaches, and a DAG that lost its pin may go at any later gc), but the lock makes the outcome one
   * order: a gc under way keeps the DAG and the next one removes it. It also has `stop()` wait for an unpin
   * under way before it closes the datastore, as it waits for pins.
   */
  async unpin(cid: CID, signal: AbortSignal | undefined): Promise<boolean> {
    const key = pinKey(cid)
    const release = await this.lock.shared()
    try {
      signal?.throwIfAborted()
      if (!(await this.#c.datastore.has(key, signalOption(signal)))) return false
      await this.#c.datastore.delete(key, signalOption(signal))
      return true
    } finally {
      release()
    }
  }

  /**
   * Not under the lock, on purpose: a pin record is written and deleted in one datastore operation and gc
   * never writes or deletes one, so the answer is right at the moment it is read whether or not a gc runs.
   * Waiting for the lock would stall every reader (`stat`, the gateway) for the length of a gc.
   */
  async has(cid: CID, signal?: AbortSignal): Promise<boolean> {
    signal?.throwIfAborted()
    return this.#c.datastore.has(pinKey(cid), signalOption(signal))
  }

  /**
   * Writes the pin record of `cid`, whose whole DAG must be local by now. `writer` is the watcher set of the
   * CAR import writing it, if any: an import is not told of its own pins.
   */
  async write(cid: CID, signal: AbortSignal | undefined, writer?: Set<string>): Promise<void> {
    const record = dagCbor.encode({ v: 1, cid, pinnedAt: Date.now() })
    const key = pinKey(cid)
    const name = key.toString()
    // Told before the write, so a rollback never deletes a record whose writer has already returned.
    for (const watcher of this.#watchers) if (watcher !== writer) watcher.add(name)
    // Also known as in flight until the write settles: an import that starts watching meanwhile, and may find
    // the record not there yet, must count it as another operation's (see watch).
    this.#inflight.set(name, (this.#inflight.get(name) ?? 0) + 1)
    try {
      await this.#c.datastore.put(key, record, signalOption(signal))
    } finally {
      const left = this.#inflight.get(name)! - 1
      if (left === 0) this.#inflight.delete(name)
      else this.#inflight.set(name, left)
    }
  }

  /**
   * Starts collecting the keys of the pin records that other operations write, until `unwatch`: a CAR
   * import's rollback (`undo`) leaves those records alone.
   */
  watch(): Set<string> {
    // A write under way began before this watcher existed, so it did not tell it; its record may land after the
    // import looked for it and found none, and its writer return success: the import must not undo it.
    const written = new Set<string>(this.#inflight.keys())
    this.#watchers.add(written)
    return written
  }

  unwatch(written: Set<string>): void {
    this.#watchers.delete(written)
  }

  /**
   * Undoes a CAR import that failed, holding the exclusive lock: deletes the pin records it wrote, except
   * those another operation wrote again meanwhile (`rewritten`, from `watch`), and of the blocks it wrote,
   * those no pin reaches: a gc limited to the import's blocks. Best effort: a failure here must not hide
   * the import's own error.
   *
   * Only the pins in `rewritten` that are still recorded are walked, not every pin: a rollback walking every
   * pinned DAG would cost, on every refused CAR that wrote a block, as much as a gc's mark, under the lock every
   * write waits for. That set is enough because:
   * - the import wrote only blocks the store did not have when it looked (`has` false), and it looked holding
   *   the lock shared, so no gc or rollback ran between its look and this rollback;
   * - a pin record is written only once its whole DAG is local (see `write`), so a pin whose write began before
   *   the import's look had its DAG complete without the block, and does not reach it;
   * - a pin whose write began after the import's look was written by the import itself (`pinned`, deleted
   *   above unless rewritten) or by another operation, which `write` added to `rewritten` before writing it:
   *   the import watches from before its first look;
   * - no put, pin or import runs now (the exclusive lock), so none is between relying on a block (a put or an
   *   import of the same content that found it present and skipped it) and pinning it: every one that did ended
   *   with its pin written, in `rewritten`, or with `pin: false`, which is not protected, as it is not from gc.
   * A pin recorded before the import whose DAG had lost a block since (a damaged copy deleted on read, a file
   * removed by hand) is the exception: the import's copy of that block healed it, and is deleted here, so the DAG
   * is left as it was before the import, incomplete until `pin()` or another import repairs it. Keeping it would
   * need every pinned DAG walked. A walk that fails (a rewritten DAG that lost a block) deletes nothing.
   */
  async undo(pinned: CID[], written: CID[], rewritten: Set<string>): Promise<void> {
    for (const root of pinned) {
      const key = pinKey(root)
      if (!rewritten.has(key.toString())) await ignoreFailure(async () => this.#c.datastore.delete(key))
    }
    await ignoreFailure(async () => {
      if (written.length === 0) return
      const live = await this.markLive(undefined, this.#stillPinned(rewritten))
      for (const cid of written) {
        if (!live.has(multihashKey(cid))) await ignoreFailure(async () => this.#c.blocks.delete(cid))
      }
    })
  }

  /** The roots of the pin records `keys` names that are still recorded (an unpin may have removed some since). */
  async *#stillPinned(keys: Set<string>): AsyncGenerator<CID> {
    for (const key of keys) {
      if (await this.#c.datastore.has(new Key(key))) yield CID.parse(key.slice(PIN_PREFIX.length))
    }
  }

  /**
   * The pinned roots, for operations already under way (they finish even while the storage stops). Not under
   * the lock: gc changes no pin record, so a listing during a gc is exact, and during pins and unpins it is as
   * any listing under writes (a record written or deleted meanwhile may or may not appear). A generator
   * holding the lock while its caller pauses between roots would hold off gc and `stop()` for as long.
   */
  async *roots(signal: AbortSignal | undefined): AsyncGenerator<CID> {
    for await (const key of this.#c.datastore.queryKeys({ prefix: PIN_PREFIX }, signalOption(signal))) {
      yield CID.parse(key.toString().slice(PIN_PREFIX.length))
    }
  }

  async gc(options: GcOptions): Promise<GcResult> {
    const { signal, onProgress } = options
    const blocks = this.#c.blocks
    const release = await this.lock.exclusive()
    try {
      const live = await this.markLive(signal)
      // Sweep. Blockstores key blocks by multihash, so a raw and a dag-pb CID of the same bytes share a file.
      let removed = 0
      let kept = 0
      for await (const { cid } of blocks.getAll(signalOption(signal))) {
        signal?.throwIfAborted()
        if (live.has(multihashKey(cid))) {
          kept++
          continue
        }
        await blocks.delete(cid, signalOption(signal))
        removed++
        onProgress?.({ type: 'storage:gc:removed', cid, removed })
      }
      return { removed, kept }
    } catch (err) {
      throw this.#c.reader.mapError(err, undefined, signal)
    } finally {
      release()
    }
  }

  /**
   * Mark: the multihash of every block reachable from a pin, read from local blocks only. A pinned DAG
   * with a block missing or corrupt throws rather than guess (a sweep on a wrong live set would delete
   * data). Call it holding the exclusive lock. `roots` are the pins to mark from: all of them by default.
   */
  async markLive(
    signal: AbortSignal | undefined,
    roots: AsyncIterable<CID> = this.roots(signal),
  ): Promise<Set<string>> {
    const local = this.#c.local
    const live = new Set<string>()
    for await (const root of roots) {
      let reading: CID | undefined
      try {
        for await (const block of walkDag(
          root,
          {
            get: async (c) => {
              reading = c
              return collect(local.get(c, signalOption(signal)))
            },
            skipLeaf: async () => true,
          },
          signal,
        )) {
          live.add(multihashKey(block.cid))
        }
      } catch (err) {
        if (isAbort(err, signal)) throw err
        throw new PinnedDagIncompleteError({ root: root.toString(), cid: reading?.toString(), cause: err })
      }
    }
    return live
  }
}

function pinKey(cid: CID): Key {
  return new Key(`${PIN_PREFIX}${cid.toString()}`)
}

async function ignoreFailure(fn: () => Promise<void>): Promise<void> {
  try {
    await fn()
  } catch {
    // best effort: a rollback failure must not hide the original error
  }
}
