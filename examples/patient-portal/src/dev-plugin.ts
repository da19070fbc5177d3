/**
 * The portal's Vite plugin for local development (dev server and `vite preview`): it answers
 * `/portal-config.json` from the addresses file `medvault devnet` writes (MEDVAULT_ADDRESSES), and forwards
 * `/store/*` (CAR uploads) and `/ipfs/*` (a trustless gateway) to the devnet's shared store. The store listens
 * on loopback without CORS headers, so the page reaches it through its own origin.
 *
 * The dev server is reachable from any page the developer opens, so the forwarding is as narrow as the portal
 * needs: `POST /store/car` with `content-type: application/vnd.ipld.car` only (not a CORS-safelisted type: a
 * cross-site page needs a preflight, which is never granted) and at most `maxCarBytes`, streamed both ways;
 * `GET`/`HEAD` for `/ipfs/*`.
 *
 * Runs in Node only (vite.config.ts); nothing here is bundled into the page.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { ReadableStream as WebReadableStream } from 'node:stream/web'
import type { Connect, Plugin } from 'vite'

export interface PortalDevInit {
  /** The addresses file `medvault devnet --addresses FILE` writes; default MEDVAULT_ADDRESSES. */
  addressesFile?: string | undefined
  /** libp2p peers for the page to dial (written into the configuration); default MEDVAULT_PEERS (commas). */
  peers?: string[] | undefined
  /** Largest CAR upload forwarded, in bytes (the devnet's store has its own cap too). @default 256 MiB */
  maxCarBytes?: number | undefined
}

const CAR_CONTENT_TYPE = 'application/vnd.ipld.car'

/** The media type of a `content-type` header, lower case and without parameters. */
const mediaType = (header: string | undefined) => (header ?? '').split(';')[0]!.trim().toLowerCase()

interface NetworkFile {
  format: string
  store?: string
  [key: string]: unknown
}

async function readNetwork(file: string): Promise<NetworkFile> {
  return JSON.parse(await readFile(file, 'utf8')) as NetworkFile
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' }).end(body)
}

/** Vite plugin: `plugins: [portalDev()]`. */
export function portalDev(init: PortalDevInit = {}): Plugin {
  const file = init.addressesFile ?? process.env.MEDVAULT_ADDRESSES
  const peers =
    init.peers ??
    (process.env.MEDVAULT_PEERS ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '')
  const maxCarBytes = init.maxCarBytes ?? 256 * 1024 * 1024

  const middleware: Connect.NextHandleFunction = (req: IncomingMessage, res: ServerResponse, next) => {
    const url = new URL(req.url ?? '/', 'http://portal')
    const forStore = url.pathname.startsWith('/store/') || url.pathname.startsWith('/ipfs/')
    if (url.pathname !== '/portal-config.json' && !forStore) return next()
    // Refused before anything is read or forwarded; `connection: close` drops the unread body.
    const refuse = (status: number, body: string) => {
      res.setHeader('connection', 'close')
      send(res, status, body)
    }
    const upload = req.method === 'POST' && url.pathname === '/store/car'
    if (forStore && !upload && req.method !== 'GET' && req.method !== 'HEAD') {
      refuse(405, 'The dev server forwards POST /store/car and GET /ipfs/* only.')
      return
    }
    if (upload && mediaType(req.headers['content-type']) !== CAR_CONTENT_TYPE) {
      refuse(415, `POST /store/car takes ${CAR_CONTENT_TYPE} only.`)
      return
    }
    if (upload && Number(req.headers['content-length'] ?? 0) > maxCarBytes) {
      refuse(413, `A CAR is at most ${maxCarBytes} bytes.`)
      return
    }
    if (file === undefined) {
      send(res, 404, 'No network: start the dev server with MEDVAULT_ADDRESSES=<the devnet addresses file>.')
      return
    }
    void (async () => {
      // Read on every request: a devnet restarted under the same file name has new ports and addresses.
      let network: NetworkFile
      try {
        network = await readNetwork(file)
      } catch {
        send(res, 503, `Cannot read ${file}: is \`medvault devnet --addresses ${file}\` running?`)
        return
      }
      if (url.pathname === '/portal-config.json') {
        // The page reaches the store through this origin (the store sends no CORS headers).
        const config = { ...network, ...(network.store === undefined ? {} : { store: '/store' }), peers }
        send(res, 200, JSON.stringify(config), 'application/json')
        return
      }
      if (network.store === undefined) {
        send(res, 404, 'The network has no shared store.')
        return
      }
      const target = `${network.store}${url.pathname.replace(/^\/store/, '')}${url.search}`
      // The body streams through, counted: a chunked upload over the cap stops being forwarded.
      let received = 0
      let over = false
      const body = upload
        ? (Readable.toWeb(req) as ReadableStream<Uint8Array>).pipeThrough(
            new TransformStream<Uint8Array, Uint8Array>({
              transform(chunk, controller) {
                received += chunk.byteLength
                if (received > maxCarBytes) {
                  over = true
                  controller.error(new RangeError('CAR over the size cap'))
                } else controller.enqueue(chunk)
              },
            }),
          )
        : undefined
      let upstream: Response
      try {
        upstream = await fetch(target, {
          method: req.method ?? 'GET',
          ...(body === undefined
            ? {}
            : { headers: { 'content-type': CAR_CONTENT_TYPE }, body, duplex: 'half' }),
        } as RequestInit)
      } catch {
        if (over) refuse(413, `A CAR is at most ${maxCarBytes} bytes.`)
        else send(res, 502, 'The devnet store did not answer.')
        return
      }
      res.writeHead(upstream.status, {
        'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
        'cache-control': 'no-store',
      })
      if (upstream.body === null) res.end()
      // A store that fails half way cuts the answer short; the reader sees a truncated, unverifiable block.
      else
        await pipeline(Readable.fromWeb(upstream.body as WebReadableStream), res).catch(() => res.destroy())
    })()
  }

  return {
    name: 'medvault-portal-dev',
    configureServer(server) {
      server.middlewares.use(middleware)
    },
    configurePreviewServer(server) {
      server.middlewares.use(middleware)
    },
  }
}
