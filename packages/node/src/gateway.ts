/**
 * A trustless HTTP gateway (the IPFS Trustless Gateway spec): `GET /ipfs/{cid}` answered as a raw block
 * (`application/vnd.ipld.raw`) or a CAR (`application/vnd.ipld.car`), chosen by the `Accept` header or by
 * `?format=raw|car`. Clients verify every byte against the CID, so they need not trust this node.
 *
 * It serves only what this node holds: a raw block that is in the local blockstore, a CAR whose every
 * block is local. It never fetches from peers or gateways to answer, so nobody can use it to make the
 * node download arbitrary content.
 *
 * CARs are CARv1, depth-first, each block once (`order=dfs; dups=n`), for `dag-scope=all` (the default),
 * `block` (the root block only) or `entity` (the whole DAG for a UnixFS dag-pb root, the root block for raw
 * and dag-cbor). Paths below the CID and `entity-bytes` ranges are not supported (400 with the reason):
 * medvault content is addressed by the CID of each file or envelope.
 *
 * @module
 */
import { Readable } from 'node:stream'
import { CarWriter } from '@ipld/car/writer'
import { CID, type Storage } from '@medvault/storage'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import { cidProblem } from './cid-check.ts'
import {
  GatewayBadRequestError,
  GatewayError,
  GatewayNotAcceptableError,
  GatewayNotFoundError,
} from './daemon-errors.ts'
import type { HttpServer } from './http-server.ts'
import { errorField, type NodeLogger, silentLogger } from './logger.ts'
import type { NodeMetrics } from './metrics.ts'

export interface GatewayInit {
  /** `Cache-Control` max-age for answers, in seconds (content addressed: they never change). Default 29030400. */
  maxAgeSeconds?: number | undefined
}

export interface GatewayComponents {
  http: HttpServer
  storage: Pick<Storage, 'helia' | 'stat' | 'exportCar'>
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

type Format = 'raw' | 'car'
type Scope = 'all' | 'entity' | 'block'

class TrustlessGateway implements Gateway {
  readonly #maxAge: number
  readonly #components: GatewayComponents
  readonly #log: NodeLogger
  #started = false

  constructor(init: GatewayInit, components: GatewayComponents) {
    this.#maxAge = init.maxAgeSeconds ?? 29_030_400
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
      reply
        .code(refusal.status)
        .header('content-type', 'text/plain; charset=utf-8')
        .header('cache-control', 'no-store')
        .send(`${refusal.shortMessage}\n`)
    })
    app.get('/ipfs/*', async (request, reply) => this.#answer(request, reply))
  }

