/**
 * The devnet's store, shared with other processes over loopback HTTP. `medvault devnet` runs one embedded IPFS
 * store (the one its proxies read kfrag bundles and envelopes from); CLI processes keep their own store
 * directory and
 *
 * - read blocks they lack from it as a trustless gateway (`GET /ipfs/<cid>?format=raw`: every block is
 *   verified against its CID by the reader's storage), and
 * - upload what they store to it as a CAR (`POST /car`; the devnet's storage verifies every block and refuses a
 *   CAR whose roots' DAGs are incomplete) before the command registers anything on chain.
 *
 * It listens on 127.0.0.1 only; it is a development service, not a public gateway. Loopback is still reachable
 * from any web page the developer opens, so an upload must say `content-type: application/vnd.ipld.car`: not
 * a CORS-safelisted type, so a cross-site page needs a preflight, which this service never grants (it sends no
 * CORS headers). A body over `maxCarBytes` is refused (413) rather than written to the devnet's store.
 *
 * @module
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Readable } from 'node:stream'
import type { Storage } from '@medvault/storage'
import { CID } from 'multiformats/cid'
import { StoreUploadError } from './errors.ts'

export interface StoreService {
  readonly url: string
  stop(): Promise<void>
}

async function blockBytes(storage: Storage, cid: CID): Promise<Uint8Array | undefined> {
  const blockstore = storage.helia.blockstore
  if (!(await blockstore.has(cid))) return undefined
  const got: unknown = await blockstore.get(cid)
  if (got instanceof Uint8Array) return got
  // Newer blockstores yield the block in chunks.
  const chunks: Uint8Array[] = []
  for await (const chunk of got as AsyncIterable<Uint8Array>) chunks.push(chunk)
  return Buffer.concat(chunks)
}

/** The only content type `POST /car` takes. */
export const CAR_CONTENT_TYPE = 'application/vnd.ipld.car'

/** Default cap of one `POST /car` body: larger than any record the devnet is for. */
export const DEFAULT_MAX_CAR_BYTES = 256 * 1024 * 1024

export interface StoreServiceInit {
  /** Largest `POST /car` body taken, in bytes. @default DEFAULT_MAX_CAR_BYTES */
  maxCarBytes?: number
}

/** The media type of a `content-type` header, lower case and without parameters. */
const mediaType = (header: string | undefined) => (header ?? '').split(';')[0]!.trim().toLowerCase()

export async function startStoreService(
  storage: Storage,
  port = 0,
  init: StoreServiceInit = {},
): Promise<StoreService> {
  const maxCarBytes = init.maxCarBytes ?? DEFAULT_MAX_CAR_BYTES
  const handle = async (
    req: IncomingMessage,
  ): Promise<{ status: number; type: string; body: Uint8Array | string; close?: boolean }> => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    if (req.method === 'GET' && url.pathname.startsWith('/ipfs/')) {
      let cid: CID
      try {
        cid = CID.parse(url.pathname.slice('/ipfs/'.length))
      } catch {
        return { status: 400, type: 'text/plain', body: 'bad cid' }
      }
      const bytes = await blockBytes(storage, cid)
      if (bytes === undefined) return { status: 404, type: 'text/plain', body: 'not found' }
      return { status: 200, type: 'application/vnd.ipld.raw', body: bytes }
    }
    if (req.method === 'POST' && url.pathname === '/car') {
      if (mediaType(req.headers['content-type']) !== CAR_CONTENT_TYPE) {
        return {
          status: 415,
          type: 'text/plain',
          body: `POST /car takes ${CAR_CONTENT_TYPE} only`,
          close: true,
        }
      }
      const tooLarge = {
        status: 413,
        type: 'text/plain',
        body: `a CAR is at most ${maxCarBytes} bytes`,
        close: true,
      }
      const declared = Number(req.headers['content-length'] ?? 0)
      if (declared > maxCarBytes) return tooLarge
      // A chunked body declares no length: count it as it streams into the blockstore.
      let received = 0
      let over = false
      const counted = async function* () {
        for await (const chunk of req as AsyncIterable<Uint8Array>) {
          received += chunk.byteLength
          if (received > maxCarBytes) {
            over = true
            throw new RangeError('CAR over the size cap')
          }
          yield chunk
        }
      }
      try {
        const roots = await storage.importCar(counted())
        return { status: 200, type: 'application/json', body: JSON.stringify({ roots: roots.map(String) }) }
      } catch (err) {
        if (over) return tooLarge
        throw err
      }
    }
    return { status: 404, type: 'text/plain', body: 'not found' }
  }
  const server: Server = createServer((req, res) => {
    handle(req).then(
      ({ status, type, body, close }) => {
        // A refused upload's unread body is not read: the connection is closed after the answer instead.
        res.writeHead(status, { 'content-type': type, ...(close ? { connection: 'close' } : {}) }).end(body)
      },
      (err: unknown) => {
        // The storage's errors name CIDs only; no content.
        res.writeHead(422, { 'content-type': 'text/plain' }).end(err instanceof Error ? err.name : 'error')
      },
    )
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', resolve)
  })
  const { port: bound } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${bound}`,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        server.closeAllConnections()
      }),
  }
}

/** Uploads the DAG under `cid` from `storage` to a store service. */
export async function uploadDag(storage: Storage, cid: CID, storeUrl: string): Promise<void> {
  let response: Response
  try {
    response = await fetch(`${storeUrl}/car`, {
      method: 'POST',
      headers: { 'content-type': 'application/vnd.ipld.car' },
      body: Readable.toWeb(Readable.from(storage.exportCar(cid))) as ReadableStream<Uint8Array>,
      duplex: 'half',
    } as RequestInit)
  } catch (cause) {
    throw new StoreUploadError(storeUrl, 'unreachable', cause)
  }
  if (!response.ok) throw new StoreUploadError(storeUrl, `${response.status} ${await response.text()}`)
}

/**
 * The storage a CLI process works with: every put is uploaded to the devnet's store before it returns, so a
 * CID the SDK then registers on chain is already where the proxies and other readers look.
 */
export function uploadingStorage(storage: Storage, storeUrl: string): Storage {
  const after = async (cid: CID) => {
    await uploadDag(storage, cid, storeUrl)
    return cid
  }
  return new Proxy(storage, {
    get(target, property, receiver) {
      if (property === 'putBytes' || property === 'putStream' || property === 'putEnvelope') {
        return async (...args: unknown[]) => {
          const method = Reflect.get(target, property, receiver) as (...a: unknown[]) => Promise<CID>
          return after(await method.apply(target, args))
        }
      }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}
