/**
 * The chain follower's storage bounds with real neighbours: a devnet on which several accounts register
 * records, a source store holding their envelopes and content, and a following node (its own networked store,
 * durable pin store, pinner) that fetches over bitswap. Registration is open: without the bounds, one account
 * paying gas fills every following node's disk with records of the largest allowed size.
 *
 * Every record here has the same size, so how many fit under a bound does not depend on the order in which
 * the pinner happens to take them.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDevnet, type Devnet, type DevnetWalletClient, fileCheckpointStore } from '@medvault/chain/node'
import { encrypt, SecretKey } from '@medvault/crypto/umbral'
import { encodeRecordEnvelope, type RecordEnvelope } from '@medvault/protocol'
import { type CID, createStorage, type Storage } from '@medvault/storage'
import {
  bytesToHex,
  createPublicClient,
  type Hex,
  http,
  numberToHex,
  type Transport,
  zeroAddress,
} from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  CHECKPOINT_FILE,
  type FollowingNode,
  type FollowingNodeInit,
  followed,
  startFollowingNode,
} from '../../../test/node-daemon/following-node.ts'
import { contentByteLimit } from './chain-follower.ts'
import { createMetrics, type NodeMetrics } from './metrics.ts'
import type { PinRecord } from './pin-store.ts'

/** Plaintext bytes of every record (one raw block of content: under the 1 MiB chunk size). */
const SIZE = 256 * 1024
const SEGMENT = 65_536

let devnet: Devnet
let source: Storage
let root: string
let template: Omit<RecordEnvelope, 'content'>
/** Bytes one record's pin counts: its envelope block and its content block. */
let recordBytes: number
/** The most one record's pin may take: what a bound must still have room for to admit it. */
let recordBound: number
/** A bound with room for exactly three records: 2 pinned plus one record's limit fit, 3 pinned plus one do not. */
let threeRecords: number

beforeAll(async () => {
  devnet = await createDevnet({ accounts: 5 })
  source = await createStorage({ network: {} })
  root = await mkdtemp(join(tmpdir(), 'mvn-quota-'))
  const capsule = () => encrypt(SecretKey.random().publicKey(), new Uint8Array(32))[0].toBytesSimple()
  template = {
    v: 1,
    size: SIZE,
    segment: SEGMENT,
    epoch: 0,
    capsules: { record: capsule(), all: capsule() },
    wrappedKeys: { record: new Uint8Array(72).fill(1), all: new Uint8Array(72).fill(2) },
    meta: new Uint8Array(64).fill(3),
  }
  // Every envelope encodes to the same length (CIDs of one kind are of one length).
  const sample = await source.putBytes(new Uint8Array(1))
  const envelopeBytes = encodeRecordEnvelope({ ...template, content: sample }).length
  recordBytes = envelopeBytes + SIZE
  recordBound = envelopeBytes + contentByteLimit(SIZE, SEGMENT)
  threeRecords = recordBound + 2 * recordBytes + Math.floor(recordBytes / 2)
}, 60_000)

afterAll(async () => {
  await source?.stop()
  await devnet?.stop()
  await rm(root, { recursive: true, force: true, maxRetries: 10, retryDelay: 200 })
})

/**
 * Registers `count` records of `SIZE` random bytes as `wallet`'s; returns their envelope and content CIDs and the
 * content's bytes. With `contentReachable: false` no peer has the content (yet): it was stored only in a scratch
 * store, stopped since, and the envelopes are in the source store unpinned.
 */
