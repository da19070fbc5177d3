/**
 * The proxy's HTTP surface (Fastify): `POST /v1/reencrypt`, `GET /v1/receipts` and `GET /v1/health`, on a port of
 * its own or on the node's shared listener. Every refusal is
 * `{ error: { code, message } }` with the refusal's status; nothing of the request (capsule hashes aside,
 * which are public) is echoed, and bodies are never logged.
 *
 * @module
 */

import { receiptsResponseBody } from '@medvault/protocol'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyPluginAsync } from 'fastify'
import type { Address } from 'viem'
import { type AccessContext, answerAccessRequest } from './access.ts'
import {
  BaseError,
  InternalProxyError,
  MalformedAccessRequestError,
  ProxyRefusalError,
  ProxyShuttingDownError,
  RateLimitedError,
  RequestBodyTooLargeError,
  RouteNotFoundError,
  UnsupportedMediaTypeError,
} from './errors.ts'
import { clientKey, type TokenBuckets } from './rate-limit.ts'
import { answerReceiptsQuery, authenticateReceiptsQuery } from './receipts-route.ts'

/** What `GET /v1/health` answers. */
export interface ProxyHealth {
  ok: true
  /** The operator address (the proxy's identity on chain). */
  address: Address
  chainId: number
  /** The last block the grant index has fully read, as a decimal string; null before the first pass. */
  indexedBlock: string | null
  /**
   * Whether the grant index keeps up with the head the RPC node reports (times and block numbers only, nothing
   * of a request).
   */
  index: ProxyIndexHealth
}

/** The grant index's liveness, as `GET /v1/health` reports it. */
export interface ProxyIndexHealth {
  /**
   * True while the index's last pass that reached the chain's head began less than `maxSyncAgeMs` ago. False
   * before the first pass, while the proxy is stopped, and while its polls fail (a node whose `eth_getLogs`
   * keeps failing, a reorganisation deeper than `confirmations`): requests are still decided, the chain's own
   * `checkAccess` being the final word, but each one then reads the grantor's and grantee's published keys
   * from the chain instead of the cache, and grants, records and revocations not yet indexed cost a catch-up.
   */
  live: boolean
  /** Milliseconds since that pass began (whole, rounded down); null before the first. */
  syncAgeMs: number | null
  /** The age past which the index is not live: three polling intervals and a second. */
  maxSyncAgeMs: number
}

/** What the proxy reports about each request: codes and ids only, never request or key bytes. */
export interface ProxyLogger {
  info?(message: string, fields: Record<string, unknown>): void
  error?(message: string, fields: Record<string, unknown>): void
}

export interface ServerInit {
  bodyLimit: number
  health: () => ProxyHealth
  /** True once `stop()` began: requests still arriving on open connections get 503 shutting_down. */
  closing: () => boolean
  logger?: ProxyLogger | undefined
  /** Per-IP buckets, taken before a body is read or a signature checked; absent: no per-IP limit. */
  ipLimit?: TokenBuckets | undefined
}

/** What the proxy's routes read on each request. */
export interface ProxyRoutesInit extends Omit<ServerInit, 'closing'> {
  /**
   * Where the proxy is in its life: `starting` (its grant index is catching up with the chain) and
   * `stopping` (also: stopped) are answered 503 without reading the request.
   */
  phase: () => 'starting' | 'running' | 'stopping'
  /** The running proxy's access context; undefined once it stopped (answered 503 shutting_down). */
  context: () => AccessContext | undefined
}

export type ProxyStartingErrorType = ProxyStartingError & { name: 'ProxyStartingError' }

/**
 * The proxy's routes are on the node's shared listener, which answers before the proxy has caught up with
 * the chain: until then it cannot decide any request, so the client asks again shortly or another proxy.
 */
export class ProxyStartingError extends ProxyRefusalError {
  override name = 'ProxyStartingError' as const

  constructor() {
    super(
      'unavailable',
      'The proxy is starting (its grant index is catching up with the chain); try again shortly or ask another proxy.',
    )
  }
}

/** A Fastify instance with the proxy's routes (not listening): the proxy on a port of its own. */
export function buildServer(ctx: AccessContext, init: ServerInit): FastifyInstance {
  const app = Fastify({
    logger: false,
    bodyLimit: init.bodyLimit,
    // Bounded waits so a slow client cannot hold a connection open.
    requestTimeout: 30_000,
    connectionTimeout: 30_000,
    keepAliveTimeout: 5_000,
    // Refused by the routes' onRequest hook instead, in the proxy's own error format.
    return503OnClosing: false,
  })
  void app.register(
    proxyRoutes({
      ...init,
      phase: () => (init.closing() ? 'stopping' : 'running'),
      context: () => ctx,
    }),
  )
  // Outside /v1 too: on its own port every path is the proxy's, answered in its format.
  app.setNotFoundHandler((_request, reply) => {
    const refusal = new RouteNotFoundError()
    reply
      .code(refusal.status)
      .header('access-control-allow-origin', '*')
      .header('cache-control', 'no-store')
      .send(errorBody(refusal))
  })
  return app
}

/**
 * The proxy's routes as a Fastify plugin, all under `/v1`: registered on a server of the proxy's own
 * ({@link buildServer}) or on the node's shared listener next to the gateway and the Pinning Service API.
 * Everything here (CORS, rate limit, JSON-as-text parsing, body limit, error format, 404 under `/v1`) is
 * scoped to these routes, so it changes nothing for the other services on the same port.
 */
export function proxyRoutes(init: ProxyRoutesInit): FastifyPluginAsync {
  return async (parent) => {
    await parent.register(async (app) => routes(app, init), { prefix: '/v1' })
  }
}

