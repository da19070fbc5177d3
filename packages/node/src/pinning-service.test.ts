/**
 * The Pinning Service API over real HTTP on 127.0.0.1, with two real networked Helia stores (the node and a
 * peer holding the content, dialled through `origins`), driven by `@ipfs-shipyard/pinning-service-client`
 * (a client generated from the spec by others) and by raw `fetch` for what a well-behaved client never
 * sends. Every answer is checked against the spec's own schemas.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  Configuration,
  RemotePinningServiceClient,
  Status,
  TextMatchingStrategy,
} from '@ipfs-shipyard/pinning-service-client'
import { createStorage, type Storage } from '@medvault/storage'
import { CID } from 'multiformats/cid'
import * as Digest from 'multiformats/hashes/digest'
import { sha256 } from 'multiformats/hashes/sha2'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { createHttpServer, type HttpServer } from './http-server.ts'
import { createMetrics } from './metrics.ts'
import { createPinStore, type PinStore } from './pin-store.ts'
import { createPinner, type Pinner } from './pinner.ts'
import { API_OWNER_PREFIX, createPinningService, type PinningService } from './pinning-service.ts'
import { psaValidators } from './psa-spec.ts'
import { createTokenStore, type TokenStore } from './token-store.ts'

interface Node {
  dir: string
  storage: Storage
  pins: PinStore
  pinner: Pinner
  tokens: TokenStore
  http: HttpServer
  service: PinningService
  stop(): Promise<void>
}

const encoder = new TextEncoder()

async function startNode(dir: string, port = 0, peers: string[] = []): Promise<Node> {
  const storage = await createStorage({
    directory: join(dir, 'ipfs'),
    network: { peers },
    blockTimeoutMs: 1500,
  })
  const pins = createPinStore({ dir })
  await pins.open()
  const metrics = createMetrics()
  const tokens = createTokenStore(join(dir, 'tokens.json'))
  const pinner = createPinner({ attempts: 1, concurrency: 4 }, { storage, pins, metrics })
  const http = createHttpServer({ port, bodyLimit: 16_384 }, { metrics })
  const service = createPinningService(
    { maxPendingPerToken: 40 },
    { http, pins, pinner, tokens, storage, metrics },
  )
  await pinner.start()
  await service.start()
  await http.start()
  return {
    dir,
    storage,
    pins,
    pinner,
    tokens,
    http,
    service,
    async stop() {
      await http.stop()
      await service.stop()
      await pinner.stop()
      await pins.close()
      await storage.stop()
    },
  }
}

let root: string
let source: Storage
let node: Node
let token: string
let otherToken: string
let client: RemotePinningServiceClient

const clientFor = (url: string, accessToken: string): RemotePinningServiceClient =>
  new RemotePinningServiceClient(new Configuration({ endpointUrl: url, accessToken }))

async function waitFor<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 20_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (ok(v)) return v
    if (Date.now() > until) throw new Error(`timed out; last value ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Raw fetch, returning status and parsed body (checked against the spec's Failure on 4xx/5xx). */
async function raw(
  path: string,
  init: RequestInit & { token?: string | null } = {},
): Promise<{ status: number; body: unknown; headers: Headers }> {
  const headers = new Headers(init.headers)
  const t = init.token === undefined ? token : init.token
  if (t !== null) headers.set('authorization', `Bearer ${t}`)
  const res = await fetch(`${node.http.url}${path}`, { ...init, headers })
  const text = await res.text()
  const body = text === '' ? undefined : JSON.parse(text)
  if (res.status >= 400) {
    expect(psaValidators().failure(body), JSON.stringify(body)).toBe(true)
  }
  return { status: res.status, body, headers: res.headers }
}

const refusal = (r: { body: unknown }) => (r.body as { error: { reason: string; details: string } }).error

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mvn-psa-'))
  source = await createStorage({ network: {} })
  node = await startNode(join(root, 'node'))
  token = await node.tokens.create('laptop')
  otherToken = await node.tokens.create('phone')
  client = clientFor(node.http.url, token)
})

