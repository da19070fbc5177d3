/**
 * The node's HTTP listener, shared by the parts that speak HTTP (Pinning Service API, trustless gateway,
 * health and metrics). Each part registers its routes as a Fastify plugin before `start()`; the server is
 * built afresh on every start, so a stopped node can start again in the same process.
 *
 * Stopping closes the listener and lets requests in flight finish (new connections get 503).
 *
 * @module
 */
import Fastify, { type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import type { NodeLogger } from './logger.ts'
import type { NodeMetrics } from './metrics.ts'

export interface HttpServerInit {
  /** Interface to listen on. Default `127.0.0.1`. */
  host?: string | undefined
  /** Port; 0 picks a free one, which later restarts reuse. Default 0. */
  port?: number | undefined
  /** Largest request body in bytes (larger: 413). Default 65536. */
  bodyLimit?: number | undefined
  /** Longest a request may take to arrive in full, in ms. Default 30000. */
  requestTimeoutMs?: number | undefined
}

export interface HttpServerComponents {
  metrics?: NodeMetrics | undefined
  logger?: NodeLogger | undefined
}

/** A route plugin and the service name its requests are counted under. */
interface Mounted {
  service: string
  plugin: FastifyPluginAsync
}

/** The shared listener. */
export interface HttpServer {
  /** Adds routes (before `start()`); `service` labels their metrics. */
  register(service: string, plugin: FastifyPluginAsync): void
  start(): Promise<void>
  stop(): Promise<void>
  isStarted(): boolean
  /** `http://host:port` (the port is known once started). */
  readonly url: string
  readonly bodyLimit: number
}

/** Creates the listener (not started). */
export function createHttpServer(
  init: HttpServerInit = {},
  components: HttpServerComponents = {},
): HttpServer {
  return new NodeHttpServer(init, components)
}

class NodeHttpServer implements HttpServer {
  readonly #host: string
  #port: number
  readonly bodyLimit: number
  readonly #requestTimeoutMs: number
  readonly #components: HttpServerComponents
  readonly #mounted: Mounted[] = []
  #app: FastifyInstance | undefined

  constructor(init: HttpServerInit, components: HttpServerComponents) {
    this.#host = init.host ?? '127.0.0.1'
    this.#port = init.port ?? 0
    this.bodyLimit = init.bodyLimit ?? 65_536
    this.#requestTimeoutMs = init.requestTimeoutMs ?? 30_000
    this.#components = components
  }

  get url(): string {
    const host = this.#host.includes(':') ? `[${this.#host}]` : this.#host
    return `http://${host}:${this.#port}`
  }

  register(service: string, plugin: FastifyPluginAsync): void {
    if (this.#app !== undefined) throw new Error('register routes before the HTTP server starts')
    this.#mounted.push({ service, plugin })
  }

  isStarted(): boolean {
    return this.#app !== undefined
  }

  async start(): Promise<void> {
    if (this.#app !== undefined) return
    const app = Fastify({
      logger: false,
      bodyLimit: this.bodyLimit,
      // Bounded waits so slow clients cannot hold connections open.
      requestTimeout: this.#requestTimeoutMs,
      connectionTimeout: this.#requestTimeoutMs,
      keepAliveTimeout: 5_000,
      return503OnClosing: true,
      // Request ids in answers and logs are ours to choose; never echo a client's header.
      genReqId: () => crypto.randomUUID(),
    })
    const metrics = this.#components.metrics
    if (metrics !== undefined) {
      app.addHook('onResponse', async (request, reply) => {
        const service = (request.routeOptions.config as { service?: string } | undefined)?.service ?? 'none'
        metrics.httpDuration.observe(
          {
            service,
            method: request.method,
            route: request.routeOptions.url ?? 'unmatched',
            status: String(reply.statusCode),
          },
          reply.elapsedTime / 1000,
        )
      })
    }
    for (const { service, plugin } of this.#mounted) {
      await app.register(async (scope) => {
        scope.addHook('onRoute', (route) => {
          route.config = { ...(route.config as object | undefined), service }
        })
        await plugin(scope, {})
      })
    }
    app.setNotFoundHandler((_request, reply) => {
      reply
        .code(404)
        .header('cache-control', 'no-store')
        .send({ error: { reason: 'NOT_FOUND', details: 'No such route on this node.' } })
    })
    try {
      await app.listen({ host: this.#host, port: this.#port })
    } catch (err) {
      await app.close().catch(() => {})
      throw err
    }
    const address = app.server.address()
    if (address !== null && typeof address === 'object') this.#port = address.port
    this.#app = app
    this.#components.logger?.info({ url: this.url }, 'http listening')
  }

  async stop(): Promise<void> {
    const app = this.#app
    if (app === undefined) return
    this.#app = undefined
    await app.close()
  }
}
