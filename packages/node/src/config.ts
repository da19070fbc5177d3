/**
 * medvault-node's configuration: `<repo>/config.json`, then `MEDVAULT_NODE_*` environment variables, then
 * command-line flags, each overriding the one before. Everything is checked before anything starts, and
 * every problem is reported on its own line (`InvalidNodeConfigError.problems`), naming the setting and where
 * it came from, never a secret's value.
 *
 * Secrets are never in the configuration: the operator key is in the keystore (passphrase from the
 * environment or a prompt), remote pinning tokens are read from a file or an environment variable the
 * configuration names.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { isAbsolute, join } from 'node:path'
import { type MedvaultAddresses, type NetworkFile, NetworkFileError, parseNetworkFile } from '@medvault/chain'
import { multiaddr } from '@multiformats/multiaddr'
import { InvalidNodeConfigError } from './daemon-errors.ts'

/** The parts a node can run. */
export type ServiceName = 'pinning' | 'gateway' | 'proxy' | 'follower'
export const SERVICE_NAMES: readonly ServiceName[] = ['pinning', 'gateway', 'proxy', 'follower']

/** Files inside a node's repository. */
export const REPO_FILES = {
  config: 'config.json',
  keystore: 'keystore.json',
  tokens: 'tokens.json',
  ipfs: 'ipfs',
  state: 'state',
  checkpoint: 'state/follower.checkpoint.json',
  receipts: 'state/receipts',
  grantIndex: 'state/grant-index',
  replication: 'state/replication.json',
} as const

export interface RemoteService {
  /** A short name for logs and metrics. */
  name: string
  /** The Pinning Service API endpoint (`https://host/path`, no credentials). */
  endpoint: string
  /** The bearer token (resolved from `tokenFile` or `tokenEnv`; never logged). */
  token: string
}

/** A checked configuration. */
export interface NodeConfig {
  repo: string
  http: { host: string; port: number }
  services: ServiceName[]
  storage: {
    listen: string[]
    announce: string[]
    peers: string[]
    gateways: string[]
    blockTimeoutMs: number
  }
  chain:
    | {
        rpc: string
        addresses: MedvaultAddresses
        deployBlock: bigint
        /** The chain id the deployment file names; `start` refuses an RPC endpoint of another chain. */
        chainId?: number | undefined
        confirmations: number
        pollingIntervalMs: number
      }
    | undefined
  proxy: {
    workers: number
    /** Anchor receipts' Merkle roots on chain (the operator pays the gas), or `false`. */
    anchor: { maxReceipts: number; intervalSeconds: number } | false
    /** Rewrite the grant index's file once it reaches this many bytes (and twice its last compacted size). */
    grantIndexCompactAtBytes: number
  }
  pinning: { maxPendingPerToken: number; concurrency: number; attempts: number }
  gateway: {
    /** Requests per client IP address on `/ipfs/*`, or `false` for no limit. */
    rateLimit: { perSecond: number; burst: number } | false
    /** Whole-DAG CAR exports in progress at once per client IP address, or `false` for no bound. */
    maxCarExportsPerClient: number | false
    /** Whole-DAG CAR exports in progress at once for the node, or `false` for no bound. */
    maxCarExports: number | false
  }
  follower: {
    maxRecordBytes: number
    /** Most bytes of followed records one record owner may hold on this node, or `false` for no bound. */
    maxBytesPerOwner: number | false
    /** Most bytes of followed records this node holds in all, or `false` for no bound. */
    maxTotalBytes: number | false
    /** Record owners (lowercase addresses) whose records are pinned past both bounds. */
    exemptOwners: string[]
  }
  replication: { remotes: RemoteService[]; intervalMs: number; journalMaxBytes: number }
  log: { level: string }
  /**
   * Settings that are read but have no effect, and bounds left open (the follower without `maxTotalBytes`), one
   * line each (the command line prints them).
   */
  warnings: string[]
}

/** The configuration file as written (every field optional). */
export interface NodeConfigFile {
  http?: string
  services?: string[]
  storage?: {
    listen?: string[]
    announce?: string[]
    peers?: string[]
    gateways?: string[]
    blockTimeoutMs?: number
  }
  chain?: { rpc?: string; addresses?: string; confirmations?: number; pollingIntervalMs?: number }
  proxy?: {
    /** Not used: the proxy answers on `http` (reported as a warning). */
    http?: string
    workers?: number
    anchor?: false | { maxReceipts?: number; intervalSeconds?: number }
    grantIndexCompactAtBytes?: number
  }
  pinning?: { maxPendingPerToken?: number; concurrency?: number; attempts?: number }
  gateway?: {
    rateLimit?: false | { perSecond?: number; burst?: number }
    maxCarExportsPerClient?: number | false
    maxCarExports?: number | false
  }
  follower?: {
    maxRecordBytes?: number
    maxBytesPerOwner?: number | false
    maxTotalBytes?: number | false
    exemptOwners?: string[]
  }
  replication?: {
    intervalMs?: number
    journalMaxBytes?: number
    remotes?: Array<{ name?: string; endpoint?: string; tokenFile?: string; tokenEnv?: string }>
  }
  log?: { level?: string }
}

