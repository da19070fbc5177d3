/**
 * The trustless gateway over real HTTP on 127.0.0.1, over a real networked Helia store connected to a peer.
 * CARs are read back with @ipld/car and every block is hashed against its CID; the DAG is walked from the
 * answer alone. Content only the peer holds is refused, and stays unfetched.
 */
import { CarReader } from '@ipld/car/reader'
import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { createStorage, type Storage } from '@medvault/storage'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createGateway } from './gateway.ts'
import { createHttpServer, type HttpServer } from './http-server.ts'

let peer: Storage
let storage: Storage
let http: HttpServer
let file: CID
let envelope: CID
let small: CID
let peerOnly: CID

const RAW_CODE = 0x55

beforeAll(async () => {
  peer = await createStorage({ network: {} })
  storage = await createStorage({ network: { peers: peer.multiaddrs() }, blockTimeoutMs: 2000 })
  // 2.5 MiB: several 1 MiB leaves under a dag-pb root (unixfs-v1-2025).
  const big = new Uint8Array(2.5 * 1024 * 1024).map((_, i) => (i * 7) & 0xff)
  file = await storage.putBytes(big)
  envelope = await storage.putEnvelope({ v: 1, content: file, size: big.length })
  small = await storage.putBytes(new TextEncoder().encode('one raw block'))
  peerOnly = await peer.putBytes(new TextEncoder().encode('only the peer has this'))
  http = createHttpServer()
  const gateway = createGateway({}, { http, storage })
  await gateway.start()
  await http.start()
})

afterAll(async () => {
  await http?.stop()
  await storage?.stop()
  await peer?.stop()
})

const get = (path: string, headers: Record<string, string> = {}) => fetch(`${http.url}${path}`, { headers })

/** Reads a CAR answer, checks each block against its CID, and returns the blocks by CID string. */
async function verifiedCar(res: Response, root: CID): Promise<Map<string, Uint8Array>> {
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toBe('application/vnd.ipld.car; version=1; order=dfs; dups=n')
  const reader = await CarReader.fromBytes(new Uint8Array(await res.arrayBuffer()))
  expect((await reader.getRoots()).map(String)).toEqual([root.toString()])
  const blocks = new Map<string, Uint8Array>()
  for await (const { cid, bytes } of reader.blocks()) {
    expect(cid.multihash.code).toBe(sha256.code)
    expect(Digest.equals(await sha256.digest(bytes), cid.multihash)).toBe(true)
    expect(blocks.has(cid.toString())).toBe(false) // dups=n
    blocks.set(cid.toString(), bytes)
  }
  return blocks
}

/** Every CID reachable from `root` using only the given blocks (throws when one is missing). */
function walk(root: CID, blocks: Map<string, Uint8Array>): Set<string> {
  const seen = new Set<string>()
  const stack = [root]
  while (stack.length > 0) {
    const cid = stack.pop()!
    if (seen.has(cid.toString())) continue
    const bytes = blocks.get(cid.toString())
    if (bytes === undefined) throw new Error(`block ${cid} missing from the CAR`)
    seen.add(cid.toString())
    if (cid.code === dagPb.code) for (const link of dagPb.decode(bytes).Links) stack.push(link.Hash)
    if (cid.code === dagCbor.code) {
      const value = dagCbor.decode(bytes) as Record<string, unknown>
      for (const v of Object.values(value)) {
        const link = CID.asCID(v)
        if (link !== null) stack.push(link)
      }
    }
  }
  return seen
}

describe('default', () => {
  test('a CAR of a file and of an envelope: every block verifies, the DAG is complete, nothing extra', async () => {
    const fileBlocks = await verifiedCar(
      await get(`/ipfs/${file}`, { accept: 'application/vnd.ipld.car' }),
      file,
    )
    expect(walk(file, fileBlocks).size).toBe(fileBlocks.size)
    expect((await storage.stat(file)).blocks).toBe(fileBlocks.size)
    expect(fileBlocks.size).toBeGreaterThan(2)

    const envBlocks = await verifiedCar(await get(`/ipfs/${envelope}?format=car`), envelope)
    expect(walk(envelope, envBlocks).size).toBe(envBlocks.size)
    expect(envBlocks.size).toBe(fileBlocks.size + 1)
  })

  test('a raw block by Accept and by ?format=raw hashes to its CID', async () => {
    for (const res of [
      await get(`/ipfs/${small}`, { accept: 'application/vnd.ipld.raw' }),
      await get(`/ipfs/${small}?format=raw`),
      await get(`/ipfs/${envelope}?format=raw`),
    ]) {
      expect(res.status).toBe(200)
      expect(res.headers.get('content-type')).toBe('application/vnd.ipld.raw')
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('cache-control')).toMatch(/immutable/)
      const bytes = new Uint8Array(await res.arrayBuffer())
      const cid = CID.parse(res.headers.get('x-ipfs-roots')!)
      expect(Number(res.headers.get('content-length'))).toBe(bytes.length)
      expect(Digest.equals(await sha256.digest(bytes), cid.multihash)).toBe(true)
    }
  })
})

