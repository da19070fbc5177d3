/**
 * The IPFS Pinning Service API v1 (`GET/POST /pins`, `GET/POST/DELETE /pins/{requestid}`) over the node's
 * pin store and pinner: what Kubo's `ipfs pin remote`, Helia's remote pinning and any generated client speak.
 *
 * - Bearer tokens (see `token-store.ts`); each token name sees and changes only the requests made with it.
 * - Requests are checked against the spec's own schemas (`psa-spec.ts`), plus what the spec states in prose:
 *   a CID this node can verify (sha2-256, or a short identity hash; dag-pb, raw or dag-cbor), origins that
 *   are multiaddrs ending in `/p2p/<peer>`. Every answer is checked against the spec before it is sent.
 * - Lifecycle `queued` → `pinning` → `pinned` | `failed`; `delegates` are this node's own libp2p addresses.
 * - Listing: `cid` (CIDv0 and CIDv1 forms match each other), `name` with `match` (exact, iexact, partial,
 *   ipartial), `status` (default `pinned`), `before`/`after`, `limit` (1–1000, default 10), `meta`
 *   (a URL-encoded JSON object, as the spec says, or `meta[key]=value` pairs, as the generated JS client
 *   sends them), newest first, `count` being every match.
 * - Refusals are the spec's `Failure` (`{ error: { reason, details } }`) with a 4xx status; a token may have at
 *   most `maxPendingPerToken` requests queued or pinning (429 above), so a flood cannot grow the queue
 *   without bound.
 * - `meta.maxBytes` (a whole number of bytes, in decimal) is the most this request may fetch and keep: past it
 *   the request is `failed`, as the DAG is fetched, not after. It can only make the client's own pin stricter
 *   (the lower of it and any bound of the node applies; another request for the same CID is unaffected), so
 *   it is honoured: it is what a medvault node replicating to this one sends, the bound it pinned under. Any
 *   other value is a 400, rather than a bound silently not applied.
 *
 * @module
 */
import type { Storage } from '@medvault/storage'
import { multiaddr } from '@multiformats/multiaddr'
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { CID } from 'multiformats/cid'
import { cidProblem } from './cid-check.ts'
import {
  PinNotFoundError,
  PinningApiError,
  PinningBadRequestError,
  PinningBodyTooLargeError,
  PinningInternalError,
  PinningUnauthorizedError,
  PinningUnavailableError,
  PinningUnsupportedMediaTypeError,
  TooManyPendingPinsError,
} from './daemon-errors.ts'
import type { HttpServer } from './http-server.ts'
import { errorField, type NodeLogger, silentLogger } from './logger.ts'
import type { NodeMetrics } from './metrics.ts'
import { cidKey, type NewPin, type PinRecord, type PinStore, parseTimeUs } from './pin-store.ts'
import { byteLimitOf, type Pinner } from './pinner.ts'
import {
  describeSchemaError,
  type PsaPin,
  type PsaPinResults,
  type PsaPinStatus,
  type PsaStatus,
  psaValidators,
} from './psa-spec.ts'
import type { TokenStore } from './token-store.ts'

export interface PinningServiceInit {
  /** Most requests one token may have queued or pinning at once (429 above). Default 1000. */
  maxPendingPerToken?: number | undefined
  /**
   * The addresses answered as `delegates` (`/ip4/…/tcp/…/p2p/<peer>`). Default: the content store's own
   * libp2p addresses. The spec requires at least one.
   */
  delegates?: readonly string[] | undefined
}

export interface PinningServiceComponents {
  http: HttpServer
  pins: PinStore
  pinner: Pinner
  tokens: TokenStore
  storage: Pick<Storage, 'multiaddrs'>
  logger?: NodeLogger | undefined
  metrics?: NodeMetrics | undefined
}

export interface PinningService {
  start(): Promise<void>
  stop(): Promise<void>
  isStarted(): boolean
  /** The delegates answered with every status. */
  delegates(): string[]
}

/** Owners of API requests are token names; internal owners carry a prefix no token name can have. */
export const API_OWNER_PREFIX = 'token:'

/**
 * Creates the Pinning Service API and registers its routes on `components.http` (call before the HTTP
 * server starts). Until `start()`, and after `stop()`, the routes answer 503.
 */
export function createPinningService(
  init: PinningServiceInit,
  components: PinningServiceComponents,
): PinningService {
  return new PinningApi(init, components)
}

class PinningApi implements PinningService {
  readonly #maxPending: number
  readonly #configuredDelegates: readonly string[] | undefined
  readonly #components: PinningServiceComponents
  readonly #log: NodeLogger
  #started = false

