/**
 * The chain follower as one part with real neighbours: a devnet, a patient writing through the SDK into
 * their own networked store, and a node (its own networked store, pin store, pinner) that follows the
 * chain and pins what is registered, fetching it from the patient's store over bitswap.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { followed, startFollowingNode as startNode } from './following-node.ts'
import { createWorld, type World, waitFor } from './world.ts'

let world: World
let root: string

/** A node following the world's chain from its deployment, fetching from the patient's store. */
const startFollowingNode = (dir: string, maxRecordBytes?: number) =>
  startNode({
    dir,
    peers: world.storage.multiaddrs(),
    publicClient: world.devnet.publicClient,
    addresses: world.devnet.addresses,
    fromBlock: world.devnet.deployBlock,
    follower: { maxRecordBytes },
  })

beforeAll(async () => {
  world = await createWorld()
  root = await mkdtemp(join(tmpdir(), 'mvn-follow-'))
})

afterAll(async () => {
  await world?.stop()
  await rm(root, { recursive: true, force: true })
})

describe('default', () => {
  test('pins every envelope (each version), its content and every kfrag bundle; a replay adds nothing', async () => {
    const dir = join(root, 'a')
    let node = await startFollowingNode(dir)
    try {
      const rec = await world.patient.records.put({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'HbA1c' },
      })
      const grant = await world.patient.grants.create({
        to: world.doctor.address,
        records: [rec.id],
        purpose: 'TREAT',
        expiresIn: '30d',
        threshold: 1,
      })
      const updated = await world.patient.records.update(rec.id, {
        resourceType: 'Observation',
        status: 'amended',
        code: { text: 'HbA1c' },
      })
      // envelope v1 + content v1, kfrags, envelope v2 + content v2
      const records = await waitFor(
        () => followed(node.pins),
        (rs) => rs.length === 5 && rs.every((r) => r.status === 'pinned'),
      )
      const kinds = records.map((r) => r.meta?.kind).sort()
      expect(kinds).toEqual(['content', 'content', 'envelope', 'envelope', 'kfrags'])
      for (const r of records) expect(await node.storage.isPinned(r.cid)).toBe(true)
      expect(records.find((r) => r.meta?.kind === 'kfrags')?.meta?.grantId).toBe(grant.id)
      expect(records.filter((r) => r.meta?.recordId === rec.id)).toHaveLength(4)
      expect(updated.version).toBe(2)

      // The whole chain again from the deployment block (checkpoint removed): nothing is doubled.
      await node.stop()
      await rm(join(dir, 'follower.checkpoint.json'))
      node = await startFollowingNode(dir)
      await waitFor(
        () => node.follower.caughtUp,
        (v) => v,
      )
      await node.pinner.idle()
      expect(followed(node.pins)).toHaveLength(5)
      expect(followed(node.pins).every((r) => r.status === 'pinned')).toBe(true)
    } finally {
      await node.stop()
    }
  })
})

describe('error', () => {
  test('a CID registered on chain that is not a record envelope is refused, never pinned; others go on', async () => {
    const node = await startFollowingNode(join(root, 'b'))
    try {
      const junk = await world.storage.putEnvelope({ hello: 'not an envelope' })
      const bytes = junk.bytes
      const { recordId } = await world.devnet.walletClients[3]!.registerRecord({ cid: bytes })
      const rec = await world.patient.records.put({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'HbA1c' },
      })
      const records = await waitFor(
        () => followed(node.pins).filter((r) => r.meta?.recordId === recordId || r.meta?.recordId === rec.id),
        (rs) => rs.length === 3 && rs.every((r) => r.status === 'pinned' || r.status === 'failed'),
      )
      const bad = records.find((r) => r.meta?.recordId === recordId)!
      expect(bad.status).toBe('failed')
      expect(bad.info?.status_details).toMatch(/not a record envelope/)
      expect(await node.storage.isPinned(junk)).toBe(false)
      expect(records.filter((r) => r.meta?.recordId === rec.id).map((r) => r.status)).toEqual([
        'pinned',
        'pinned',
      ])
    } finally {
      await node.stop()
    }
  })
  test("a record over the node's size limit is refused, never pinned", async () => {
    const node = await startFollowingNode(join(root, 'c'), 1024)
    try {
      const big = await world.patient.records.put(new Uint8Array(4096).fill(1))
      const small = await world.patient.records.put({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'HbA1c' },
      })
      const records = await waitFor(
        () => followed(node.pins).filter((r) => r.meta?.recordId === big.id || r.meta?.recordId === small.id),
        (rs) => rs.length === 3 && rs.every((r) => r.status === 'pinned' || r.status === 'failed'),
      )
      const refused = records.find((r) => r.meta?.recordId === big.id)!
      expect(refused.status).toBe('failed')
      expect(refused.info?.status_details).toMatch(/4096 bytes, over this node's limit of 1024/)
      expect(await node.storage.isPinned(big.cid)).toBe(false)
      expect(await node.storage.isPinned(big.contentCid)).toBe(false)
      expect(records.filter((r) => r.meta?.recordId === small.id).every((r) => r.status === 'pinned')).toBe(
        true,
      )
    } finally {
      await node.stop()
    }
  })
})
