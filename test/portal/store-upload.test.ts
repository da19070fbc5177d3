/**
 * The devnet store's upload route (`POST /car`) and the portal's dev plugin that forwards `POST /store/car` to
 * it: over real HTTP on 127.0.0.1 with real in-memory storages, each takes a CAR said to be one, and refuses a
 * body of any other content type (the kind a cross-site page can send without a preflight) and a body over
 * the size cap.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, type Storage } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { portalDev } from '../../examples/patient-portal/src/dev-plugin.ts'
import { type StoreService, startStoreService, uploadDag } from '../../packages/cli/src/store-service.ts'

const CAP = 16 * 1024

let devnetStorage: Storage
let pageStorage: Storage
let service: StoreService
/** The dev plugin's middleware on a plain HTTP server (what Vite's dev and preview servers mount it on). */
let dev: Server
let devUrl: string
let dir: string
beforeAll(async () => {
  devnetStorage = await createStorage()
  pageStorage = await createStorage()
  service = await startStoreService(devnetStorage, 0, { maxCarBytes: CAP })
  dir = await mkdtemp(join(tmpdir(), 'medvault-store-upload-'))
  const addressesFile = join(dir, 'net.json')
  await writeFile(addressesFile, JSON.stringify({ format: 'medvault-network/1', store: service.url }))
  type Middleware = (req: IncomingMessage, res: ServerResponse, next: () => void) => void
  let middleware: Middleware | undefined
  const plugin = portalDev({ addressesFile, peers: [], maxCarBytes: CAP })
  ;(plugin.configureServer as (server: unknown) => void)({
    middlewares: { use: (fn: Middleware) => (middleware = fn) },
  })
  dev = createServer((req, res) => middleware!(req, res, () => res.writeHead(404).end()))
  await new Promise<void>((resolve) => dev.listen(0, '127.0.0.1', resolve))
  devUrl = `http://127.0.0.1:${(dev.address() as AddressInfo).port}`
})
afterAll(async () => {
  if (dev !== undefined) {
    await new Promise((resolve) => dev.close(resolve))
    dev.closeAllConnections()
  }
  await service?.stop()
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  await pageStorage?.stop()
  await devnetStorage?.stop()
})

async function carOf(size: number) {
  const cid = await pageStorage.putBytes(new Uint8Array(randomBytes(size)))
  const parts: Uint8Array<ArrayBuffer>[] = []
  for await (const chunk of pageStorage.exportCar(cid)) parts.push(new Uint8Array(chunk))
  return { cid, parts, bytes: new Blob(parts) }
}

/** Whether the devnet store serves the block (its gateway route). */
const held = async (cid: { toString(): string }) =>
  (await fetch(`${service.url}/ipfs/${cid}?format=raw`)).status === 200

describe('store service POST /car', () => {
  test('default: a CAR sent as application/vnd.ipld.car is imported', async () => {
    const { cid } = await carOf(1024)
    await uploadDag(pageStorage, cid, service.url)
    expect(await held(cid)).toBe(true)
  })

  test.each([
    ['text/plain'],
    ['application/x-www-form-urlencoded'],
    ['multipart/form-data; boundary=x'],
    [undefined],
  ])(
    'attack: a body of content type %s (a cross-site simple POST) is refused with 415, nothing stored',
    async (type) => {
      const { cid, bytes } = await carOf(1024)
      const res = await fetch(`${service.url}/car`, {
        method: 'POST',
        ...(type === undefined ? {} : { headers: { 'content-type': type } }),
        // Without a content-type header, fetch sends an ArrayBuffer body with none.
        body: await bytes.arrayBuffer(),
      })
      expect(res.status).toBe(415)
      expect(await res.text()).toBe('POST /car takes application/vnd.ipld.car only')
      expect(await held(cid)).toBe(false)
    },
  )

  test('attack: a CAR over the cap is refused with 413 (declared length: nothing stored)', async () => {
    const { cid, bytes } = await carOf(CAP + 4096)
    expect(bytes.size).toBeGreaterThan(CAP)
    const res = await fetch(`${service.url}/car`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.ipld.car' },
      body: bytes,
    })
    expect(res.status).toBe(413)
    expect(await res.text()).toBe(`a CAR is at most ${CAP} bytes`)
    expect(await held(cid)).toBe(false)
  })

  test('attack: a chunked CAR (no declared length) over the cap is refused with 413', async () => {
    const { parts } = await carOf(CAP * 2)
    const res = await fetch(`${service.url}/car`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.ipld.car' },
      body: new ReadableStream<Uint8Array>({
        start(controller) {
          for (const part of parts) controller.enqueue(part)
          controller.close()
        },
      }),
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(413)
  })
})

describe('portal dev plugin POST /store/car', () => {
  const post = (body: BodyInit, type?: string) =>
    fetch(`${devUrl}/store/car`, {
      method: 'POST',
      ...(type === undefined ? {} : { headers: { 'content-type': type } }),
      body,
      ...(body instanceof ReadableStream ? { duplex: 'half' } : {}),
    } as RequestInit)

  test('default: a CAR is forwarded to the devnet store and its answer streamed back', async () => {
    const { cid, bytes } = await carOf(1024)
    const res = await post(bytes, 'application/vnd.ipld.car')
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ roots: [cid.toString()] })
    expect(await held(cid)).toBe(true)
    // Reads through the plugin stream the store's block.
    const block = await fetch(`${devUrl}/store/ipfs/${cid}?format=raw`)
    expect(block.status).toBe(200)
    expect((await block.arrayBuffer()).byteLength).toBeGreaterThan(0)
  })

  test('attack: text/plain (a cross-site simple POST) is refused with 415 and not forwarded', async () => {
    const { cid, bytes } = await carOf(1024)
    const res = await post(await bytes.arrayBuffer(), 'text/plain')
    expect(res.status).toBe(415)
    expect(await held(cid)).toBe(false)
  })

  test('attack: over the cap, declared or chunked, is refused with 413', async () => {
    const { cid, bytes, parts } = await carOf(CAP + 4096)
    const declared = await post(bytes, 'application/vnd.ipld.car')
    expect(declared.status).toBe(413)
    expect(await held(cid)).toBe(false)
    const chunked = await post(
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (const part of parts) controller.enqueue(part)
          controller.close()
        },
      }),
      'application/vnd.ipld.car',
    )
    expect(chunked.status).toBe(413)
  })

  test('error: other methods on the store are not forwarded (405)', async () => {
    const res = await fetch(`${devUrl}/store/car`, { method: 'PUT', body: 'x' })
    expect(res.status).toBe(405)
  })
})