  constructor(init: PinningServiceInit, components: PinningServiceComponents) {
    this.#maxPending = init.maxPendingPerToken ?? 1000
    this.#configuredDelegates = init.delegates
    this.#components = components
    this.#log = components.logger ?? silentLogger()
    psaValidators()
    components.http.register('pinning', async (app) => this.#routes(app))
  }

  isStarted(): boolean {
    return this.#started
  }

  async start(): Promise<void> {
    if (this.delegates().length === 0) {
      throw new Error(
        'the Pinning Service API needs at least one delegate address: run the content store networked, or configure delegates',
      )
    }
    this.#started = true
  }

  async stop(): Promise<void> {
    this.#started = false
  }

  delegates(): string[] {
    const all = this.#configuredDelegates ?? this.#components.storage.multiaddrs()
    return [...new Set(all.filter((a) => /\/p2p\/[^/]+$/.test(a)))].slice(0, 20)
  }

  #routes(app: FastifyInstance): void {
    app.removeAllContentTypeParsers()
    app.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) =>
      done(null, body),
    )
    app.setErrorHandler((error, _request, reply) =>
      this.#refuse(reply, toApiError(error, this.#components.http.bodyLimit)),
    )

    const owner = async (request: FastifyRequest): Promise<string> => {
      if (!this.#started) throw new PinningUnavailableError()
      const header = request.headers.authorization
      const match = typeof header === 'string' ? /^Bearer ([^\s]+)$/i.exec(header.trim()) : null
      const name = match === null ? undefined : await this.#components.tokens.verify(match[1]!)
      if (name === undefined) throw new PinningUnauthorizedError()
      return `${API_OWNER_PREFIX}${name}`
    }

    app.get('/pins', async (request, reply) => {
      const who = await owner(request)
      const query = parseListQuery(request.url)
      const matches = this.#list(who, query)
      const body: PsaPinResults = {
        count: matches.length,
        results: matches.slice(0, query.limit).map((r) => this.#status(r)),
      }
      return this.#send(reply, 200, body, 'pinResults')
    })

    app.post('/pins', async (request, reply) => {
      const who = await owner(request)
      const pin = parsePinBody(request.body)
      this.#checkPending(who)
      const record = await this.#components.pins.add({ ...pin, owner: who })
      this.#components.pinner.enqueue(record.requestid)
      this.#log.info({ requestid: record.requestid, cid: record.key }, 'pin requested')
      return this.#send(reply, 202, this.#status(record), 'pinStatus')
    })

    app.get('/pins/:requestid', async (request, reply) => {
      const who = await owner(request)
      const record = this.#own(who, (request.params as { requestid: string }).requestid)
      return this.#send(reply, 200, this.#status(record), 'pinStatus')
    })

    app.post('/pins/:requestid', async (request, reply) => {
      const who = await owner(request)
      const old = this.#own(who, (request.params as { requestid: string }).requestid)
      const pin = parsePinBody(request.body)
      if (old.status !== 'queued' && old.status !== 'pinning') this.#checkPending(who)
      const { pins, pinner } = this.#components
      const record = await pins.replace(old.requestid, { ...pin, owner: who })
      await pinner.cancel(old.requestid)
      pinner.enqueue(record.requestid)
      if (old.key !== record.key) await pinner.release(old.cid)
      this.#log.info(
        { requestid: record.requestid, replaced: old.requestid, cid: record.key },
        'pin replaced',
      )
      return this.#send(reply, 202, this.#status(record), 'pinStatus')
    })

    app.delete('/pins/:requestid', async (request, reply) => {
      const who = await owner(request)
      const record = this.#own(who, (request.params as { requestid: string }).requestid)
      const { pins, pinner } = this.#components
      await pins.remove(record.requestid)
      await pinner.cancel(record.requestid)
      await pinner.release(record.cid)
      this.#log.info({ requestid: record.requestid, cid: record.key }, 'pin removed')
      return reply.code(202).header('cache-control', 'no-store').send()
    })
  }

  #own(owner: string, requestid: string): PinRecord {
    const record = this.#components.pins.get(requestid)
    if (record === undefined || record.owner !== owner) throw new PinNotFoundError({ requestid })
    return record
  }

  #checkPending(owner: string): void {
    let pending = 0
    for (const r of this.#components.pins.byOwner(owner)) {
      if (r.status === 'queued' || r.status === 'pinning') pending++
    }
    if (pending >= this.#maxPending) throw new TooManyPendingPinsError({ limit: this.#maxPending })
  }

  #list(owner: string, q: ListQuery): PinRecord[] {
    const out: PinRecord[] = []
    for (const r of this.#components.pins.byOwner(owner)) {
      if (!q.status.has(r.status)) continue
      if (q.cids !== undefined && !q.cids.has(r.key)) continue
      if (q.before !== undefined && !(r.createdUs < q.before)) continue
      if (q.after !== undefined && !(r.createdUs > q.after)) continue
      if (q.name !== undefined && !matchName(r.name, q.name, q.match)) continue
      if (q.meta !== undefined && !Object.entries(q.meta).every(([k, v]) => r.meta?.[k] === v)) continue
      out.push(r)
    }
    return out
  }

  #status(r: PinRecord): PsaPinStatus {
    const pin: PsaPin = { cid: r.cid }
    if (r.name !== undefined) pin.name = r.name
    if (r.origins !== undefined) pin.origins = [...r.origins]
    if (r.meta !== undefined) pin.meta = { ...r.meta }
    return {
      requestid: r.requestid,
      status: r.status,
      created: r.created,
      pin,
      delegates: this.delegates(),
      ...(r.info === undefined ? {} : { info: { ...r.info } }),
    }
  }

  /** Sends an answer after checking it against the spec: a bug here must not reach a client as valid data. */
  #send(reply: FastifyReply, code: number, body: unknown, schema: 'pinStatus' | 'pinResults'): FastifyReply {
    const validate = psaValidators()[schema]
    if (!validate(body)) {
      this.#log.error(
        { error: describeSchemaError(validate.errors, schema) },
        'answer does not follow the spec',
      )
      throw new PinningInternalError()
    }
    return reply.code(code).header('cache-control', 'no-store').send(body)
  }

  #refuse(reply: FastifyReply, error: PinningApiError): void {
    this.#components.metrics?.refusals.inc({ service: 'pinning', reason: error.reason })
    if (error.status >= 500)
      this.#log.error({ error: errorField(error.cause ?? error) }, 'pinning api failed')
    const body = { error: { reason: error.reason, details: error.shortMessage } }
    reply.code(error.status).header('cache-control', 'no-store')
    if (error.status === 401) reply.header('www-authenticate', 'Bearer realm="medvault-node"')
    reply.send(body)
  }
}

