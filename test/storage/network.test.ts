/**
 * Real libp2p nodes on 127.0.0.1: TCP and WebSockets, noise, yamux, bitswap. Nothing else is dialled.
 */
import { createStorage, type Storage } from '@medvault/storage'
import { afterEach, expect, test } from 'vitest'
import { det, sha256Hex, tempDir } from './helpers.ts'

const MiB = 1_048_576
const started: Storage[] = []
async function node(init: Parameters<typeof createStorage>[0] = {}): Promise<Storage> {
  const s = await createStorage({ network: {}, blockTimeoutMs: 10_000, ...init })
  started.push(s)
  return s
}
afterEach(async () => {
  await Promise.all(started.splice(0).map((s) => s.stop()))
})

test('default: a networked storage listens on loopback only and dials nothing by itself', async () => {
  const s = await node()
  const addrs = s.multiaddrs()
  expect(addrs.length).toBe(2)
  for (const a of addrs) expect(a).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+(\/ws)?\/p2p\/12D3Koo/)
  const libp2p = (
    s.helia as unknown as {
      libp2p: { services: object; getConnections(): unknown[]; peerStore: { all(): Promise<unknown[]> } }
    }
  ).libp2p
  // no DHT, AutoNAT, UPnP, relay, delegated routing, mDNS or bootstrap: identify is the only libp2p service
  expect(Object.keys(libp2p.services)).toEqual(['identify'])
  expect(s.helia.hasRouter('libp2p-router')).toBe(true)
  for (const router of ['delegated-http-routing', 'fallback-router', 'http-gateway-router']) {
    expect(s.helia.hasRouter(router)).toBe(false)
  }
  expect(s.helia.hasBlockBroker('bitswap')).toBe(true)
  expect(s.helia.hasBlockBroker('trustless-gateway')).toBe(false)
  // it knows no peer and has no connection: there was nobody to dial
  await new Promise((r) => setTimeout(r, 500))
  expect(libp2p.getConnections()).toEqual([])
  expect(await libp2p.peerStore.all()).toEqual([])
})

test('default: the embedded storage has no libp2p at all', async () => {
  const s = await createStorage()
  try {
    expect('libp2p' in s.helia).toBe(false)
    expect(s.peerId).toBeUndefined()
    expect(s.multiaddrs()).toEqual([])
    expect(s.helia.hasBlockBroker('bitswap')).toBe(false)
    await expect(s.connect('/ip4/127.0.0.1/tcp/1')).rejects.toThrow(/no network/)
  } finally {
    await s.stop()
  }
})

test('behavior: a persistent networked storage keeps its peer id across restarts', async () => {
  const dir = await tempDir()
  try {
    const first = await createStorage({ directory: dir.path, network: {} })
    const id = first.peerId
    expect(id).toMatch(/^12D3Koo/)
    await first.stop()
    const second = await createStorage({ directory: dir.path, network: {} })
    expect(second.peerId).toBe(id)
    await second.stop()
  } finally {
    await dir.remove()
  }
})

test('behavior: A adds, B fetches over bitswap and pins, A stops, B serves C', async () => {
  const size = 5 * MiB + 7
  const a = await node()
  const cid = await a.putStream(det(size, 'swap'))
  const b = await node({ network: { peers: [a.multiaddrs()[0]!] } })
  expect(b.multiaddrs().length).toBe(2)
  await b.pin(cid)
  expect(await b.stat(cid)).toMatchObject({ local: true, blocks: 7, pinned: true })
  await a.stop()
  // C reaches B over WebSockets this time
  const ws = b.multiaddrs().find((m) => m.includes('/ws/'))!
  const c = await node({ network: { peers: [ws] } })
  expect(await sha256Hex(c.get(cid))).toEqual(await sha256Hex(det(size, 'swap')))
  expect(await c.stat(cid)).toMatchObject({ local: true, pinned: false })
})

test('behavior: a ranged read over bitswap fetches only the blocks that hold the range', async () => {
  const a = await node()
  const cid = await a.putStream(det(8 * MiB, 'range-net'))
  const b = await node({ network: { peers: [a.multiaddrs()[0]!] } })
  const chunks: Uint8Array[] = []
  for await (const c of b.get(cid, { offset: 5 * MiB + 10, length: 100 })) chunks.push(c)
  expect(Buffer.concat(chunks).byteLength).toBe(100)
  // the root and the one 1 MiB leaf that holds bytes 5 MiB+10 … 5 MiB+110
  expect(await b.stat(cid)).toMatchObject({ blocks: 9, localBlocks: 2, local: false })
})

test('error: NotFoundError when no connected peer has the block before the timeout', async () => {
  const a = await node()
  const b = await node({ network: { peers: [a.multiaddrs()[0]!] }, blockTimeoutMs: 1_000 })
  const cid = await a.putBytes(new TextEncoder().encode('only on A'), { pin: false })
  await a.stop()
  const chunks: unknown[] = []
  const failure = await (async () => {
    for await (const c of b.get(cid)) chunks.push(c)
  })().catch((e: unknown) => e)
  expect(failure).toMatchObject({ name: 'NotFoundError', cid: cid.toString() })
  expect((failure as Error).message).toContain('within 1000 ms')
})

test('error: a caller abort during a network wait is passed through, not turned into NotFoundError', async () => {
  const a = await node()
  const b = await node({ network: { peers: [a.multiaddrs()[0]!] } })
  const cid = await a.putBytes(new TextEncoder().encode('gone'), { pin: false })
  await a.stop()
  const controller = new AbortController()
  setTimeout(() => controller.abort(), 200)
  const failure = await (async () => {
    for await (const _ of b.get(cid, { signal: controller.signal })) {
      // nothing arrives
    }
  })().catch((e: unknown) => e)
  expect(failure).toMatchObject({ name: 'AbortError' })
})
