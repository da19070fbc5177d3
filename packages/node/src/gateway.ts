/**
 * A trustless HTTP gateway (the IPFS Trustless Gateway spec): `GET` and `HEAD /ipfs/{cid}` answered as a raw
 * block (`application/vnd.ipld.raw`) or a CAR (`application/vnd.ipld.car`), chosen by `?format=raw|car`
 * or, without it, by the `Accept` header. Clients verify every byte against the CID, so they need not trust
 * this node.
 *
 * It serves only what this node holds: a raw block that is in the local blockstore, a CAR whose every
 * block is local. It never fetches from peers or gateways to answer, so nobody can use it to make the
 * node download arbitrary content (`Cache-Control: only-if-cached` is therefore always honoured: 412 when the
 * root block is not here).
 *
 * CARs are CARv1, depth-first, each block once (`version=1; order=dfs; dups=n`), for `dag-scope=all` (the
 * default), `block` (the root block only) or `entity` (the whole DAG for a UnixFS dag-pb root, the root
 * block for raw and dag-cbor). `entity-bytes` is honoured where the answer is the whole entity anyway
 * (`0:*`, or a root that is not dag-pb). What it does not do is refused before any byte is sent, with the
 * status the spec asks for: an unsupported CAR variant asked for in `Accept` is 406; a bad or unsupported
 * parameter value (`dag-scope`, `car-version`, `car-order`, `car-dups`, `format`, a malformed
 * `entity-bytes`, a path below the CID of a raw block request) or a request naming no format at all is 400;
 * a byte range inside a UnixFS file and paths below the CID of a CAR request, which the spec allows but this
 * gateway does not resolve, are 501. medvault content is addressed by the CID of each file or envelope.
 *
 * Any origin may read (CORS), so a web page (a patient portal) can fetch blocks and CARs directly: what is
 * served is content-addressed ciphertext or public data, and no request carries credentials.
 *
 * Each client IP address has a token bucket (`rateLimit`): past it, 429 with `Retry-After`, before the
 * request is parsed or the store is read, so a flood costs a map lookup per request. A whole-DAG CAR (`dag-scope`
 * `all`, or `entity` of a UnixFS root) walks and streams a whole DAG for as long as the client takes to read
 * it, so a request budget alone would let one client hold hundreds at once: such requests are also bounded
 * in number at once, per client IP address (`maxCarExportsPerClient`) and for the node (`maxCarExports`),
 * 429 with `Retry-After` past either, before any block is read. Raw blocks and `dag-scope=block` CARs (one
 * block each) are under the request budget only.
 *
 * @module
 */
import type { Socket } from 'node:net'
import { addAbortSignal, Readable } from 'node:stream'
import { CarWriter } from '@ipld/car/writer'
import { CID, type Storage } from '@medvault/storage'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { cidProblem } from './cid-check.ts'
import {
  GatewayBadRequestError,
  GatewayError,
  GatewayNotAcceptableError,
  GatewayNotFoundError,
  GatewayRateLimitedError,
} from './daemon-errors.ts'
import type { HttpServer } from './http-server.ts'
import { errorField, type NodeLogger, silentLogger } from './logger.ts'
import type { NodeMetrics } from './metrics.ts'
import { clientKey, createTokenBuckets, type RateLimit, type TokenBuckets } from './rate-limit.ts'

export interface GatewayInit {
  /** `Cache-Control` max-age for answers, in seconds (content addressed: they never change). Default 29030400. */
  maxAgeSeconds?: number | undefined
  /**
   * Requests per client IP address (the connection's address): `burst` at once, `perSecond` on average; past
   * it, 429 with `Retry-After`. `false` for none. Default `{ perSecond: 500, burst: 1000 }`: a client reading
   * a large record block by block stays well inside it.
   */
  rateLimit?: RateLimit | false | undefined
  /**
   * Whole-DAG CAR requests (`dag-scope` `all` or `entity`, GET or HEAD) one client IP address (an IPv6 one: its
   * /64, as `rateLimit`) may have in progress at once; past it, 429 with `Retry-After`. A request counts until
   * its response has been sent or its client went away. `false` for no per-client bound. Default 4.
   */
  maxCarExportsPerClient?: number | false | undefined
  /** Whole-DAG CAR requests in progress at once for all clients together; as `maxCarExportsPerClient`. Default 32. */
  maxCarExports?: number | false | undefined
}

