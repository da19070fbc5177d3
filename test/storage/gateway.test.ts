/**
 * Remote reads from trustless HTTP gateways: a real node:http server on 127.0.0.1 that serves raw blocks
 * (`application/vnd.ipld.raw`, as in the Trustless Gateway spec) out of another storage's blockstore.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspect } from 'node:util'
import { CID, createStorage, type Storage } from '@medvault/storage'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { concat, det, sha256Hex } from './helpers.ts'

const MiB = 1_048_576
let source: Storage
const servers: Server[] = []
const requests: string[] = []

/** Serves `/ipfs/<cid>?format=raw` from `source`; `corrupt` flips one bit of every block it sends. */
async function gateway(corrupt: boolean): Promise<string> {
  const server = createServer(async (req, res) => {
    requests.push(`${corrupt ? 'bad' : 'good'} ${req.url}`)
    const match = /^\/ipfs\/([^/?]+)/.exec(req.url ?? '')
    const wantsRaw =
      req.headers.accept?.includes('application/vnd.ipld.raw') || req.url?.includes('format=raw')
    if (match === null || !wantsRaw) {
      res.writeHead(400).end()
      return
    }
    try {
      const cid = CID.parse(match[1]!)
      const bytes = await concat(source.helia.blockstore.get(cid, { offline: true }))
      if (corrupt) bytes[0]! ^= 0x80
      res.writeHead(200, { 'content-type': 'application/vnd.ipld.raw', 'content-length': bytes.byteLength })
      res.end(bytes)
    } catch {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  servers.push(server)
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

let good: string
let bad: string
beforeAll(async () => {
  source = await createStorage()
  good = await gateway(false)
  bad = await gateway(true)
})
afterAll(async () => {
  await source.stop()
  await Promise.all(servers.map((s) => new Promise((r) => s.close(r))))
})

test('default: a trustless gateway is a read source; every block is verified and then kept locally', async () => {
  const cid = await source.putStream(det(3 * MiB + 1, 'gw'))
  const reader = await createStorage({ gateways: [good] })
  try {
    expect(await sha256Hex(reader.get(cid))).toEqual(await sha256Hex(det(3 * MiB + 1, 'gw')))
    expect(await reader.stat(cid)).toMatchObject({ local: true, blocks: 5, pinned: false })
    await reader.pin(cid)
    expect(await reader.isPinned(cid)).toBe(true)
  } finally {
    await reader.stop()
  }
})

test('behavior: envelopes and CAR export read through the gateway too', async () => {
  const file = await source.putBytes(new TextEncoder().encode('via gateway'))
  const env = await source.putEnvelope({ file })
  const reader = await createStorage({ gateways: [good] })
  try {
    expect(await reader.getEnvelope(env)).toEqual({ file })
    const other = await createStorage()
    try {
      expect((await other.importCar(reader.exportCar(env))).map(String)).toEqual([env.toString()])
      expect(await concat(other.get(file))).toEqual(new TextEncoder().encode('via gateway'))
    } finally {
      await other.stop()
    }
  } finally {
    await reader.stop()
  }
})

test('error: a gateway that returns a corrupted block is refused and nothing is stored', async () => {
  const cid = await source.putBytes(new TextEncoder().encode('tamper with me'))
  const reader = await createStorage({ gateways: [bad], blockTimeoutMs: 5_000 })
  try {
    const err = await concat(reader.get(cid)).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'BlockVerificationError', cid: cid.toString() })
    expect((err as Error).message).toMatchInlineSnapshot(`
      "Block ${cid} failed verification: its bytes do not match its CID.

      The peer or gateway that sent it is faulty or malicious."
    `)
    expect(requests).toContain(`bad /ipfs/${cid}?format=raw`)
    expect(await reader.stat(cid)).toMatchObject({ localBlocks: 0 })
    expect(await reader.gc()).toEqual({ removed: 0, kept: 0 })
  } finally {
    await reader.stop()
  }
})

test('behavior: after a corrupt gateway, the next configured gateway is tried', async () => {
  const cid = await source.putBytes(new TextEncoder().encode('second gateway wins'))
  const reader = await createStorage({ gateways: [bad, good] })
  try {
    expect(new TextDecoder().decode(await concat(reader.get(cid)))).toBe('second gateway wins')
    const seen = requests.filter((r) => r.endsWith(`/ipfs/${cid}?format=raw`))
    expect(seen).toEqual([`bad /ipfs/${cid}?format=raw`, `good /ipfs/${cid}?format=raw`])
  } finally {
    await reader.stop()
  }
})

test('error: a block no gateway has is NotFoundError', async () => {
  const reader = await createStorage({ gateways: [good], blockTimeoutMs: 5_000 })
  try {
    const missing = 'bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
    await expect(concat(reader.get(missing))).rejects.toMatchObject({ name: 'NotFoundError', cid: missing })
  } finally {
    await reader.stop()
  }
})

test('error: gateway URLs that cannot work are refused at creation, and no error repeats their credentials', async () => {
  const cases: Array<[string, RegExp]> = [
    // the gateway client cannot send credentials (it would silently drop them and get 401s)
    [`${good.replace('http://', 'http://alice:s3cret@')}`, /credentials/],
    ['http://alice:s3cret@[not-a-host', /not a valid URL/],
    ['ftp://alice:s3cret@127.0.0.1:21', /http or https/],
    // requests go to /ipfs/<cid> at the origin; a path prefix would be dropped without a word
    [`${good}/some/prefix`, /path/],
  ]
  for (const [url, reason] of cases) {
    const err = await createStorage({ gateways: [url] }).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'InvalidGatewayError' })
    expect((err as Error).message).toMatch(reason)
    const everything = inspect(err, { depth: 20, showHidden: true })
    expect(everything).not.toContain('s3cret')
    expect(everything).not.toContain('alice')
  }
})

test('error: a gateway that never answers gives NotFoundError after blockTimeoutMs; a caller abort stays an abort', async () => {
  const held: Array<() => void> = []
  const silent = createServer((_req, res) => {
    held.push(() => res.destroy())
  })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`
  const reader = await createStorage({ gateways: [url], blockTimeoutMs: 500 })
  try {
    const missing = 'bafkreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'
    const err = await concat(reader.get(missing)).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'NotFoundError', cid: missing })
    expect((err as Error).message).toContain('within 500 ms')
    const controller = new AbortController()
    const reading = reader.getEnvelope('bafyreiaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', {
      signal: controller.signal,
    })
    controller.abort()
    await expect(reading).rejects.toMatchObject({ name: 'AbortError' })
  } finally {
    await reader.stop()
    for (const end of held) end()
    await new Promise((r) => silent.close(r))
  }
})
