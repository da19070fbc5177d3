/**
 * The gateway's bound on whole-DAG CAR exports at once, per client address and for the node, over real HTTP on
 * 127.0.0.1 and a real (embedded) Helia store. An export is held open by a client that does not read its body:
 * the DAG (24 MiB) is larger than what the socket buffers take, so the response keeps streaming. Other client
 * addresses are other loopback addresses (127.0.0.2, 127.0.0.3), which Linux routes to the same listener.
 *
 * The store handed to the gateway is the real one with its reads counted (calls, and walks in progress), so a
 * test can tell that a refused request read nothing and that a client going away stopped its walk.
 */
import { randomBytes } from 'node:crypto'
import { Agent, type ClientRequest, type IncomingMessage } from 'node:http'
import { connect } from 'node:net'
import { createStorage, type Storage } from '@medvault/storage'
import { afterAll, afterEach, beforeAll, describe, expect, test, vi } from 'vitest'
import { gatewayServers, readBody, requestFrom } from '../../../test/node-daemon/gateway-server.ts'
import { GatewayRateLimitedError } from './daemon-errors.ts'
import { createGateway, type GatewayComponents, type GatewayInit } from './gateway.ts'
import { createHttpServer, type HttpServer } from './http-server.ts'

let storage: Storage
/** A 24 MiB UnixFS file: a DAG whose CAR outlasts the socket buffers. */
let big: string
/** A small UnixFS file, exported whole in one go. */
let small: string
const servers = gatewayServers()
const open: ClientRequest[] = []

/** Reads of the store by the gateway: calls that touch the DAG, and export walks in progress. */
const reads = { stat: 0, isPinned: 0, exportCar: 0, walking: 0 }

beforeAll(async () => {
  storage = await createStorage()
  big = (
    await storage.putStream(
      (function* () {
        for (let i = 0; i < 24; i++) yield randomBytes(1024 * 1024)
      })(),
    )
  ).toString()
  small = (await storage.putBytes(randomBytes(300 * 1024))).toString()
}, 60_000)

afterEach(async () => {
  for (const req of open.splice(0)) req.destroy()
  // Each test counts walks from 0: wait for the ones it left to end.
  await vi.waitFor(() => expect(reads.walking).toBe(0), { timeout: 10_000, interval: 20 })
})

afterAll(async () => {
  for (const req of open.splice(0)) req.destroy()
  await servers.stop()
  await storage?.stop()
})

/** The real store, its DAG reads counted. */
function countedStorage(): GatewayComponents['storage'] {
  return {
    helia: storage.helia,
    stat: (cid, options) => {
      reads.stat++
      return storage.stat(cid, options)
    },
    isPinned: (cid, options) => {
      reads.isPinned++
      return storage.isPinned(cid, options)
    },
    exportCar: (cid, options) => {
      reads.exportCar++
      const walk = storage.exportCar(cid, options)
      return (async function* () {
        reads.walking++
        try {
          yield* walk
        } finally {
          reads.walking--
        }
      })()
    },
  }
}

const serve = (init: GatewayInit): Promise<HttpServer> => servers.serve(init, countedStorage())

interface Answer {
  status: number
  headers: IncomingMessage['headers']
  /** The body, read to its end, for answers other than 200; undefined for a 200 left unread. */
  body: string | undefined
  req: ClientRequest
  res: IncomingMessage
}

/**
 * A GET (or HEAD) from a chosen local address. A 200 is left unread (the export stays in progress until
 * `req.destroy()`); any other answer is read to its end.
 */
async function get(
  http: HttpServer,
  path: string,
  localAddress = '127.0.0.1',
  method = 'GET',
): Promise<Answer> {
  const { req, res } = await requestFrom(http, path, { localAddress, method })
  const status = res.statusCode ?? 0
  if (status === 200 && method === 'GET') {
    open.push(req)
    return { status, headers: res.headers, body: undefined, req, res }
  }
  return { status, headers: res.headers, body: await readBody(res), req, res }
}

/** Reads a held 200 to its end; its byte count. */
function drain(answer: Answer): Promise<number> {
  return new Promise((resolve, reject) => {
    let n = 0
    answer.res.on('data', (c: Buffer) => {
      n += c.length
    })
    answer.res.on('end', () => resolve(n))
    answer.res.on('error', reject)
  })
}

