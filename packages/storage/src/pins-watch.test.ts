/**
 * A CAR import's rollback deletes the pin records it wrote, except those other operations wrote meanwhile (the
 * set `watch` returns). A pin record whose write began before the import started watching, and lands after the
 * import looked for it and found none, is another operation's too: its writer returns success.
 */

import { MemoryDatastore } from 'datastore-core'
import { Key } from 'interface-datastore'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'
import { expect, test } from 'vitest'
import { Pins, type PinsComponents } from './pins.ts'

/** A datastore whose puts land only when released: a slow disk, IndexedDB, a write through the thread pool. */
class HeldDatastore extends MemoryDatastore {
  readonly held: Array<() => void> = []
  override async put(key: Key, value: Uint8Array): Promise<Key> {
    await new Promise<void>((resolve) => this.held.push(resolve))
    return super.put(key, value)
  }
}

test('attack: a pin record written while an import starts watching counts as written by another operation, so a failed import does not undo it', async () => {
  const datastore = new HeldDatastore()
  // Only the datastore is used by write, watch and has; the rest is never reached here.
  const pins = new Pins({ datastore } as unknown as PinsComponents)
  const root = CID.createV1(0x55, await sha256.digest(new TextEncoder().encode('pinned by a put')))

  const writing = pins.write(root, undefined)
  // the import starts now: its watcher did not exist when the write told the watchers, and the record is not there
  const rewritten = pins.watch()
  expect(await pins.has(root)).toBe(false)
  datastore.held.shift()!()
  await writing
  expect(await pins.has(root)).toBe(true)
  // the rollback keeps what is in this set
  expect(rewritten.has(new Key(`/medvault/pins/${root.toString()}`).toString())).toBe(true)
  pins.unwatch(rewritten)

  // once the write settled, a new watcher starts empty
  expect(pins.watch().size).toBe(0)
})