/** Flags of `medvault-node start` that override the file and the environment. */
export interface ConfigFlags {
  http?: string | undefined
  services?: string | undefined
  rpc?: string | undefined
  addresses?: string | undefined
  peers?: string | undefined
  listen?: string | undefined
  logLevel?: string | undefined
}

/** The environment variables read (each overrides the file's setting of the same meaning). */
export const CONFIG_ENV = {
  http: 'MEDVAULT_NODE_HTTP',
  services: 'MEDVAULT_NODE_SERVICES',
  rpc: 'MEDVAULT_NODE_RPC',
  addresses: 'MEDVAULT_NODE_ADDRESSES',
  peers: 'MEDVAULT_NODE_PEERS',
  listen: 'MEDVAULT_NODE_LISTEN',
  logLevel: 'MEDVAULT_NODE_LOG_LEVEL',
} as const satisfies Record<keyof ConfigFlags, string>

/** What `init` writes: loopback everywhere, the pinning service and the gateway on. */
export function defaultConfigFile(): NodeConfigFile {
  return {
    http: '127.0.0.1:5080',
    services: ['pinning', 'gateway'],
    storage: {
      listen: ['/ip4/127.0.0.1/tcp/4001', '/ip4/127.0.0.1/tcp/4002/ws'],
      announce: [],
      peers: [],
      gateways: [],
    },
    replication: { remotes: [] },
    log: { level: 'info' },
  }
}