/** Default per-IP gateway limit. */
export const GATEWAY_RATE_LIMIT: RateLimit = { perSecond: 500, burst: 1000 }

/** Default whole-DAG CAR exports at once per client IP address. */
export const GATEWAY_MAX_CAR_EXPORTS_PER_CLIENT = 4

/** Default whole-DAG CAR exports at once for the whole node. */
export const GATEWAY_MAX_CAR_EXPORTS = 32

/**
 * The wait suggested to a client refused an export slot. A slot frees whenever some export ends, which
 * cannot be foreseen; the request budget still bounds how often a client may ask again.
 */
const EXPORT_RETRY_AFTER_SECONDS = 1

export interface GatewayComponents {
  http: HttpServer
  storage: Pick<Storage, 'helia' | 'stat' | 'isPinned' | 'exportCar'>
  logger?: NodeLogger | undefined
  metrics?: NodeMetrics | undefined
}

export interface Gateway {
  start(): Promise<void>
  stop(): Promise<void>
  isStarted(): boolean
}

/** Creates the gateway and registers `GET /ipfs/*` on `components.http` (before the server starts). */
export function createGateway(init: GatewayInit, components: GatewayComponents): Gateway {
  return new TrustlessGateway(init, components)
}

const RAW = 'application/vnd.ipld.raw'
const CAR = 'application/vnd.ipld.car'
const CAR_TYPE = `${CAR}; version=1; order=dfs; dups=n`
const DAG_PB = 0x70
const IDENTITY = 0x00

type Format = 'raw' | 'car'
type Scope = 'all' | 'entity' | 'block'

/** The response headers a page's script may read besides the CORS-safelisted ones. */
const EXPOSED_HEADERS = [
  'content-length',
  'content-disposition',
  'content-location',
  'etag',
  'x-ipfs-path',
  'x-ipfs-roots',
  'x-content-type-options',
  'retry-after',
].join(', ')

class TrustlessGateway implements Gateway {
  readonly #maxAge: number
  readonly #components: GatewayComponents
  readonly #log: NodeLogger
  readonly #buckets: TokenBuckets | undefined
  readonly #exports: ExportSlots
  #started = false

  constructor(init: GatewayInit, components: GatewayComponents) {
    this.#maxAge = init.maxAgeSeconds ?? 29_030_400
    const limit = init.rateLimit ?? GATEWAY_RATE_LIMIT
    if (limit !== false) checkRateLimit(limit)
    this.#buckets = limit === false ? undefined : createTokenBuckets(limit)
    this.#exports = new ExportSlots(
      checkBound(init.maxCarExportsPerClient, GATEWAY_MAX_CAR_EXPORTS_PER_CLIENT, 'maxCarExportsPerClient'),
      checkBound(init.maxCarExports, GATEWAY_MAX_CAR_EXPORTS, 'maxCarExports'),
    )
    this.#components = components
    this.#log = components.logger ?? silentLogger()
    components.http.register('gateway', async (app) => this.#routes(app))
  }

  async start(): Promise<void> {
    this.#started = true
  }

  async stop(): Promise<void> {
    this.#started = false
  }

  isStarted(): boolean {
    return this.#started
  }

