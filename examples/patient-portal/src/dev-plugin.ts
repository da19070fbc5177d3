/**
 * The portal's Vite plugin for local development (dev server and `vite preview`): it answers
 * `/portal-config.json` from the addresses file `medvault devnet` writes (MEDVAULT_ADDRESSES), and forwards
 * `/store/*` (CAR uploads) and `/ipfs/*` (a trustless gateway) to the devnet's shared store. The store listens
 * on loopback without CORS headers, so the page reaches it through its own origin.
 *
 * Runs in Node only (vite.config.ts); nothing here is bundled into the page.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { Readable } from 'node:stream'
import type { Connect, Plugin } from 'vite'

export interface PortalDevInit {
  /** The addresses file `medvault devnet --addresses FILE` writes; default MEDVAULT_ADDRESSES. */
  addressesFile?: string | undefined
  /** libp2p peers for the page to dial (written into the configuration); default MEDVAULT_PEERS (commas). */
  peers?: string[] | undefined
}

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

  const middleware: Connect.NextHandleFunction = (req: IncomingMessage, res: ServerResponse, next) => {
    const url = new URL(req.url ?? '/', 'http://portal')
    const forStore = url.pathname.startsWith('/store/') || url.pathname.startsWith('/ipfs/')
    if (url.pathname !== '/portal-config.json' && !forStore) return next()
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
      try {
        const upstream = await fetch(target, {
          method: req.method ?? 'GET',
          headers: { 'content-type': req.headers['content-type'] ?? 'application/octet-stream' },
          ...(req.method === 'POST' ? { body: Readable.toWeb(req) as ReadableStream, duplex: 'half' } : {}),
        } as RequestInit)
        res.writeHead(upstream.status, {
          'content-type': upstream.headers.get('content-type') ?? 'application/octet-stream',
          'cache-control': 'no-store',
        })
        res.end(Buffer.from(await upstream.arrayBuffer()))
      } catch {
        send(res, 502, 'The devnet store did not answer.')
      }
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