afterAll(async () => {
  await node?.stop()
  await source?.stop()
  await rm(root, { recursive: true, force: true })
})

describe('default', () => {
  test('a client pins content held by a peer named in origins; status goes to pinned; get and delete', async () => {
    const cid = await source.putBytes(encoder.encode('held by the peer only'))
    const added = await client.pinsPost({
      pin: { cid: cid.toString(), name: 'peer-file', origins: source.multiaddrs(), meta: { app: 'test' } },
    })
    expect(['queued', 'pinning', 'pinned']).toContain(added.status)
    expect(added.delegates.length).toBeGreaterThan(0)
    expect(added.delegates.every((d) => d.includes('/p2p/'))).toBe(true)
    const pinned = await waitFor(
      () => client.pinsRequestidGet({ requestid: added.requestid }),
      (s) => s.status === 'pinned',
    )
    expect(pinned.pin).toEqual({
      cid: cid.toString(),
      name: 'peer-file',
      origins: source.multiaddrs(),
      meta: { app: 'test' },
    })
    expect(pinned.info?.blocks).toBe('1')
    expect(await node.storage.isPinned(cid)).toBe(true)

    // Raw answers follow the spec's schemas.
    const got = await raw(`/pins/${added.requestid}`)
    expect(psaValidators().pinStatus(got.body)).toBe(true)

    await client.pinsRequestidDelete({ requestid: added.requestid })
    expect(await node.storage.isPinned(cid)).toBe(false)
    expect((await raw(`/pins/${added.requestid}`)).status).toBe(404)
  })
})

