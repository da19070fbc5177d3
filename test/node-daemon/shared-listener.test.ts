/**
 * The re-encryption proxy on a shared listener (`components.http`), as the node daemon runs it next to the
 * gateway and the Pinning Service API on one port, in-process over real HTTP against a real devnet: before
 * it has started its routes answer 503 `unavailable` (the listener is already up), its own body limit,
 * media type and error format hold on a listener whose defaults are other, refusals and preflights carry
 * CORS, other services' paths are untouched, and once stopped it answers 503 `shutting_down`.
 */
import { createDevnet, type Devnet } from '@medvault/chain/node'
import { deriveKeysFromPrivateKey } from '@medvault/crypto'
import { createHttpServer, createProxy, type HttpServer, type ReencryptionProxy } from '@medvault/node'
import { createStorage, type Storage } from '@medvault/storage'
import { hexToBytes } from 'viem'
import { afterAll, beforeAll, expect, test } from 'vitest'

let devnet: Devnet
let storage: Storage
let http: HttpServer
let proxy: ReencryptionProxy

beforeAll(async () => {
  devnet = await createDevnet()
  storage = await createStorage()
  // The listener's own body limit is larger than the proxy's: the proxy's must still apply to its routes.
  http = createHttpServer({ bodyLimit: 65_536 })
  http.register('other', async (app) => {
    app.get('/other', async () => ({ ok: true }))
  })
  const key = devnet.anvil.accounts[6]!.privateKey
  proxy = await createProxy(
    {
      account: key,
      eciesSecretKey: deriveKeysFromPrivateKey(hexToBytes(key)).eciesSecretKey,
      workers: 1,
      start: false,
    },
    {
      publicClient: devnet.publicClient,
      storage,
      addresses: devnet.addresses,
      deployBlock: devnet.deployBlock,
      http,
    },
  )
  await http.start()
}, 300_000)

afterAll(async () => {
  await http?.stop()
  await proxy?.stop()
  await storage?.stop()
  await devnet?.stop()
}, 60_000)

const post = (body: string, type = 'application/json') =>
  fetch(`${http.url}/v1/reencrypt`, {
    method: 'POST',
    headers: { 'content-type': type, origin: 'https://portal.example' },
    body,
  })

test('behavior: one port for the proxy and the rest; 503 until started, the proxy rules once started, 503 once stopped', async () => {
  expect(proxy.url).toBe(http.url)

  // Starting: the listener answers, the proxy cannot decide anything yet.
  const early = await post('{}')
  expect(early.status).toBe(503)
  expect(early.headers.get('access-control-allow-origin')).toBe('*')
  const refusal = (await early.json()) as { error: { code: string; message: string } }
  expect(refusal.error.code).toBe('unavailable')
  expect(refusal.error.message).toMatch(/starting/)
  const preflight = await fetch(`${http.url}/v1/reencrypt`, {
    method: 'OPTIONS',
    headers: {
      origin: 'https://portal.example',
      'access-control-request-method': 'POST',
      'access-control-request-headers': 'content-type',
    },
  })
  expect(preflight.status).toBe(204)
  expect(preflight.headers.get('access-control-allow-origin')).toBe('*')
  expect(preflight.headers.get('access-control-allow-methods')).toMatch(/POST/)

  await proxy.start()
  const health = (await (await fetch(`${http.url}/v1/health`)).json()) as { address: string }
  expect(health.address).toBe(proxy.address)
  // The proxy's own limits and format, not the listener's defaults.
  const big = await post(JSON.stringify({ pad: 'x'.repeat(5000) }))
  expect(big.status).toBe(413)
  expect(((await big.json()) as { error: { code: string } }).error.code).toBe('body_too_large')
  const text = await post('hello', 'text/plain')
  expect(text.status).toBe(415)
  await text.arrayBuffer()
  const malformed = await post('{"not":"a request"}')
  expect(malformed.status).toBe(400)
  expect(((await malformed.json()) as { error: { code: string } }).error.code).toBe('malformed_request')
  const unknown = await fetch(`${http.url}/v1/nothing`)
  expect(unknown.status).toBe(404)
  expect(((await unknown.json()) as { error: { code: string } }).error.code).toBe('not_found')
  // Other services on the same port are untouched by the proxy's scope.
  const other = await fetch(`${http.url}/other`)
  expect(other.status).toBe(200)
  expect(other.headers.get('access-control-allow-origin')).toBeNull()
  expect(await other.json()).toEqual({ ok: true })

  await proxy.stop()
  const late = await post('{}')
  expect(late.status).toBe(503)
  expect(((await late.json()) as { error: { code: string } }).error.code).toBe('shutting_down')
  // Started again on the same listener.
  await proxy.start()
  expect((await fetch(`${http.url}/v1/health`)).status).toBe(200)
}, 300_000)
