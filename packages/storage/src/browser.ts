/**
 * @packageDocumentation
 *
 * The browser build of `@medvault/storage` (chosen by bundlers through the `browser` export condition): the
 * same `Storage`, with blocks in memory (the default) or in IndexedDB, missing blocks read from trustless
 * HTTP gateways and verified, and libp2p over WebSockets when asked (dial only: a page cannot listen).
 * Nothing in its module graph needs Node.
 *
 * @example
 *
 * ```ts
 * import { createStorage } from '@medvault/storage'
 *
 * await using storage = await createStorage({ indexedDB: 'my-app', gateways: ['https://trustless-gateway.link'] })
 * const cid = await storage.putBytes(new TextEncoder().encode('hello world'))
 * ```
 */
import { webSockets } from '@libp2p/websockets'
import { MemoryBlockstore } from 'blockstore-core/memory'
import { IDBBlockstore } from 'blockstore-idb'
import { MemoryDatastore } from 'datastore-core/memory'
import { IDBDatastore } from 'datastore-idb'
import type { Platform } from './platform.ts'
import { privateAddressesGater } from './private-addresses.ts'
import { createStorageOn } from './storage.ts'
import type { Storage, StorageInit } from './types.ts'

export * from './public.ts'

const browserPlatform: Platform = {
  stores(init) {
    if (init.directory !== undefined) {
      throw new TypeError(
        'createStorage: `directory` needs a file system; in a browser pass `indexedDB: <name>` to keep blocks, or nothing for memory.',
      )
    }
    if (init.indexedDB !== undefined) {
      if (typeof init.indexedDB !== 'string' || init.indexedDB === '') {
        throw new TypeError('createStorage: `indexedDB` must be a non-empty database name.')
      }
      return {
        blocks: new IDBBlockstore(`${init.indexedDB}/blocks`),
        datastore: new IDBDatastore(`${init.indexedDB}/datastore`),
      }
    }
    return { blocks: new MemoryBlockstore(), datastore: new MemoryDatastore() }
  },
  transports: () => [webSockets()],
  // A page can dial but not listen.
  defaultListen: [],
  // Otherwise libp2p's browser default: no private addresses, no plain ws:// (see private-addresses.ts).
  connectionGater: (network) =>
    network.allowPrivateAddresses === true ? privateAddressesGater(network.peers ?? []) : undefined,
}

/**
 * Creates a storage and (unless `start: false`) starts it; see the Node entry for the modes. In a browser:
 * memory by default, `indexedDB: name` to keep blocks across reloads, `gateways` to read missing blocks,
 * `network: { peers }` to dial peers over WebSockets.
 *
 * @throws {RangeError} for an unknown `profile`.
 * @throws {TypeError} for `directory` (Node only) or an empty `indexedDB` name.
 */
export async function createStorage(init: StorageInit = {}): Promise<Storage> {
  return createStorageOn(init, browserPlatform)
}
