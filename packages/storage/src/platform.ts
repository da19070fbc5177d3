/**
 * What differs between Node and browsers, as one interface. Separate (and types only) so that each entry
 * point can supply its own without its module graph reaching the other's: a browser bundle never reaches
 * node:fs, blockstore-fs or @libp2p/tcp.
 */
import type { ConnectionGater } from '@libp2p/interface'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'
import type { Libp2pOptions } from 'libp2p'
import type { NetworkInit, StorageInit } from './types.ts'

/**
 * Where blocks and the datastore live, how a directory is claimed, and which libp2p transports exist. Each
 * entry point (index.ts, browser.ts) passes its own.
 */
export interface Platform {
  /** The blockstore and datastore for this init (on disk, in IndexedDB or in memory). */
  stores(init: StorageInit): { blocks: Blockstore; datastore: Datastore }
  /** Claims the storage's persistent location on start (Node: the directory lock); returns its release. */
  claim?(init: StorageInit): Promise<(() => Promise<void>) | undefined>
  /** libp2p transports for `network`. */
  transports(): NonNullable<Libp2pOptions['transports']>
  /** Listen addresses when `network.listen` is not given. */
  defaultListen: string[]
  /** The connection gater for `network`; undefined keeps libp2p's default for the platform. */
  connectionGater?(network: NetworkInit): ConnectionGater | undefined
}