async function register(
  wallet: DevnetWalletClient,
  count: number,
  { contentReachable = true } = {},
): Promise<Array<{ recordId: Hex; envelope: CID; content: CID; bytes: Uint8Array }>> {
  const store = contentReachable ? source : await createStorage({})
  const made: Array<{ envelope: CID; content: CID; bytes: Uint8Array }> = []
  try {
    for (let i = 0; i < count; i++) {
      const bytes = randomBytes(SIZE)
      const content = await store.putBytes(bytes)
      const envelope = await source.putEnvelope({ ...template, content }, { pin: contentReachable })
      made.push({ envelope, content, bytes })
    }
  } finally {
    if (store !== source) await store.stop()
  }
  const { recordIds } = await wallet.registerRecords({
    records: made.map((m) => ({ cid: bytesToHex(m.envelope.bytes) })),
  })
  return made.map((m, i) => ({ ...m, recordId: recordIds[i]! }))
}

const ownerOf = (wallet: DevnetWalletClient): string => wallet.account.address.toLowerCase()

/** Waits until every envelope request of these records is `pinned` or `failed`, and the pinner is idle. */
async function settled(node: FollowingNode, recordIds: readonly Hex[]): Promise<PinRecord[]> {
  const wanted = new Set(recordIds.map((id) => id.toLowerCase()))
  const envelopes = () =>
    followed(node.pins).filter(
      (r) => r.meta?.kind === 'envelope' && wanted.has((r.meta?.recordId ?? '').toLowerCase()),
    )
  for (;;) {
    const now = envelopes()
    if (now.length === wanted.size && now.every((r) => r.status === 'pinned' || r.status === 'failed')) break
    await new Promise((r) => setTimeout(r, 20))
  }
  await node.pinner.idle()
  return envelopes()
}

async function refusals(metrics: NodeMetrics, reason: string): Promise<number> {
  const { values } = await metrics.refusals.get()
  return values.find((v) => v.labels.service === 'follower' && v.labels.reason === reason)?.value ?? 0
}

/** A following node of the devnet, fetching from the source store; `node` sets its metrics, timeout or pinner. */
const start = (
  dir: string,
  fromBlock: bigint,
  follower: object,
  node: Pick<FollowingNodeInit, 'metrics' | 'blockTimeoutMs' | 'pinner'> = {},
) =>
  startFollowingNode({
    dir,
    peers: source.multiaddrs(),
    publicClient: devnet.publicClient,
    addresses: devnet.addresses,
    fromBlock,
    blockTimeoutMs: 5000,
    ...node,
    follower: { pollingIntervalMs: 50, ...follower },
  })

/** For records whose content never comes: each attempt gives up on it soon, and eight are tried at once. */
const impatient = { blockTimeoutMs: 300, pinner: { concurrency: 8 } }

/** How many attempts at a request have failed, from its `status_details` (0 before the first). */
const tries = (r: PinRecord | undefined) =>
  Number(/^attempt (\d+) failed/.exec(r?.info?.status_details ?? '')?.[1] ?? 0)

/**
 * Waits until `done()` holds, or 30 s have passed (the caller then asserts, and fails with what it sees):
 * a bound on how long a test waits for something that never happens on broken code, not a timing assertion.
 */
async function until(done: () => boolean): Promise<void> {
  const end = Date.now() + 30_000
  while (!done() && Date.now() < end) await new Promise((r) => setTimeout(r, 20))
}