const LOG_LEVELS = new Set(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

/**
 * Reads and checks the configuration of the node in `repo`.
 *
 * @throws {InvalidNodeConfigError} listing every problem, one per line.
 */
export async function loadConfig(
  repo: string,
  flags: ConfigFlags = {},
  env: NodeJS.ProcessEnv = process.env,
): Promise<NodeConfig> {
  const problems: string[] = []
  const path = join(repo, REPO_FILES.config)
  let file: NodeConfigFile = {}
  try {
    const parsed = JSON.parse(await readFile(path, 'utf8')) as unknown
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) {
      problems.push(`${REPO_FILES.config}: not a JSON object`)
    } else {
      file = parsed as NodeConfigFile
    }
  } catch (err) {
    problems.push(
      (err as NodeJS.ErrnoException).code === 'ENOENT'
        ? `${REPO_FILES.config}: not found in ${repo} (run \`medvault-node init --repo ${repo}\`)`
        : `${REPO_FILES.config}: not valid JSON`,
    )
  }

  /** A value from the flag, else the environment, else the file; with where it came from. */
  const pick = <T>(
    key: keyof ConfigFlags,
    fromFile: T | undefined,
    parse: (s: string) => T,
  ): [T | undefined, string] => {
    const flag = flags[key]
    if (flag !== undefined) return [parse(flag), `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`]
    const fromEnv = env[CONFIG_ENV[key]]
    if (fromEnv !== undefined && fromEnv !== '') return [parse(fromEnv), CONFIG_ENV[key]]
    return [fromFile, `${REPO_FILES.config}`]
  }
  const list = (s: string): string[] =>
    s
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x !== '')

  const [httpText, httpFrom] = pick('http', file.http ?? '127.0.0.1:5080', (s) => s)
  const http = hostPort(httpText, `http (${httpFrom})`, problems)

  const [servicesList, servicesFrom] = pick('services', file.services ?? ['pinning', 'gateway'], list)
  const services: ServiceName[] = []
  if (!Array.isArray(servicesList)) problems.push(`services (${servicesFrom}): expected a list`)
  else {
    for (const s of servicesList) {
      if (!SERVICE_NAMES.includes(s as ServiceName)) {
        problems.push(
          `services (${servicesFrom}): unknown service ${JSON.stringify(String(s))}; use ${SERVICE_NAMES.join(', ')}`,
        )
      } else if (!services.includes(s as ServiceName)) services.push(s as ServiceName)
    }
  }

  const [listen, listenFrom] = pick(
    'listen',
    file.storage?.listen ?? defaultConfigFile().storage!.listen!,
    list,
  )
  const [peers, peersFrom] = pick('peers', file.storage?.peers ?? [], list)
  const announce = file.storage?.announce ?? []
  const gateways = file.storage?.gateways ?? []
  checkMultiaddrs(listen, `storage.listen (${listenFrom})`, false, problems)
  checkMultiaddrs(announce, `storage.announce (${REPO_FILES.config})`, false, problems)
  checkMultiaddrs(peers, `storage.peers (${peersFrom})`, true, problems)
  for (const g of Array.isArray(gateways) ? gateways : [])
    checkUrl(g, `storage.gateways (${REPO_FILES.config})`, problems)
  const blockTimeoutMs = int(
    file.storage?.blockTimeoutMs,
    30_000,
    100,
    3_600_000,
    'storage.blockTimeoutMs',
    problems,
  )

  const [addressesFile, addressesFrom] = pick('addresses', file.chain?.addresses, (s) => s)
  // The deployment file first: a medvault-network/1 file may name the chain's RPC URL, used unless one is set.
  const deployment =
    addressesFile === undefined
      ? undefined
      : await readAddresses(
          isAbsolute(addressesFile) ? addressesFile : join(repo, addressesFile),
          `chain.addresses (${addressesFrom})`,
          problems,
        )
  let [rpc, rpcFrom] = pick('rpc', file.chain?.rpc, (s) => s)
  if (rpc === undefined && deployment?.rpcUrl !== undefined) {
    rpc = deployment.rpcUrl
    rpcFrom = `rpcUrl of ${addressesFile}`
  }
  const needsChain = services.includes('follower') || services.includes('proxy')
  let chain: NodeConfig['chain']
  if (rpc !== undefined) checkUrl(rpc, `chain.rpc (${rpcFrom})`, problems)
  if (needsChain && rpc === undefined) {
    problems.push(
      `chain.rpc: the ${services.filter((s) => s === 'follower' || s === 'proxy').join(' and ')} service needs a JSON-RPC URL (--rpc URL or ${CONFIG_ENV.rpc})`,
    )
  }
  if (needsChain && addressesFile === undefined) {
    problems.push(
      `chain.addresses: the follower and proxy services need the deployment's addresses file (--addresses FILE or ${CONFIG_ENV.addresses})`,
    )
  }
  if (rpc !== undefined && addressesFile !== undefined) {
    if (deployment !== undefined) {
      chain = {
        rpc,
        addresses: deployment.addresses,
        deployBlock: deployment.deployBlock,
        ...(deployment.chainId === undefined ? {} : { chainId: deployment.chainId }),
        confirmations: int(file.chain?.confirmations, 0, 0, 1000, 'chain.confirmations', problems),
        pollingIntervalMs: int(
          file.chain?.pollingIntervalMs,
          1000,
          50,
          600_000,
          'chain.pollingIntervalMs',
          problems,
        ),
      }
    }
  }

  // The proxy answers on the node's one listener (one endpoint to register on chain and to publish).
  const warnings: string[] = []
  if (file.proxy?.http !== undefined) {
    warnings.push(
      `proxy.http (${REPO_FILES.config}) is not used: the proxy answers on the node's http listener (${httpText}); remove the setting`,
    )
  }
  if ((env.MEDVAULT_NODE_PROXY_HTTP ?? '') !== '') {
    warnings.push(
      "MEDVAULT_NODE_PROXY_HTTP is not used: the proxy answers on the node's http listener; unset it",
    )
  }

  const remotes: RemoteService[] = []
  const configured = file.replication?.remotes ?? []
  if (!Array.isArray(configured)) problems.push('replication.remotes: expected a list')
  else {
    for (const [i, r] of configured.entries()) {
      const where = `replication.remotes[${i}]`
      if (typeof r?.name !== 'string' || !/^[A-Za-z0-9._-]{1,32}$/.test(r.name)) {
        problems.push(`${where}.name: expected 1 to 32 letters, digits, '.', '_' or '-'`)
        continue
      }
      if (typeof r.endpoint !== 'string' || !checkUrl(r.endpoint, `${where}.endpoint`, problems)) continue
      const token = await remoteToken(repo, r, where, env, problems)
      if (token !== undefined) remotes.push({ name: r.name, endpoint: r.endpoint.replace(/\/+$/, ''), token })
    }
  }

  const follower = followerBounds(file.follower, problems)
  if (services.includes('follower') && follower.maxTotalBytes === false) {
    warnings.push(
      'follower.maxTotalBytes is not set: the chain follower pins what anyone registers on chain until the disk is full; set it to the bytes this node may give to followed records',
    )
  }

  const [level, levelFrom] = pick('logLevel', file.log?.level ?? 'info', (s) => s)
  if (typeof level !== 'string' || !LOG_LEVELS.has(level)) {
    problems.push(`log.level (${levelFrom}): expected one of ${[...LOG_LEVELS].join(', ')}`)
  }

  const config: NodeConfig = {
    repo,
    http,
    services,
    storage: { listen: listen ?? [], announce, peers: peers ?? [], gateways, blockTimeoutMs },
    chain,
    proxy: {
      workers: int(file.proxy?.workers, 2, 1, 64, 'proxy.workers', problems),
      anchor:
        file.proxy?.anchor === false
          ? false
          : {
              maxReceipts: int(
                file.proxy?.anchor?.maxReceipts,
                1000,
                1,
                65_536,
                'proxy.anchor.maxReceipts',
                problems,
              ),
              intervalSeconds: int(
                file.proxy?.anchor?.intervalSeconds,
                3600,
                1,
                604_800,
                'proxy.anchor.intervalSeconds',
                problems,
              ),
            },
      grantIndexCompactAtBytes: int(
        file.proxy?.grantIndexCompactAtBytes,
        16 * 1024 ** 2,
        65_536,
        64 * 1024 ** 3,
        'proxy.grantIndexCompactAtBytes',
        problems,
      ),
    },
    pinning: {
      maxPendingPerToken: int(
        file.pinning?.maxPendingPerToken,
        1000,
        1,
        1_000_000,
        'pinning.maxPendingPerToken',
        problems,
      ),
      concurrency: int(file.pinning?.concurrency, 16, 1, 64, 'pinning.concurrency', problems),
      attempts: int(file.pinning?.attempts, 3, 1, 100, 'pinning.attempts', problems),
    },
    gateway: {
      rateLimit:
        file.gateway?.rateLimit === false
          ? false
          : {
              perSecond: int(
                file.gateway?.rateLimit?.perSecond,
                500,
                1,
                1_000_000,
                'gateway.rateLimit.perSecond',
                problems,
              ),
              burst: int(
                file.gateway?.rateLimit?.burst,
                1000,
                1,
                1_000_000,
                'gateway.rateLimit.burst',
                problems,
              ),
            },
      maxCarExportsPerClient: bound(
        file.gateway?.maxCarExportsPerClient,
        4,
        'gateway.maxCarExportsPerClient',
        problems,
      ),
      maxCarExports: bound(file.gateway?.maxCarExports, 32, 'gateway.maxCarExports', problems),
    },
    follower,
    replication: {
      remotes,
      intervalMs: int(file.replication?.intervalMs, 5000, 100, 3_600_000, 'replication.intervalMs', problems),
      journalMaxBytes: int(
        file.replication?.journalMaxBytes,
        1024 ** 2,
        4096,
        1024 ** 3,
        'replication.journalMaxBytes',
        problems,
      ),
    },
    log: { level: String(level) },
    warnings,
  }
  if (problems.length > 0) throw new InvalidNodeConfigError({ problems })
  return config
}

