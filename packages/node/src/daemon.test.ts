/**
 * The composed daemon in-process, over real HTTP and two real networked Helia stores: a client pins a
 * large file held by a peer through the Pinning Service API, then downloads it from the gateway as a CAR;
 * the node is stopped while the download is in flight, and the download still completes, whole and
 * verified, while new connections are refused. Health, readiness and metrics answer as documented.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, type Storage } from '@medvault/storage'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { loadConfig } from './config.ts'
import { createDaemon, type Daemon } from './daemon.ts'
import { createTokenStore } from './token-store.ts'

let root: string
let source: Storage
let daemon: Daemon

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mvn-daemon-'))
  source = await createStorage({ network: {} })
  const repo = join(root, 'repo')
  await mkdir(repo, { recursive: true })
  await writeFile(
    join(repo, 'config.json'),
    JSON.stringify({
      http: '127.0.0.1:0',
      services: ['pinning', 'gateway'],
      storage: { listen: ['/ip4/127.0.0.1/tcp/0'], peers: source.multiaddrs() },
    }),
  )
  daemon = await createDaemon({ config: await loadConfig(repo, {}, {}) })
  await daemon.start()
})

afterAll(async () => {
  await daemon?.stop()
  await source?.stop()
  await rm(root, { recursive: true, force: true })
})

test('default: health, readiness, metrics; a CAR download in flight finishes whole when the node stops', async () => {
  expect(await (await fetch(`${daemon.url}/healthz`)).json()).toEqual({ ok: true })
  expect(await (await fetch(`${daemon.url}/readyz`)).json()).toEqual({ ready: true, waiting: [] })

  const token = await createTokenStore(join(root, 'repo', 'tokens.json')).create('test')
  const size = 24 * 1024 * 1024
  const cid = await source.putBytes(new Uint8Array(size).map((_, i) => (i * 31) & 0xff))
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const added = await fetch(`${daemon.url}/pins`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ cid: cid.toString(), name: 'big' }),
  })
  expect(added.status).toBe(202)
  const { requestid } = (await added.json()) as { requestid: string }
  for (;;) {
    const s = (await (await fetch(`${daemon.url}/pins/${requestid}`, { headers: auth })).json()) as {
      status: string
    }
    if (s.status === 'pinned') break
    expect(s.status).not.toBe('failed')
    await new Promise((r) => setTimeout(r, 100))
  }
  const metrics = await (await fetch(`${daemon.url}/metrics`)).text()
  expect(metrics).toMatch(/^medvault_pins\{status="pinned",owner="api"\} 1$/m)
  expect(metrics).toMatch(
    /^medvault_http_request_duration_seconds_count\{service="pinning",method="POST",route="\/pins",status="202"\} 1$/m,
  )

  // Start the download, read a little, then stop the node while the rest is still to come.
  const res = await fetch(`${daemon.url}/ipfs/${cid}?format=car`)
  expect(res.status).toBe(200)
  const reader = res.body!.getReader()
  const chunks: Uint8Array[] = []
  const first = await reader.read()
  chunks.push(first.value!)
  const url = daemon.url
  const stopping = daemon.stop()
  // New connections are refused once the node is stopping.
  await new Promise((r) => setTimeout(r, 50))
  const refused = await fetch(`${url}/healthz`).then(
    (r) => r.status,
    () => 'refused',
  )
  expect([503, 'refused']).toContain(refused)
  for (;;) {
    const next = await reader.read()
    if (next.done) break
    chunks.push(next.value)
  }
  await stopping
  const check = await createStorage()
  try {
    const roots = await check.importCar(chunks, { pin: true })
    expect(roots.map(String)).toEqual([cid.toString()])
    const stat = await check.stat(cid)
    expect(stat.local).toBe(true)
    expect(stat.size).toBe(size)
  } finally {
    await check.stop()
  }
}, 120_000)
