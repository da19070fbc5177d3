/**
 * medvault-node's serving and following paths, each beside its floor measured in the same run.
 *
 * 1. Trustless gateway, raw-block GETs over HTTP on 127.0.0.1 (keep-alive fetch clients, 1, 16 and 64 at
 *    once, 3 s each): requests/s, p50/p99, errors. Floor: the same blocks read in-process from the same store
 *    (the gateway's own read path, no HTTP) at the same concurrency; the table gives the HTTP path's ratio.
 * 2. Chain follower catch-up at several chain sizes (`FOLLOW_SIZES`, default 1,000 and 10,000 records): a fresh
 *    node follows a devnet on which that many records were registered in `registerRecords` batches, and pins
 *    every envelope and its content from a source store over bitswap: records/s pinned. Baseline: the same
 *    CIDs pinned straight into a fresh store with `storage.pin` at the same concurrency (no follower, pin
 *    store or queue). Linear means the follower's records/s does not fall as the chain grows.
 *
 * Run: `npx -y pnpm@10 bench node-daemon` (`ONLY=follower` or `ONLY=gateway` for one part; its results go to
 * `results/node-daemon-<part>.json`) (or `npx -y pnpm@10 exec node bench/node-daemon.bench.ts` after a
 * build). The load stays on this machine and stops by itself.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { followEvents, memoryCheckpointStore, NO_TAG } from '@medvault/chain'
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
import { bytesToHex, createWalletClient, type Hex, http } from 'viem'
import { waitForTransactionReceipt, writeContract } from 'viem/actions'
import { printTable, type Row, type Table, writeResults } from './lib.ts'

const BLOCKS = 2000
const SECONDS = 3
/** Chain sizes (records) the follower catches up over; `FOLLOW_SIZES=1000,10000,100000` for the full run. */
const FOLLOW_SIZES = (process.env.FOLLOW_SIZES ?? '1000,10000').split(',').map(Number)
const RECORDS_PER_TX = 400
/** Envelope requests per progress checkpoint (`SLICE=10000`); default a fifth of the size, at least 1,000. */
/** Records the baseline pins (`BASELINE_MAX=20000`: its rate from the first 20,000 of a larger chain). */
const BASELINE_MAX = Number(process.env.BASELINE_MAX ?? Number.POSITIVE_INFINITY)
const SLICE = process.env.SLICE === undefined ? undefined : Number(process.env.SLICE)
const CONCURRENCY = 16
const ONLY = process.env.ONLY

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
  // No per-IP limit: the load comes from one address and would otherwise be measured as 429s.
  await createGateway({ rateLimit: false }, { http: server, storage }).start()
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

/** Runs `fn` over `items`, `concurrency` at a time. */
async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}

/** Removes a store's directory; libp2p may still be writing its peer store there for a moment after stop. */
async function removeDir(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 }).catch((err: unknown) =>
    log(`could not remove ${path}: ${(err as Error).message}`),
  )
}

const log = (msg: string) =>
  console.error(`[node-daemon bench ${new Date().toISOString().slice(11, 19)}] ${msg}`)

/**
 * Follower catch-up at several chain sizes. One devnet and one source store: for each size, `n` distinct
 * records (each its own content block and envelope, shaped from one real SDK envelope) are put in the source
 * store and registered in `registerRecords` batches; then, on fresh stores:
 *
 * - floor: `followEvents.sync` over the same blocks, events dropped;
 * - baseline: the same envelope and content CIDs pinned straight into a store (`storage.pin`, over bitswap
 *   from the source store, the pinner's concurrency): what pinning costs with no follower, pin store or queue;
 * - follower: chain follower + pinner + durable pin store, from the first block of the fill until every
 *   request is pinned.
 */