  #routes(app: FastifyInstance): void {
    app.setErrorHandler((error, _request, reply) => {
      const refusal =
        error instanceof GatewayError ? error : new GatewayError(500, 'Unexpected error.', { cause: error })
      this.#components.metrics?.refusals.inc({ service: 'gateway', reason: String(refusal.status) })
      if (refusal.status >= 500) this.#log.error({ error: errorField(error) }, 'gateway failed')
      if (refusal instanceof GatewayRateLimitedError)
        reply.header('retry-after', String(refusal.retryAfterSeconds))
      reply
        .code(refusal.status)
        .header('content-type', 'text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(`${refusal.shortMessage}\n`)
    })
    // Set first, so that refusals are readable by the page too.
    app.addHook('onRequest', async (_request, reply) => {
      reply
        .header('access-control-allow-origin', '*')
        .header('access-control-expose-headers', EXPOSED_HEADERS)
    })
    // After the CORS headers (a page can read the 429) and before anything else is looked at.
    const buckets = this.#buckets
    if (buckets !== undefined) {
      app.addHook('onRequest', async (request) => {
        const wait = buckets.take(clientKey(request.ip))
        if (wait > 0) throw new GatewayRateLimitedError({ retryAfterSeconds: wait })
      })
    }
    // The preflight a browser sends when a page adds a header that is not CORS-safelisted (If-None-Match,
    // Cache-Control: only-if-cached).
    app.options('/ipfs/*', async (_request, reply) =>
      reply
        .code(204)
        .header('access-control-allow-methods', 'GET, HEAD, OPTIONS')
        .header('access-control-allow-headers', 'accept, cache-control, if-none-match')
        .header('access-control-max-age', '86400')
        .send(),
    )
    app.get('/ipfs/*', async (request, reply) => this.#answer(request, reply))
  }

  async #answer(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (!this.#started) throw new GatewayError(503, 'The gateway is not serving right now; try again.')
    const url = new URL(request.url, 'http://localhost')
    const [cidText, ...rest] = url.pathname.slice('/ipfs/'.length).split('/')
    if (cidText === undefined || cidText === '')
      throw new GatewayBadRequestError('Missing CID: use /ipfs/{cid}.')
    let cid: CID
    try {
      cid = CID.parse(decodeURIComponent(cidText))
    } catch {
      throw new GatewayBadRequestError(`Invalid CID ${JSON.stringify(cidText.slice(0, 100))}.`)
    }
    const problem = cidProblem(cid)
    if (problem !== undefined) throw new GatewayBadRequestError(`The CID ${cid} is refused: ${problem}.`)
    const { format, fromAccept } = chooseFormat(request.headers.accept, url.searchParams)
    const path = rest.some((p) => p !== '')
    if (path && format === 'raw') {
      throw new GatewayBadRequestError(
        'A raw block is requested by its CID alone (/ipfs/{cid}): no path below it.',
      )
    }
    const scope = format === 'car' ? carScope(cid, url.searchParams) : 'block'
    if (format === 'car') checkCarVariant(request.headers.accept, url.searchParams)
    if (path) {
      throw new GatewayError(
        501,
        'Paths below a CID are not resolved by this gateway: request the CID of the block or DAG itself.',
      )
    }
    // A whole-DAG CAR takes an export slot before any block is read (the If-None-Match and HEAD checks walk
    // the DAG too when it is not pinned), and holds it until the response is done or the client is gone.
    const release =
      format === 'car' && wholeDag(cid, scope) ? this.#exports.take(clientKey(request.ip)) : undefined
    // A client that goes away stops the work its request started (a DAG walk is not free).
    const gone = new AbortController()
    untilDone(request, reply, {
      done: () => release?.(),
      gone: () => {
        release?.()
        gone.abort()
      },
    })
    const etag = format === 'raw' ? `"${cid}.raw"` : `"${cid}.car.${scope}"`
    reply
      .header('x-ipfs-path', `/ipfs/${cid}`)
      .header('x-ipfs-roots', cid.toString())
      .header('vary', 'Accept')
      .header('x-content-type-options', 'nosniff')
      .header('etag', etag)
    if (fromAccept) {
      // The URL that names this answer whatever the Accept header (for caches), as the spec recommends.
      const named = new URLSearchParams(url.searchParams)
      named.set('format', format)
      reply.header('content-location', `/ipfs/${cid}?${named}`)
    }
    if (onlyIfCached(request.headers['cache-control']) && !(await this.#holdsRoot(cid))) {
      throw new GatewayError(412, `This node does not hold the block ${cid} (only-if-cached).`)
    }
    if (
      request.headers['if-none-match'] === etag &&
      (await this.#holds(cid, format === 'car', gone.signal))
    ) {
      return reply.code(304).header('cache-control', this.#cacheControl()).send()
    }
    const head = request.method === 'HEAD'
    return format === 'raw' ? this.#raw(cid, reply, head) : this.#car(cid, scope, reply, head, gone.signal)
  }

  async #holdsRoot(cid: CID): Promise<boolean> {
    return this.#holds(cid, false)
  }

  #cacheControl(): string {
    return `public, max-age=${this.#maxAge}, immutable`
  }

  async #holds(cid: CID, whole: boolean, signal?: AbortSignal): Promise<boolean> {
    if (cid.multihash.code === IDENTITY) return true
    try {
      if (whole) {
        // A pin is only recorded once its whole DAG is local: one lookup instead of a walk of every block,
        // which a stream of HEAD or If-None-Match requests could otherwise make the node repeat at will.
        const { storage } = this.#components
        if (await storage.isPinned(cid, signal === undefined ? {} : { signal })) return true
        return (await storage.stat(cid, signal === undefined ? {} : { signal })).local
      }
      return await this.#components.storage.helia.blockstore.has(cid)
    } catch (err) {
      throw asGatewayError(err, cid)
    }
  }

