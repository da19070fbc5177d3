/**
 * What a storage with a directory writes there while it fetches over bitswap: blocks and pin records, not
 * libp2p's peer records (libp2p merges a peer's record on every stream, which on disk was a file rewrite per
 * block fetched). Two real storages over libp2p on 127.0.0.1.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createStorage } from './index.ts'
import type { Storage } from './types.ts'

let source: Storage
let dir: string

beforeAll(async () => {
  source = await createStorage({ network: {} })
  dir = await mkdtemp(join(tmpdir(), 'medvault-peer-store-'))
})

afterAll(async () => {
  await source?.stop()
  await rm(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 })
})

describe('the peer store of a storage on disk', () => {
  test('behavior: pins over bitswap write no peer record to the storage directory; the peer ID survives a restart', async () => {
    const cids = []
    for (let i = 0; i < 20; i++) cids.push(await source.putBytes(new Uint8Array([i, 1, 2, 3])))
    const envelope = await source.putEnvelope({ v: 1, links: cids })
    const directory = join(dir, 'node')
    const node = await createStorage({ directory, network: { peers: source.multiaddrs() } })
    const peerId = node.peerId
    try {
      await node.pin(envelope)
      for (const cid of cids) expect(await node.isPinned(cid)).toBe(false)
      expect(await node.isPinned(envelope)).toBe(true)
    } finally {
      await node.stop()
    }
    const entries = await readdir(join(directory, 'datastore'), { recursive: true })
    expect(entries.filter((e) => e.startsWith('peers'))).toEqual([])

    const again = await createStorage({ directory, network: {} })
    try {
      expect(again.peerId).toBe(peerId)
      expect(await again.isPinned(envelope)).toBe(true)
    } finally {
      await again.stop()
    }
  }, 60_000)
})
