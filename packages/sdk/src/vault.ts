/**
 * `createVault`: one account's view of medvault on one deployment — its records, the grants it gives and
 * receives, and the audit trail.
 *
 * @module
 */
import { DEFAULT_LOG_BLOCK_RANGE, type MedvaultAddresses } from '@medvault/chain'
import type { DerivedKeys } from '@medvault/crypto'
import type { Storage } from '@medvault/storage'
import {
  type Address,
  type Chain,
  createPublicClient,
  defineChain,
  type Hash,
  type PublicClient,
  type Transport,
} from 'viem'
import { getChainId } from 'viem/actions'
import { Audit, type ReadsSource } from './audit.ts'
import { BreakGlass } from './break-glass.ts'
import { serialize, type VaultContext } from './context.ts'
import { Datasets } from './datasets.ts'
import { InvalidOptionError } from './errors.ts'
import { Grants } from './grants.ts'
import { ensureKeysPublished, resolveAccount, type VaultAccount } from './identity.ts'
import { parseAddress } from './options.ts'
import { createReadIndex } from './read-index.ts'
import { Records } from './records.ts'
import type { VaultProgressEvent } from './types.ts'

/** Where the chain is and which medvault deployment to use. */
export interface VaultChainInit {
  /** A viem transport to the chain's JSON-RPC (`http(url)`, `webSocket(url)`, `custom(window.ethereum)`). */
  transport: Transport
  /** The deployed contracts (`deployMedvault` returns them; `createLocalNetwork` fills them in). */
  addresses: MedvaultAddresses
  /** The viem chain; default: one made from the node's chain id. */
  chain?: Chain
  /** The deployment block: event queries (grants, history, audit) start there. Default 0. */
  deployBlock?: bigint | number
  /**
   * Most blocks one `eth_getLogs` asks for. Event queries read from `deployBlock` to the head in ranges of this
   * size, and halve a range the node refuses (a block-range cap, a result cap such as 10,000 logs, or a
   * time-out), so they work on public providers that cap log queries. Default 10,000; set the provider's cap
   * (e.g. 2,000) to spare the refused first requests.
   */
  logBlockRange?: number
}

export interface VaultInit {
  /**
   * Who the vault acts as: a raw private key (`0x…`, keys derived from the key), or a viem account or wallet
   * client (keys derived from its EIP-712 signature bound to this chain id and KeyRegistry; asked for once).
   */
  account: VaultAccount
  chain: VaultChainInit
  /** Where ciphertext is stored (`createStorage()` from `@medvault/storage`, embedded or networked). */
  storage: Storage
  /** The proxy set new grants go through by default (`createProxySet`). */
  proxySet?: number
  /** Reads ask one more proxy after this long without enough answers. Default 250 ms. */
  hedgeDelayMs?: number
  /** One proxy request gives up after this long. Default 10 s. */
  proxyTimeoutMs?: number
  /** The `fetch` proxies are called with. Default: the global one. */
  fetch?: typeof fetch
  /**
   * Publish the account's public keys on chain now if they are not there yet (one transaction, once per
   * account), so others can grant to it. Default true. When false, the first write publishes them.
   */
  publishKeys?: boolean
  signal?: AbortSignal
  /** Advanced: where `audit.list` gets reads from (createLocalNetwork sets it). */
  reads?: ReadsSource
}

/** One account's vault. */
export interface Vault {
  /** The account's address. */
  readonly address: Address
  readonly chainId: number
  readonly records: Records
  readonly grants: Grants
  readonly audit: Audit
  /**
   * Emergency access: the patient pre-authorises it (`authorize`), the grantee opens a time-boxed, audited
   * window on a record (`open`) and reads it with `records.get` while the window runs.
   */
  readonly breakGlass: BreakGlass
  /** Research datasets: build and publish them (data stewards), fetch and verify them (research platforms). */
  readonly datasets: Datasets
  /**
   * Publishes the account's public keys (receiving key) unless they are already on chain. With
   * `replace: true`, replaces different published keys (grants made to the old keys stop opening).
   */
  publishKeys(options?: { replace?: boolean; signal?: AbortSignal }): Promise<{ published: boolean }>
}

/**
 * Opens a vault: one account on one medvault deployment, with a storage for ciphertext.
 *
 * @example
 * ```ts
 * import { createVault } from '@medvault/sdk'
 * import { createStorage } from '@medvault/storage'
 * import { http } from 'viem'
 *
 * const vault = await createVault({
 *   account: walletClient,                       // or a private key, or a viem account
 *   chain: { transport: http(rpcUrl), addresses, deployBlock },
 *   storage: await createStorage({ directory: './vault' }),
 *   proxySet: 1,
 * })
 * const rec = await vault.records.put({ resourceType: 'Bundle', … }, { tag: 'labs' })
 * ```
 */
