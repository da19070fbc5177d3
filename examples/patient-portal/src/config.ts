/**
 * Where the portal finds its network: a JSON file in the format `medvault devnet` writes
 * (`medvault-network/1`), fetched from `?config=<url>` or, by default, `/portal-config.json` (the dev
 * server answers it from the devnet's addresses file), then single settings overridden from the query string
 * (`rpc`, `store`, `proxySet`, `gateways`, `peers`).
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
        'or open the portal with ?config=<url of a medvault-network/1 file>.',
      ],
    })
  }
}

const list = (value: string | null): string[] | undefined =>
  value === null
    ? undefined
    : value
        .split(',')
        .map((s) => s.trim())
        .filter((s) => s !== '')

/** Reads the configuration for the page at `location` (its query string chooses and overrides). */
export async function loadConfig(location: URL, fetcher: typeof fetch = fetch): Promise<PortalConfig> {
  const query = location.searchParams
  const source = new URL(query.get('config') ?? '/portal-config.json', location)
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
  const rpcUrl = query.get('rpc') ?? file.rpcUrl
  if (typeof rpcUrl !== 'string' || rpcUrl === '') {
    throw new PortalConfigError('No JSON-RPC URL: the file has no `rpcUrl` and the query no `rpc`.')
  }
  const store = query.get('store') ?? (typeof file.store === 'string' ? file.store : undefined)
  const proxySet = query.get('proxySet') === null ? file.proxySet : Number(query.get('proxySet'))
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
    gateways: list(query.get('gateways')) ?? strings(file.gateways),
    peers: list(query.get('peers')) ?? strings(file.peers),
    devnet: file.devnet === true,
  }
}