interface ListQuery {
  cids: Set<string> | undefined
  name: string | undefined
  match: 'exact' | 'iexact' | 'partial' | 'ipartial'
  status: Set<PsaStatus>
  /** Unix microseconds, compared with `createdUs`. */
  before: number | undefined
  /** Unix microseconds, compared with `createdUs`. */
  after: number | undefined
  limit: number
  meta: Record<string, string> | undefined
}

function matchName(name: string | undefined, wanted: string, match: ListQuery['match']): boolean {
  if (name === undefined) return false
  switch (match) {
    case 'exact':
      return name === wanted
    case 'iexact':
      return name.toLowerCase() === wanted.toLowerCase()
    case 'partial':
      return name.includes(wanted)
    case 'ipartial':
      return name.toLowerCase().includes(wanted.toLowerCase())
  }
}

/** Parses and checks `GET /pins`'s query string against the spec's parameter schemas. */
export function parseListQuery(url: string): ListQuery {
  const params = new URL(url, 'http://localhost').searchParams
  const v = psaValidators().query
  const check = (name: keyof typeof v, value: unknown): void => {
    if (!v[name](value))
      throw new PinningBadRequestError(describeSchemaError(v[name].errors, `query parameter ${name}`))
  }
  const single = (name: string): string | undefined => {
    const all = params.getAll(name)
    if (all.length > 1) throw new PinningBadRequestError(`query parameter ${name} is given more than once`)
    return all[0]
  }
  const list = (name: string): string[] | undefined => {
    const all = params.getAll(name)
    return all.length === 0 ? undefined : all.flatMap((s) => s.split(','))
  }

  let cids: Set<string> | undefined
  const cidList = list('cid')
  if (cidList !== undefined) {
    check('cid', cidList)
    cids = new Set(
      cidList.map((c) => {
        try {
          return cidKey(c)
        } catch {
          throw new PinningBadRequestError(
            `query parameter cid: ${JSON.stringify(c.slice(0, 100))} is not a CID`,
          )
        }
      }),
    )
  }
  const name = single('name')
  if (name !== undefined) check('name', name)
  const match = single('match') ?? 'exact'
  check('match', match)
  const statusList = list('status')
  if (statusList !== undefined) check('status', statusList)
  const time = (key: 'before' | 'after'): number | undefined => {
    const value = single(key)
    if (value === undefined) return undefined
    check(key, value)
    // To the microsecond, as `created` is written: requests made within one millisecond differ below it.
    return parseTimeUs(value)
  }
  const before = time('before')
  const after = time('after')
  const limitText = single('limit')
  let limit = 10
  if (limitText !== undefined) {
    if (!/^\d{1,7}$/.test(limitText))
      throw new PinningBadRequestError('query parameter limit must be an integer')
    limit = Number(limitText)
    check('limit', limit)
  }
  return {
    cids,
    name,
    match: match as ListQuery['match'],
    status: new Set((statusList ?? ['pinned']) as PsaStatus[]),
    before,
    after,
    limit,
    meta: parseMetaQuery(params),
  }
}