function routes(app: FastifyInstance, init: ProxyRoutesInit): void {
  // CORS: apps in browsers (the SDK's browser build) call proxies from their own origins. Any origin may ask:
  // a re-encryption request is authorized by its signature and the grant on chain, a receipts query by its
  // signature, never by cookies or other ambient credentials, so a page gains nothing by calling from another
  // origin that it could not do itself. Set first, so that refusals are readable by the page too.
  app.addHook('onRequest', async (_request, reply) => {
    reply.header('access-control-allow-origin', '*')
  })
  app.addHook('onRequest', async (request) => {
    const phase = init.phase()
    if (phase === 'stopping') throw new ProxyShuttingDownError()
    if (phase === 'starting' && request.method !== 'OPTIONS') throw new ProxyStartingError()
    // Before the body is read and before any signature is checked: a flood costs the proxy a map lookup.
    if (init.ipLimit !== undefined && request.url !== '/v1/health') {
      const wait = init.ipLimit.take(clientKey(request.ip))
      if (wait > 0) throw new RateLimitedError({ by: 'ip', retryAfterSeconds: wait })
    }
  })
  // While stopping, every answer closes its connection: a keep-alive connection that was busy when close()
  // began would otherwise hold the server open until its idle timeout.
  app.addHook('onSend', async (_request, reply, payload) => {
    if (init.phase() === 'stopping') reply.header('connection', 'close')
    return payload
  })
  // Only JSON, read as text: protocol's strict parser (exact fields, bounded size) does the parsing.
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(
    'application/json',
    { parseAs: 'string', bodyLimit: init.bodyLimit },
    (_req, body, done) => done(null, body),
  )

  // The preflight a browser sends before a JSON POST.
  app.options('/*', async (_request, reply) =>
    reply
      .code(204)
      .header('access-control-allow-methods', 'GET, POST')
      .header('access-control-allow-headers', 'content-type, accept')
      .header('access-control-max-age', '600')
      .send(),
  )
  // The body limit is the proxy's own (small: an access request is a few hundred bytes), whatever the
  // listener's default for other routes.
  app.post('/reencrypt', { bodyLimit: init.bodyLimit }, async (request, reply) => {
    const answer = await answerAccessRequest(contextOf(init), request.body)
    init.logger?.info?.('answered', { grantId: answer.receipt.grantId, recordId: answer.receipt.recordId })
    return reply.header('cache-control', 'no-store').send(answer)
  })
  app.get('/receipts', async (request, reply) => {
    // The raw query string: each parameter exactly once, as the protocol's strict parser wants it.
    const params = new URL(request.url, 'http://proxy').searchParams
    const ctx = contextOf(init)
    const query = await authenticateReceiptsQuery(ctx, params)
    const receipts = await answerReceiptsQuery(ctx, query)
    init.logger?.info?.('receipts', { count: receipts.length })
    return reply.header('cache-control', 'no-store').send(receiptsResponseBody(receipts))
  })
  app.get('/health', async (_request, reply) => reply.header('cache-control', 'no-store').send(init.health()))

  app.setNotFoundHandler((_request, reply) => {
    const refusal = new RouteNotFoundError()
    reply.code(refusal.status).send(errorBody(refusal))
  })
  app.setErrorHandler((error, _request, reply) => {
    const refusal = toRefusal(error, init.bodyLimit)
    if (
      refusal.status >= 500 &&
      !(refusal instanceof ProxyStartingError || refusal instanceof ProxyShuttingDownError)
    ) {
      init.logger?.error?.('failed', { code: refusal.code, error: describe(error) })
    } else init.logger?.info?.('refused', { code: refusal.code })
    if (refusal instanceof RateLimitedError) reply.header('retry-after', String(refusal.retryAfterSeconds))
    reply.code(refusal.status).header('cache-control', 'no-store').send(errorBody(refusal))
  })
}

/** The context of the running proxy: one that stopped between the request hook and here refuses. */
function contextOf(init: ProxyRoutesInit): AccessContext {
  const ctx = init.context()
  if (ctx === undefined) throw new ProxyShuttingDownError()
  return ctx
}

function errorBody(refusal: ProxyRefusalError): { error: { code: string; message: string } } {
  return { error: { code: refusal.code, message: refusal.shortMessage } }
}

/** Fastify's own errors (body limit, media type, empty body) and anything unexpected, as refusals. */
function toRefusal(error: unknown, bodyLimit: number): ProxyRefusalError {
  if (error instanceof ProxyRefusalError) return error
  const code = (error as Partial<FastifyError>).code
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new RequestBodyTooLargeError({ limit: bodyLimit })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new UnsupportedMediaTypeError()
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new MalformedAccessRequestError({ reason: 'the body is empty' })
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new MalformedAccessRequestError({ reason: 'the Content-Length does not match the body' })
  }
  const status = (error as Partial<FastifyError>).statusCode
  if (status === 413) return new RequestBodyTooLargeError({ limit: bodyLimit })
  if (status === 415) return new UnsupportedMediaTypeError()
  if (status !== undefined && status >= 400 && status < 500) {
    return new MalformedAccessRequestError({ reason: 'the HTTP request is malformed' })
  }
  return new InternalProxyError({ cause: error })
}

/** An unexpected error for the operator's log: its name and, for medvault errors, the short message only. */
function describe(error: unknown): string {
  if (error instanceof ProxyRefusalError) {
    const cause = error.cause
    return cause === undefined ? error.name : `${error.name} (cause: ${describe(cause)})`
  }
  if (error instanceof BaseError) return `${error.name}: ${error.shortMessage}`
  return error instanceof Error ? error.name : 'unknown'
}
