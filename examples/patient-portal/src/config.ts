/// <reference types="vite/client" />
/**
 * Where the portal finds its network: a JSON file in the format `medvault devnet` writes
 * (`medvault-network/1`), by default `/portal-config.json` beside the page (the dev server answers it from the
 * devnet's addresses file), then single settings overridden from the query string (`config`, `rpc`, `store`,
 * `proxySet`, `gateways`, `peers`).
 *
 * The network decides which keys and proxies a grant is built for, so a link must not be able to choose it:
 * a built page takes the query's overrides only when they point to its own origin (`proxySet` and `peers`,
 * which name no origin, not at all) and refuses the page otherwise. The dev server (`vite`) takes them all.
 *
 * @module
 */
import { BaseError, type VaultChainInit } from '@medvault/sdk'

type MedvaultAddresses = VaultChainInit['addresses']

export interface PortalConfig {
  chainId: number
  /** The chain's JSON-RPC URL (it must answer CORS; anvil does). */
  rpcUrl: string
  addresses: MedvaultAddresses
  deployBlock: bigint
  /** The proxy set grants go through. */
  proxySet: number
  /**
   * A store that takes CAR uploads (`POST <store>/car`), e.g. the devnet's shared store through the dev
   * server (`/store`): every block the page writes is uploaded there before the SDK registers its CID on
   * chain, so proxies and clinicians find it.
   */
  store: string | undefined
  /** Trustless gateways the page's storage reads blocks it lacks from (origins only). */
  gateways: string[]
  /** libp2p peers to dial over WebSockets (`/dns4/…/tcp/443/wss/p2p/…`). */
  peers: string[]
  /** A development chain: the portal funds its own account with `anvil_setBalance`. */
  devnet: boolean
}

export type PortalConfigErrorType = PortalConfigError & { name: 'PortalConfigError' }

/** The portal's configuration is missing or not what it must be. */
export class PortalConfigError extends BaseError {
  override name = 'PortalConfigError' as const

  constructor(shortMessage: string, cause?: unknown) {
    super(shortMessage, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: [
        'Start `medvault devnet --addresses net.json` and the dev server with MEDVAULT_ADDRESSES=net.json,',
        'or serve a medvault-network/1 file as /portal-config.json beside the built page.',
      ],
    })
  }
}

export type PortalOverrideRefusedErrorType = PortalOverrideRefusedError & {
  name: 'PortalOverrideRefusedError'
}

/**
 * The link that opened the page tried to choose its network (chain, store, proxies) from another origin. A
 * built portal refuses the whole page rather than ignore the setting, so the patient sees that the link is
 * not the site's own.
 */
export class PortalOverrideRefusedError extends BaseError {
  override name = 'PortalOverrideRefusedError' as const

  constructor(setting: string, target: string | undefined) {
    super(
      target === undefined
        ? `This link sets \`${setting}\`, which this portal takes only from its own configuration. Open the portal without it.`
        : `This link points \`${setting}\` to ${target}, not to this site. Open the portal without it.`,
      {
        metaMessages: [
          'A deployed portal takes its network only from its own origin (/portal-config.json): a link that',
          'chose the chain, store or proxies could have a grant built for someone else.',
        ],
      },
    )
  }
}

const list = (value: string | null): string[] | undefined =>
  value === null
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')

/** An origin as text for a message: `https://host:port`, or the URL's scheme when it has no origin. */
const originOf = (url: URL) => (url.origin === 'null' ? `a ${url.protocol} URL` : url.origin)

/**
 * The query string's settings the page may use: all of them in development; in a built page only the ones
 * that resolve to the page's own origin, and neither `proxySet` nor `peers`. Anything else refuses the page.
 */
function overrides(
  location: URL,
  dev: boolean,
): (name: string, kind: 'url' | 'urls' | 'other') => string | null {
  const query = location.searchParams
  return (name, kind) => {
    const value = query.get(name)
    if (value === null || dev) return value
    if (kind === 'other') throw new PortalOverrideRefusedError(name, undefined)
    const targets = kind === 'urls' ? (list(value) ?? []) : [value]
    for (const target of targets) {
      let url: URL
      try {
        url = new URL(target, location)
      } catch {
        throw new PortalConfigError(`\`${name}\` in the query is not a URL.`)
      }
      if (url.origin !== location.origin) throw new PortalOverrideRefusedError(name, originOf(url))
    }
    return value
  }
}

/**
 * Whether this is the dev server's page. Vite's `DEV` alone follows NODE_ENV, which a build run under
 * NODE_ENV=development or =test (a test runner) inherits; `MODE` is `production` in every `vite build` unless
 * `--mode` says otherwise, so both must say development.
 */
const DEV_SERVER = import.meta.env.DEV && import.meta.env.MODE !== 'production'

/**
 * Reads the configuration for the page at `location`. `dev` (default: the page comes from Vite's dev server;
 * false in a built page) lets the query string choose any network.
 */
export async function loadConfig(
  location: URL,
  fetcher: typeof fetch = fetch,
  dev: boolean = DEV_SERVER,
): Promise<PortalConfig> {
  const setting = overrides(location, dev)
  // Every override is checked before anything is fetched: a refused link makes no request.
  const chosen = {
    config: setting('config', 'url'),
    rpc: setting('rpc', 'url'),
    store: setting('store', 'url'),
    proxySet: setting('proxySet', 'other'),
    gateways: setting('gateways', 'urls'),
    peers: setting('peers', 'other'),
  }
  const source = new URL(chosen.config ?? '/portal-config.json', location)
  let file: Record<string, unknown>
  try {
    const res = await fetcher(source)
    if (!res.ok) throw new Error(`HTTP ${res.status}`)
    file = (await res.json()) as Record<string, unknown>
  } catch (cause) {
    throw new PortalConfigError(
      `Cannot read the portal configuration from ${source.origin}${source.pathname}.`,
      cause,
    )
  }
  if (
    file.format !== 'medvault-network/1' ||
    typeof file.chainId !== 'number' ||
    typeof file.addresses !== 'object' ||
    file.addresses === null ||
    typeof file.deployBlock !== 'string' ||
    typeof file.proxySet !== 'number'
  ) {
    throw new PortalConfigError(`${source.pathname} is not a medvault-network/1 file.`)
  }
  const rpcUrl = chosen.rpc ?? file.rpcUrl
  if (typeof rpcUrl !== 'string' || rpcUrl === '') {
    throw new PortalConfigError('No JSON-RPC URL: the file has no `rpcUrl` and the query no `rpc`.')
  }
  const store = chosen.store ?? (typeof file.store === 'string' ? file.store : undefined)
  const proxySet = chosen.proxySet === null ? file.proxySet : Number(chosen.proxySet)
  if (!Number.isInteger(proxySet) || proxySet < 1) {
    throw new PortalConfigError('`proxySet` must be a positive whole number.')
  }
  const strings = (v: unknown) =>
    Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string') : []
  return {
    chainId: file.chainId,
    rpcUrl,
    addresses: file.addresses as MedvaultAddresses,
    deployBlock: BigInt(file.deployBlock),
    proxySet,
    // Relative store paths (the dev server's `/store`) are resolved against the page.
    store: store === undefined || store === '' ? undefined : new URL(store, location).href.replace(/\/$/, ''),
    gateways: list(chosen.gateways) ?? strings(file.gateways),
    peers: list(chosen.peers) ?? strings(file.peers),
    devnet: file.devnet === true,
  }
}
