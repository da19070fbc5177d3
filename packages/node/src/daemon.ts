/**
 * `createDaemon`: the medvault-node daemon, composed of its parts — a networked persistent content store,
 * the pin store and pinner, the Pinning Service API, the trustless gateway, the chain follower, replication
 * to remote pinning services, the re-encryption proxy, and health, readiness, status and Prometheus metrics
 * on the node's one HTTP listener (the proxy's routes too: an operator exposes one endpoint). Each part is a `Startable` built from settings and injected neighbours, so a
 * test can run any one of them alone; this module only wires them and orders their start and stop.
 *
 * Stop order (SIGTERM): the HTTP listener first (requests in flight finish, new ones get 503), then the
 * proxy (its receipts are flushed), the follower (its checkpoint saved), replication (its state saved), the
 * pinner (attempts aborted and left queued), the pin store and the content store.
 *
 * @module
 */
import { join } from 'node:path'
import { deriveKeysFromPrivateKey } from '@medvault/crypto'
import { createStorage, type Storage } from '@medvault/storage'
import { Gauge } from 'prom-client'
import {
  type Chain,
  createPublicClient,
  createWalletClient,
  type Hex,
  type HttpTransport,
  http,
  type PublicClient,
} from 'viem'
import { privateKeyToAccount, privateKeyToAddress } from 'viem/accounts'
import { getChainId } from 'viem/actions'
import { type ChainFollower, createChainFollower, FOLLOWER_OWNER } from './chain-follower.ts'
import { type NodeConfig, REPO_FILES } from './config.ts'
import { InvalidNodeConfigError } from './daemon-errors.ts'
import { createGateway, type Gateway } from './gateway.ts'
import type { ProxyIndexHealth } from './http.ts'
import { createHttpServer, type HttpServer } from './http-server.ts'
import { errorField, type NodeLogger, silentLogger } from './logger.ts'
import { createMetrics, type NodeMetrics } from './metrics.ts'
import { createPinStore, type PinStore } from './pin-store.ts'
import { createPinner, type Pinner } from './pinner.ts'
import { API_OWNER_PREFIX, createPinningService, type PinningService } from './pinning-service.ts'
import { createProxy, type ReencryptionProxy } from './proxy.ts'
import { createReplication, type Replication } from './replication.ts'
import { createTokenStore } from './token-store.ts'

type NodePublicClient = PublicClient<HttpTransport, Chain | undefined>

export interface DaemonInit {
  config: NodeConfig
  /** The operator's private key (from the keystore); needed by the proxy only. */
  operatorKey?: Hex | undefined
  logger?: NodeLogger | undefined
  /** The package version, reported by `/status`. */
  version?: string | undefined
}

/** What `GET /status` answers and `medvault-node status` prints. */
export interface DaemonStatus {
  version: string
  services: string[]
  ready: boolean
  /** Parts not ready yet (empty when `ready`). */
  waiting: string[]
  http: string
  operator: string | null
  proxy: { url: string; address: string; indexedBlock: string | null; index: ProxyIndexHealth } | null
  storage: { peerId: string | null; addresses: string[] }
  pins: { api: Record<string, number>; follower: Record<string, number> }
  follower: {
    block: string | null
    head: string | null
    lag: string | null
    /** Bytes the followed records hold on this node (what `follower.maxTotalBytes` counts). */
    storedBytes: number
  } | null
  replication: Record<string, Record<string, number>>
}

export interface Daemon {
  start(): Promise<void>
  stop(): Promise<void>
  isStarted(): boolean
  /** The node's HTTP listener (`http://host:port`). */
  readonly url: string
  readonly metrics: NodeMetrics
  status(): DaemonStatus
}

/** Creates the daemon (not started): checks the settings and builds every configured part. */
export async function createDaemon(init: DaemonInit): Promise<Daemon> {
  const { config } = init
  if (config.services.includes('proxy') && init.operatorKey === undefined) {
    throw new TypeError('the proxy service needs the operator key (open the keystore first)')
  }
  const storage = await createStorage({
    directory: join(config.repo, REPO_FILES.ipfs),
    network: {
      listen: config.storage.listen,
      announce: config.storage.announce,
      peers: config.storage.peers,
    },
    ...(config.storage.gateways.length > 0 ? { gateways: config.storage.gateways } : {}),
    blockTimeoutMs: config.storage.blockTimeoutMs,
    start: false,
  })
  return new MedvaultNode(init, storage)
}