describe('behavior', () => {
  test('listing: every filter, match strategy, status default, pagination by before, meta in both forms', async () => {
    const listerToken = await node.tokens.create('lister')
    const c = clientFor(node.http.url, listerToken)
    const names = ['Alpha-Report.pdf', 'alpha-report.pdf', 'beta notes', 'gamma', 'ALPHA']
    const made: Array<{ requestid: string; cid: string; name: string }> = []
    for (const [i, name] of names.entries()) {
      const cid = (await node.storage.putBytes(encoder.encode(`listing ${i}`))).toString()
      const s = await c.pinsPost({
        pin: { cid, name, meta: { app: i % 2 === 0 ? 'even' : 'odd', n: String(i) } },
      })
      made.push({ requestid: s.requestid, cid, name })
    }
    await waitFor(
      () => c.pinsGet({ status: [Status.Pinned] }),
      (r) => r.count === names.length,
    )
    const ids = (r: { results: Array<{ requestid: string }> }) => r.results.map((x) => x.requestid)
    const idOf = (...is: number[]) => is.map((i) => made[i]!.requestid)

    // Default: pinned only, newest first, 10 at most.
    const all = await c.pinsGet({})
    expect(all.count).toBe(5)
    expect(ids(all)).toEqual(idOf(4, 3, 2, 1, 0))

    expect(ids(await c.pinsGet({ name: 'alpha-report.pdf' }))).toEqual(idOf(1))
    expect(ids(await c.pinsGet({ name: 'alpha-report.pdf', match: TextMatchingStrategy.Exact }))).toEqual(
      idOf(1),
    )
    expect(ids(await c.pinsGet({ name: 'ALPHA-report.PDF', match: TextMatchingStrategy.Iexact }))).toEqual(
      idOf(1, 0),
    )
    expect(ids(await c.pinsGet({ name: 'lpha', match: TextMatchingStrategy.Partial }))).toEqual(idOf(1, 0))
    expect(ids(await c.pinsGet({ name: 'alpha', match: TextMatchingStrategy.Ipartial }))).toEqual(
      idOf(4, 1, 0),
    )
    expect(ids(await c.pinsGet({ cid: [made[2]!.cid, made[3]!.cid] }))).toEqual(idOf(3, 2))
    // The generated client sends meta as meta[key]=value; the spec's form is a JSON object.
    expect(ids(await c.pinsGet({ meta: { app: 'even' } }))).toEqual(idOf(4, 2, 0))
    const metaJson = await raw(`/pins?meta=${encodeURIComponent(JSON.stringify({ app: 'odd', n: '3' }))}`, {
      token: listerToken,
    })
    expect(psaValidators().pinResults(metaJson.body)).toBe(true)
    expect(ids(metaJson.body as { results: Array<{ requestid: string }> })).toEqual(idOf(3))
    expect((await c.pinsGet({ status: [Status.Queued, Status.Failed] })).count).toBe(0)

    // Pagination: limit 2, then before the oldest created of each page.
    const pages: string[] = []
    let before: Date | undefined
    for (;;) {
      const page = await c.pinsGet({ limit: 2, ...(before === undefined ? {} : { before }) })
      expect(page.count).toBeGreaterThanOrEqual(page.results.length)
      if (page.results.length === 0) break
      pages.push(...ids(page))
      before = page.results.at(-1)!.created
    }
    expect(pages).toEqual(idOf(4, 3, 2, 1, 0))
    const created = (await c.pinsGet({})).results.map((r) => r.created)
    const after = await c.pinsGet({ after: created[3]! })
    expect(ids(after)).toEqual(idOf(4, 3, 2))

    // Another token sees none of these.
    expect((await clientFor(node.http.url, otherToken).pinsGet({})).count).toBe(0)
  })

  test('listing: 1,200 requests made within a few milliseconds page by `before` exactly once each, and none is dated ahead of the clock', async () => {
    const burstToken = await node.tokens.create('burst')
    // Straight into the store, all at once (as a catch-up or a busy client makes them): many share a millisecond.
    const made = await Promise.all(
      Array.from({ length: 1200 }, (_, i) =>
        node.pins.add({ owner: `${API_OWNER_PREFIX}burst`, cid: 'bafkqaaa', name: `b${i}` }),
      ),
    )
    expect(new Set(made.map((r) => r.createdMs)).size).toBeLessThan(made.length)
    expect(made.at(-1)!.createdMs).toBeLessThanOrEqual(Date.now())
    const seen: string[] = []
    let before: string | undefined
    for (;;) {
      const query = `/pins?status=queued&limit=37${before === undefined ? '' : `&before=${encodeURIComponent(before)}`}`
      const page = await raw(query, { token: burstToken })
      expect(page.status).toBe(200)
      expect(psaValidators().pinResults(page.body)).toBe(true)
      const results = (page.body as { results: Array<{ pin: { name: string }; created: string }> }).results
      if (results.length === 0) break
      seen.push(...results.map((r) => r.pin.name))
      before = results.at(-1)!.created
    }
    expect(seen).toEqual(made.map((r) => r.name).reverse())
    await Promise.all(made.map((r) => node.pins.remove(r.requestid)))
  })

  test('replace: the new request pins, the old one goes, shared content is never unpinned', async () => {
    const a = (await node.storage.putBytes(encoder.encode('version a'))).toString()
    const b = (await node.storage.putBytes(encoder.encode('version b'))).toString()
    const first = await client.pinsPost({ pin: { cid: a, name: 'doc' } })
    await waitFor(
      () => client.pinsRequestidGet({ requestid: first.requestid }),
      (s) => s.status === 'pinned',
    )
    const second = await client.pinsRequestidPost({
      requestid: first.requestid,
      pin: { cid: b, name: 'doc' },
    })
    expect(second.requestid).not.toBe(first.requestid)
    await waitFor(
      () => client.pinsRequestidGet({ requestid: second.requestid }),
      (s) => s.status === 'pinned',
    )
    expect((await raw(`/pins/${first.requestid}`)).status).toBe(404)
    expect(await node.storage.isPinned(b)).toBe(true)
    expect(await node.storage.isPinned(a)).toBe(false)

    // Two requests for one CID (here its CIDv0-free v1 and the same string): removing one keeps the pin.
    const third = await client.pinsPost({ pin: { cid: b } })
    await client.pinsRequestidDelete({ requestid: second.requestid })
    expect(await node.storage.isPinned(b)).toBe(true)
    await client.pinsRequestidDelete({ requestid: third.requestid })
    expect(await node.storage.isPinned(b)).toBe(false)
  })

  test('meta.maxBytes bounds only the request that carries it: over it, failed as fetched; the same CID pinned by another token stays pinned; one the DAG fits in, pinned', async () => {
    // 300 KiB of random bytes on the peer: the DAG this node fetches through origins.
    const cid = (await source.putBytes(randomBytes(300 * 1024))).toString()
    const origins = source.multiaddrs()
    const other = clientFor(node.http.url, otherToken)
    const theirs = await other.pinsPost({ pin: { cid, origins } })
    await waitFor(
      () => other.pinsRequestidGet({ requestid: theirs.requestid }),
      (s) => s.status === 'pinned',
    )

    const bounded = await client.pinsPost({ pin: { cid, origins, meta: { maxBytes: '1000' } } })
    const failed = await waitFor(
      () => client.pinsRequestidGet({ requestid: bounded.requestid }),
      (s) => s.status === 'failed',
    )
    expect(failed.info?.status_details).toBe('the DAG is larger than this request allows (over 1000 bytes)')
    expect(failed.pin.meta).toEqual({ maxBytes: '1000' })
    // Another client's pin of the same content is not touched by this one's bound.
    expect((await other.pinsRequestidGet({ requestid: theirs.requestid })).status).toBe('pinned')
    expect(await node.storage.isPinned(cid)).toBe(true)

    // A bound the DAG fits in: pinned.
    const enough = await client.pinsPost({ pin: { cid, meta: { maxBytes: String(1024 * 1024) } } })
    await waitFor(
      () => client.pinsRequestidGet({ requestid: enough.requestid }),
      (s) => s.status === 'pinned',
    )
    for (const requestid of [bounded.requestid, enough.requestid])
      await client.pinsRequestidDelete({ requestid })
    await other.pinsRequestidDelete({ requestid: theirs.requestid })
  })

  test('pins and their statuses survive a restart; a queued request resumes', async () => {
    const dir = join(root, 'restart')
    let n = await startNode(dir)
    const t = await n.tokens.create('ops')
    const kept = (await n.storage.putBytes(encoder.encode('kept across restarts'))).toString()
    const c1 = clientFor(n.http.url, t)
    const s1 = await c1.pinsPost({ pin: { cid: kept, name: 'kept', meta: { k: 'v' } } })
    await waitFor(
      () => c1.pinsRequestidGet({ requestid: s1.requestid }),
      (s) => s.status === 'pinned',
    )
    // Content only the source holds, and the node is not connected to it: it stays queued/pinning/failed.
    const later = await source.putBytes(encoder.encode('arrives after the restart'))
    const s2 = await c1.pinsPost({ pin: { cid: later.toString(), name: 'later' } })
    const url = n.http.url
    const port = Number(new URL(url).port)
    await n.stop()

    n = await startNode(dir, port, source.multiaddrs())
    try {
      const c2 = clientFor(n.http.url, t)
      const again = await c2.pinsRequestidGet({ requestid: s1.requestid })
      expect(again.status).toBe('pinned')
      expect(again.pin).toEqual({ cid: kept, name: 'kept', meta: { k: 'v' } })
      expect(again.created).toEqual(s1.created)
      expect(await n.storage.isPinned(kept)).toBe(true)
      // The second request either failed before the stop (attempts: 1) or is retried now; replacing a
      // failed one is how a client retries, as the spec describes.
      let status = await c2.pinsRequestidGet({ requestid: s2.requestid })
      if (status.status === 'failed') {
        status = await c2.pinsRequestidPost({ requestid: s2.requestid, pin: { cid: later.toString() } })
      }
      await waitFor(
        () => c2.pinsRequestidGet({ requestid: status.requestid }),
        (s) => s.status === 'pinned',
      )
      expect(await n.storage.isPinned(later)).toBe(true)
    } finally {
      await n.stop()
    }
  })
})