const car = (cid: string, scope = 'all') => `/ipfs/${cid}?format=car&dag-scope=${scope}`
const clientRefusal = new GatewayRateLimitedError({ retryAfterSeconds: 1, limit: 'client-car-exports' })
const nodeRefusal = new GatewayRateLimitedError({ retryAfterSeconds: 1, limit: 'node-car-exports' })

describe('gateway whole-DAG CAR exports at once', () => {
  test('error: a client holding its exports open is refused the next (429, Retry-After) before any block is read; cheap answers and other addresses are served', async () => {
    const http = await serve({ maxCarExportsPerClient: 2, maxCarExports: 8 })
    const held = [await get(http, car(big)), await get(http, car(big, 'entity'))]
    expect(held.map((a) => a.status)).toEqual([200, 200])

    const before = { ...reads }
    for (const path of [car(big), car(big, 'entity'), car(small)]) {
      const refused = await get(http, path)
      expect(refused.status).toBe(429)
      expect(refused.headers['retry-after']).toBe('1')
      expect(refused.headers['access-control-allow-origin']).toBe('*')
      expect(refused.headers['cache-control']).toBe('no-store')
      expect(refused.body).toBe(`${clientRefusal.shortMessage}\n`)
    }
    // HEAD of a whole-DAG CAR walks it too when it is not pinned: it takes a slot like GET.
    expect((await get(http, car(big), '127.0.0.1', 'HEAD')).status).toBe(429)
    // Refused before the store was asked anything about the DAG.
    expect({ stat: reads.stat, isPinned: reads.isPinned, exportCar: reads.exportCar }).toEqual({
      stat: before.stat,
      isPinned: before.isPinned,
      exportCar: before.exportCar,
    })
    expect(reads.walking).toBe(2)

    // One block is cheap: raw blocks and dag-scope=block CARs stay under the request budget only.
    const raw = await get(http, `/ipfs/${big}?format=raw`)
    expect(raw.status).toBe(200)
    await drain(raw)
    const block = await get(http, car(big, 'block'))
    expect(block.status).toBe(200)
    await drain(block)

    // The bound is per client address.
    expect((await get(http, car(big), '127.0.0.2')).status).toBe(200)
    expect(reads.walking).toBe(3)
  })

  test('behavior: a client that goes away mid-stream frees its slots and its DAG walks stop; a new export is served', async () => {
    const http = await serve({ maxCarExportsPerClient: 2, maxCarExports: 8 })
    const held = [await get(http, car(big)), await get(http, car(big))]
    expect(held.map((a) => a.status)).toEqual([200, 200])
    expect((await get(http, car(big))).status).toBe(429)
    expect(reads.walking).toBe(2)

    for (const a of held) a.req.destroy()
    // The walks end as the server sees the connections close (no timing asserted: waited for).
    await vi.waitFor(() => expect(reads.walking).toBe(0), { timeout: 10_000, interval: 20 })

    const again = await get(http, car(big))
    expect(again.status).toBe(200)
    // Served whole: every byte of the 24 MiB file, and the CAR framing around them.
    expect(await drain(again)).toBeGreaterThan(24 * 1024 * 1024)
    // A finished export frees its slot too: one after another, each is served.
    for (let i = 0; i < 4; i++) {
      const next = await get(http, car(small))
      expect(next.status).toBe(200)
      await drain(next)
    }
    await vi.waitFor(() => expect(reads.walking).toBe(0), { timeout: 10_000, interval: 20 })
  })

  test('behavior: the node-wide bound holds across client addresses, and frees as exports end', async () => {
    const http = await serve({ maxCarExportsPerClient: 2, maxCarExports: 3 })
    const first = [await get(http, car(big)), await get(http, car(big))]
    const second = await get(http, car(big), '127.0.0.2')
    expect([...first, second].map((a) => a.status)).toEqual([200, 200, 200])

    for (const address of ['127.0.0.2', '127.0.0.3']) {
      const refused = await get(http, car(big), address)
      expect(refused.status).toBe(429)
      expect(refused.headers['retry-after']).toBe('1')
      expect(refused.body).toBe(`${nodeRefusal.shortMessage}\n`)
    }
    // One-block answers are not exports: still served.
    const block = await get(http, car(big, 'block'), '127.0.0.3')
    expect(block.status).toBe(200)
    await drain(block)

    first[0]!.req.destroy()
    await vi.waitFor(() => expect(reads.walking).toBe(2), { timeout: 10_000, interval: 20 })
    expect((await get(http, car(big), '127.0.0.3')).status).toBe(200)
  })

  test('attack: exports pipelined on one socket that then closes free their slots (those never answered too) and their walks stop', async () => {
    const http = await serve({ maxCarExportsPerClient: 2, maxCarExports: 3 })
    const url = new URL(http.url)
    // Three GETs in one write before any answer (HTTP/1.1 pipelining): two take this client's slots, the third
    // is refused. Only the first response is ever attached to the socket; the others wait behind it.
    const one = `GET ${car(big)} HTTP/1.1\r\nHost: ${url.host}\r\nConnection: keep-alive\r\n\r\n`
    const socket = connect({ host: url.hostname, port: Number(url.port), localAddress: '127.0.0.1' })
    socket.on('error', () => {})
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve)
      socket.once('error', reject)
    })
    socket.write(one.repeat(3))
    // The gateway has started the first export once its answer begins to arrive.
    await new Promise((resolve) => socket.once('data', resolve))
    await vi.waitFor(() => expect(reads.exportCar).toBeGreaterThan(0), { timeout: 5_000, interval: 20 })
    socket.destroy()

    // The walks end as the server sees the socket close (no timing asserted: waited for).
    await vi.waitFor(() => expect(reads.walking).toBe(0), { timeout: 5_000, interval: 20 })
    // This client's two slots are free again, and the node's three: the bound still holds after them.
    const again = [
      await get(http, car(big)),
      await get(http, car(big)),
      await get(http, car(big), '127.0.0.2'),
    ]
    expect(again.map((a) => a.status)).toEqual([200, 200, 200])
    const refused = await get(http, car(big), '127.0.0.3')
    expect(refused.status).toBe(429)
    expect(refused.body).toBe(`${nodeRefusal.shortMessage}\n`)
  })

  test('behavior: a keep-alive socket serving many exports one after another keeps no listener of theirs', async () => {
    // A route on the same server that tells how many 'close' listeners the socket of its request holds.
    const http = await servers.serve({ maxCarExportsPerClient: 2 }, countedStorage(), (server) =>
      server.register('probe', async (app) => {
        app.get('/probe', async (request) => ({ close: request.raw.socket.listenerCount('close') }))
      }),
    )
    const agent = new Agent({ keepAlive: true, maxSockets: 1 })
    const fetchAll = async (path: string) => {
      const { req, res } = await requestFrom(http, path, { agent })
      const body = await readBody(res)
      return { status: res.statusCode ?? 0, body, port: req.socket?.localPort ?? 0 }
    }
    try {
      const before = await fetchAll('/probe')
      for (let i = 0; i < 12; i++) {
        const answer = await fetchAll(i % 3 === 2 ? `/ipfs/${small}?format=raw` : car(small))
        expect(answer.status).toBe(200)
        expect(answer.port).toBe(before.port)
      }
      const after = await fetchAll('/probe')
      expect(after.port).toBe(before.port)
      expect(JSON.parse(after.body.toString())).toEqual(JSON.parse(before.body.toString()))
    } finally {
      agent.destroy()
    }
  })

  test('behavior: false lifts a bound', async () => {
    const http = await serve({ maxCarExportsPerClient: false, maxCarExports: false })
    const held = await Promise.all(Array.from({ length: 6 }, () => get(http, car(big))))
    expect(held.map((a) => a.status)).toEqual(Array(6).fill(200))
  })

  test('error: a bound that cannot work is refused when the gateway is made', () => {
    const http = createHttpServer()
    for (const bad of [0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
      expect(() => createGateway({ maxCarExportsPerClient: bad }, { http, storage })).toThrow(RangeError)
      expect(() => createGateway({ maxCarExports: bad }, { http, storage })).toThrow(RangeError)
    }
  })
})