export async function createVault(init: VaultInit): Promise<Vault> {
  if (init === null || typeof init !== 'object') {
    throw new InvalidOptionError({ option: 'init', expected: 'an object with account, chain and storage' })
  }
  const { chain: chainInit, storage } = init
  if (chainInit === null || typeof chainInit !== 'object' || chainInit.transport === undefined) {
    throw new InvalidOptionError({
      option: 'chain',
      expected: '{ transport, addresses } (a viem transport and the deployed contracts)',
    })
  }
  const addresses = checkAddresses(chainInit.addresses)
  if (storage === null || typeof storage !== 'object' || typeof storage.putStream !== 'function') {
    throw new InvalidOptionError({
      option: 'storage',
      expected: 'a storage from createStorage() (@medvault/storage)',
    })
  }
  const hedgeDelayMs = checkMs(init.hedgeDelayMs, 'hedgeDelayMs', 250)
  const proxyTimeoutMs = checkMs(init.proxyTimeoutMs, 'proxyTimeoutMs', 10_000)
  if (init.proxySet !== undefined && (!Number.isInteger(init.proxySet) || init.proxySet < 1)) {
    throw new InvalidOptionError({ option: 'proxySet', expected: 'a proxy set id (a positive whole number)' })
  }
  const deployBlock = BigInt(chainInit.deployBlock ?? 0)
  const logBlockRange = chainInit.logBlockRange ?? DEFAULT_LOG_BLOCK_RANGE
  if (!Number.isSafeInteger(logBlockRange) || logBlockRange < 1) {
    throw new InvalidOptionError({
      option: 'chain.logBlockRange',
      expected: 'the most blocks per eth_getLogs: a positive whole number (e.g. 2000)',
    })
  }

  let chain = chainInit.chain
  if (chain === undefined) {
    const probe = createPublicClient({ transport: chainInit.transport })
    const id = await getChainId(probe)
    chain = defineChain({
      id,
      name: `chain ${id}`,
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [] } },
    })
  }
  const publicClient = createPublicClient({
    chain,
    transport: chainInit.transport,
    pollingInterval: 50,
  }) as PublicClient<Transport, Chain>
  const account = resolveAccount(init.account, chainInit.transport, chain)

  let keys: Promise<DerivedKeys> | undefined
  let published: Promise<void> | undefined
  const queueKey = `${chain.id}:${account.address.toLowerCase()}`
  const ctx: VaultContext = {
    address: account.address,
    chainId: chain.id,
    addresses,
    fromBlock: deployBlock,
    logBlockRange,
    publicClient,
    index: createReadIndex({
      publicClient,
      addresses,
      fromBlock: deployBlock,
      logBlockRange,
      account: account.address,
    }),
    walletClient: account.walletClient,
    storage,
    proxySet: init.proxySet,
    hedgeDelayMs,
    proxyTimeoutMs,
    fetch: init.fetch,
    keys() {
      keys ??= account.deriveKeys({ chainId: chain.id, keyRegistry: addresses.keyRegistry })
      // A refused wallet signature must not stick: ask again next time.
      keys.catch(() => {
        keys = undefined
      })
      return keys
    },
    write<T extends { hash: Hash }>(
      action: string,
      send: (signal: AbortSignal | undefined) => Promise<T>,
      signal: AbortSignal | undefined,
      onProgress?: ((event: VaultProgressEvent) => void) | undefined,
    ): Promise<T> {
      return serialize(queueKey, async () => {
        signal?.throwIfAborted()
        const result = await send(signal)
        onProgress?.({ type: 'chain:transaction', action, hash: result.hash })
        return result
      })
    },
    ready(signal?: AbortSignal): Promise<void> {
      published ??= ensureKeysPublished(ctx, { signal }).then(() => {})
      published.catch(() => {
        published = undefined
      })
      return published
    },
  }
  if (init.publishKeys !== false) await ctx.ready(init.signal)

  const grants = new Grants(ctx)
  const records = new Records(ctx, grants)
  const audit = new Audit(ctx, init.reads)
  const datasets = new Datasets(ctx, records)
  return {
    address: account.address,
    chainId: chain.id,
    records,
    grants,
    audit,
    breakGlass: new BreakGlass(ctx),
    datasets,
    publishKeys: (options = {}) => ensureKeysPublished(ctx, options),
  }
}

function checkAddresses(value: unknown): MedvaultAddresses {
  const names = [
    'keyRegistry',
    'proxyRegistry',
    'consentRegistry',
    'auditAnchors',
    'datasetRegistry',
  ] as const
  if (value === null || typeof value !== 'object') {
    throw new InvalidOptionError({
      option: 'chain.addresses',
      expected: `the deployed contracts: { ${names.join(', ')} }`,
    })
  }
  const v = value as Record<string, unknown>
  const out = {} as Record<(typeof names)[number], Address>
  for (const name of names) out[name] = parseAddress(v[name], `chain.addresses.${name}`)
  return out
}

function checkMs(value: unknown, option: string, fallback: number): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0 || value > 600_000) {
    throw new InvalidOptionError({ option, expected: 'milliseconds from 0 to 600000' })
  }
  return value
}