  async #block(cid: CID): Promise<Uint8Array> {
    if (cid.multihash.code === 0x00) return cid.multihash.digest
    if (!(await this.#holds(cid, false)))
      throw new GatewayNotFoundError({ cid: cid.toString(), whole: false })
    try {
      // offline: never ask the network for a block to answer a gateway request.
      const chunks: Uint8Array[] = []
      for await (const chunk of toAsync(
        this.#components.storage.helia.blockstore.get(cid, { offline: true }),
      )) {
        chunks.push(chunk)
      }
      return concat(chunks)
    } catch (err) {
      throw asGatewayError(err, cid)
    }
  }

  async #raw(cid: CID, reply: FastifyReply, head: boolean): Promise<FastifyReply> {
    const bytes = await this.#block(cid)
    reply
      .code(200)
      .header('content-type', RAW)
      .header('content-length', String(bytes.length))
      .header('cache-control', this.#cacheControl())
      .header('content-disposition', `attachment; filename="${cid}.bin"`)
    return head ? reply.send() : reply.send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  }

  async #car(
    cid: CID,
    scope: Scope,
    reply: FastifyReply,
    head: boolean,
    signal: AbortSignal,
  ): Promise<FastifyReply> {
    const whole = wholeDag(cid, scope)
    let body: (() => AsyncIterable<Uint8Array>) | undefined
    if (cid.multihash.code === IDENTITY) {
      // The data is in the CID: the CAR names it as its root and carries no block (the spec forbids
      // identity blocks in CARs; `bafkqaaa` is how clients probe for a trustless gateway).
      body = () => carOf(cid, undefined)
    } else if (whole) {
      if (!(await this.#holds(cid, true, signal)))
        throw new GatewayNotFoundError({ cid: cid.toString(), whole: true })
      body = () => this.#components.storage.exportCar(cid, { signal })
    } else {
      const bytes = await this.#block(cid)
      body = () => carOf(cid, bytes)
    }
    reply
      .code(200)
      .header('content-type', CAR_TYPE)
      .header('cache-control', this.#cacheControl())
      .header('content-disposition', `attachment; filename="${cid}.car"`)
    if (head) return reply.send()
    // The signal ends the stream, and with it the walk (a walk waiting for its reader to pull is woken by
    // nothing else): a response queued behind another on a socket that closed is never closed by Fastify.
    return reply.send(addAbortSignal(signal, Readable.from(body(), { objectMode: false })))
  }
}

/** True when a CAR of `scope` under `cid` is the whole DAG (walked block by block), not one block. */
function wholeDag(cid: CID, scope: Scope): boolean {
  if (cid.multihash.code === IDENTITY) return false
  return scope === 'all' || (scope === 'entity' && cid.code === DAG_PB)
}

/**
 * Calls `on.done` when the response is finished, or `on.gone` when it closes first or its socket closes,
 * whichever comes first, once. The socket matters for HTTP/1.1 pipelining: a request queued behind another
 * on a socket that then closes never has its response attached to the socket, so that response never emits
 * 'close' or 'finish'. All listeners are removed on the first of these, so a keep-alive socket serving many
 * requests keeps none.
 */
function untilDone(
  request: FastifyRequest,
  reply: FastifyReply,
  on: { done: () => void; gone: () => void },
): void {
  const res = reply.raw
  const socket = request.raw.socket
  // Already closed (it closed while earlier hooks ran): its 'close' has been emitted and will not come again.
  if (socket == null || socket.destroyed) {
    on.gone()
    return
  }
  let unwatch = () => {}
  const end = (then: () => void) => () => {
    res.off('finish', finished)
    res.off('close', closed)
    unwatch()
    then()
  }
  const finished = end(on.done)
  const closed = end(on.gone)
  res.once('finish', finished)
  res.once('close', closed)
  unwatch = watchSocketClose(socket, closed)
}

/** Per socket, the callbacks of its requests in progress and the one 'close' listener that calls them. */
const socketWatchers = new WeakMap<Socket, { fns: Set<() => void>; onClose: () => void }>()

/**
 * Calls `fn` when `socket` closes; the returned function stops watching. One listener per socket whatever
 * the number of requests pipelined on it (many listeners would print Node's possible-leak warning), and none
 * once no request of the socket is in progress.
 */
function watchSocketClose(socket: Socket, fn: () => void): () => void {
  let entry = socketWatchers.get(socket)
  if (entry === undefined) {
    const fns = new Set<() => void>()
    const onClose = () => {
      socketWatchers.delete(socket)
      for (const watcher of [...fns]) watcher()
    }
    socket.once('close', onClose)
    entry = { fns, onClose }
    socketWatchers.set(socket, entry)
  }
  const mine = entry
  mine.fns.add(fn)
  return () => {
    mine.fns.delete(fn)
    if (mine.fns.size > 0 || socketWatchers.get(socket) !== mine) return
    socket.off('close', mine.onClose)
    socketWatchers.delete(socket)
  }
}

/**
 * Whole-DAG CAR exports in progress, per client key and in all. A key is forgotten when its count falls back
 * to 0, so the map never holds more keys than the node-wide bound (or than exports in progress).
 */
class ExportSlots {
  readonly #perClient: number
  readonly #total: number
  readonly #byClient = new Map<string, number>()
  #inUse = 0

  constructor(perClient: number, total: number) {
    this.#perClient = perClient
    this.#total = total
  }

  /**
   * Takes a slot for `key`, or throws the 429 to answer. The returned release frees it once, however often it
   * is called (a response both finishes and closes).
   */
  take(key: string): () => void {
    const held = this.#byClient.get(key) ?? 0
    if (held >= this.#perClient) {
      throw new GatewayRateLimitedError({
        retryAfterSeconds: EXPORT_RETRY_AFTER_SECONDS,
        limit: 'client-car-exports',
      })
    }
    if (this.#inUse >= this.#total) {
      throw new GatewayRateLimitedError({
        retryAfterSeconds: EXPORT_RETRY_AFTER_SECONDS,
        limit: 'node-car-exports',
      })
    }
    this.#byClient.set(key, held + 1)
    this.#inUse++
    let released = false
    return () => {
      if (released) return
      released = true
      this.#inUse--
      const left = (this.#byClient.get(key) ?? 1) - 1
      if (left <= 0) this.#byClient.delete(key)
      else this.#byClient.set(key, left)
    }
  }
}

interface MediaRange {
  type: string
  q: number
  params: Map<string, string>
}

/** An Accept header's media ranges (RFC 9110 12.5.1), types and parameter names lowercased. */
function mediaRanges(accept: string | undefined): MediaRange[] {
  const ranges: MediaRange[] = []
  for (const part of (accept ?? '').split(',')) {
    const [type = '', ...attrs] = part.split(';').map((s) => s.trim())
    if (type === '') continue
    const params = new Map<string, string>()
    let q = 1
    for (const attr of attrs) {
      const at = attr.indexOf('=')
      if (at < 0) continue
      const name = attr.slice(0, at).trim().toLowerCase()
      const value = attr
        .slice(at + 1)
        .trim()
        .replace(/^"(.*)"$/, '$1')
      if (name === 'q') q = Number(value)
      else params.set(name, value.toLowerCase())
    }
    ranges.push({ type: type.toLowerCase(), q: Number.isFinite(q) ? q : 0, params })
  }
  return ranges
}

/** True for a CAR variant this gateway answers with: CARv1, depth-first (or any order), each block once. */
function servableCar(params: Map<string, string>): boolean {
  const version = params.get('version')
  const order = params.get('order')
  const dups = params.get('dups')
  return (
    (version === undefined || version === '1') &&
    (order === undefined || order === 'dfs' || order === 'unk') &&
    (dups === undefined || dups === 'n')
  )
}

/**
 * Which response type the client asked for. `format` takes precedence over `Accept`, as the spec says;
 * without it, the most preferred raw block or servable CAR in `Accept`. No format and no usable `Accept`:
 * 400 when nothing specific was asked for (no header, or only wildcards: strict trustless mode), 406 when
 * only types or CAR variants this gateway does not produce were.
 */
function chooseFormat(
  accept: string | undefined,
  params: URLSearchParams,
): { format: Format; fromAccept: boolean } {
  const format = params.get('format')
  if (format === 'raw' || format === 'car') return { format, fromAccept: false }
  if (format !== null) {
    throw new GatewayBadRequestError(
      `Unsupported format ${JSON.stringify(format.slice(0, 32))}: use raw or car.`,
    )
  }
  const ranges = mediaRanges(accept)
  const best = ranges
    .filter((r) => r.q > 0 && (r.type === RAW || (r.type === CAR && servableCar(r.params))))
    .sort((a, b) => b.q - a.q)[0]
  if (best !== undefined) return { format: best.type === RAW ? 'raw' : 'car', fromAccept: true }
  if (ranges.every((r) => r.type === '*/*' || r.type === 'application/*')) {
    throw new GatewayBadRequestError(
      'No response format asked for: this trustless gateway answers application/vnd.ipld.raw or application/vnd.ipld.car (Accept header, or ?format=raw|car).',
    )
  }
  throw new GatewayNotAcceptableError()
}

/**
 * The CAR variant asked for, which must be one this gateway produces: `car-version`, `car-order` and
 * `car-dups` in the URL (which take precedence) are 400 when unsupported; CAR ranges in `Accept` of which
 * none is servable are 406.
 */
function checkCarVariant(accept: string | undefined, params: URLSearchParams): void {
  const wanted: Array<[string, string, (v: string) => boolean, string]> = [
    ['car-version', 'version', (v) => v === '1', 'only CARv1 is served (car-version=1)'],
    ['car-order', 'order', (v) => v === 'dfs' || v === 'unk', 'blocks come depth-first (car-order=dfs)'],
    ['car-dups', 'dups', (v) => v === 'n', 'each block is sent once (car-dups=n)'],
  ]
  const fromUrl = new Set<string>()
  for (const [name, param, ok, what] of wanted) {
    const value = params.get(name)
    if (value === null) continue
    if (!ok(value.toLowerCase())) {
      throw new GatewayBadRequestError(`Unsupported ${name}=${JSON.stringify(value.slice(0, 16))}: ${what}.`)
    }
    fromUrl.add(param)
  }
  const cars = mediaRanges(accept).filter((r) => r.type === CAR && r.q > 0)
  if (cars.length === 0) return
  const servable = cars.some((r) => {
    const rest = new Map([...r.params].filter(([k]) => !fromUrl.has(k)))
    return servableCar(rest)
  })
  if (!servable) throw new GatewayNotAcceptableError()
}

/**
 * `dag-scope`, and `entity-bytes` where it asks for no less than the whole entity: `0:*`, or any range of a
 * root that is not a UnixFS dag-pb node (the spec: such a range is ignored, as `dag-scope=entity`; a raw
 * block is its own only block).
 */
function carScope(cid: CID, params: URLSearchParams): Scope {
  const scope = params.get('dag-scope') ?? 'all'
  if (scope !== 'all' && scope !== 'entity' && scope !== 'block') {
    throw new GatewayBadRequestError(
      `Unsupported dag-scope ${JSON.stringify(scope.slice(0, 32))}: use all, entity or block.`,
    )
  }
  const range = params.get('entity-bytes')
  if (range === null) return scope
  const match = /^(-?\d{1,16}):(\*|-?\d{1,16})$/.exec(range)
  if (match === null) {
    throw new GatewayBadRequestError(
      `Malformed entity-bytes ${JSON.stringify(range.slice(0, 40))}: use from:to (integers, to may be *).`,
    )
  }
  const [, from, to] = match
  if (Number(from) >= 0 && to !== '*' && Number(to) >= 0 && Number(to) < Number(from)) {
    throw new GatewayBadRequestError(`entity-bytes ${range} is an empty range (to before from).`)
  }
  if (cid.code !== DAG_PB || (from === '0' && to === '*')) return 'entity'
  throw new GatewayError(
    501,
    'Byte ranges inside a UnixFS file (entity-bytes other than 0:*) are not served by this gateway: ask for the whole entity.',
  )
}

/** True when the request's Cache-Control says only-if-cached. */
function onlyIfCached(header: string | undefined): boolean {
  return (header ?? '').split(',').some((d) => d.trim().toLowerCase() === 'only-if-cached')
}

function asGatewayError(err: unknown, cid: CID): GatewayError {
  if (err instanceof GatewayError) return err
  const name = (err as { name?: unknown } | null)?.name
  if (name === 'UnverifiableCidError') {
    return new GatewayBadRequestError(
      `The CID ${cid} cannot be verified (truncated digest or unknown hash).`,
      {
        cause: err,
      },
    )
  }
  if (name === 'NotFoundError' || name === 'BlockNotFoundWhileOfflineError') {
    return new GatewayNotFoundError({ cid: cid.toString(), whole: false })
  }
  if (name === 'NotAFileError')
    return new GatewayBadRequestError(`The CID ${cid} has a codec this node cannot walk.`)
  return new GatewayError(500, 'Unexpected error.', { cause: err })
}

/** A CARv1 with `cid` as its root and, unless undefined, its one block. */
async function* carOf(cid: CID, bytes: Uint8Array | undefined): AsyncGenerator<Uint8Array> {
  const { writer, out } = CarWriter.create([cid])
  const done = (async () => {
    if (bytes !== undefined) await writer.put({ cid, bytes })
    await writer.close()
  })()
  yield* out
  await done
}

async function* toAsync(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array> | Promise<Uint8Array> | Uint8Array,
): AsyncGenerator<Uint8Array> {
  const value = await source
  if (value instanceof Uint8Array) {
    yield value
    return
  }
  yield* value as AsyncIterable<Uint8Array>
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let at = 0
  for (const c of chunks) {
    out.set(c, at)
    at += c.length
  }
  return out
}

/** A bound on exports at once: a positive integer, `false` for none (infinite), the default when undefined. */
function checkBound(value: number | false | undefined, fallback: number, name: string): number {
  if (value === undefined) return fallback
  if (value === false) return Number.POSITIVE_INFINITY
  if (!Number.isSafeInteger(value) || value < 1) {
    throw new RangeError(`gateway ${name}: expected an integer of at least 1, or false for no bound.`)
  }
  return value
}

function checkRateLimit(limit: RateLimit): void {
  const ok = (n: unknown, min: number) => typeof n === 'number' && Number.isFinite(n) && n >= min
  if (!ok(limit.perSecond, Number.MIN_VALUE) || !ok(limit.burst, 1) || !Number.isSafeInteger(limit.burst)) {
    throw new RangeError('gateway rateLimit: perSecond must be above 0 and burst an integer of at least 1.')
  }
}
