/**
 * medvault-node's serving and following paths, each beside its floor measured in the same run.
 *
 * 1. Trustless gateway, raw-block GETs over HTTP on 127.0.0.1 (keep-alive fetch clients, 1, 16 and 64 at
 *    once, 3 s each): requests/s, p50/p99, errors. Floor: the same blocks read in-process from the same store
 *    (the gateway's own read path, no HTTP) at the same concurrency; the table gives the HTTP path's ratio.
 * 2. Chain follower catch-up: a fresh node follows a devnet on which a patient registered records through
 *    the SDK, and pins every envelope and content from the patient's store over bitswap: records/s pinned.
 *    Floor: reading the same events with `followEvents.sync` and doing nothing with them.
 *
 * Run: `npx -y pnpm@10 bench node-daemon` (or `npx -y pnpm@10 exec node bench/node-daemon.bench.ts` after a
 * build). The load stays on this machine and stops by itself.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { followEvents, memoryCheckpointStore } from '@medvault/chain'
import { createDevnet } from '@medvault/chain/node'
import { consentRegistryAbi } from '@medvault/contracts'
import {
  createChainFollower,
  createGateway,
  createHttpServer,
  createPinner,
  createPinStore,
  FOLLOWER_OWNER,
} from '@medvault/node'
import { createVault } from '@medvault/sdk'
import { type CID, createStorage } from '@medvault/storage'
import { http } from 'viem'
import { printTable, type Row, type Table, writeResults } from './lib.ts'

const BLOCKS = 2000
const SECONDS = 3
const RECORDS = 100

const percentile = (sorted: number[], p: number): number =>
  sorted.length === 0 ? 0 : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

/** Runs `op` from `concurrency` loops for `seconds`; returns rate, latency percentiles and errors. */
async function load(
  concurrency: number,
  seconds: number,
  op: (i: number) => Promise<boolean>,
): Promise<{ rps: number; p50: number; p99: number; errors: number; n: number }> {
  const latencies: number[] = []
  let errors = 0
  let next = 0
  const until = performance.now() + seconds * 1000
  const start = performance.now()
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (performance.now() < until) {
        const t = performance.now()
        const ok = await op(next++).catch(() => false)
        latencies.push(performance.now() - t)
        if (!ok) errors++
      }
    }),
  )
  const elapsed = (performance.now() - start) / 1000
  latencies.sort((a, b) => a - b)
  return {
    rps: latencies.length / elapsed,
    p50: percentile(latencies, 50),
    p99: percentile(latencies, 99),
    errors,
    n: latencies.length,
  }
}

async function gatewayBench(): Promise<Table> {
  const dir = await mkdtemp(join(tmpdir(), 'bench-gw-'))
  const storage = await createStorage({ directory: dir })
  const cids: CID[] = []
  for (let i = 0; i < BLOCKS; i++) {
    const bytes = new Uint8Array(1024)
    new DataView(bytes.buffer).setUint32(0, i)
    cids.push(await storage.putBytes(bytes))
  }
  const server = createHttpServer()
  await createGateway({}, { http: server, storage }).start()
  await server.start()
  const urls = cids.map((c) => `${server.url}/ipfs/${c}?format=raw`)
  const rows: Row[] = []
  try {
    for (const concurrency of [1, 16, 64]) {
      const viaHttp = await load(concurrency, SECONDS, async (i) => {
        const res = await fetch(urls[i % urls.length]!)
        const body = await res.arrayBuffer()
        return res.status === 200 && body.byteLength === 1024
      })
      const inProcess = await load(concurrency, SECONDS, async (i) => {
        let size = 0
        for await (const chunk of storage.helia.blockstore.get(cids[i % cids.length]!, { offline: true })) {
          size += chunk.length
        }
        return size === 1024
      })
      rows.push({
        connections: concurrency,
        'HTTP req/s': viaHttp.rps,
        'HTTP p50 ms': viaHttp.p50,
        'HTTP p99 ms': viaHttp.p99,
        'HTTP errors': viaHttp.errors,
        'in-process reads/s': inProcess.rps,
        'HTTP / in-process': viaHttp.rps / inProcess.rps,
      })
    }
  } finally {
    await server.stop()
    await storage.stop()
    await rm(dir, { recursive: true, force: true })
  }
  return {
    title: `Trustless gateway: raw 1 KiB blocks (${BLOCKS} on disk), ${SECONDS} s per row`,
    rows,
    notes: [
      'in-process: the same blocks read from the same blockstore-fs store (with its CID check) at the same concurrency, no HTTP.',
    ],
  }
}

async function followerBench(): Promise<Table> {
  await using devnet = await createDevnet()
  const source = await createStorage({ network: {} })
  const root = await mkdtemp(join(tmpdir(), 'bench-follow-'))
  try {
    const patient = await createVault({
      account: devnet.anvil.accounts[1]!.privateKey,
      chain: {
        transport: http(devnet.rpcUrl),
        addresses: devnet.addresses,
        chain: devnet.chain,
        deployBlock: devnet.deployBlock,
      },
      storage: source,
    })
    for (let i = 0; i < RECORDS; i++)
      await patient.records.put({ resourceType: 'Observation', status: 'final', id: String(i) })

    // Floor: the same events, read and dropped.
    let events = 0
    const floorStart = performance.now()
    await followEvents(devnet.publicClient, {
      abi: consentRegistryAbi,
      address: devnet.addresses.consentRegistry,
      fromBlock: devnet.deployBlock,
      checkpoint: memoryCheckpointStore(),
      onEvents: (e) => {
        events += e.length
      },
    }).sync()
    const floorSeconds = (performance.now() - floorStart) / 1000

    const storage = await createStorage({
      directory: join(root, 'ipfs'),
      network: { peers: source.multiaddrs() },
    })
    const pins = createPinStore({ dir: root })
    await pins.open()
    const pinner = createPinner({ concurrency: 16 }, { storage, pins })
    const follower = createChainFollower(
      { fromBlock: devnet.deployBlock, pollingIntervalMs: 50 },
      { publicClient: devnet.publicClient, addresses: devnet.addresses, storage, pins, pinner },
    )
    await pinner.start()
    const start = performance.now()
    await follower.start()
    for (;;) {
      const followed = [...pins.all()].filter((r) => r.owner === FOLLOWER_OWNER)
      if (followed.length === 2 * RECORDS && followed.every((r) => r.status === 'pinned')) break
      await new Promise((r) => setTimeout(r, 20))
    }
    const seconds = (performance.now() - start) / 1000
    await follower.stop()
    await pinner.stop()
    await pins.close()
    await storage.stop()
    return {
      title: `Chain follower catch-up: ${RECORDS} records (envelope + content each) registered through the SDK`,
      rows: [
        {
          what: 'follow + fetch over bitswap + pin (fsync per batch)',
          seconds,
          'records/s': RECORDS / seconds,
        },
        {
          what: 'floor: followEvents.sync, events dropped',
          seconds: floorSeconds,
          'records/s': events / floorSeconds,
        },
      ],
      notes: [
        `ratio (pinned / floor records per second): ${(RECORDS / seconds / (events / floorSeconds)).toFixed(3)}`,
      ],
    }
  } finally {
    await source.stop()
    await rm(root, { recursive: true, force: true })
  }
}

const tables = [await gatewayBench(), await followerBench()]
for (const t of tables) printTable(t)
console.log(`\nresults: ${writeResults('node-daemon', tables)}`)
