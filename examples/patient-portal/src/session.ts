/**
 * Opening the patient's vault in the page: the account (a key kept in this origin's localStorage, or the
 * injected wallet when there is one), the storage (IndexedDB, per account), and the vault over HTTP JSON-RPC.
 *
 * @module
 */
import { BaseError, createVault, type Vault, type VaultAccount } from '@medvault/sdk'
import { createStorage, type Storage } from '@medvault/storage'
import {
  type Address,
  createWalletClient,
  custom,
  defineChain,
  type EIP1193Provider,
  type Hex,
  http,
} from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import type { PortalConfig } from './config.ts'

/**
 * The localStorage entry of the page's key on one network: chain id and every contract address. A network the
 * page has not seen before (another chain, another deployment, or one a link made up) gets a fresh key, never
 * the key of the patient's records elsewhere.
 */
export function keyItem(config: Pick<PortalConfig, 'chainId' | 'addresses'>): string {
  const contracts = Object.entries(config.addresses)
    .filter((entry): entry is [string, string] => typeof entry[1] === 'string')
    .map(([name, address]) => `${name}=${address.toLowerCase()}`)
    .sort()
    .join(',')
  return `medvault-portal/private-key/${config.chainId}/${contracts}`
}

export interface Session {
  vault: Vault
  storage: Storage
  address: Address
  /** How the account is held: 'local key' or 'wallet'. */
  holder: 'local key' | 'wallet'
  close(): Promise<void>
}

export type StoreUploadErrorType = StoreUploadError & { name: 'StoreUploadError' }

/** The store did not take the page's blocks; nothing was registered on chain. */
export class StoreUploadError extends BaseError {
  override name = 'StoreUploadError' as const

  constructor(store: string, reason: string, cause?: unknown) {
    super(`The store at ${new URL(store).origin} did not take the upload: ${reason}.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: ['Nothing was registered on chain. Check that the store (the devnet) is running.'],
    })
  }
}

declare global {
  interface Window {
    ethereum?: EIP1193Provider
  }
}

/**
 * The page's key on this network, made on its first visit. A key in localStorage is as safe as this origin: fine for a devnet
 * and for trying things; a patient's real records want a wallet (the portal uses one when it finds it).
 */
function localKey(config: PortalConfig): Hex {
  const item = keyItem(config)
  let key = localStorage.getItem(item) as Hex | null
  if (key === null || !/^0x[0-9a-f]{64}$/.test(key)) {
    key = generatePrivateKey()
    localStorage.setItem(item, key)
  }
  return key
}

/**
 * Uploads every DAG the SDK stores to `store` as a CAR before the put returns, so a CID registered on chain
 * right after is already where the proxies and other readers look (as the medvault CLI does on a devnet).
 * The CAR is collected into a Blob: Chromium sends streamed request bodies only over HTTP/2.
 */
export function uploadingStorage(storage: Storage, store: string): Storage {
  const upload = async (cid: Awaited<ReturnType<Storage['putBytes']>>) => {
    const parts: Uint8Array<ArrayBuffer>[] = []
    for await (const chunk of storage.exportCar(cid)) parts.push(new Uint8Array(chunk))
    let res: Response
    try {
      res = await fetch(`${store}/car`, {
        method: 'POST',
        headers: { 'content-type': 'application/vnd.ipld.car' },
        body: new Blob(parts),
      })
    } catch (cause) {
      throw new StoreUploadError(store, 'unreachable', cause)
    }
    // The store answers with an error name at most; nothing of the record.
    if (!res.ok) throw new StoreUploadError(store, `HTTP ${res.status} ${(await res.text()).slice(0, 80)}`)
    return cid
  }
  return new Proxy(storage, {
    get(target, property, receiver) {
      if (property === 'putBytes' || property === 'putStream' || property === 'putEnvelope') {
        return async (...args: unknown[]) => {
          const method = Reflect.get(target, property, receiver) as (
            ...a: unknown[]
          ) => ReturnType<Storage['putBytes']>
          return upload(await method.apply(target, args))
        }
      }
      const value = Reflect.get(target, property, receiver)
      return typeof value === 'function' ? value.bind(target) : value
    },
  })
}

/** One JSON-RPC call by plain fetch (devnet-only methods such as `anvil_setBalance`). */
export async function rpc(url: string, method: string, params: unknown[]): Promise<unknown> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  const body = (await res.json()) as { result?: unknown; error?: { message: string } }
  if (body.error !== undefined) throw new Error(`${method}: ${body.error.message}`)
  return body.result
}

/** On a devnet, gives the account 100 ETH when it has less than 1 (anvil's `anvil_setBalance`). */
async function fundOnDevnet(config: PortalConfig, address: Address): Promise<void> {
  const balance = BigInt((await rpc(config.rpcUrl, 'eth_getBalance', [address, 'latest'])) as string)
  if (balance < 10n ** 18n) {
    await rpc(config.rpcUrl, 'anvil_setBalance', [address, `0x${(100n * 10n ** 18n).toString(16)}`])
  }
}

/**
 * libp2p for the configured peers (node daemons). The page stays connected to them: a node's chain follower
 * pins what the page registers by fetching it over that connection (a page cannot be dialled), and keeps
 * asking until it has it, so a record stored while a node was away reaches it the next time the page is open.
 * A devnet's nodes listen on loopback over plain `ws://`, which libp2p's browser rules refuse: the file's
 * `devnet` flag (never the query) lifts that rule for private addresses only.
 */
export function peerNetwork(config: Pick<PortalConfig, 'peers' | 'devnet'>): {
  peers: string[]
  allowPrivateAddresses?: true
} {
  return { peers: config.peers, ...(config.devnet ? { allowPrivateAddresses: true as const } : {}) }
}

/** Opens the vault of this page's patient. */
export async function openSession(config: PortalConfig): Promise<Session> {
  const chain = defineChain({
    id: config.chainId,
    name: config.devnet ? 'medvault devnet' : `chain ${config.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [config.rpcUrl] } },
  })
  let account: VaultAccount
  let address: Address
  const injected = typeof window !== 'undefined' ? window.ethereum : undefined
  if (injected !== undefined) {
    const [first] = await createWalletClient({ chain, transport: custom(injected) }).requestAddresses()
    if (first === undefined) throw new BaseError('The wallet shared no account with the portal.')
    address = first
    account = createWalletClient({ account: first, chain, transport: custom(injected) })
  } else {
    account = localKey(config)
    address = privateKeyToAddress(account)
  }
  if (config.devnet) await fundOnDevnet(config, address)

  // One IndexedDB store per account: a second account in the same browser keeps its own blocks and pins.
  const local = await createStorage({
    indexedDB: `medvault-portal/${address.toLowerCase()}`,
    gateways: config.gateways,
    ...(config.peers.length > 0 ? { network: peerNetwork(config) } : {}),
  })
  const storage = config.store === undefined ? local : uploadingStorage(local, config.store)
  try {
    const vault = await createVault({
      account,
      chain: {
        transport: http(config.rpcUrl),
        chain,
        addresses: config.addresses,
        deployBlock: config.deployBlock,
      },
      storage,
      proxySet: config.proxySet,
    })
    return {
      vault,
      storage,
      address,
      holder: injected === undefined ? 'local key' : 'wallet',
      close: () => local.stop(),
    }
  } catch (err) {
    await local.stop()
    throw err
  }
}
