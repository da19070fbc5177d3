/**
 * Gateways for tests, each on its own real HTTP server on 127.0.0.1, and requests to them from a chosen client
 * address. Shared by the gateway's own tests (packages/node/src/gateway-*.test.ts), so the wiring is written once.
 * It lives here, not beside them, because every file under the package's src/ but its tests is shipped.
 *
 * It imports the node's sources, not its build, so the package's unit tests exercise the code beside them.
 */
import {
  type Agent,
  type ClientRequest,
  request as httpRequest,
  type IncomingMessage,
  type OutgoingHttpHeaders,
} from 'node:http'
import { createGateway, type GatewayComponents, type GatewayInit } from '../../packages/node/src/gateway.ts'
import { createHttpServer, type HttpServer } from '../../packages/node/src/http-server.ts'

export interface GatewayServers {
  /**
   * Starts a gateway with `init` over `storage` on a server of its own; `routes` registers others beside it on
   * the same listener.
   */
  serve(
    init: GatewayInit,
    storage: GatewayComponents['storage'],
    routes?: (http: HttpServer) => void,
  ): Promise<HttpServer>
  /** Stops every server `serve` started. */
  stop(): Promise<void>
}

export function gatewayServers(): GatewayServers {
  const servers: HttpServer[] = []
  return {
    async serve(init, storage, routes) {
      const http = createHttpServer()
      const gateway = createGateway(init, { http, storage })
      routes?.(http)
      await gateway.start()
      await http.start()
      servers.push(http)
      return http
    },
    async stop() {
      await Promise.all(servers.splice(0).map((s) => s.stop()))
    },
  }
}

export interface RequestOptions {
  /**
   * The client's address (node:http, so it can be set): other loopback addresses, such as 127.0.0.2, are other
   * clients that Linux routes to the same listener. Unset: the system's choice.
   */
  localAddress?: string
  method?: string
  headers?: OutgoingHttpHeaders
  /** Default: none, a connection of the request's own. */
  agent?: Agent
}

/** Sends a request to `path` on `http`; resolves once the answer's head arrives, its body left unread. */
export function requestFrom(
  http: HttpServer,
  path: string,
  options: RequestOptions = {},
): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  const url = new URL(path, http.url)
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname + url.search,
        agent: false,
        ...options,
      },
      (res) => resolve({ req, res }),
    )
    req.on('error', reject)
    req.end()
  })
}

/** Reads an answer's body to its end, as text. */
export function readBody(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    res.on('data', (c: Buffer) => chunks.push(c))
    res.on('end', () => resolve(Buffer.concat(chunks).toString()))
    res.on('error', reject)
  })
}
