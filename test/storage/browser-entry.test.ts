/**
 * The storage's browser entry (export condition `browser`): the same names as the Node entry, a module graph
 * with no node: builtin and no Node-only package, and (run here in Node, where its memory blockstore works)
 * the same behaviour. IndexedDB and the bundle itself are exercised in Chromium by test/browser/sdk.test.ts.
 */
import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as full from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { concat, det, sha256Hex } from './helpers.ts'

const dist = dirname(fileURLToPath(import.meta.resolve('@medvault/storage')))
type Entry = typeof full
const browser = (await import(join(dist, 'browser.js'))) as Entry

/** Every module of the package reachable from `file`, and the bare specifiers they import. */
function graph(file: string, seen = new Set<string>(), bare = new Set<string>()) {
  if (!seen.has(file)) {
    seen.add(file)
    // Comments hold usage examples with imports of their own: only code counts.
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
    for (const [, spec] of code.matchAll(/(?:from|import) '([^']+)'/g)) {
      if (spec!.startsWith('.')) graph(join(dirname(file), spec!), seen, bare)
      else bare.add(spec!)
    }
  }
  return { files: seen, bare }
}

describe('module graph', () => {
  test('default: the browser entry exports the same names as the Node entry', () => {
    expect(Object.keys(browser).sort()).toEqual(Object.keys(full).sort())
  })

  test('behavior: its modules import no node: builtin and no Node-only package', () => {
    const { files, bare } = graph(join(dist, 'browser.js'))
    const names = [...files].map((f) => f.slice(dist.length + 1)).sort()
    expect(names).not.toContain('index.js')
    expect(names).not.toContain('node-platform.js')
    expect(names).not.toContain('directory-lock.js')
    expect([...bare].filter((s) => s.startsWith('node:'))).toEqual([])
    expect([...bare].sort()).toEqual([
      '@helia/bitswap',
      '@helia/fallback-router',
      '@helia/libp2p',
      '@helia/trustless-gateway-client',
      '@helia/unixfs',
      '@ipld/car/decoder',
      '@ipld/car/writer',
      '@ipld/dag-cbor',
      '@ipld/dag-pb',
      '@libp2p/identify',
      '@libp2p/noise',
      '@libp2p/peer-id',
      '@libp2p/websockets', // dial only in browsers (its listener is swapped out by its own browser field)
      '@libp2p/yamux',
      '@multiformats/multiaddr',
      'blockstore-core/memory',
      'blockstore-idb',
      'datastore-core/memory',
      'datastore-idb',
      'helia',
      'interface-datastore',
      'ipfs-unixfs',
      'ipfs-unixfs-exporter',
      'ipfs-unixfs-importer/chunker',
      'ipfs-unixfs-importer/layout',
      'multiformats/bases/base64',
      'multiformats/cid',
      'multiformats/codecs/raw',
      'multiformats/hashes/sha2', // node:crypto in Node, crypto.subtle under the browser condition
    ])
  })

  test('behavior: the Node entry still reaches the file-system stores and TCP', () => {
    const { bare } = graph(join(dist, 'index.js'))
    expect(bare).toContain('blockstore-fs')
    expect(bare).toContain('@libp2p/tcp')
  })
})

describe('the browser entry, run in Node (memory blockstore)', () => {
  const MiB = 1_048_576
  let source: Awaited<ReturnType<Entry['createStorage']>>
  let server: Server
  let gateway: string

  beforeAll(async () => {
    source = await full.createStorage()
    // A trustless gateway over `source` (raw blocks only), as a medvault-node or Kubo would answer.
    server = createServer(async (req, res) => {
      const match = /^\/ipfs\/([^/?]+)/.exec(req.url ?? '')
      try {
        const bytes = await concat(source.helia.blockstore.get(full.CID.parse(match![1]!), { offline: true }))
        res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw' }).end(bytes)
      } catch {
        res.writeHead(404).end()
      }
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    gateway = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })
  afterAll(async () => {
    await source.stop()
    await new Promise((resolve) => server.close(resolve))
  })

  test('default: put and get round trip, envelopes too, and the CID is the one the Node entry gives', async () => {
    await using storage = await browser.createStorage()
    const bytes = new TextEncoder().encode('hello world')
    const cid = await storage.putBytes(bytes)
    expect(cid.toString()).toBe((await source.putBytes(bytes)).toString())
    expect(await concat(storage.get(cid))).toEqual(bytes)
    const envelope = await storage.putEnvelope({ v: 1, content: cid })
    expect(await storage.getEnvelope(envelope)).toEqual({ v: 1, content: cid })
  })

  test('behavior: a multi-block file is read from a trustless gateway, verified and kept', async () => {
    const cid = await source.putStream(det(2 * MiB + 5, 'browser-entry'))
    await using reader = await browser.createStorage({ gateways: [gateway] })
    expect(await sha256Hex(reader.get(cid))).toEqual(await sha256Hex(det(2 * MiB + 5, 'browser-entry')))
    expect(await reader.stat(cid)).toMatchObject({ local: true, pinned: false })
  })

  test('behavior: `await using` stops the storage at the end of its scope, in both entries', async () => {
    for (const entry of [browser, full]) {
      let kept: Awaited<ReturnType<Entry['createStorage']>> | undefined
      {
        await using storage = await entry.createStorage()
        kept = storage
        expect(kept.status).toBe('started')
      }
      expect(kept.status).toBe('stopped')
      await expect(kept.putBytes(new Uint8Array(1))).rejects.toBeInstanceOf(full.StorageClosedError)
    }
  })

  test("error: each entry refuses the other one's persistent store, naming the option to use", async () => {
    await expect(browser.createStorage({ directory: '/tmp/nowhere' })).rejects.toThrow(
      /`directory` needs a file system; in a browser pass `indexedDB/,
    )
    await expect(browser.createStorage({ indexedDB: '' })).rejects.toThrow(/non-empty database name/)
    await expect(full.createStorage({ indexedDB: 'app' })).rejects.toThrow(/`indexedDB` is for browsers/)
  })
})
