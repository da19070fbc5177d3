/**
 * The chain follower with real neighbours: a devnet on which records are registered in batches, a source
 * store holding their envelopes and content, and a node (its own networked store, durable pin store,
 * pinner) that catches up from the first block and fetches everything over bitswap.
 *
 * What a SIGKILL at any moment would leave is the files as they are on disk at that moment: the test reads
 * the checkpoint and the pin store's file again and again while the node catches up, and checks at each
 * read that nothing the checkpoint covers is missing and that no pinned envelope lacks its content request.
 */

import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDevnet, type Devnet } from '@medvault/chain/node'
import { encrypt, SecretKey } from '@medvault/crypto/umbral'
import { encodeRecordEnvelope, type RecordEnvelope } from '@medvault/protocol'
import { type CID, createStorage, type Storage } from '@medvault/storage'
import { bytesToHex } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  CHECKPOINT_FILE,
  type FollowingNode,
  followed,
  startFollowingNode,
} from '../../../test/node-daemon/following-node.ts'
import { contentByteLimit, FOLLOWER_OWNER } from './chain-follower.ts'
import { PIN_STORE_FILE } from './pin-store.ts'

const BATCHES = 4
const PER_BATCH = 25

let devnet: Devnet
let source: Storage
let root: string
let fromBlock: bigint
/** Record id → the block its registration was mined in. */
const registeredAt = new Map<string, bigint>()

beforeAll(async () => {
  devnet = await createDevnet({ accounts: 3 })
  source = await createStorage({ network: {} })
  root = await mkdtemp(join(tmpdir(), 'mvn-follower-'))
  // Envelopes as the SDK writes them, with real capsules (curve points the follower checks); the content
  // here is plain bytes, which the follower never reads.
  const capsule = () => encrypt(SecretKey.random().publicKey(), new Uint8Array(32))[0].toBytesSimple()
  const template = {
    v: 1,
    size: 16,
    segment: 65_536,
    epoch: 0,
    capsules: { record: capsule(), all: capsule() },
    wrappedKeys: { record: new Uint8Array(72).fill(1), all: new Uint8Array(72).fill(2) },
    meta: new Uint8Array(64).fill(3),
  } as const
  fromBlock = (await devnet.publicClient.getBlockNumber()) + 1n
  const filler = devnet.walletClients[2]!
  for (let b = 0; b < BATCHES; b++) {
    const envelopes: CID[] = []
    for (let i = 0; i < PER_BATCH; i++) {
      const content = await source.putBytes(new TextEncoder().encode(`record ${b}.${i}`))
      const envelope: RecordEnvelope = { ...template, content }
      encodeRecordEnvelope(envelope) // throws if the follower would refuse it
      envelopes.push(await source.putEnvelope(envelope))
    }
    const { recordIds, receipt } = await filler.registerRecords({
      records: envelopes.map((cid) => ({ cid: bytesToHex(cid.bytes) })),
    })
    for (const id of recordIds) registeredAt.set(id.toLowerCase(), receipt!.blockNumber)
  }
}, 120_000)

afterAll(async () => {
  await source?.stop()
  await devnet?.stop()
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
})

/** A node following the devnet from `from`, fetching from the source store. */
const startNode = (dir: string, from = fromBlock): Promise<FollowingNode> =>
  startFollowingNode({
    dir,
    peers: source.multiaddrs(),
    publicClient: devnet.publicClient,
    addresses: devnet.addresses,
    fromBlock: from,
    blockTimeoutMs: 5000,
    pinner: { concurrency: 8 },
    follower: { pollingIntervalMs: 50, batchSize: 2 },
  })

type Line =
  | { t: 'add'; r: { requestid: string; owner: string; meta?: Record<string, string> } }
  | { t: 'set'; id: string; status: string }
  | { t: 'del'; id: string }

/**
 * What a restart after a SIGKILL right now would find: the checkpoint (read first: it is written only after
 * the requests it covers), then the pin store's file, as its replay reads it (a torn last line dropped).
 */
async function onDisk(dir: string): Promise<{ checkpoint: bigint | undefined; lines: Line[] }> {
  let checkpoint: bigint | undefined
  try {
    checkpoint = BigInt(
      (JSON.parse(await readFile(join(dir, CHECKPOINT_FILE), 'utf8')) as { blockNumber: string }).blockNumber,
    )
  } catch {
    checkpoint = undefined
  }
  const text = await readFile(join(dir, PIN_STORE_FILE), 'utf8').catch(() => '')
  const lines: Line[] = []
  for (const line of text.split('\n')) {
    try {
      lines.push(JSON.parse(line) as Line)
    } catch {
      // the line being appended right now
    }
  }
  return { checkpoint, lines }
}

/** The invariants a restart relies on; returns how many envelopes were pinned on disk. */
function checkInvariants({ checkpoint, lines }: Awaited<ReturnType<typeof onDisk>>): number {
  const requests = new Map<string, { kind: string; recordId: string; status: string; at: number }>()
  lines.forEach((line, at) => {
    if (line.t === 'add' && line.r.owner === FOLLOWER_OWNER) {
      const kind = line.r.meta?.kind ?? ''
      requests.set(line.r.requestid, { kind, recordId: line.r.meta?.recordId ?? '', status: 'queued', at })
    } else if (line.t === 'set') {
      const r = requests.get(line.id)
      if (r !== undefined) r.status = line.status
    }
  })
  const envelopes = new Set<string>()
  const contents = new Set<string>()
  for (const r of requests.values()) {
    if (r.kind === 'envelope') envelopes.add(r.recordId)
    if (r.kind === 'content') contents.add(r.recordId)
  }
  // 1. Every record the checkpoint covers has its envelope request on disk: no event is missed.
  if (checkpoint !== undefined) {
    for (const [recordId, block] of registeredAt) {
      if (block <= checkpoint) expect(envelopes.has(recordId), `envelope of ${recordId}`).toBe(true)
    }
  }
  // 2. An envelope pinned on disk has its content request on disk: no pin is lost.
  let pinned = 0
  for (const r of requests.values()) {
    if (r.kind !== 'envelope' || r.status !== 'pinned') continue
    pinned++
    expect(contents.has(r.recordId), `content of ${r.recordId}`).toBe(true)
  }
  return pinned
}