/** Default `follower.maxBytesPerOwner`: 16 GiB, sixteen records of the largest default size. */
export const DEFAULT_MAX_BYTES_PER_OWNER = 16 * 1024 ** 3

/** The chain follower's size bounds (`false`: no bound) and the owners exempt from them. */
function followerBounds(file: NodeConfigFile['follower'], problems: string[]): NodeConfig['follower'] {
  const bound = (value: unknown, fallback: number | false, where: string): number | false =>
    value === false
      ? false
      : int(value, fallback === false ? 0 : fallback, 1, Number.MAX_SAFE_INTEGER, where, problems)
  const maxTotal = file?.maxTotalBytes
  const exempt = file?.exemptOwners ?? []
  const exemptOwners: string[] = []
  if (!Array.isArray(exempt))
    problems.push('follower.exemptOwners: expected a list of addresses (0x and 40 hex digits)')
  else {
    for (const owner of exempt) {
      if (typeof owner === 'string' && /^0x[0-9a-fA-F]{40}$/.test(owner))
        exemptOwners.push(owner.toLowerCase())
      else
        problems.push(
          `follower.exemptOwners: ${JSON.stringify(String(owner).slice(0, 100))} is not an address (0x and 40 hex digits)`,
        )
    }
  }
  return {
    maxRecordBytes: int(
      file?.maxRecordBytes,
      1024 ** 3,
      1,
      Number.MAX_SAFE_INTEGER,
      'follower.maxRecordBytes',
      problems,
    ),
    maxBytesPerOwner: bound(file?.maxBytesPerOwner, DEFAULT_MAX_BYTES_PER_OWNER, 'follower.maxBytesPerOwner'),
    maxTotalBytes: maxTotal === undefined ? false : bound(maxTotal, false, 'follower.maxTotalBytes'),
    exemptOwners,
  }
}

