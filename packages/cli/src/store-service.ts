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
 * It listens on 127.0.0.1 only; it is a development service, not a public gateway.
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

export async function startStoreService(storage: Storage, port = 0): Promise<StoreService> {
  const handle = async (
    req: IncomingMessage,
  ): Promise<{ status: number; type: string; body: Uint8Array | string }> => {
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
      const roots = await storage.importCar(req as AsyncIterable<Uint8Array>)
      return { status: 200, type: 'application/json', body: JSON.stringify({ roots: roots.map(String) }) }
    }
    return { status: 404, type: 'text/plain', body: 'not found' }
  }
  const server: Server = createServer((req, res) => {
    handle(req).then(
      ({ status, type, body }) => {
        res.writeHead(status, { 'content-type': type }).end(body)
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