describe('error', () => {
  test('missing, malformed, unknown and revoked tokens: 401 UNAUTHORIZED, token never echoed', async () => {
    const revoked = await node.tokens.create('stolen-laptop')
    expect((await raw('/pins', { token: revoked })).status).toBe(200)
    await node.tokens.revoke('stolen-laptop')
    for (const t of [null, revoked, 'mvn_notatoken', `${token}x`, '']) {
      const r = await raw('/pins', { token: t })
      expect(r.status).toBe(401)
      expect(refusal(r).reason).toBe('UNAUTHORIZED')
      expect(JSON.stringify(r.body)).not.toContain(revoked)
      expect(r.headers.get('www-authenticate')).toMatch(/^Bearer/)
    }
    const basic = await raw('/pins', { token: null, headers: { authorization: `Basic ${token}` } })
    expect(basic.status).toBe(401)
    await expect(clientFor(node.http.url, revoked).pinsGet({})).rejects.toThrow()
  })

  test('bad bodies: malformed JSON, wrong shapes, invalid or unverifiable CIDs, bad origins, oversized, wrong type', async () => {
    const post = (body: string, type = 'application/json') =>
      raw('/pins', { method: 'POST', body, headers: { 'content-type': type } })
    const cases: Array<[string, number, RegExp]> = [
      ['{"cid": ', 400, /not valid JSON/],
      ['[]', 400, /Pin/],
      ['{}', 400, /missing cid/],
      ['{"cid": 42}', 400, /Pin\.cid/],
      ['{"cid": "not-a-cid"}', 400, /is not a CID/],
      // sha2-256 truncated to 20 bytes: nothing could ever be verified against it.
      [
        `{"cid": "${CID.createV1(0x55, Digest.create(0x12, new Uint8Array(20).fill(7)))}"}`,
        400,
        /cannot be verified/,
      ],
      ['{"cid": "bafkqaaa", "name": 7}', 400, /Pin\.name/],
      [`{"cid": "bafkqaaa", "name": "${'n'.repeat(256)}"}`, 400, /Pin\.name/],
      ['{"cid": "bafkqaaa", "origins": ["/ip4/127.0.0.1/tcp/1"]}', 400, /origins\[0\]/],
      ['{"cid": "bafkqaaa", "origins": ["not a multiaddr/p2p/x"]}', 400, /origins\[0\]/],
      ['{"cid": "bafkqaaa", "meta": {"k": 1}}', 400, /Pin\.meta/],
      // A byte bound the node would not apply is refused, not silently ignored.
      ...['1MB', '-1', '1.5', '', ' 10', '1234567890123456'].map((v): [string, number, RegExp] => [
        `{"cid": "bafkqaaa", "meta": {"maxBytes": ${JSON.stringify(v)}}}`,
        400,
        /Pin\.meta\.maxBytes must be a whole number of bytes/,
      ]),
      [`{"cid": "bafkqaaa", "name": "${'x'.repeat(20_000)}"}`, 413, /exceeds/],
    ]
    for (const [body, status, details] of cases) {
      const r = await post(body)
      expect({ body: body.slice(0, 60), status: r.status }).toEqual({ body: body.slice(0, 60), status })
      expect(refusal(r).details).toMatch(details)
    }
    const wrongType = await post('{"cid":"bafkqaaa"}', 'text/plain')
    expect(wrongType.status).toBe(415)
    const empty = await raw('/pins', { method: 'POST', headers: { 'content-type': 'application/json' } })
    expect(empty.status).toBe(400)
    // A dag-json CID: valid, but not a codec this node can walk.
    const dagJson = await post('{"cid": "baguqeeraui5r2ahezqdnfxt6lp5uaauqfwthx2zdhf2eseu6jlbcv25o6zxa"}')
    expect(dagJson.status).toBe(400)
    expect(refusal(dagJson).details).toMatch(/codec/)
  })

  test('bad queries and unknown ids: 400 and 404 with the reason', async () => {
    const queries = [
      'limit=0',
      'limit=1001',
      'limit=ten',
      'status=bogus',
      'status=',
      'match=fuzzy&name=x',
      'before=yesterday',
      'after=2020-13-45T00:00:00Z',
      'meta=notjson',
      'meta=%5B1%5D',
      `meta=${encodeURIComponent('{"k":1}')}`,
      `cid=${Array.from({ length: 11 }, (_, i) => `bafkqaa${'a'.repeat(i % 2)}`).join(',')}`,
      'cid=zzz',
      `name=${'n'.repeat(256)}`,
      'limit=1&limit=2',
    ]
    for (const q of queries) {
      const r = await raw(`/pins?${q}`)
      expect({ q, status: r.status }).toEqual({ q, status: 400 })
      expect(refusal(r).reason).toBe('BAD_REQUEST')
    }
    for (const [method, path] of [
      ['GET', '/pins/00000000-0000-4000-8000-000000000000'],
      ['DELETE', '/pins/nope'],
    ] as const) {
      const r = await raw(path, { method })
      expect(r.status).toBe(404)
      expect(refusal(r).reason).toBe('NOT_FOUND')
    }
    const replace = await raw('/pins/nope', {
      method: 'POST',
      body: '{"cid":"bafkqaaa"}',
      headers: { 'content-type': 'application/json' },
    })
    expect(replace.status).toBe(404)
    // Another token's request is as unknown as a made-up one.
    const mine = await client.pinsPost({ pin: { cid: 'bafkqaaa', name: 'mine' } })
    const theirs = await raw(`/pins/${mine.requestid}`, { token: otherToken })
    expect(theirs.status).toBe(404)
    const del = await raw(`/pins/${mine.requestid}`, { method: 'DELETE', token: otherToken })
    expect(del.status).toBe(404)
    expect(node.pins.get(mine.requestid)).toBeDefined()
    expect((await raw('/no/such/route')).status).toBe(404)
  })

  test('a bounded flood of pin requests: 202 up to the pending limit, then 429; pinned content untouched', async () => {
    const keep = (await node.storage.putBytes(encoder.encode('must survive the flood'))).toString()
    const kept = await client.pinsPost({ pin: { cid: keep, name: 'keep' } })
    await waitFor(
      () => client.pinsRequestidGet({ requestid: kept.requestid }),
      (s) => s.status === 'pinned',
    )
    const floodToken = await node.tokens.create('flood')
    // Content nobody has: each request stays queued or pinning for a while, so the pending limit (40) bites.
    const bodies = await Promise.all(
      Array.from({ length: 120 }, async (_, i) =>
        JSON.stringify({
          cid: CID.createV1(0x55, await sha256.digest(encoder.encode(`nobody has ${i}`))).toString(),
          name: `flood-${i}`,
        }),
      ),
    )
    const statuses = await Promise.all(
      bodies.map((body) =>
        fetch(`${node.http.url}/pins`, {
          method: 'POST',
          body,
          headers: { authorization: `Bearer ${floodToken}`, 'content-type': 'application/json' },
        }).then(async (r) => {
          await r.arrayBuffer()
          return r.status
        }),
      ),
    )
    const accepted = statuses.filter((s) => s === 202).length
    const limited = statuses.filter((s) => s === 429).length
    expect(accepted + limited).toBe(120)
    expect(accepted).toBeGreaterThan(0)
    expect(accepted).toBeLessThanOrEqual(40)
    expect(limited).toBeGreaterThan(0)
    // 300 unauthenticated requests in a burst: all refused, none crash the server.
    const unauthorised = await Promise.all(
      Array.from({ length: 300 }, () => fetch(`${node.http.url}/pins`).then((r) => r.status)),
    )
    expect(new Set(unauthorised)).toEqual(new Set([401]))
    // Still up, and the earlier pin is intact.
    expect((await client.pinsRequestidGet({ requestid: kept.requestid })).status).toBe('pinned')
    expect(await node.storage.isPinned(keep)).toBe(true)
  })
})