function hostPort(text: unknown, where: string, problems: string[]): { host: string; port: number } {
  const match = typeof text === 'string' ? /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/.exec(text) : null
  const port = match === null ? Number.NaN : Number(match[2])
  if (match === null || port > 65_535) {
    problems.push(`${where}: expected HOST:PORT such as 127.0.0.1:5080`)
    return { host: '127.0.0.1', port: 0 }
  }
  return { host: match[1]!.replace(/^\[|\]$/g, ''), port }
}

function int(
  value: unknown,
  fallback: number,
  min: number,
  max: number,
  where: string,
  problems: string[],
  or = '',
): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min || value > max) {
    problems.push(`${where}: expected an integer from ${min} to ${max}${or}`)
    return fallback
  }
  return value
}

/**
 * A bound on work at once: an integer from 1 to 65536, or `false` for none. 0 is refused rather than read as
 * "none" or "never": an operator who wants no CAR exports at all would get 429s that invite retries forever.
 */
function bound(value: unknown, fallback: number, where: string, problems: string[]): number | false {
  if (value === false) return false
  return int(value, fallback, 1, 65_536, `${where}`, problems, ', or false for no bound')
}

function checkMultiaddrs(values: unknown, where: string, needPeer: boolean, problems: string[]): void {
  if (!Array.isArray(values)) {
    problems.push(`${where}: expected a list of multiaddrs`)
    return
  }
  for (const v of values) {
    let ok = typeof v === 'string'
    if (ok) {
      try {
        multiaddr(v as string)
      } catch {
        ok = false
      }
    }
    if (!ok) problems.push(`${where}: ${JSON.stringify(String(v).slice(0, 100))} is not a multiaddr`)
    else if (needPeer && !/\/p2p\/[^/]+$/.test(v as string)) {
      problems.push(`${where}: ${JSON.stringify(v)} must end with /p2p/<peer id>`)
    }
  }
}

/** True when `value` is an http(s) URL without credentials; otherwise adds a problem (credentials masked). */
function checkUrl(value: unknown, where: string, problems: string[]): boolean {
  let url: URL | undefined
  try {
    url = typeof value === 'string' ? new URL(value) : undefined
  } catch {
    url = undefined
  }
  if (url === undefined || (url.protocol !== 'http:' && url.protocol !== 'https:')) {
    problems.push(`${where}: expected an http:// or https:// URL`)
    return false
  }
  if (url.username !== '' || url.password !== '') {
    problems.push(`${where}: the URL carries credentials (not repeated here); use a token file instead`)
    return false
  }
  return true
}

/** The deployment file, in either format `parseNetworkFile` reads; its problems go on the list. */
async function readAddresses(
  path: string,
  where: string,
  problems: string[],
): Promise<NetworkFile | undefined> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    problems.push(
      `${where}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : 'cannot be read'} (${path})`,
    )
    return undefined
  }
  try {
    return parseNetworkFile(text, path)
  } catch (err) {
    if (!(err instanceof NetworkFileError)) throw err
    for (const problem of err.problems) problems.push(`${where}: ${problem}`)
    return undefined
  }
}

async function remoteToken(
  repo: string,
  remote: { tokenFile?: string; tokenEnv?: string },
  where: string,
  env: NodeJS.ProcessEnv,
  problems: string[],
): Promise<string | undefined> {
  if (typeof remote.tokenEnv === 'string') {
    const token = env[remote.tokenEnv]
    if (token === undefined || token.trim() === '') {
      problems.push(`${where}.tokenEnv: the environment variable ${remote.tokenEnv} is not set`)
      return undefined
    }
    return token.trim()
  }
  if (typeof remote.tokenFile === 'string') {
    const path = isAbsolute(remote.tokenFile) ? remote.tokenFile : join(repo, remote.tokenFile)
    try {
      const token = (await readFile(path, 'utf8')).trim()
      if (token === '') problems.push(`${where}.tokenFile: ${remote.tokenFile} is empty`)
      return token === '' ? undefined : token
    } catch {
      problems.push(`${where}.tokenFile: cannot read ${remote.tokenFile}`)
      return undefined
    }
  }
  problems.push(`${where}: set tokenFile or tokenEnv (the remote service's bearer token)`)
  return undefined
}
