/**
 * The devnet store's upload route (`POST /car`), which the portal's dev server forwards to: over real HTTP on
 * 127.0.0.1 with real in-memory storages, it takes a CAR said to be one, and refuses a body of any other
 * content type (the kind a cross-site page can send without a preflight) and a body over the size cap.
 */
import { randomBytes } from 'node:crypto'
import { createStorage, type Storage } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type StoreService, startStoreService, uploadDag } from '../../packages/cli/src/store-service.ts'

const CAP = 16 * 1024

let devnetStorage: Storage
let pageStorage: Storage
let service: StoreService
beforeAll(async () => {
  devnetStorage = await createStorage()
  pageStorage = await createStorage()
  service = await startStoreService(devnetStorage, 0, { maxCarBytes: CAP })
})
afterAll(async () => {
  await service?.stop()
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