describe('behavior', () => {
  test('dag-scope=block and entity; format wins over Accept; q-values; ETag and 304; HEAD', async () => {
    const block = await verifiedCar(await get(`/ipfs/${file}?format=car&dag-scope=block`), file)
    expect([...block.keys()]).toEqual([file.toString()])
    const entity = await verifiedCar(await get(`/ipfs/${envelope}?format=car&dag-scope=entity`), envelope)
    expect([...entity.keys()]).toEqual([envelope.toString()])
    const fileEntity = await verifiedCar(await get(`/ipfs/${file}?format=car&dag-scope=entity`), file)
    expect(fileEntity.size).toBe((await storage.stat(file)).blocks)

    // The spec: when both are present, format takes precedence.
    const both = await get(`/ipfs/${small}?format=car`, { accept: 'application/vnd.ipld.raw' })
    await verifiedCar(both, small)
    const accepted = await get(`/ipfs/${small}`, { accept: 'application/vnd.ipld.raw' })
    expect(accepted.headers.get('content-type')).toBe('application/vnd.ipld.raw')
    // Chosen by Accept alone: the URL naming this answer for caches.
    expect(accepted.headers.get('content-location')).toBe(`/ipfs/${small}?format=raw`)
    await accepted.arrayBuffer()
    const q = await get(`/ipfs/${small}`, {
      accept: 'application/vnd.ipld.raw;q=0.5, application/vnd.ipld.car;q=0.9',
    })
    expect(q.headers.get('content-type')).toMatch(/^application\/vnd\.ipld\.car/)
    await q.arrayBuffer()

    const first = await get(`/ipfs/${small}?format=raw`)
    const etag = first.headers.get('etag')!
    await first.arrayBuffer()
    expect(etag).toBe(`"${small}.raw"`)
    const again = await get(`/ipfs/${small}?format=raw`, { 'if-none-match': etag })
    expect(again.status).toBe(304)

    const head = await fetch(`${http.url}/ipfs/${small}?format=raw`, { method: 'HEAD' })
    expect(head.status).toBe(200)
    expect(head.headers.get('content-type')).toBe('application/vnd.ipld.raw')
    const headCar = await fetch(`${http.url}/ipfs/${file}?format=car`, { method: 'HEAD' })
    expect(headCar.status).toBe(200)
    expect(headCar.headers.get('content-type')).toBe('application/vnd.ipld.car; version=1; order=dfs; dups=n')
    expect((await headCar.arrayBuffer()).byteLength).toBe(0)
    const headMissing = await fetch(`${http.url}/ipfs/${peerOnly}?format=car`, { method: 'HEAD' })
    expect(headMissing.status).toBe(404)
  })

  test('CAR variants: car-order=unk, car-dups=n, car-version=1, and Accept lists where one CAR variant is servable', async () => {
    await verifiedCar(await get(`/ipfs/${file}?format=car&car-version=1&car-order=unk&car-dups=n`), file)
    const listed = await get(`/ipfs/${file}`, {
      accept:
        'application/vnd.ipld.car; order=dfs; dups=y, application/vnd.ipld.car; version=1; order=dfs; dups=n; q=0.5',
    })
    const blocks = await verifiedCar(listed, file)
    expect(walk(file, blocks).size).toBe(blocks.size)
    // The URL's car-dups takes precedence over the Accept header's dups.
    await verifiedCar(
      await get(`/ipfs/${small}?format=car&car-dups=n`, { accept: 'application/vnd.ipld.car; dups=y' }),
      small,
    )
  })

  test('entity-bytes where the answer is the whole entity: 0:* of a file, any range of an envelope or a raw block', async () => {
    const whole = await verifiedCar(await get(`/ipfs/${file}?format=car&entity-bytes=0:*`), file)
    expect(whole.size).toBe((await storage.stat(file)).blocks)
    const env = await verifiedCar(await get(`/ipfs/${envelope}?format=car&entity-bytes=0:10`), envelope)
    expect([...env.keys()]).toEqual([envelope.toString()])
    const raw = await verifiedCar(await get(`/ipfs/${small}?format=car&entity-bytes=-4:*`), small)
    expect([...raw.keys()]).toEqual([small.toString()])
  })

  test('the probe CID bafkqaaa: an empty raw block, and a CAR rooted at it with no block', async () => {
    const raw = await get('/ipfs/bafkqaaa?format=raw')
    expect(raw.status).toBe(200)
    expect((await raw.arrayBuffer()).byteLength).toBe(0)
    const car = await verifiedCar(
      await get('/ipfs/bafkqaaa', { accept: 'application/vnd.ipld.car' }),
      CID.parse('bafkqaaa'),
    )
    expect(car.size).toBe(0)
    const head = await fetch(`${http.url}/ipfs/bafkqaaa?format=car`, { method: 'HEAD' })
    expect(head.status).toBe(200)
  })

  test('Cache-Control: only-if-cached: 200 for a held block, 412 for one this node does not hold', async () => {
    const held = await get(`/ipfs/${small}?format=raw`, { 'cache-control': 'only-if-cached' })
    expect(held.status).toBe(200)
    await held.arrayBuffer()
    const missing = await get(`/ipfs/${peerOnly}?format=raw`, {
      'cache-control': 'max-age=0, only-if-cached',
    })
    expect(missing.status).toBe(412)
    await missing.arrayBuffer()
    expect(await storage.helia.blockstore.has(peerOnly)).toBe(false)
  })

  test('CORS: a page on any origin reads blocks, CARs, headers and refusals; preflight for conditional requests', async () => {
    const origin = { origin: 'https://portal.example' }
    const res = await get(`/ipfs/${small}?format=raw`, origin)
    expect(res.headers.get('access-control-allow-origin')).toBe('*')
    const exposed = res.headers.get('access-control-expose-headers')!.split(', ')
    for (const h of ['etag', 'x-ipfs-roots', 'content-disposition', 'content-length'])
      expect(exposed).toContain(h)
    await res.arrayBuffer()
    const refused = await get('/ipfs/not-a-cid?format=raw', origin)
    expect(refused.status).toBe(400)
    expect(refused.headers.get('access-control-allow-origin')).toBe('*')
    await refused.arrayBuffer()
    const preflight = await fetch(`${http.url}/ipfs/${file}?format=car`, {
      method: 'OPTIONS',
      headers: {
        ...origin,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'if-none-match, cache-control',
      },
    })
    expect(preflight.status).toBe(204)
    expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
    expect(preflight.headers.get('access-control-allow-methods')).toMatch(/GET.*HEAD/)
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/if-none-match/)
    expect(preflight.headers.get('access-control-allow-headers')).toMatch(/cache-control/)
  })

  test('CIDv0 and identity CIDs', async () => {
    const v0 = CID.createV0(Digest.create(sha256.code, file.multihash.digest))
    const v0Res = await get(`/ipfs/${v0}?format=raw`)
    expect(v0Res.status).toBe(200)
    await v0Res.arrayBuffer()
    const inline = CID.createV1(RAW_CODE, Digest.create(0x00, new TextEncoder().encode('inline')))
    const res = await get(`/ipfs/${inline}?format=raw`)
    expect(res.status).toBe(200)
    expect(new TextDecoder().decode(await res.arrayBuffer())).toBe('inline')
  })
})