describe('createChainFollower', () => {
  test('behavior: catch-up from the first block pins every envelope and content; at every moment the files on disk lose nothing; a replay adds nothing', async () => {
    const dir = join(root, 'a')
    let node = await startNode(dir)
    const total = 2 * BATCHES * PER_BATCH
    try {
      let reads = 0
      let sawPartial = false
      const settled = () => followed(node.pins).filter((r) => r.status === 'pinned').length
      const failed = () => followed(node.pins).filter((r) => r.status === 'failed')
      while (settled() < total) {
        expect(failed()).toEqual([])
        const pinnedOnDisk = checkInvariants(await onDisk(dir))
        if (pinnedOnDisk > 0 && pinnedOnDisk < BATCHES * PER_BATCH) sawPartial = true
        reads++
        await new Promise((r) => setTimeout(r, 5))
      }
      await node.pinner.idle()
      const final = await onDisk(dir)
      expect(checkInvariants(final)).toBe(BATCHES * PER_BATCH)
      expect(reads).toBeGreaterThan(0)
      // The reads met the catch-up half-way at least once (not only before it started or after it ended).
      expect(sawPartial).toBe(true)

      const records = followed(node.pins)
      expect(records).toHaveLength(total)
      expect(records.every((r) => r.status === 'pinned')).toBe(true)
      for (const r of records.slice(0, 10)) expect(await node.storage.isPinned(r.cid)).toBe(true)
      expect(node.pins.counts((o) => o === FOLLOWER_OWNER)).toEqual({
        queued: 0,
        pinning: 0,
        pinned: total,
        failed: 0,
      })

      // The whole range again (checkpoint removed), as after a crash before any checkpoint: nothing doubles.
      await node.stop()
      await rm(join(dir, CHECKPOINT_FILE))
      node = await startNode(dir)
      while (!node.follower.caughtUp) await new Promise((r) => setTimeout(r, 20))
      await node.pinner.idle()
      expect(followed(node.pins)).toHaveLength(total)
      expect(followed(node.pins).every((r) => r.status === 'pinned')).toBe(true)
    } finally {
      await node.stop()
    }
  }, 180_000)

  test("attack: an envelope that claims 1 byte over a 3 MiB content DAG whose leaves are mostly in the node's store already: the content pin counts them and fails for good, the envelope's own pin (which walks into the content) fails too, and gc leaves none of the DAG", async () => {
    // Anyone can register an envelope; without a limit taken from the envelope, every following node would
    // fetch and keep (and its gateway serve) whatever DAG the envelope names.
    const capsule = () => encrypt(SecretKey.random().publicKey(), new Uint8Array(32))[0].toBytesSimple()
    const bytes = randomBytes(3 * 1_048_576 + 65_536)
    const content = await source.putBytes(bytes)
    const envelope = await source.putEnvelope({
      v: 1,
      size: 1,
      segment: 65_536,
      epoch: 0,
      capsules: { record: capsule(), all: capsule() },
      wrappedKeys: { record: new Uint8Array(72).fill(1), all: new Uint8Array(72).fill(2) },
      meta: new Uint8Array(64).fill(3),
      content,
    })
    const from = (await devnet.publicClient.getBlockNumber()) + 1n
    await devnet.walletClients[1]!.registerRecords({ records: [{ cid: bytesToHex(envelope.bytes) }] })
    expect(contentByteLimit(1, 65_536)).toBeLessThan(2 * 1_048_576)

    // What an attempt cut off by a time-out leaves behind: the three 1 MiB leaves are in the node's store,
    // unpinned, and only the root and the last 64 KiB leaf are missing. A bound that counts only the blocks a
    // walk fetches sees ~64 KiB here and pins the 3 MiB DAG.
    const dir = join(root, 'b')
    const before = await createStorage({ directory: join(dir, 'ipfs') })
    try {
      await before.putBytes(bytes.subarray(0, 3 * 1_048_576), { pin: false })
    } finally {
      await before.stop()
    }

    const node = await startNode(dir, from)
    try {
      const request = () => followed(node.pins).find((r) => r.meta?.kind === 'content')
      while (request()?.status !== 'failed') {
        expect(request()?.status).not.toBe('pinned')
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(request()!.info?.status_details).toMatch(/larger than this request allows/)
      // The envelope links the content, so pinning the envelope walks the same DAG: unbounded, it would keep
      // the 3 MiB the content request refused (and the gateway would serve it).
      const envelopeRequest = () => followed(node.pins).find((r) => r.meta?.kind === 'envelope')
      while (envelopeRequest()?.status !== 'failed') {
        expect(envelopeRequest()?.status).not.toBe('pinned')
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(envelopeRequest()!.info?.status_details).toMatch(/larger than this request allows/)
      expect(await node.storage.isPinned(content)).toBe(false)
      expect(await node.storage.isPinned(envelope)).toBe(false)
      await node.storage.gc()
      expect(await node.storage.helia.blockstore.has(content)).toBe(false)
    } finally {
      await node.stop()
    }
  }, 120_000)
})