describe('follower storage bounds', () => {
  const dir = () => join(root, 'owner')
  let fromBlock: bigint
  let attacker: DevnetWalletClient
  let other: DevnetWalletClient
  let refusedContent: CID[] = []

  test('attack: one account registers five records past follower.maxBytesPerOwner: three are pinned, two refused with the reason before their content is fetched; another account’s records are still pinned', async () => {
    attacker = devnet.walletClients[1]!
    other = devnet.walletClients[2]!
    fromBlock = (await devnet.publicClient.getBlockNumber()) + 1n
    const flood = await register(attacker, 5)
    const honest = await register(other, 2)
    const metrics = createMetrics()
    const node = await start(dir(), fromBlock, { maxBytesPerOwner: threeRecords }, { metrics })
    try {
      const floodRequests = await settled(
        node,
        flood.map((r) => r.recordId),
      )
      const honestRequests = await settled(
        node,
        honest.map((r) => r.recordId),
      )
      // Without the bound every one of the five is pinned.
      expect(floodRequests.filter((r) => r.status === 'pinned')).toHaveLength(3)
      const refused = floodRequests.filter((r) => r.status === 'failed')
      expect(refused).toHaveLength(2)
      for (const r of refused) {
        expect(r.info?.status_details).toMatch(
          new RegExp(
            `^refused: the records of owner ${ownerOf(attacker)} hold \\d+ bytes on this node and this one may take up to ${recordBound} more, over follower\\.maxBytesPerOwner \\(${threeRecords}\\)$`,
          ),
        )
      }
      expect(honestRequests.every((r) => r.status === 'pinned')).toBe(true)

      // A refused record's content is never requested, so never fetched.
      const refusedIds = new Set(refused.map((r) => r.meta?.recordId))
      const contentRequests = followed(node.pins).filter((r) => r.meta?.kind === 'content')
      expect(contentRequests.filter((r) => refusedIds.has(r.meta?.recordId))).toEqual([])
      expect(contentRequests).toHaveLength(5)
      refusedContent = flood.filter((r) => refusedIds.has(r.recordId)).map((r) => r.content)
      for (const cid of refusedContent) expect(await node.storage.helia.blockstore.has(cid)).toBe(false)

      // What is charged is what the pins counted; the bound holds.
      expect(node.follower.ownerBytes(ownerOf(attacker))).toBe(3 * recordBytes)
      expect(node.follower.ownerBytes(ownerOf(other))).toBe(2 * recordBytes)
      expect(node.follower.storedBytes).toBe(5 * recordBytes)
      expect(await refusals(metrics, 'owner_quota')).toBe(2)
    } finally {
      await node.stop()
    }
  }, 60_000)

  test('behavior: after a restart the usage is read back from the pin store: the account’s next record and a new version of a pinned one are refused, the refused ones stay refused, the other account goes on', async () => {
    const metrics = createMetrics()
    const node = await start(dir(), fromBlock, { maxBytesPerOwner: threeRecords }, { metrics })
    try {
      // Known before any new pin settles: nothing but the pin store told it.
      expect(node.follower.ownerBytes(ownerOf(attacker))).toBe(3 * recordBytes)
      const next = await register(attacker, 1)
      const honest = await register(other, 1)
      // A version is charged to the record's owner (read from the chain: its registration is in no range read now).
      const pinnedBefore = followed(node.pins).find(
        (r) => r.meta?.kind === 'envelope' && r.meta.owner === ownerOf(attacker) && r.status === 'pinned',
      )!
      const content = await source.putBytes(randomBytes(SIZE))
      const version = await source.putEnvelope({ ...template, content })
      await attacker.registerRecordVersion({
        recordId: pinnedBefore.meta!.recordId as Hex,
        cid: bytesToHex(version.bytes),
      })
      const [nextRequest] = await settled(node, [next[0]!.recordId])
      const [honestRequest] = await settled(node, [honest[0]!.recordId])
      expect(nextRequest!.status).toBe('failed')
      expect(nextRequest!.info?.status_details).toMatch(/over follower\.maxBytesPerOwner/)
      expect(honestRequest!.status).toBe('pinned')
      let versionRequest: PinRecord | undefined
      while (versionRequest?.status !== 'failed') {
        expect(versionRequest?.status).not.toBe('pinned')
        versionRequest = followed(node.pins).find(
          (r) => r.meta?.kind === 'envelope' && r.meta.version === '2',
        )
        await new Promise((r) => setTimeout(r, 20))
      }
      expect(versionRequest.meta?.owner).toBe(ownerOf(attacker))
      expect(versionRequest.info?.status_details).toMatch(/over follower\.maxBytesPerOwner/)

      const flood = followed(node.pins).filter(
        (r) => r.meta?.kind === 'envelope' && r.meta.owner === ownerOf(attacker),
      )
      expect(flood.filter((r) => r.status === 'pinned')).toHaveLength(3)
      expect(flood.filter((r) => r.status === 'failed')).toHaveLength(4)
      for (const cid of [...refusedContent, next[0]!.content, content])
        expect(await node.storage.helia.blockstore.has(cid)).toBe(false)
      expect(node.follower.ownerBytes(ownerOf(attacker))).toBe(3 * recordBytes)
      expect(node.follower.ownerBytes(ownerOf(other))).toBe(3 * recordBytes)
      // The two refused before the restart are not refused again (never retried): only the two new ones.
      expect(await refusals(metrics, 'owner_quota')).toBe(2)
    } finally {
      await node.stop()
    }
  }, 60_000)

  test('attack: records whose content is not reachable yet, so every envelope is admitted once (and requests its content) while no bound is set, then weighed again under a bound after a restart: once the content appears, only the records that fit are pinned, and the others’ content is never fetched', async () => {
    const wallet = devnet.walletClients[3]!
    const from = (await devnet.publicClient.getBlockNumber()) + 1n
    // The content CIDs without the content: the envelopes are in the source store, their content nowhere yet.
    const made = await register(wallet, 5, { contentReachable: false })
    const recordIds = made.map((m) => m.recordId)
    const run = (maxBytesPerOwner: number | false) =>
      start(join(root, 'late'), from, { maxBytesPerOwner }, impatient)
    // First without a bound (as before the operator set one): every envelope is admitted, requests its content
    // and times out on it. After the restart under a bound, each is weighed again and the content requests
    // already made must not fetch anything for the records refused.
    const contentRequests = (node: FollowingNode) =>
      followed(node.pins).filter((r) => r.meta?.kind === 'content')
    const open = await run(false)
    try {
      while (contentRequests(open).length < 5) await new Promise((r) => setTimeout(r, 20))
    } finally {
      await open.stop()
    }
    const node = await run(threeRecords)
    try {
      for (const { bytes } of made) await source.putBytes(bytes)
      const envelopes = await settled(node, recordIds)
      expect(envelopes.filter((r) => r.status === 'pinned')).toHaveLength(3)
      expect(envelopes.filter((r) => r.status === 'failed')).toHaveLength(2)
      // Content requests waited for their envelope: the refused records' content fails with it, unfetched.
      while (contentRequests(node).some((r) => r.status !== 'pinned' && r.status !== 'failed'))
        await new Promise((r) => setTimeout(r, 20))
      expect(contentRequests(node).filter((r) => r.status === 'pinned')).toHaveLength(3)
      const refused = new Set(envelopes.filter((r) => r.status === 'failed').map((r) => r.meta?.recordId))
      expect(contentRequests(node).filter((c) => refused.has(c.meta?.recordId))).toHaveLength(2)
      for (const r of contentRequests(node).filter((c) => refused.has(c.meta?.recordId))) {
        expect(r.status).toBe('failed')
        expect(r.info?.status_details).toMatch(/^its envelope was not pinned \(refused: .*maxBytesPerOwner/)
      }
      let stored = 0
      for (const m of made) if (await node.storage.helia.blockstore.has(m.content)) stored++
      expect(stored).toBe(3)
      expect(node.follower.ownerBytes(ownerOf(wallet))).toBe(3 * recordBytes)
    } finally {
      await node.stop()
    }
  }, 60_000)

  test('attack: an account over its quota registers a record naming a victim’s envelope CID just before the victim does: the victim’s own request is made and its envelope and content are pinned, charged to the victim', async () => {
    const [attacker, victim] = [devnet.walletClients[1]!, devnet.walletClients[2]!]
    const from = (await devnet.publicClient.getBlockNumber()) + 1n
    const own = await register(attacker, 1)
    // Room for one record: once the attacker's own record is pinned, anything more of theirs is refused.
    const node = await start(join(root, 'front'), from, { maxBytesPerOwner: recordBound })
    try {
      await settled(node, [own[0]!.recordId])
      const content = await source.putBytes(randomBytes(SIZE))
      const envelope = await source.putEnvelope({ ...template, content })
      const cid = bytesToHex(envelope.bytes)
      // The attacker's transaction goes first (as one seen in the mempool and outbid would), then the victim's.
      const { recordIds: stolen } = await attacker.registerRecords({ records: [{ cid }] })
      const { recordIds: mine } = await victim.registerRecords({ records: [{ cid }] })
      const [front] = await settled(node, [stolen[0]!])
      expect(front!.status).toBe('failed')
      expect(front!.info?.status_details).toMatch(/over follower\.maxBytesPerOwner/)
      // On the old code the victim's event added no request of its own: nothing was ever pinned for it.
      const head = await devnet.publicClient.getBlockNumber()
      while ((node.follower.block ?? 0n) < head) await new Promise((r) => setTimeout(r, 20))
      await node.pinner.idle()
      const victims = followed(node.pins).filter(
        (r) => r.meta?.kind === 'envelope' && r.meta.recordId === mine[0]!,
      )
      expect(victims).toHaveLength(1)
      await settled(node, [mine[0]!])
      expect(victims[0]!.meta?.owner).toBe(ownerOf(victim))
      expect(node.pins.get(victims[0]!.requestid)?.status).toBe('pinned')
      while (
        !followed(node.pins).some(
          (r) => r.meta?.kind === 'content' && r.meta.recordId === mine[0]! && r.status === 'pinned',
        )
      )
        await new Promise((r) => setTimeout(r, 20))
      expect(await node.storage.helia.blockstore.has(envelope)).toBe(true)
      expect(await node.storage.helia.blockstore.has(content)).toBe(true)
      expect(node.follower.ownerBytes(ownerOf(victim))).toBe(recordBytes)
      expect(node.follower.ownerBytes(ownerOf(attacker))).toBe(recordBytes)
    } finally {
      await node.stop()
    }
  }, 60_000)

  test('attack: an account registers records whose content never arrives, so every attempt times out and is retried: between attempts a record keeps only what it fetched (its envelope block), not its whole bound, so every record is tried in turn under follower.maxBytesPerOwner and none holds it for good; a record’s content is not fetched on its own (uncharged) before its envelope is pinned', async () => {
    const wallet = devnet.walletClients[3]!
    const from = (await devnet.publicClient.getBlockNumber()) + 1n
    // Content CIDs whose blocks no peer has: each attempt fetches the envelope and waits on the content.
    const recordIds = (await register(wallet, 5, { contentReachable: false })).map((r) => r.recordId)
    // Room for two records in flight, not three.
    const node = await start(
      join(root, 'stuck'),
      from,
      { maxBytesPerOwner: 2 * recordBound + recordBytes },
      impatient,
    )
    try {
      const wanted = new Set(recordIds.map((id) => id.toLowerCase()))
      const envelopes = () =>
        followed(node.pins).filter(
          (r) => r.meta?.kind === 'envelope' && wanted.has((r.meta?.recordId ?? '').toLowerCase()),
        )
      const contentRequests = () => followed(node.pins).filter((r) => r.meta?.kind === 'content')
      // An admitted attempt requests its record's content. On the old code the first two admitted kept their
      // whole bound through every retry, so the other three waited for good (two content requests, ever).
      await until(() => contentRequests().length === 5)
      expect(contentRequests()).toHaveLength(5)
      // Nor is their content fetched on its own while the envelope is only in flight: uncharged until it is
      // pinned.
      await until(() => contentRequests().every((r) => tries(r) >= 2))
      for (const r of contentRequests())
        expect(r.info?.status_details).toMatch(/waiting for the record's envelope pin/)
      expect(envelopes().every((r) => r.status !== 'pinned')).toBe(true)
      expect(node.follower.ownerBytes(ownerOf(wallet))).toBe(0)
    } finally {
      await node.stop()
    }
  }, 60_000)

  test('attack: a record whose content no peer serves does not hold follower.maxTotalBytes for good: once its attempt has timed out, a later record of another owner is admitted and pinned (on the old code it waited for good behind the stuck record’s share)', async () => {
    const [stranger, honest] = [devnet.walletClients[1]!, devnet.walletClients[2]!]
    const from = (await devnet.publicClient.getBlockNumber()) + 1n
    const [stuck] = await register(stranger, 1, { contentReachable: false })
    // Room for one record in flight next to one pinned: not for two in flight.
    const node = await start(
      join(root, 'held'),
      from,
      { maxBytesPerOwner: false, maxTotalBytes: recordBound + recordBytes },
      impatient,
    )
    try {
      const envelopeOf = (recordId: Hex) =>
        followed(node.pins).find((r) => r.meta?.kind === 'envelope' && r.meta.recordId === recordId)
      // Past the attempt's bound (the storage's block time-out), more than once.
      await until(() => tries(envelopeOf(stuck!.recordId)) >= 2)
      const [later] = await register(honest, 1)
      await until(() => envelopeOf(later!.recordId)?.status === 'pinned')
      expect(envelopeOf(later!.recordId)?.status).toBe('pinned')
      expect(node.follower.storedBytes).toBe(recordBytes)
      expect(node.follower.ownerBytes(ownerOf(honest))).toBe(recordBytes)
      // The stuck record is still tried (it fits next to the pinned one), never pinned, never charged.
      expect(envelopeOf(stuck!.recordId)?.status).not.toBe('pinned')
      expect(node.follower.ownerBytes(ownerOf(stranger))).toBe(0)
    } finally {
      await node.stop()
    }
  }, 60_000)

  test('attack: a version added right after its record was registered, read through a chain node a block behind (one backend of a load-balanced RPC endpoint): the record’s owner is not taken as the zero address, which charged the version to no one’s bound; the range is read again and the version is charged to, and refused under, the owner’s bound', async () => {
    const owner = devnet.walletClients[1]!
    const from = (await devnet.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n
    const [first] = await register(owner, 1)
    const registeredAt = await devnet.publicClient.getBlockNumber({ cacheTime: 0 })
    // While set, the node answers every call at 'latest' as of this block: before the registration.
    let behind: bigint | undefined
    let callsBehind = 0
    const lagging: Transport = (options) => {
      const inner = http(devnet.rpcUrl)(options)
      return {
        ...inner,
        request: ((args: { method: string; params?: unknown }) => {
          const params = args.params as unknown[] | undefined
          if (behind !== undefined && args.method === 'eth_call' && params?.[1] === 'latest') {
            callsBehind++
            return inner.request({ ...args, params: [params[0], numberToHex(behind)] } as never)
          }
          return inner.request(args as never)
        }) as typeof inner.request,
      }
    }
    const node = await startFollowingNode({
      dir: join(root, 'lagging'),
      peers: source.multiaddrs(),
      publicClient: createPublicClient({ chain: devnet.chain, transport: lagging }),
      addresses: devnet.addresses,
      fromBlock: from,
      blockTimeoutMs: 5000,
      // Room for one record of this owner.
      follower: { pollingIntervalMs: 50, maxBackoffMs: 200, maxBytesPerOwner: recordBound },
    })
    const versionRequest = () =>
      followed(node.pins).find((r) => r.meta?.kind === 'envelope' && r.meta.version === '2')
    try {
      await settled(node, [first!.recordId])
      expect(node.follower.ownerBytes(ownerOf(owner))).toBe(recordBytes)
      behind = registeredAt - 1n
      const content = await source.putBytes(randomBytes(SIZE))
      const version = await source.putEnvelope({ ...template, content })
      await owner.registerRecordVersion({ recordId: first!.recordId, cid: bytesToHex(version.bytes) })
      // The range naming the version is read (and, now, refused) at least twice while the node is behind.
      await until(() => callsBehind >= 2 || versionRequest() !== undefined)
      behind = undefined
      await until(() => versionRequest()?.status === 'failed' || versionRequest()?.status === 'pinned')
      // On the old code the version was requested for owner 0x000…0, whose bound was empty, and pinned.
      expect(followed(node.pins).filter((r) => r.meta?.owner === zeroAddress)).toEqual([])
      expect(versionRequest()?.meta?.owner).toBe(ownerOf(owner))
      expect(versionRequest()?.status).toBe('failed')
      expect(versionRequest()?.info?.status_details).toMatch(/over follower\.maxBytesPerOwner/)
      expect(node.follower.ownerBytes(ownerOf(owner))).toBe(recordBytes)
    } finally {
      await node.stop()
    }
  }, 60_000)

  test('behavior: follower.maxTotalBytes bounds every owner together; an exempt owner is still pinned past it, and counted', async () => {
    const [a, b, exempt] = [devnet.walletClients[1]!, devnet.walletClients[3]!, devnet.walletClients[4]!]
    const from = (await devnet.publicClient.getBlockNumber()) + 1n
    const first = await register(a, 2)
    const second = await register(b, 3)
    const metrics = createMetrics()
    const node = await start(
      join(root, 'total'),
      from,
      { maxBytesPerOwner: false, maxTotalBytes: threeRecords, exemptOwners: [exempt.account.address] },
      { metrics },
    )
    try {
      const requests = await settled(
        node,
        [...first, ...second].map((r) => r.recordId),
      )
      expect(requests.filter((r) => r.status === 'pinned')).toHaveLength(3)
      const refused = requests.filter((r) => r.status === 'failed')
      expect(refused).toHaveLength(2)
      for (const r of refused) {
        expect(r.info?.status_details).toMatch(
          new RegExp(
            `^refused: followed records hold ${3 * recordBytes} bytes on this node and this one \\(owner 0x[0-9a-f]{40}\\) may take up to ${recordBound} more, over follower\\.maxTotalBytes \\(${threeRecords}\\)$`,
          ),
        )
      }
      expect(node.follower.storedBytes).toBe(3 * recordBytes)
      expect(await refusals(metrics, 'total_quota')).toBe(2)

      const listed = await register(exempt, 2)
      const exemptRequests = await settled(
        node,
        listed.map((r) => r.recordId),
      )
      expect(exemptRequests.every((r) => r.status === 'pinned')).toBe(true)
      expect(node.follower.storedBytes).toBe(5 * recordBytes)
      expect(node.follower.ownerBytes(exempt.account.address)).toBe(2 * recordBytes)
      const late = await register(b, 1)
      const [lateRequest] = await settled(node, [late[0]!.recordId])
      expect(lateRequest!.info?.status_details).toMatch(/over follower\.maxTotalBytes/)
      expect(await refusals(metrics, 'total_quota')).toBe(3)
    } finally {
      await node.stop()
    }
  }, 60_000)
})

describe('every charged request names its owner', () => {
  /** Follower requests an owner's bound would not count: envelopes and bundles (and their content) naming none. */
  const ownerless = (node: FollowingNode) => followed(node.pins).filter((r) => !r.meta?.owner)

  /** Waits until the follower has handled every block up to the head now, and the pinner is idle. */
  async function handledToHead(node: FollowingNode): Promise<void> {
    const head = await devnet.publicClient.getBlockNumber({ cacheTime: 0 })
    await until(() => (node.follower.block ?? 0n) >= head)
    expect(node.follower.block).toBeGreaterThanOrEqual(head)
    await node.pinner.idle()
  }

  test('attack: an account over follower.maxBytesPerOwner re-adds the CID of its refused record as a new version of that record: no request without an owner is made (on the old code one was, admitted past the per-owner bound and pinned, counted only toward maxTotalBytes), the CID stays refused and its content is never fetched', async () => {
    const attacker = devnet.walletClients[1]!
    const from = (await devnet.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n
    const [first] = await register(attacker, 1)
    // Room for one record of this owner.
    const node = await start(join(root, 'readd'), from, { maxBytesPerOwner: recordBound })
    try {
      await settled(node, [first!.recordId])
      const [refused] = await register(attacker, 1)
      const [refusedRequest] = await settled(node, [refused!.recordId])
      expect(refusedRequest!.status).toBe('failed')
      expect(refusedRequest!.info?.status_details).toMatch(/over follower\.maxBytesPerOwner/)

      // Twice, as an attacker would repeat it to fill maxTotalBytes with records no owner is charged for.
      for (let i = 0; i < 2; i++) {
        await attacker.registerRecordVersion({
          recordId: refused!.recordId,
          cid: bytesToHex(refused!.envelope.bytes),
        })
      }
      await handledToHead(node)
      await until(() => followed(node.pins).every((r) => r.status === 'pinned' || r.status === 'failed'))
      await node.pinner.idle()

      expect(ownerless(node)).toEqual([])
      const ofRefused = followed(node.pins).filter((r) => r.meta?.recordId === refused!.recordId)
      expect(ofRefused.filter((r) => r.status === 'pinned')).toEqual([])
      expect(ofRefused.every((r) => r.meta?.owner === ownerOf(attacker))).toBe(true)
      expect(await node.storage.helia.blockstore.has(refused!.content)).toBe(false)
      expect(node.follower.ownerBytes(ownerOf(attacker))).toBe(recordBytes)
      expect(node.follower.storedBytes).toBe(recordBytes)
    } finally {
      await node.stop()
    }
  }, 60_000)

  test('attack: a range naming a pinned version is read again (a restart whose checkpoint is before the version’s block, as after a crash or a failed checkpoint save): the version is not requested again without an owner (on the old code it was, and pinned a second time, charged to no owner)', async () => {
    const owner = devnet.walletClients[2]!
    const from = (await devnet.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n
    const [first] = await register(owner, 1)
    const dir = join(root, 'replay')
    // Room for two records of this owner: the first and its version.
    const bounds = { maxBytesPerOwner: recordBound + recordBytes + Math.floor(recordBytes / 2) }
    let node = await start(dir, from, bounds)
    try {
      await settled(node, [first!.recordId])
      const registeredAt = await devnet.publicClient.getBlockNumber({ cacheTime: 0 })
      const content = await source.putBytes(randomBytes(SIZE))
      const version = await source.putEnvelope({ ...template, content })
      await owner.registerRecordVersion({ recordId: first!.recordId, cid: bytesToHex(version.bytes) })
      await handledToHead(node)
      const versionRequest = () =>
        followed(node.pins).filter((r) => r.meta?.kind === 'envelope' && r.meta.version === '2')
      await until(() => versionRequest()[0]?.status === 'pinned')
      await node.pinner.idle()
      expect(versionRequest().map((r) => [r.status, r.meta?.owner])).toEqual([['pinned', ownerOf(owner)]])
      expect(node.follower.ownerBytes(ownerOf(owner))).toBe(2 * recordBytes)
      const requestsBefore = followed(node.pins).length

      // The checkpoint goes back to the registration's block: the range read again names the version but not
      // the registration, so the owner comes from the version's own request (or the chain), never from nowhere.
      await node.stop()
      await fileCheckpointStore(join(dir, CHECKPOINT_FILE)).save({ blockNumber: registeredAt })
      node = await start(dir, from, bounds)
      await handledToHead(node)
      await until(() => followed(node.pins).every((r) => r.status === 'pinned' || r.status === 'failed'))
      await node.pinner.idle()

      expect(ownerless(node)).toEqual([])
      expect(followed(node.pins)).toHaveLength(requestsBefore)
      expect(versionRequest().map((r) => [r.status, r.meta?.owner])).toEqual([['pinned', ownerOf(owner)]])
      expect(node.follower.ownerBytes(ownerOf(owner))).toBe(2 * recordBytes)
      expect(node.follower.storedBytes).toBe(2 * recordBytes)
    } finally {
      await node.stop()
    }
  }, 60_000)
})