function parseMetaQuery(params: URLSearchParams): Record<string, string> | undefined {
  const json = params.getAll('meta')
  const bracketed = [...params.keys()].filter((k) => /^meta\[.*\]$/.test(k))
  if (json.length === 0 && bracketed.length === 0) return undefined
  if (json.length > 1) throw new PinningBadRequestError('query parameter meta is given more than once')
  let meta: unknown = {}
  if (json.length === 1) {
    try {
      meta = JSON.parse(json[0]!)
    } catch {
      throw new PinningBadRequestError('query parameter meta is not a JSON object')
    }
  }
  if (meta === null || typeof meta !== 'object' || Array.isArray(meta)) {
    throw new PinningBadRequestError('query parameter meta is not a JSON object')
  }
  const merged: Record<string, unknown> = { ...(meta as Record<string, unknown>) }
  for (const key of bracketed) {
    const values = params.getAll(key)
    if (values.length > 1) throw new PinningBadRequestError(`query parameter ${key} is given more than once`)
    merged[key.slice(5, -1)] = values[0]
  }
  const validate = psaValidators().query.meta
  if (!validate(merged))
    throw new PinningBadRequestError(describeSchemaError(validate.errors, 'query parameter meta'))
  return merged as Record<string, string>
}

/** Parses a `Pin` body: JSON, the spec's schema, then what the spec says in prose. */
export function parsePinBody(body: unknown): Omit<NewPin, 'owner'> {
  if (typeof body !== 'string' || body.length === 0) {
    throw new PinningBadRequestError('the body must be a JSON Pin object')
  }
  let value: unknown
  try {
    value = JSON.parse(body)
  } catch {
    throw new PinningBadRequestError('the body is not valid JSON')
  }
  const validate = psaValidators().pin
  if (!validate(value)) throw new PinningBadRequestError(describeSchemaError(validate.errors, 'Pin'))
  const pin = value as PsaPin
  checkCid(pin.cid)
  if (pin.origins !== undefined) {
    for (const [i, origin] of pin.origins.entries()) {
      let ok = /\/p2p\/[^/]+$/.test(origin)
      if (ok) {
        try {
          multiaddr(origin)
        } catch {
          ok = false
        }
      }
      if (!ok)
        throw new PinningBadRequestError(`Pin.origins[${i}] is not a multiaddr ending in /p2p/<peer id>`)
    }
  }
  // Read by the pinner as this request's byte bound (`byteLimitOf`): a value it would ignore is refused here.
  if (pin.meta?.maxBytes !== undefined && byteLimitOf({ meta: pin.meta } as PinRecord) === undefined) {
    throw new PinningBadRequestError(
      'Pin.meta.maxBytes must be a whole number of bytes in decimal (at most 15 digits): the most this pin may fetch and keep',
    )
  }
  return {
    cid: pin.cid,
    ...(pin.name === undefined ? {} : { name: pin.name }),
    ...(pin.origins === undefined ? {} : { origins: pin.origins }),
    ...(pin.meta === undefined ? {} : { meta: pin.meta }),
  }
}

/** A CID this node can pin and verify, or a 400 saying why not. */
function checkCid(text: string): void {
  let cid: CID
  try {
    cid = CID.parse(text)
  } catch {
    throw new PinningBadRequestError(`Pin.cid ${JSON.stringify(text.slice(0, 100))} is not a CID`)
  }
  const problem = cidProblem(cid)
  if (problem !== undefined) throw new PinningBadRequestError(`Pin.cid: ${problem}`)
}

/** Fastify's own errors and anything unexpected, as the spec's failures. */
function toApiError(error: unknown, bodyLimit: number): PinningApiError {
  if (error instanceof PinningApiError) return error
  const code = (error as Partial<FastifyError>).code
  switch (code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new PinningBodyTooLargeError({ limit: bodyLimit })
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new PinningUnsupportedMediaTypeError()
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new PinningBadRequestError('the body is empty')
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new PinningBadRequestError('the Content-Length does not match the body')
  }
  const status = (error as Partial<FastifyError>).statusCode
  if (status === 413) return new PinningBodyTooLargeError({ limit: bodyLimit })
  if (status === 415) return new PinningUnsupportedMediaTypeError()
  if (status !== undefined && status >= 400 && status < 500) {
    return new PinningBadRequestError('the HTTP request is malformed')
  }
  return new PinningInternalError({ cause: error })
}