async function followerBench(): Promise<Table[]> {
  await using devnet = await createDevnet()
  const source = await createStorage({ network: {} })
  const root = await mkdtemp(join(tmpdir(), 'bench-follow-'))
  const rows: Row[] = []
  const sliceRows: Row[] = []
  const miner = setInterval(() => void devnet.testClient.mine({ blocks: 1 }).catch(() => {}), 500)
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
    // Any bytes: the bench needs one real envelope (its capsules are curve points the follower checks).
    const real = await patient.records.put(new Uint8Array(64).fill(1))
    const template = await source.getEnvelope<Record<string, unknown>>(real.cid)
    const filler = createWalletClient({
      account: devnet.accounts[2]!,
      chain: devnet.chain,
      transport: http(devnet.rpcUrl, { timeout: 300_000, retryCount: 0 }),
    })
    let made = 0
    for (const n of FOLLOW_SIZES) {
      // --- the records: distinct content and envelope per record, registered in batches
      log(`${n} records: putting envelopes in the source store`)
      const envelopes: CID[] = []
      const contents: CID[] = []
      for (let i = 0; i < n; i++) {
        const bytes = new Uint8Array(64)
        new DataView(bytes.buffer).setUint32(0, made++)
        const content = await source.putBytes(bytes)
        contents.push(content)
        envelopes.push(await source.putEnvelope({ ...template, content }))
      }
      log(`${n} records: registering`)
      const fromBlock = (await devnet.publicClient.getBlockNumber()) + 1n
      let nonce = await devnet.publicClient.getTransactionCount({
        address: filler.account.address,
        blockTag: 'pending',
      })
      const batches = Array.from({ length: Math.ceil(n / RECORDS_PER_TX) }, (_, k) =>
        envelopes.slice(k * RECORDS_PER_TX, (k + 1) * RECORDS_PER_TX),
      )
      const hashes: Hex[] = []
      await pool(
        batches.map((b, k) => ({ b, k, nonce: nonce + k })),
        2,
        async ({ b, k, nonce: txNonce }) => {
          hashes[k] = await writeContract(filler, {
            address: devnet.addresses.consentRegistry,
            abi: consentRegistryAbi,
            functionName: 'registerRecords',
            args: [
              filler.account.address,
              b.map((cid) => ({
                recordId: bytesToHex(randomBytes(32)),
                tag: NO_TAG,
                cid: bytesToHex(cid.bytes),
              })),
            ],
            nonce: txNonce,
            gas: 25_000_000n,
          })
        },
      )
      nonce += batches.length
      for (const hash of hashes) {
        const receipt = await waitForTransactionReceipt(devnet.publicClient, { hash, timeout: 600_000 })
        if (receipt.status !== 'success') throw new Error(`registerRecords ${hash} reverted`)
      }
      const toBlock = await devnet.publicClient.getBlockNumber()

      // --- floor: the events alone
      let events = 0
      const floorStart = performance.now()
      await followEvents(devnet.publicClient, {
        abi: consentRegistryAbi,
        address: devnet.addresses.consentRegistry,
        fromBlock,
        checkpoint: memoryCheckpointStore(),
        onEvents: (e) => {
          events += e.length
        },
      }).sync()
      const floorSeconds = (performance.now() - floorStart) / 1000
      if (events !== n) throw new Error(`expected ${n} events, read ${events}`)

      // --- baseline: the same CIDs pinned straight into a store
      const baseRecords = Math.min(n, BASELINE_MAX)
      log(`${n} records: baseline (storage.pin) over the first ${baseRecords}`)
      const baseDir = join(root, `base-${n}`)
      const baseStorage = await createStorage({ directory: baseDir, network: { peers: source.multiaddrs() } })
      const baseStart = performance.now()
      await pool(
        envelopes.slice(0, baseRecords).map((e, i) => [e, contents[i]!] as const),
        CONCURRENCY,
        async ([envelope, content]) => {
          await baseStorage.pin(envelope)
          await baseStorage.pin(content)
        },
      )
      const baseSeconds = (performance.now() - baseStart) / 1000
      await baseStorage.stop()
      await removeDir(baseDir)

      // --- the follower path
      log(`${n} records: follower`)
      const dir = join(root, `node-${n}`)
      const storage = await createStorage({
        directory: join(dir, 'ipfs'),
        network: { peers: source.multiaddrs() },
      })
      const pins = createPinStore({ dir })
      await pins.open()
      const pinner = createPinner({ concurrency: CONCURRENCY }, { storage, pins })
      let pinned = 0
      let failed = 0
      let envelopesSettled = 0
      let resolveDone!: () => void
      const done = new Promise<void>((resolve) => {
        resolveDone = resolve
      })
      // Checkpoints: every `slice` envelope requests settled (an envelope's pin walks its link, so its content
      // block is local and kept from then on; the content requests, queued behind, settle in the tail).
      const slice = SLICE ?? Math.max(1000, Math.ceil(n / 5))
      const slices: Array<{ upTo: number; seconds: number; rssMiB: number }> = []
      let sliceStart = 0
      pinner.onSettled((r) => {
        if (r.owner !== FOLLOWER_OWNER) return
        if (r.status === 'pinned') pinned++
        else failed++
        if (r.meta?.kind === 'envelope') {
          envelopesSettled++
          if (envelopesSettled % slice === 0 || envelopesSettled === n) {
            const now = performance.now()
            const rssMiB = process.memoryUsage().rss / 2 ** 20
            slices.push({ upTo: envelopesSettled, seconds: (now - sliceStart) / 1000, rssMiB })
            const took = (now - sliceStart) / 1000
            const size = envelopesSettled - (slices.length > 1 ? slices[slices.length - 2]!.upTo : 0)
            log(
              `${n} records: follower envelopes ${envelopesSettled}: ${(size / took).toFixed(1)} records/s in this slice, ${((envelopesSettled / (now - start)) * 1000).toFixed(1)} overall, RSS ${rssMiB.toFixed(0)} MiB`,
            )
            sliceStart = now
          }
        }
        if (pinned + failed === 2 * n) resolveDone()
      })
      const follower = createChainFollower(
        { fromBlock, pollingIntervalMs: 50, checkpointFile: join(dir, 'checkpoint.json') },
        { publicClient: devnet.publicClient, addresses: devnet.addresses, storage, pins, pinner },
      )
      const rss = process.memoryUsage().rss
      await pinner.start()
      const start = performance.now()
      sliceStart = start
      await follower.start()
      await done
      const end = performance.now()
      const seconds = (end - start) / 1000
      const rssDelta = (process.memoryUsage().rss - rss) / 2 ** 20
      const envelopeSeconds = slices.reduce((sum, s) => sum + s.seconds, 0)
      const tailSeconds = seconds - envelopeSeconds
      await follower.stop()
      await pinner.stop()
      await pins.close()
      await storage.stop()
      await removeDir(dir)
      if (failed > 0) throw new Error(`${failed} follower pins failed`)
      log(
        `${n} records: follower ${(n / seconds).toFixed(1)} records/s, baseline ${(baseRecords / baseSeconds).toFixed(1)}`,
      )
      let from = 0
      for (const s of slices) {
        sliceRows.push({
          records: n,
          slice: `${from + 1}-${s.upTo}`,
          s: s.seconds,
          'records/s': (s.upTo - from) / s.seconds,
          'RSS MiB': s.rssMiB,
        })
        from = s.upTo
      }
      sliceRows.push({
        records: n,
        slice: `content tail (${n} requests)`,
        s: tailSeconds,
        'records/s': n / tailSeconds,
      })
      rows.push({
        records: n,
        blocks: Number(toBlock - fromBlock + 1n),
        'follower s': seconds,
        'follower records/s': n / seconds,
        'baseline records': baseRecords,
        'baseline s': baseSeconds,
        'baseline records/s': baseRecords / baseSeconds,
        'follower / baseline': n / seconds / (baseRecords / baseSeconds),
        'floor events/s': events / floorSeconds,
        'RSS growth MiB': rssDelta,
        'peak RSS MiB': process.resourceUsage().maxRSS / 1024,
      })
    }
  } finally {
    clearInterval(miner)
    await source.stop()
    await removeDir(root)
  }
  return [
    {
      title: `Chain follower catch-up: records (envelope + content each) pinned, ${CONCURRENCY} pins at once`,
      rows,
      notes: [
        'follower: chain follower + pinner + durable pin store (fdatasync per batch) on a fresh node, from the first block of the fill until every request is pinned; fetched over bitswap from the source store.',
        'baseline: the same envelope and content CIDs pinned with storage.pin on a fresh store, same source, same concurrency, no follower, pin store or queue (the first `baseline records` of them).',
        'floor: followEvents.sync over the same blocks, events dropped.',
        'Linear means records/s stays flat as the chain grows.',
        'peak RSS: the whole bench process (source store with every block in memory included).',
      ],
    },
    {
      title:
        'Chain follower catch-up by slice: envelope requests settled per slice (each walks its content link), then the content requests queued behind them',
      rows: sliceRows,
      notes: [
        'Linear means the records/s of the slices stays flat, not falling, through the catch-up. RSS: the whole bench process at the end of the slice.',
      ],
    },
  ]
}

const tables = [
  ...(ONLY === 'follower' ? [] : [await gatewayBench()]),
  ...(ONLY === 'gateway' ? [] : await followerBench()),
]
for (const t of tables) printTable(t)
console.log(`\nresults: ${writeResults(ONLY === undefined ? 'node-daemon' : `node-daemon-${ONLY}`, tables)}`)