class MedvaultNode implements Daemon {
  readonly #config: NodeConfig
  readonly #log: NodeLogger
  readonly #version: string
  readonly metrics: NodeMetrics
  readonly #storage: Storage
  readonly #pins: PinStore
  readonly #pinner: Pinner
  readonly #http: HttpServer
  readonly #pinning: PinningService | undefined
  readonly #gateway: Gateway | undefined
  readonly #follower: ChainFollower | undefined
  readonly #replication: Replication | undefined
  readonly #operatorKey: Hex | undefined
  #proxy: ReencryptionProxy | undefined
  #started = false
  #stopping = false

  constructor(init: DaemonInit, storage: Storage) {
    const config = init.config
    this.#config = config
    this.#log = init.logger ?? silentLogger()
    this.#version = init.version ?? '0.0.0'
    this.#operatorKey = init.operatorKey
    this.metrics = createMetrics()
    const metrics = this.metrics
    const repo = config.repo
    this.#storage = storage
    this.#pins = createPinStore({ dir: join(repo, REPO_FILES.state) })
    this.#pinner = createPinner(
      { concurrency: config.pinning.concurrency, attempts: config.pinning.attempts },
      { storage, pins: this.#pins, logger: this.#log.child({ part: 'pinner' }), metrics },
    )
    this.#http = createHttpServer(
      { host: config.http.host, port: config.http.port },
      { metrics, logger: this.#log.child({ part: 'http' }) },
    )
    metrics.onCollect(() => {
      metrics.pins.reset()
      const api = this.#pins.counts((o) => o.startsWith(API_OWNER_PREFIX))
      const followed = this.#pins.counts((o) => o === FOLLOWER_OWNER)
      for (const [status, n] of Object.entries(api)) metrics.pins.set({ status, owner: 'api' }, n)
      for (const [status, n] of Object.entries(followed)) metrics.pins.set({ status, owner: 'follower' }, n)
    })
    if (config.services.includes('pinning')) {
      this.#pinning = createPinningService(
        { maxPendingPerToken: config.pinning.maxPendingPerToken },
        {
          http: this.#http,
          pins: this.#pins,
          pinner: this.#pinner,
          tokens: createTokenStore(join(repo, REPO_FILES.tokens)),
          storage,
          logger: this.#log.child({ part: 'pinning' }),
          metrics,
        },
      )
    }
    if (config.services.includes('gateway')) {
      this.#gateway = createGateway(
        {
          rateLimit: config.gateway.rateLimit,
          maxCarExportsPerClient: config.gateway.maxCarExportsPerClient,
          maxCarExports: config.gateway.maxCarExports,
        },
        { http: this.#http, storage, logger: this.#log.child({ part: 'gateway' }), metrics },
      )
    }
    const chain = config.chain
    if (config.services.includes('follower') && chain !== undefined) {
      this.#follower = createChainFollower(
        {
          checkpointFile: join(repo, REPO_FILES.checkpoint),
          fromBlock: chain.deployBlock,
          confirmations: chain.confirmations,
          pollingIntervalMs: chain.pollingIntervalMs,
          maxRecordBytes: config.follower.maxRecordBytes,
          maxBytesPerOwner: config.follower.maxBytesPerOwner,
          maxTotalBytes: config.follower.maxTotalBytes,
          exemptOwners: config.follower.exemptOwners,
        },
        {
          publicClient: this.#publicClient(),
          addresses: chain.addresses,
          storage,
          pins: this.#pins,
          pinner: this.#pinner,
          logger: this.#log.child({ part: 'follower' }),
          metrics,
        },
      )
    }
    if (config.replication.remotes.length > 0) {
      this.#replication = createReplication(
        {
          remotes: config.replication.remotes,
          stateFile: join(repo, REPO_FILES.replication),
          intervalMs: config.replication.intervalMs,
          journalMaxBytes: config.replication.journalMaxBytes,
        },
        {
          pins: this.#pins,
          pinner: this.#pinner,
          origins: () => storage.multiaddrs(),
          logger: this.#log.child({ part: 'replication' }),
          metrics,
        },
      )
    }
    // The proxy's grant index position, next to the follower's (both read the same chain).
    const indexed: Gauge = new Gauge({
      name: 'medvault_proxy_indexed_block',
      help: "The last block the re-encryption proxy's grant index has fully read.",
      registers: [metrics.registry],
      collect: () => {
        const block = this.#proxy?.health().indexedBlock
        if (block === null || block === undefined) indexed.reset()
        else indexed.set(Number(block))
      },
    })
    // 0 while the index's polls fail: each request then reads keys from the chain (see ProxyIndexHealth).
    const live: Gauge = new Gauge({
      name: 'medvault_proxy_index_live',
      help: "1 while the re-encryption proxy's grant index keeps up with the chain, 0 while it does not.",
      registers: [metrics.registry],
      collect: () => {
        const health = this.#proxy?.health()
        if (health === undefined) live.reset()
        else live.set(health.index.live ? 1 : 0)
      },
    })
    this.#http.register('health', async (app) => {
      app.get('/healthz', async (_req, reply) => reply.header('cache-control', 'no-store').send({ ok: true }))
      app.get('/readyz', async (_req, reply) => {
        const status = this.status()
        return reply
          .code(status.ready ? 200 : 503)
          .header('cache-control', 'no-store')
          .send({ ready: status.ready, waiting: status.waiting })
      })
      app.get('/status', async (_req, reply) => reply.header('cache-control', 'no-store').send(this.status()))
      app.get('/metrics', async (_req, reply) =>
        reply
          .header('content-type', this.metrics.registry.contentType)
          .header('cache-control', 'no-store')
          .send(await this.metrics.registry.metrics()),
      )
    })
  }

  get url(): string {
    return this.#http.url
  }

  isStarted(): boolean {
    return this.#started
  }

  #publicClient(): NodePublicClient {
    return createPublicClient({
      transport: http(this.#config.chain!.rpc, { retryCount: 2, timeout: 15_000 }),
      pollingInterval: this.#config.chain!.pollingIntervalMs,
    })
  }

  /** The operator's wallet on the configured chain, for anchoring receipts (it signs and pays the gas). */
  async #walletClient(publicClient: NodePublicClient, key: Hex) {
    const chain = this.#config.chain!
    const id = await getChainId(publicClient)
    return createWalletClient({
      account: privateKeyToAccount(key),
      transport: http(chain.rpc, { retryCount: 2, timeout: 15_000 }),
      chain: {
        id,
        name: `chain ${id}`,
        nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
        rpcUrls: { default: { http: [chain.rpc] } },
      },
    })
  }

  async start(): Promise<void> {
    if (this.#started) return
    await this.#checkChainId()
    const storage = this.#storage
    await storage.start()
    await this.#pins.open()
    await this.#pinner.start()
    await this.#pinning?.start()
    await this.#gateway?.start()
    // Created (not started) before the listener starts: its routes go on the node's one port. Until it has
    // started they answer 503, and /readyz waits for it.
    if (this.#config.services.includes('proxy')) this.#proxy ??= await this.#createProxy()
    await this.#http.start()
    await this.#follower?.start()
    await this.#replication?.start()
    await this.#proxy?.start()
    this.#started = true
    this.#log.info(
      {
        services: this.#config.services,
        http: this.url,
        proxy: this.#proxy?.url ?? null,
        peerId: storage.peerId ?? null,
      },
      'medvault-node started',
    )
  }

  /**
   * A deployment file naming another chain than the RPC endpoint serves would have the follower and the proxy
   * read contracts that are not the deployment's: refused before anything starts.
   */
  async #checkChainId(): Promise<void> {
    const expected = this.#config.chain?.chainId
    if (expected === undefined) return
    let id: number
    try {
      id = await getChainId(this.#publicClient())
    } catch {
      // An unreachable chain is the follower's and the proxy's to report and retry, as without a chain id.
      return
    }
    if (id !== expected) {
      throw new InvalidNodeConfigError({
        problems: [
          `chain.addresses: the deployment file is for chain ${expected}, but the chain.rpc endpoint serves chain ${id}`,
        ],
      })
    }
  }

  async #createProxy(): Promise<ReencryptionProxy> {
    const chain = this.#config.chain!
    const key = this.#operatorKey!
    const anchor = this.#config.proxy.anchor
    const publicClient = this.#publicClient()
    return createProxy(
      {
        account: key,
        eciesSecretKey: deriveKeysFromPrivateKey(hexBytes(key)).eciesSecretKey,
        receiptsDir: join(this.#config.repo, REPO_FILES.receipts),
        indexDir: join(this.#config.repo, REPO_FILES.grantIndex),
        workers: this.#config.proxy.workers,
        grantIndexCompactAtBytes: this.#config.proxy.grantIndexCompactAtBytes,
        confirmations: chain.confirmations,
        pollingInterval: chain.pollingIntervalMs,
        ...(anchor === false ? {} : { anchor }),
        start: false,
      },
      {
        publicClient,
        storage: this.#storage,
        addresses: chain.addresses,
        deployBlock: chain.deployBlock,
        logger: this.#proxyLogger(),
        http: this.#http,
        ...(anchor === false ? {} : { walletClient: await this.#walletClient(publicClient, key) }),
      },
    )
  }

  async stop(): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    const step = async (name: string, fn: () => Promise<void> | undefined): Promise<void> => {
      try {
        await fn()
      } catch (err) {
        this.#log.error({ part: name, error: errorField(err) }, 'stop failed')
      }
    }
    await step('http', () => this.#http.stop())
    await step('proxy', () => this.#proxy?.stop())
    await step('follower', () => this.#follower?.stop())
    await step('replication', () => this.#replication?.stop())
    await step('pinning', () => this.#pinning?.stop())
    await step('gateway', () => this.#gateway?.stop())
    await step('pinner', () => this.#pinner.stop())
    await step('pins', () => this.#pins.close())
    await step('storage', () => this.#storage.stop())
    this.#started = false
    this.#stopping = false
    this.#log.info({}, 'medvault-node stopped')
  }

  status(): DaemonStatus {
    const waiting: string[] = []
    if (!this.#started) waiting.push('node')
    if (this.#follower !== undefined && !this.#follower.caughtUp) waiting.push('follower')
    if (this.#config.services.includes('proxy') && this.#proxy?.isStarted() !== true) waiting.push('proxy')
    const block = this.#follower?.block
    const head = this.#follower?.head
    let addresses: string[] = []
    try {
      addresses = this.#storage.multiaddrs()
    } catch {
      addresses = []
    }
    const health = this.#proxy?.health()
    return {
      version: this.#version,
      services: [...this.#config.services],
      ready: waiting.length === 0,
      waiting,
      http: this.url,
      operator: this.#operatorKey === undefined ? null : privateKeyToAddress(this.#operatorKey),
      proxy:
        this.#proxy === undefined || health === undefined
          ? null
          : {
              url: this.#proxy.url,
              address: this.#proxy.address,
              indexedBlock: health.indexedBlock,
              index: health.index,
            },
      storage: { peerId: this.#safePeerId(), addresses },
      pins: {
        api: this.#pins.counts((o) => o.startsWith(API_OWNER_PREFIX)),
        follower: this.#pins.counts((o) => o === FOLLOWER_OWNER),
      },
      follower:
        this.#follower === undefined
          ? null
          : {
              block: block?.toString() ?? null,
              head: head?.toString() ?? null,
              lag: block !== undefined && head !== undefined ? (head - block).toString() : null,
              storedBytes: this.#follower.storedBytes,
            },
      replication: this.#replication?.summary() ?? {},
    }
  }

  #safePeerId(): string | null {
    try {
      return this.#storage.peerId ?? null
    } catch {
      return null
    }
  }

  /** The proxy's log lines, into the node's log and metrics (codes and ids only, as the proxy sends). */
  #proxyLogger() {
    const log = this.#log.child({ part: 'proxy' })
    const metrics = this.metrics
    return {
      info: (message: string, fields: Record<string, unknown>) => {
        if (message === 'answered') metrics.reencryptions.inc()
        if (message === 'refused') metrics.refusals.inc({ service: 'proxy', reason: String(fields.code) })
        log.info(fields, message)
      },
      error: (message: string, fields: Record<string, unknown>) => {
        if (typeof fields.code === 'string') metrics.refusals.inc({ service: 'proxy', reason: fields.code })
        log.error(fields, message)
      },
    }
  }
}

function hexBytes(hex: Hex): Uint8Array {
  return Uint8Array.from(Buffer.from(hex.slice(2), 'hex'))
}
