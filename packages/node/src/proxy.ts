/**
 * `createProxy`: a re-encryption proxy as a `Startable` service — the HTTP server, the grant index, the
 * worker pool and the receipt log, composed from settings ({@link ProxyInit}) and injected neighbours
 * ({@link ProxyComponents}).
 *
 * @module
 */
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import type { MedvaultAddresses } from '@medvault/chain'
import { MAX_REQUEST_BODY_BYTES, type ProtocolDomain } from '@medvault/protocol'
import type { Storage } from '@medvault/storage'
import type { FastifyInstance } from 'fastify'
import {
  type Account,
  type Address,
  type Chain,
  type Client,
  type Hex,
  hexToBytes,
  isHex,
  type LocalAccount,
  type Transport,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { getChainId } from 'viem/actions'
import { type AccessContext, type CfragTamper, createDocumentCache } from './access.ts'
import { Anchorer } from './anchors.ts'
import { InvalidProxyInitError } from './errors.ts'
import { createGrantIndex, type GrantIndex, syncAgeMs } from './grant-index.ts'
import { buildServer, type ProxyHealth, type ProxyLogger, proxyRoutes } from './http.ts'
import type { HttpServer } from './http-server.ts'
import { createPublishedKeysCache } from './published-keys.ts'
import { createTokenBuckets, type RateLimit, type TokenBuckets } from './rate-limit.ts'
import {
  fileReceiptLog,
  memoryReceiptLog,
  RECEIPT_LOG_FILE,
  type ReceiptLog,
  readReceipts,
  type SignedReceipt,
} from './receipt-log.ts'
import { createReplayCache, type ReplayCache } from './replay-cache.ts'
import { createWorkerPool, type WorkerPool } from './worker-pool.ts'

/** A proxy's settings. */
export interface ProxyInit {
  /**
   * The operator account: the address registered in the ProxyRegistry, which signs receipts. A viem local
   * account (`privateKeyToAccount(…)`) or a 32-byte private key as hex.
   */
  account: LocalAccount | Hex
  /**
   * The secret key whose public key the operator registered in the ProxyRegistry (kfrags are sealed to it):
   * 32 bytes, or hex. The proxy holds no other secret.
   */
  eciesSecretKey: Uint8Array | Hex
  /** Interface to listen on. Default `127.0.0.1`. Not used with `components.http`. */
  host?: string | undefined
  /** Port to listen on; 0 picks a free one, which later restarts reuse. Default 0. Not used with `components.http`. */
  port?: number | undefined
  /** How old a request may be, in seconds. Default 300. */
  freshnessSeconds?: number | undefined
  /** How far ahead of this proxy's clock a request may be dated, in seconds. Default 30. */
  maxClockSkewSeconds?: number | undefined
  /** Largest request body in bytes (larger: 413). Default 4096 (`MAX_REQUEST_BODY_BYTES`). */
  bodyLimit?: number | undefined
  /** Directory of the durable receipt log; in memory when omitted. */
  receiptsDir?: string | undefined
  /** Directory of the durable grant index (operations and checkpoints); in memory when omitted. */
  indexDir?: string | undefined
  /**
   * Rewrite the grant index's file once it reaches this many bytes and twice its size after the last rewrite.
   * Default 16 MiB.
   */
  grantIndexCompactAtBytes?: number | undefined
  /** Re-encryption worker threads. Default: the number of cores. */
  workers?: number | undefined
  /**
   * Opened, verified kfrags each worker thread keeps for the grants' next requests (least recently used out;
   * dropped on revocation and at expiry). 0 opens the kfrag on every request. Default 4096.
   */
  kfragCacheSize?: number | undefined
  /** Index events only this many blocks below the head. Default 0. */
  confirmations?: number | undefined
  /**
   * Milliseconds between index polls. Default 1000 (a miss also catches up at once). The KeyRegistry keys the
   * proxy caches are used only while the index's last complete pass began less than three intervals and a
   * second ago; past that (the index halted or far behind) each request reads them from the chain.
   */
  pollingInterval?: number | undefined
  /** Longest wait for an envelope or bundle from storage, in ms. Default 10000. */
  fetchTimeoutMs?: number | undefined
  /**
   * When receipts are anchored on chain (only with `components.walletClient`): once `maxReceipts` wait
   * (default 1000), and at least every `intervalSeconds` while any wait (default 3600).
   */
  anchor?: { maxReceipts?: number | undefined; intervalSeconds?: number | undefined } | undefined
  /**
   * Token-bucket rate limits, answered 429 `rate_limited` with `Retry-After`: per client IP before anything
   * is read (default 100/s, burst 200), and per requester address recovered from a valid signature (default
   * 20/s, burst 40). `false` turns one off. Behind a reverse proxy every client has the proxy's IP: set
   * the per-IP limit accordingly.
   */
  rateLimit?:
    | {
        ip?: RateLimit | false | undefined
        requester?: RateLimit | false | undefined
      }
    | undefined
  /** Start (index, workers, and listening unless on a shared listener) in `createProxy`. Default true. */
  start?: boolean | undefined
}

/** What a proxy is given rather than configured with. */
export interface ProxyComponents {
  /** A viem public client of the chain the deployment is on (the medvault actions need not be attached). */
  publicClient: Client<Transport, Chain | undefined, Account | undefined>
  /** Where envelopes and kfrag bundles are read; every block is checked against its CID. */
  storage: Pick<Storage, 'getEnvelope'>
  /** The medvault deployment. */
  addresses: MedvaultAddresses
  /** The deployment block: the grant index starts reading there. Default 0. */
  deployBlock?: bigint | undefined
  /** Receives one line per answer or refusal (codes and ids only). */
  logger?: ProxyLogger | undefined
  /**
   * A wallet client of the operator account: given, the proxy anchors its receipts' Merkle roots on chain
   * (AuditAnchors; the operator pays the gas) and hands out inclusion proofs. Not given, it does not anchor.
   */
  walletClient?: Client<Transport, Chain | undefined, Account> | undefined
  /**
   * **For fault-injection tests only.** Replaces each cfrag this proxy answers with (e.g. flips a byte),
   * to show that clients detect a lying proxy. It is a component, not a setting, so no configuration file
   * or environment variable can turn it on; production code never passes it.
   */
  tamper?: CfragTamper | undefined
  /**
   * A shared HTTP listener (the node daemon's) to answer on instead of a port of the proxy's own: the
   * proxy registers its `/v1` routes on it when created, so create the proxy before the listener starts.
   * The routes answer 503 until the proxy has started and from when it stops; stop the listener first so
   * that requests in flight finish. `url` is then the listener's.
   */
  http?: Pick<HttpServer, 'register' | 'url'> | undefined
}

/** A running (or stopped) re-encryption proxy. */
export interface ReencryptionProxy {
  /** The operator address. */
  readonly address: Address
  /** `http://host:port` once started; the same after a restart. */
  readonly url: string
  start(): Promise<void>
  /** Stops listening (requests in flight finish), the index poller and the workers. */
  stop(): Promise<void>
  isStarted(): boolean
  /** Every receipt signed, oldest first (from the log file when `receiptsDir` is set, across restarts). */
  receipts(): AsyncIterable<SignedReceipt>
  /** What `GET /v1/health` answers. */
  health(): ProxyHealth
  /**
   * How many opened, verified kfrags the re-encryption threads keep (0 while stopped). A grant's kfrag is
   * opened on its first request and kept for the next ones; a revocation drops it as soon as the index reads
   * it, and so do the grant's expiry and the cache's bound (`kfragCacheSize` per thread).
   */
  cachedKfrags(): Promise<number>
  /**
   * Anchors every receipt not in an anchored tree yet, now (the loop does it by count and interval).
   * Resolves with the trees anchored; empty when there was nothing to anchor or no `walletClient`.
   */
  anchorReceipts(): Promise<{ root: Hex; count: number }[]>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * Creates a re-encryption proxy and (unless `start: false`) starts it: the grant index catches up with the
 * chain, then the HTTP server listens.
 *
 * @example
 * ```ts
 * import { createProxy } from '@medvault/node'
 *
 * await using proxy = await createProxy(
 *   { account: operatorKey, eciesSecretKey, receiptsDir: './receipts' },
 *   { publicClient, storage, addresses, deployBlock },
 * )
 * await operator.registerProxy({ publicKey: getPublicKey(eciesSecretKey), endpoint: proxy.url })
 * ```
 * @throws {InvalidProxyInitError} for a missing or malformed setting.
 */
export async function createProxy(init: ProxyInit, components: ProxyComponents): Promise<ReencryptionProxy> {
  const proxy = new ProxyService(checkInit(init), components)
  if (init.start !== false) await proxy.start()
  return proxy
}

/**
 * How long the cached KeyRegistry keys stay usable after the start of the index's last complete pass: three
 * polls and a second of slack for the pass itself. A live index starts a pass every `pollingInterval` plus
 * the pass's own round trips, so only an index that has stopped (or fallen far behind) goes past it.
 */
function keyCacheMaxAgeMs(pollingInterval: number): number {
  return 3 * pollingInterval + 1000
}

interface CheckedInit {
  account: LocalAccount
  eciesSecretKey: Uint8Array
  host: string
  port: number
  freshnessSeconds: number
  maxClockSkewSeconds: number
  bodyLimit: number
  receiptsDir: string | undefined
  indexDir: string | undefined
  workers: number
  kfragCacheSize: number
  confirmations: number
  pollingInterval: number
  fetchTimeoutMs: number
  anchorMaxReceipts: number
  anchorIntervalMs: number
  ipLimit: RateLimit | undefined
  requesterLimit: RateLimit | undefined
  grantIndexCompactAtBytes: number
}

function checkInit(init: ProxyInit): CheckedInit {
  const int = (setting: string, value: number | undefined, fallback: number, min: number, max: number) => {
    const v = value ?? fallback
    if (!Number.isSafeInteger(v) || v < min || v > max) {
      throw new InvalidProxyInitError({ setting, expected: `an integer from ${min} to ${max}` })
    }
    return v
  }
  return {
    account: toAccount(init.account),
    eciesSecretKey: toSecretKey(init.eciesSecretKey),
    host: init.host ?? '127.0.0.1',
    port: int('port', init.port, 0, 0, 65_535),
    freshnessSeconds: int('freshnessSeconds', init.freshnessSeconds, 300, 1, 86_400),
    maxClockSkewSeconds: int('maxClockSkewSeconds', init.maxClockSkewSeconds, 30, 0, 3_600),
    bodyLimit: int('bodyLimit', init.bodyLimit, MAX_REQUEST_BODY_BYTES, 256, 1_048_576),
    receiptsDir: init.receiptsDir,
    indexDir: init.indexDir,
    workers: int('workers', init.workers, availableParallelism(), 1, 256),
    kfragCacheSize: int('kfragCacheSize', init.kfragCacheSize, 4096, 0, 1_000_000),
    confirmations: int('confirmations', init.confirmations, 0, 0, 1_000),
    pollingInterval: int('pollingInterval', init.pollingInterval, 1000, 1, 3_600_000),
    fetchTimeoutMs: int('fetchTimeoutMs', init.fetchTimeoutMs, 10_000, 1, 600_000),
    anchorMaxReceipts: int('anchor.maxReceipts', init.anchor?.maxReceipts, 1000, 1, 65_536),
    anchorIntervalMs: int('anchor.intervalSeconds', init.anchor?.intervalSeconds, 3600, 1, 604_800) * 1000,
    ipLimit: rateLimit('rateLimit.ip', init.rateLimit?.ip, { perSecond: 100, burst: 200 }),
    requesterLimit: rateLimit('rateLimit.requester', init.rateLimit?.requester, { perSecond: 20, burst: 40 }),
    grantIndexCompactAtBytes: int(
      'grantIndexCompactAtBytes',
      init.grantIndexCompactAtBytes,
      16 * 2 ** 20,
      4096,
      Number.MAX_SAFE_INTEGER,
    ),
  }
}

function rateLimit(setting: string, value: RateLimit | false | undefined, fallback: RateLimit) {
  if (value === false) return undefined
  const limit = value ?? fallback
  const ok = (n: unknown, max: number) => typeof n === 'number' && Number.isFinite(n) && n > 0 && n <= max
  if (!ok(limit?.perSecond, 1_000_000) || !ok(limit?.burst, 1_000_000) || limit.burst < 1) {
    throw new InvalidProxyInitError({
      setting,
      expected: '{ perSecond, burst } with positive numbers (burst at least 1), or false',
    })
  }
  return { perSecond: limit.perSecond, burst: limit.burst }
}

function toAccount(account: LocalAccount | Hex): LocalAccount {
  if (typeof account === 'string') {
    if (!isHex(account) || account.length !== 66) {
      throw new InvalidProxyInitError({
        setting: 'account',
        expected: 'a local account or a 32-byte hex private key',
      })
    }
    return privateKeyToAccount(account)
  }
  if (account?.type !== 'local' || typeof account.signTypedData !== 'function') {
    throw new InvalidProxyInitError({
      setting: 'account',
      expected: 'a viem local account that signs typed data',
    })
  }
  return account
}

function toSecretKey(key: Uint8Array | Hex): Uint8Array {
  const bytes = typeof key === 'string' && isHex(key) ? hexToBytes(key) : key
  if (!(bytes instanceof Uint8Array) || bytes.length !== 32) {
    throw new InvalidProxyInitError({ setting: 'eciesSecretKey', expected: '32 bytes (or their hex)' })
  }
  return Uint8Array.from(bytes)
}

/** The parts that live between a `start()` and its `stop()`. */
interface Running {
  /** Set when `stop()` begins, read by the server's request hook. */
  flags: { closing: boolean }
  /** The proxy's own server; undefined on a shared listener. */
  server: FastifyInstance | undefined
  context: AccessContext
  pool: WorkerPool
  receipts: ReceiptLog
  anchorer: Anchorer | undefined
}

class ProxyService implements ReencryptionProxy {
  readonly address: Address
  readonly #init: CheckedInit
  readonly #components: ProxyComponents
  readonly #index: GrantIndex
  // Kept across stop/start: a request answered before a restart in this process stays answered.
  readonly #replay: ReplayCache = createReplayCache()
  readonly #documents = createDocumentCache()
  readonly #keys = createPublishedKeysCache()
  readonly #ipBuckets: TokenBuckets | undefined
  readonly #requesterBuckets: TokenBuckets | undefined
  readonly #memoryReceipts: ReceiptLog | undefined
  #port: number
  #chainId: number | undefined
  #running: Running | undefined
  #anchorer: Anchorer | undefined
  /** The receipt log of the current start (the anchorer, kept across restarts, reads the current one). */
  #receiptLog: ReceiptLog | undefined
  #transition: Promise<void> = Promise.resolve()
  /** For routes on a shared listener: answered only while `running`. */
  #phase: 'starting' | 'running' | 'stopping' = 'starting'

  constructor(init: CheckedInit, components: ProxyComponents) {
    this.#init = init
    this.#components = components
    this.address = init.account.address
    this.#port = init.port
    const wallet = components.walletClient
    if (wallet !== undefined && wallet.account?.address.toLowerCase() !== this.address.toLowerCase()) {
      throw new InvalidProxyInitError({
        setting: 'walletClient',
        expected: 'a wallet client of the operator account (anchors are keyed by their sender)',
      })
    }
    this.#ipBuckets = init.ipLimit === undefined ? undefined : createTokenBuckets(init.ipLimit)
    this.#requesterBuckets =
      init.requesterLimit === undefined ? undefined : createTokenBuckets(init.requesterLimit)
    this.#memoryReceipts = init.receiptsDir === undefined ? memoryReceiptLog() : undefined
    this.#index = createGrantIndex(components.publicClient, {
      addresses: components.addresses,
      fromBlock: components.deployBlock,
      confirmations: init.confirmations,
      pollingInterval: init.pollingInterval,
      dir: init.indexDir,
      compactAtBytes: init.grantIndexCompactAtBytes,
      onError: (err) => components.logger?.error?.('index poll failed', { error: err.name }),
      // Honest proxies drop a revoked grant's kfrags: the opened ones leave the workers' caches at once.
      onRevoked: (grantId) => this.#running?.pool.forget(grantId),
      // A publication or rotation of keys: the next request reads the account's keys again.
      onKeysPublished: (account) => this.#keys.forget(account),
    })
    components.http?.register(
      'proxy',
      proxyRoutes({
        bodyLimit: init.bodyLimit,
        health: () => this.health(),
        phase: () => this.#phase,
        context: () => this.#running?.context,
        logger: components.logger,
        ipLimit: this.#ipBuckets,
      }),
    )
  }

  get url(): string {
    if (this.#components.http !== undefined) return this.#components.http.url
    const host = this.#init.host.includes(':') ? `[${this.#init.host}]` : this.#init.host
    return `http://${host}:${this.#port}`
  }

  isStarted(): boolean {
    return this.#running !== undefined
  }

  start(): Promise<void> {
    this.#transition = this.#transition.catch(() => {}).then(() => this.#start())
    return this.#transition
  }

  stop(): Promise<void> {
    this.#transition = this.#transition.catch(() => {}).then(() => this.#stop())
    return this.#transition
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop()
  }

  health(): ProxyHealth {
    const block = this.#index.indexedBlock
    const age = syncAgeMs(this.#index)
    const maxSyncAgeMs = keyCacheMaxAgeMs(this.#init.pollingInterval)
    return {
      ok: true,
      address: this.address,
      chainId: this.#chainId ?? this.#components.publicClient.chain?.id ?? 0,
      indexedBlock: block === undefined ? null : block.toString(),
      // The rule the key cache is trusted by (access.ts): an operator sees what each request does. A stopped
      // proxy's index does not poll, so it is not live whatever its last pass.
      index: {
        live: this.#running !== undefined && age !== undefined && age <= maxSyncAgeMs,
        syncAgeMs: age === undefined ? null : Math.floor(age),
        maxSyncAgeMs,
      },
    }
  }

  async cachedKfrags(): Promise<number> {
    return (await this.#running?.pool.cachedKfrags()) ?? 0
  }

  async *receipts(): AsyncIterable<SignedReceipt> {
    if (this.#memoryReceipts !== undefined) {
      yield* this.#memoryReceipts.entries()
      return
    }
    // The file is the record, whether or not the proxy is running now.
    yield* readReceipts(join(this.#init.receiptsDir!, RECEIPT_LOG_FILE))
  }

  async #start(): Promise<void> {
    if (this.#running !== undefined) return
    this.#phase = 'starting'
    const { publicClient } = this.#components
    this.#chainId ??= publicClient.chain?.id ?? (await getChainId(publicClient))
    await this.#index.start()
    const receipts = this.#memoryReceipts ?? (await fileReceiptLog(this.#init.receiptsDir!))
    if (this.#memoryReceipts === undefined) await this.#rememberAnswered(receipts)
    this.#receiptLog = receipts
    const anchorer = await this.#startAnchorer()
    const pool = createWorkerPool({
      size: this.#init.workers,
      eciesSecretKey: this.#init.eciesSecretKey,
      kfragCacheSize: this.#init.kfragCacheSize,
    })
    const flags = { closing: false }
    const context = this.#context(pool, receipts, anchorer)
    if (this.#components.http !== undefined) {
      this.#running = { flags, server: undefined, pool, receipts, anchorer, context }
      this.#phase = 'running'
      return
    }
    const server = buildServer(context, {
      bodyLimit: this.#init.bodyLimit,
      health: () => this.health(),
      closing: () => flags.closing,
      logger: this.#components.logger,
      ipLimit: this.#ipBuckets,
    })
    try {
      await server.listen({ host: this.#init.host, port: this.#port })
    } catch (err) {
      await anchorer?.stop()
      await Promise.allSettled([
        pool.close(),
        receipts === this.#memoryReceipts ? undefined : receipts.close(),
      ])
      await this.#index.stop()
      throw err
    }
    const address = server.server.address()
    if (address !== null && typeof address === 'object') this.#port = address.port
    this.#running = { flags, server, pool, receipts, anchorer, context }
    this.#phase = 'running'
  }

  /** The anchoring loop, when the operator gave a wallet client. */
  async #startAnchorer(): Promise<Anchorer | undefined> {
    const { walletClient } = this.#components
    if (walletClient === undefined) return undefined
    this.#anchorer ??= new Anchorer(
      {
        maxReceipts: this.#init.anchorMaxReceipts,
        intervalMs: this.#init.anchorIntervalMs,
        dir: this.#init.receiptsDir,
      },
      {
        walletClient,
        publicClient: this.#components.publicClient,
        addresses: this.#components.addresses,
        domain: this.#domain(),
        receipts: () => this.#receiptLog!.entries(),
        logger: this.#components.logger,
      },
    )
    await this.#anchorer.start()
    return this.#anchorer
  }

  async anchorReceipts(): Promise<{ root: Hex; count: number }[]> {
    return (await this.#running?.anchorer?.anchorNow()) ?? []
  }

  #domain(): ProtocolDomain {
    return { chainId: this.#chainId!, verifyingContract: this.#components.addresses.consentRegistry }
  }

  async #stop(): Promise<void> {
    const running = this.#running
    if (running === undefined) return
    this.#running = undefined
    this.#phase = 'stopping'
    running.flags.closing = true
    await running.server?.close()
    await this.#index.stop()
    await running.anchorer?.stop()
    await running.pool.close()
    if (running.receipts !== this.#memoryReceipts) await running.receipts.close()
  }

  /** After a process restart the replay cache is empty: receipts still inside the window refill it. */
  async #rememberAnswered(receipts: ReceiptLog): Promise<void> {
    const now = Math.floor(Date.now() / 1000)
    const horizon = this.#init.freshnessSeconds + this.#init.maxClockSkewSeconds
    for await (const { receipt } of receipts.entries()) {
      if (receipt.at + horizon >= now) this.#replay.claim(receipt.requestHash, receipt.at + horizon, now)
    }
  }

  #context(pool: WorkerPool, receipts: ReceiptLog, anchorer: Anchorer | undefined): AccessContext {
    const domain = this.#domain()
    return {
      self: this.address,
      domain,
      account: this.#init.account,
      client: this.#components.publicClient,
      addresses: this.#components.addresses,
      storage: this.#components.storage,
      index: this.#index,
      confirmations: this.#init.confirmations,
      replay: this.#replay,
      documents: this.#documents,
      keys: this.#keys,
      keyCacheMaxAgeMs: keyCacheMaxAgeMs(this.#init.pollingInterval),
      pool,
      receipts,
      anchors: anchorer,
      requesterLimit: this.#requesterBuckets,
      onReceipt: anchorer === undefined ? undefined : () => anchorer.noteReceipt(),
      freshnessSeconds: this.#init.freshnessSeconds,
      maxClockSkewSeconds: this.#init.maxClockSkewSeconds,
      fetchTimeoutMs: this.#init.fetchTimeoutMs,
      now: () => Math.floor(Date.now() / 1000),
      tamper: this.#components.tamper,
    }
  }
}
