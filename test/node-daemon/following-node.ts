/**
 * A following node for tests: the chain follower wired as the daemon wires it, with real neighbours — its
 * own networked content store (in `<dir>/ipfs`, dialling the given peers), a durable pin store (in `<dir>`)
 * and a pinner — following a real chain from a given block. Shared by the follower's own tests
 * (packages/node/src/chain-follower.test.ts) and the daemon-part tests here, so the wiring is written once.
 *
 * It imports the node's sources, not its build, so the package's unit tests exercise the code beside them.
 */
import { join } from 'node:path'
import type { MedvaultAddresses } from '@medvault/chain'
import { createStorage, type Storage } from '@medvault/storage'
import type { Chain, Client, Transport } from 'viem'
import {
  type ChainFollower,
  type ChainFollowerInit,
  createChainFollower,
  FOLLOWER_OWNER,
} from '../../packages/node/src/chain-follower.ts'
import type { NodeMetrics } from '../../packages/node/src/metrics.ts'
import { createPinStore, type PinRecord, type PinStore } from '../../packages/node/src/pin-store.ts'
import { createPinner, type Pinner, type PinnerInit } from '../../packages/node/src/pinner.ts'

/** The follower's checkpoint file inside the node's directory. */
export const CHECKPOINT_FILE = 'follower.checkpoint.json'

export interface FollowingNodeInit {
  /** The node's directory: the content store in `ipfs/`, the pin store and the checkpoint beside it. */
  dir: string
  /** Peers the content store keeps connected (where the content is fetched from, over bitswap). */
  peers: string[]
  publicClient: Client<Transport, Chain | undefined>
  addresses: MedvaultAddresses
  /** First block to read without a checkpoint. */
  fromBlock: bigint
  /** How long one missing block may take to arrive. Default 2000. */
  blockTimeoutMs?: number
  /** Pinner settings; retries start at 100 ms and stay under 1 s unless set. */
  pinner?: PinnerInit
  /** Follower settings besides the checkpoint file and the first block; polls every 100 ms unless set. */
  follower?: Omit<ChainFollowerInit, 'checkpointFile' | 'fromBlock'>
  /** Metrics the follower and the pinner report to. */
  metrics?: NodeMetrics
}

export interface FollowingNode {
  storage: Storage
  pins: PinStore
  pinner: Pinner
  follower: ChainFollower
  /** Stops the follower, then the pinner, the pin store and the content store (as the daemon does). */
  stop(): Promise<void>
}

export async function startFollowingNode(init: FollowingNodeInit): Promise<FollowingNode> {
  const storage = await createStorage({
    directory: join(init.dir, 'ipfs'),
    network: { peers: init.peers },
    blockTimeoutMs: init.blockTimeoutMs ?? 2000,
  })
  const pins = createPinStore({ dir: init.dir })
  await pins.open()
  const metrics = init.metrics === undefined ? {} : { metrics: init.metrics }
  const pinner = createPinner(
    { retryBaseMs: 100, retryMaxMs: 1000, ...init.pinner },
    { storage, pins, ...metrics },
  )
  const follower = createChainFollower(
    {
      pollingIntervalMs: 100,
      ...init.follower,
      checkpointFile: join(init.dir, CHECKPOINT_FILE),
      fromBlock: init.fromBlock,
    },
    { publicClient: init.publicClient, addresses: init.addresses, storage, pins, pinner, ...metrics },
  )
  await pinner.start()
  await follower.start()
  return {
    storage,
    pins,
    pinner,
    follower,
    async stop() {
      await follower.stop()
      await pinner.stop()
      await pins.close()
      await storage.stop()
    },
  }
}

/** The requests the chain follower made. */
export const followed = (pins: PinStore): PinRecord[] =>
  [...pins.all()].filter((r) => r.owner === FOLLOWER_OWNER)