  async #answer(request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply> {
    if (!this.#started) throw new GatewayError(503, 'The gateway is not serving right now; try again.')
    const url = new URL(request.url, 'http://localhost')
    const [cidText, ...rest] = url.pathname.slice('/ipfs/'.length).split('/')
    if (cidText === undefined || cidText === '')
      throw new GatewayBadRequestError('Missing CID: use /ipfs/{cid}.')
    if (rest.some((p) => p !== '')) {
      throw new GatewayBadRequestError(
        'Paths below a CID are not supported by this gateway: request the CID of the block or DAG itself.',
      )
    }
    let cid: CID
    try {
      cid = CID.parse(decodeURIComponent(cidText))
    } catch {
      throw new GatewayBadRequestError(`Invalid CID ${JSON.stringify(cidText.slice(0, 100))}.`)
    }
    const problem = cidProblem(cid)
    if (problem !== undefined) throw new GatewayBadRequestError(`The CID ${cid} is refused: ${problem}.`)
    const format = chooseFormat(request.headers.accept, url.searchParams)
    const etag = format === 'raw' ? `"${cid}.raw"` : `"${cid}.car.${scopeOf(url.searchParams)}"`
    reply
      .header('x-ipfs-path', `/ipfs/${cid}`)
      .header('x-ipfs-roots', cid.toString())
      .header('vary', 'Accept')
      .header('x-content-type-options', 'nosniff')
      .header('etag', etag)
    if (request.headers['if-none-match'] === etag && (await this.#holds(cid, format === 'car'))) {
      return reply.code(304).header('cache-control', this.#cacheControl()).send()
    }
    return format === 'raw' ? this.#raw(cid, reply) : this.#car(cid, scopeOf(url.searchParams), url, reply)
  }

  #cacheControl(): string {
    return `public, max-age=${this.#maxAge}, immutable`
  }

  async #holds(cid: CID, whole: boolean): Promise<boolean> {
    try {
      if (whole) return (await this.#components.storage.stat(cid)).local
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

  async #raw(cid: CID, reply: FastifyReply): Promise<FastifyReply> {
    const bytes = await this.#block(cid)
    return reply
      .code(200)
      .header('content-type', RAW)
      .header('content-length', String(bytes.length))
      .header('cache-control', this.#cacheControl())
      .header('content-disposition', `attachment; filename="${cid}.bin"`)
      .send(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  }

  async #car(cid: CID, scope: Scope, url: URL, reply: FastifyReply): Promise<FastifyReply> {
    if (url.searchParams.has('entity-bytes')) {
      throw new GatewayBadRequestError(
        'entity-bytes is not supported by this gateway: ask for the whole entity.',
      )
    }
    const version = url.searchParams.get('car-version')
    if (version !== null && version !== '1')
      throw new GatewayBadRequestError('Only CARv1 is served (car-version=1).')
    const whole = scope === 'all' || (scope === 'entity' && cid.code === DAG_PB)
    let body: AsyncIterable<Uint8Array>
    if (whole) {
      if (!(await this.#holds(cid, true)))
        throw new GatewayNotFoundError({ cid: cid.toString(), whole: true })
      body = this.#components.storage.exportCar(cid)
    } else {
      body = oneBlockCar(cid, await this.#block(cid))
    }
    return reply
      .code(200)
      .header('content-type', CAR_TYPE)
      .header('cache-control', this.#cacheControl())
      .header('content-disposition', `attachment; filename="${cid}.car"`)
      .send(Readable.from(body, { objectMode: false }))
  }
}

/** Which response type the client asked for: a specific Accept type wins over `format`, as the spec says. */
function chooseFormat(accept: string | undefined, params: URLSearchParams): Format {
  const ranked = (accept ?? '')
    .split(',')
    .map((part) => {
      const [type = '', ...attrs] = part.split(';').map((s) => s.trim().toLowerCase())
      const q = attrs.find((a) => a.startsWith('q='))
      const version = attrs.find((a) => a.startsWith('version='))
      return { type, q: q === undefined ? 1 : Number(q.slice(2)), version: version?.slice(8) }
    })
    .filter((r) => (r.type === RAW || (r.type === CAR && (r.version ?? '1') === '1')) && r.q > 0)
    .sort((a, b) => b.q - a.q)
  const best = ranked[0]
  if (best !== undefined) return best.type === RAW ? 'raw' : 'car'
  const format = params.get('format')
  if (format === 'raw' || format === 'car') return format
  if (format !== null) {
    throw new GatewayBadRequestError(
      `Unsupported format ${JSON.stringify(format.slice(0, 32))}: use raw or car.`,
    )
  }
  throw new GatewayNotAcceptableError()
}

function scopeOf(params: URLSearchParams): Scope {
  const scope = params.get('dag-scope') ?? 'all'
  if (scope === 'all' || scope === 'entity' || scope === 'block') return scope
  throw new GatewayBadRequestError(
    `Unsupported dag-scope ${JSON.stringify(scope.slice(0, 32))}: use all, entity or block.`,
  )
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

async function* oneBlockCar(cid: CID, bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  const { writer, out } = CarWriter.create([cid])
  const done = (async () => {
    await writer.put({ cid, bytes })
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
