/**
 * The gateway's per-IP token bucket over real HTTP on 127.0.0.1, over a real (embedded) Helia store. A second
 * client address is another loopback address (127.0.0.2), which Linux routes to the same listener.
 */
import { createStorage, type Storage } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { gatewayServers, readBody, requestFrom } from '../../../test/node-daemon/gateway-server.ts'
import { GatewayRateLimitedError } from './daemon-errors.ts'
import { createGateway } from './gateway.ts'
import { createHttpServer, type HttpServer } from './http-server.ts'

let storage: Storage
let cid: string
const servers = gatewayServers()

beforeAll(async () => {
  storage = await createStorage()
  cid = (await storage.putBytes(new TextEncoder().encode('one raw block'))).toString()
})

afterAll(async () => {
  await servers.stop()
  await storage?.stop()
})

/** A gateway with `rateLimit` and, beside it on the same listener, a liveness route like the daemon's. */
function serve(rateLimit: Parameters<typeof createGateway>[0]['rateLimit']): Promise<HttpServer> {
  return servers.serve({ rateLimit }, storage, (http) =>
    http.register('health', async (app) => {
      app.get('/healthz', async (_req, reply) => reply.send({ ok: true }))
    }),
  )
}

interface Answer {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A GET from a chosen local address, read to its end. */
async function get(http: HttpServer, path: string, localAddress = '127.0.0.1'): Promise<Answer> {
  const { res } = await requestFrom(http, path, {
    localAddress,
    headers: { accept: 'application/vnd.ipld.raw' },
  })
  return { status: res.statusCode ?? 0, headers: res.headers, body: await readBody(res) }
}

describe('gateway rate limit', () => {
  test('default: the limit is generous: 200 requests at once from one address are all served', async () => {
    const http = await serve(undefined)
    const answers = await Promise.all(Array.from({ length: 200 }, () => get(http, `/ipfs/${cid}`)))
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200]))
  })

  test('behavior: past its burst an address gets 429 with Retry-After (readable cross-origin); another address and /healthz are served; after Retry-After it is served again', async () => {
    const http = await serve({ perSecond: 1, burst: 3 })
    for (let i = 0; i < 3; i++) expect((await get(http, `/ipfs/${cid}`)).status).toBe(200)
    const refused = await get(http, `/ipfs/${cid}`)
    expect(refused.status).toBe(429)
    expect(refused.headers['retry-after']).toBe('1')
    expect(refused.headers['access-control-allow-origin']).toBe('*')
    expect(String(refused.headers['access-control-expose-headers'])).toContain('retry-after')
    expect(refused.headers['cache-control']).toBe('no-store')
    expect(refused.body).toBe(`${new GatewayRateLimitedError({ retryAfterSeconds: 1 }).shortMessage}\n`)
    // Refused before the request is looked at: a malformed one is 429 too, not 400.
    expect((await get(http, '/ipfs/not-a-cid')).status).toBe(429)

    // The bucket is per address; liveness is not the gateway's and is never limited.
    expect((await get(http, `/ipfs/${cid}`, '127.0.0.2')).status).toBe(200)
    for (let i = 0; i < 10; i++) expect((await get(http, '/healthz')).status).toBe(200)

    await new Promise((r) => setTimeout(r, Number(refused.headers['retry-after']) * 1000 + 50))
    expect((await get(http, `/ipfs/${cid}`)).status).toBe(200)
  })

  test('behavior: rateLimit false serves every request', async () => {
    const http = await serve(false)
    const answers = await Promise.all(Array.from({ length: 50 }, () => get(http, `/ipfs/${cid}`)))
    expect(new Set(answers.map((a) => a.status))).toEqual(new Set([200]))
  })

  test('error: a limit that cannot work is refused when the gateway is made', () => {
    const http = createHttpServer()
    for (const rateLimit of [
      { perSecond: 0, burst: 10 },
      { perSecond: 1, burst: 0 },
      { perSecond: 1, burst: 1.5 },
      { perSecond: Number.NaN, burst: 1 },
    ]) {
      expect(() => createGateway({ rateLimit }, { http, storage })).toThrow(RangeError)
    }
  })
})