describe('interop', () => {
  test("Helia's trustless-gateway client (a store with this gateway configured) reads a whole file through it", async () => {
    const reader = await createStorage({ gateways: [http.url], blockTimeoutMs: 5000 })
    try {
      const chunks: Uint8Array[] = []
      for await (const chunk of reader.get(file)) chunks.push(chunk)
      const bytes = Buffer.concat(chunks)
      expect(bytes.length).toBe(2.5 * 1024 * 1024)
      expect(bytes.every((b, i) => b === ((i * 7) & 0xff))).toBe(true)
      await reader.pin(envelope)
      expect((await reader.stat(envelope)).local).toBe(true)
    } finally {
      await reader.stop()
    }
  })
})

describe('error', () => {
  test('content held only by a peer: 404, and the gateway did not fetch it', async () => {
    for (const path of [`/ipfs/${peerOnly}?format=raw`, `/ipfs/${peerOnly}?format=car`]) {
      const res = await get(path)
      expect(res.status).toBe(404)
      expect(await res.text()).toMatch(/does not hold/)
    }
    expect(await storage.helia.blockstore.has(peerOnly)).toBe(false)
    // A DAG of which only the root block is here (its leaves never were): the block, but no CAR.
    const partialRoot = await peer.putBytes(new Uint8Array(1.5 * 1024 * 1024).fill(3))
    const chunks: Uint8Array[] = []
    for await (const c of peer.helia.blockstore.get(partialRoot)) chunks.push(c)
    await storage.helia.blockstore.put(partialRoot, chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks))
    const rootRaw = await get(`/ipfs/${partialRoot}?format=raw`)
    expect(rootRaw.status).toBe(200)
    await rootRaw.arrayBuffer()
    const rootCar = await get(`/ipfs/${partialRoot}?format=car`)
    expect(rootCar.status).toBe(404)
    expect(await rootCar.text()).toMatch(/every block/)
    expect((await storage.stat(partialRoot)).localBlocks).toBe(1)
  })

  test('bad requests: invalid or unverifiable CID, no format, unknown format, scope or CAR variant, paths, ranges', async () => {
    const truncated = CID.createV1(RAW_CODE, Digest.create(sha256.code, new Uint8Array(20).fill(1)))
    const cases: Array<[string, Record<string, string>, number, RegExp]> = [
      ['/ipfs/not-a-cid?format=raw', {}, 400, /Invalid CID/],
      ['/ipfs/?format=raw', {}, 400, /Missing CID/],
      [`/ipfs/${truncated}?format=raw`, {}, 400, /cannot be verified/],
      // No Accept (or only wildcards, as a page's plain fetch() sends) and no format: strict trustless mode.
      [`/ipfs/${small}`, {}, 400, /No response format/],
      [`/ipfs/${small}`, { accept: '*/*' }, 400, /No response format/],
      [`/ipfs/${small}`, { accept: 'text/html' }, 406, /trustless gateway/],
      [`/ipfs/${small}?format=html`, {}, 400, /Unsupported format/],
      [`/ipfs/${small}?format=car&dag-scope=everything`, {}, 400, /dag-scope/],
      [`/ipfs/${small}/a?format=raw`, {}, 400, /no path below/],
      [`/ipfs/${file}/some/path?format=car`, {}, 501, /Paths/],
      [`/ipfs/${file}?format=car&entity-bytes=0:10`, {}, 501, /Byte ranges/],
      [`/ipfs/${file}?format=car&entity-bytes=10`, {}, 400, /Malformed entity-bytes/],
      [`/ipfs/${file}?format=car&entity-bytes=10:2`, {}, 400, /empty range/],
      [`/ipfs/${file}?format=car&car-version=2`, {}, 400, /CARv1/],
      [`/ipfs/${file}?format=car&car-order=bfs`, {}, 400, /car-order/],
      [`/ipfs/${file}?format=car&car-dups=y`, {}, 400, /car-dups/],
      [`/ipfs/${small}`, { accept: 'application/vnd.ipld.car; version=2' }, 406, /trustless/],
      [`/ipfs/${small}`, { accept: 'application/vnd.ipld.car; dups=y' }, 406, /trustless/],
      [`/ipfs/${small}?format=car`, { accept: 'application/vnd.ipld.car; order=bfs' }, 406, /trustless/],
    ]
    for (const [path, headers, status, text] of cases) {
      const res = await get(path, headers)
      expect({ path, status: res.status }).toEqual({ path, status })
      expect(res.headers.get('content-type')).toMatch(/^text\/plain/)
      expect(await res.text()).toMatch(text)
    }
    // Still serving.
    expect((await get(`/ipfs/${small}?format=raw`)).status).toBe(200)
  })
})

describe('attack', () => {
  test('HEAD and If-None-Match floods on a pinned DAG: answered from the pin, no walk of its blocks per request', async () => {
    await storage.pin(file)
    // The real storage, with its `stat` (the walk of every block) counted.
    let walks = 0
    const counted = new Proxy(storage, {
      get(target, key, receiver) {
        if (key === 'stat') {
          return (...args: Parameters<Storage['stat']>) => {
            walks++
            return target.stat(...args)
          }
        }
        const value = Reflect.get(target, key, receiver)
        return typeof value === 'function' ? value.bind(target) : value
      },
    })
    const own = createHttpServer()
    const gateway = createGateway({}, { http: own, storage: counted })
    await gateway.start()
    await own.start()
    try {
      const url = `${own.url}/ipfs/${file}?format=car&dag-scope=all`
      for (let i = 0; i < 20; i++) {
        expect((await fetch(url, { method: 'HEAD' })).status).toBe(200)
      }
      const etag = `"${file}.car.all"`
      expect((await fetch(url, { headers: { 'if-none-match': etag } })).status).toBe(304)
      expect(walks).toBe(0)
    } finally {
      await own.stop()
    }
  })
})
