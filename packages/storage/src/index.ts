/**
 * @packageDocumentation
 *
 * Content-addressed storage for medvault on Helia (IPFS in JavaScript): UnixFS files, dag-cbor envelopes,
 * CAR import and export, pins and garbage collection. Embedded by default (blocks on disk or in memory,
 * no network); networked when asked (libp2p over TCP and WebSockets, bitswap); able to read missing
 * blocks from trustless HTTP gateways. Every block that comes in is checked against its CID.
 *
 * The package moves opaque bytes: it knows nothing about encryption.
 *
 * @example
 *
 * ```ts
 * import { createStorage } from '@medvault/storage'
 *
 * const storage = await createStorage({ directory: './vault-data' })
 * const cid = await storage.putBytes(new TextEncoder().encode('hello world'))
 * console.log(cid.toString()) // bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e
 * for await (const chunk of storage.get(cid)) process.stdout.write(chunk)
 * await storage.stop() // or `await using storage = …`
 * ```
 */
import { nodePlatform } from './node-platform.ts'
import { createStorageOn } from './storage.ts'
import type { Storage, StorageInit } from './types.ts'

export * from './public.ts'

/**
 * Creates a storage and (unless `start: false`) starts it.
 *
 * - no `network`, no `gateways`: embedded, offline; nothing is dialled or listened on.
 * - `network: { listen, peers }`: libp2p with TCP and WebSockets, noise, yamux, identify and bitswap; only
 *   the listed addresses are listened on and only the listed peers are dialled.
 * - `gateways: [url…]`: missing blocks are read from these trustless gateways and verified.
 *
 * Browsers get their own entry (export condition `browser`) with the same interface: memory or IndexedDB
 * blocks, gateways, libp2p over WebSockets.
 *
 * @throws {RangeError} for an unknown `profile`.
 * @throws {TypeError} for `indexedDB` (browsers only).
 */
export async function createStorage(init: StorageInit = {}): Promise<Storage> {
  return createStorageOn(init, nodePlatform)
}
