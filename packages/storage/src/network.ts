/**
 * The Helia node and its libp2p: what the node is built from, which transports, listen addresses and peers
 * it uses, and dialling. Separate because it is the one place that decides what a storage may connect to:
 * nothing here reaches the internet unless configured (no public bootstrap peers, DHT, mDNS, UPnP,
 * delegated routing or public gateways, which Helia's `createHelia` would add).
 */
import { withBitswap } from '@helia/bitswap'
import type { Helia } from '@helia/interface'
import type { HeliaWithLibp2p } from '@helia/libp2p'
import { withLibp2pLight } from '@helia/libp2p'
import * as dagCbor from '@ipld/dag-cbor'
import { identify } from '@libp2p/identify'
import { noise } from '@libp2p/noise'
import { peerIdFromString } from '@libp2p/peer-id'
import { yamux } from '@libp2p/yamux'
import { multiaddr } from '@multiformats/multiaddr'
import { MemoryDatastore } from 'datastore-core/memory'
import { createHeliaLight } from 'helia'
import type { Blockstore } from 'interface-blockstore'
import type { Datastore } from 'interface-datastore'
import { BaseError } from './errors.ts'
import { gatewayServices } from './gateways.ts'
import type { Platform } from './platform.ts'
import type { NetworkInit } from './types.ts'
import { fullDigestSha256 } from './verify.ts'

const DIAL_TIMEOUT_MS = 10_000

export interface HeliaNodeInit {
  /** The local blocks (checked on read); Helia adds bitswap and gateways in front of them. */
  blockstore: Blockstore
  datastore: Datastore
  /** libp2p settings; no libp2p at all when undefined. */
  network: NetworkInit | undefined
  /** Gateway origins (checked by `gatewayOrigin`). */
  gateways: string[]
  platform: Pick<Platform, 'transports' | 'defaultListen' | 'connectionGater'>
}

/** Builds the Helia node of a storage: libp2p and bitswap only with `network`, gateways only when listed. */
export function createHeliaNode(init: HeliaNodeInit): Helia {
  // Nothing here may reach the internet unless configured: no routers, no brokers by default. Helia's
  // `createHelia` would add delegated routing, public gateways, bootstrap peers, DHT, mDNS and UPnP.
  const helia: Helia = createHeliaLight({
    blockstore: init.blockstore,
    datastore: init.datastore,
    codecs: [dagCbor],
    // replaces Helia's sha2-256, which accepts a digest truncated to 20 bytes from peers and gateways
    hashers: [fullDigestSha256],
    ...gatewayServices(init.gateways),
  })
  const network = init.network
  if (network === undefined) return helia
  const connectionGater = init.platform.connectionGater?.(network)
  return withBitswap(
    withLibp2pLight(helia, {
      // libp2p's peer store in memory: libp2p merges a peer's record on every stream it opens or accepts, and
      // in the storage's datastore each merge was a file read and an atomic file rewrite, two of each per
      // block fetched over bitswap (more disk work than storing the block and its pin). What it holds
      // (addresses, protocols, tags) is learnt again from the peers; configured peers are dialled at every
      // start. The node's key (its peer ID) stays in the storage's datastore.
      datastore: new MemoryDatastore(),
      addresses: {
        listen: network.listen ?? init.platform.defaultListen,
        ...(network.announce !== undefined ? { announce: network.announce } : {}),
      },
      transports: init.platform.transports(),
      connectionEncrypters: [noise()],
      streamMuxers: [yamux()],
      peerDiscovery: [],
      ...(connectionGater === undefined ? {} : { connectionGater }),
      services: { identify: identify() },
    }),
  )
}

/** The libp2p side of a running storage: its identity, its addresses, and dialling peers. */
export class Network {
  readonly #helia: Helia
  readonly #init: NetworkInit | undefined
  readonly #stopped: () => boolean

  constructor(helia: Helia, init: NetworkInit | undefined, stopped: () => boolean) {
    this.#helia = helia
    this.#init = init
    this.#stopped = stopped
  }

  get peerId(): string | undefined {
    return this.#libp2p()?.peerId.toString()
  }

  multiaddrs(): string[] {
    return (
      this.#libp2p()
        ?.getMultiaddrs()
        .map((m) => m.toString()) ?? []
    )
  }

  async dial(address: string, signal: AbortSignal | undefined): Promise<void> {
    const libp2p = this.#libp2p()
    if (libp2p === undefined) {
      throw new BaseError('Cannot connect: this storage has no network.', {
        metaMessages: ['Pass `network: {}` to createStorage to enable libp2p.'],
      })
    }
    const ma = multiaddr(address)
    const id = ma.getComponents().find((c) => c.name === 'p2p')?.value
    if (id !== undefined) {
      // Tagged keep-alive so libp2p redials the peer after a disconnect.
      await libp2p.peerStore.merge(peerIdFromString(id), {
        multiaddrs: [ma],
        tags: { 'keep-alive': { value: 1 } },
      })
    }
    await libp2p.dial(ma, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(DIAL_TIMEOUT_MS)].filter((s) => s !== undefined)),
    })
  }

  /** Dials the peers from config. A peer that is down must not stop the storage from starting. */
  async dialPeers(): Promise<void> {
    await Promise.allSettled((this.#init?.peers ?? []).map(async (p) => this.dial(p, undefined)))
  }

  #libp2p(): HeliaWithLibp2p['libp2p'] | undefined {
    if (this.#init === undefined || this.#stopped()) return undefined
    return (this.#helia as HeliaWithLibp2p).libp2p
  }
}
