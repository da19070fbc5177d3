/**
 * `createLocalNetwork`: all of medvault on this machine, for development, demos and tests. A real anvil
 * chain with the contracts deployed, one embedded IPFS store (Helia), and N real HTTP re-encryption proxies
 * on 127.0.0.1, registered on chain and grouped into a proxy set; vaults for the chain's funded accounts.
 * Node only.
 *
 * @module
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import {
  anchorReceipts,
  buildReceiptTree,
  createProxySet,
  type ReceiptTree,
  registerProxy,
  verifyReceiptInclusion,
} from '@medvault/chain'
import { createDevnet, type Devnet, type DevnetWalletClient } from '@medvault/chain/node'
import { deriveKeysFromPrivateKey, getPublicKey } from '@medvault/crypto'
import { createProxy, type ReencryptionProxy } from '@medvault/node'
import { type AccessReceipt, type ProtocolDomain, receiptHash, verifyReceipt } from '@medvault/protocol'
import { createStorage, type Storage } from '@medvault/storage'
import { type Address, type Hex, hexToBytes, http } from 'viem'
import type { ReadsSource } from './audit.ts'
import { InvalidOptionError } from './errors.ts'
import type { AuditEntry } from './types.ts'
import { createVault, type Vault, type VaultInit } from './vault.ts'

export interface LocalNetworkInit {
  /** How many re-encryption proxies to run (1 to 8). Default 3. */
  proxies?: number
  /** Funded devnet accounts (the proxies' operators are the last ones). Default 10. */
  accounts?: number
  /** Keep the store, the proxies' receipts and grant indexes here; default a temporary directory, removed on stop. */
  directory?: string
  /** Passed to every vault: ask one more proxy after this long. Default 250 ms. */
  hedgeDelayMs?: number
  signal?: AbortSignal
}

/** One of the network's proxies, to watch and to play faults with. */
export interface LocalProxy {
  /** The operator's address (in the proxy set, signs receipts). */
  readonly address: Address
  /** Its endpoint, as registered on chain. */
  readonly url: string
  /** Stops it (connections are refused) until {@link LocalProxy.start}; same port after. */
  stop(): Promise<void>
  start(): Promise<void>
  isStarted(): boolean
  /**
   * Makes it lie (`true`): every cfrag it returns has a flipped bit, as a compromised or broken proxy's
   * would. Readers detect it by the cfrag's proof and go to another proxy. `false` makes it honest again.
   */
  lie(on?: boolean): void
  /** Every receipt it signed, oldest first. */
  receipts(): AsyncIterable<{ receipt: AccessReceipt; signature: Hex }>
  /** The proxy itself. */
  readonly proxy: ReencryptionProxy
}

export interface LocalNetwork {
  /** The chain: clients, accounts, addresses, and `testClient` to move time (`increaseTime`, `mine`). */
  readonly devnet: Devnet
  /** The embedded IPFS store every vault and proxy shares. */
  readonly storage: Storage
  readonly proxies: readonly LocalProxy[]
  /** The proxy set of all the proxies: the default of every vault's grants. */
  readonly proxySet: number
  /** The accounts vaults can use (`vault(i)` is `accounts[i]`): devnet keys, public, never for real value. */
  readonly accounts: readonly { address: Address; privateKey: Hex }[]
  /** A vault for funded account `index` (0 … accounts − proxies − 1); its keys are published at once. */
  vault(index: number, overrides?: Partial<Omit<VaultInit, 'account' | 'chain' | 'storage'>>): Promise<Vault>
  /**
   * Has every proxy anchor the Merkle root of the receipts it signed since its last anchor (as a proxy
   * operator's daemon does periodically); `audit.list` then shows those reads as anchored.
   */
  anchorReceipts(): Promise<{ proxy: Address; root: Hex; count: number }[]>
  /** Stops the proxies, the store and the chain, and removes the temporary directory. Idempotent. */
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * Starts a complete local medvault network: anvil + contracts + an embedded store + N HTTP proxies.
 *
 * @example
 * ```ts
 * await using net = await createLocalNetwork({ proxies: 3 })
 * const patient = await net.vault(0), clinic = await net.vault(1)
 * net.proxies[2].lie()          // a lying proxy: its cfrags fail their proofs
 * await net.proxies[0].stop()   // a proxy that is down
 * ```
 */
export async function createLocalNetwork(init: LocalNetworkInit = {}): Promise<LocalNetwork> {
  const proxyCount = init.proxies ?? 3
  const accountCount = init.accounts ?? 10
  if (!Number.isInteger(proxyCount) || proxyCount < 1 || proxyCount > 8) {
    throw new InvalidOptionError({ option: 'proxies', expected: 'a whole number from 1 to 8' })
  }
  if (!Number.isInteger(accountCount) || accountCount < proxyCount + 1 || accountCount > 100) {
    throw new InvalidOptionError({
      option: 'accounts',
      expected: `a whole number from ${proxyCount + 1} to 100`,
    })
  }
  const { signal } = init
  const temporary = init.directory === undefined
  const directory = init.directory ?? (await mkdtemp(join(tmpdir(), 'medvault-local-')))
  await mkdir(directory, { recursive: true })

  const cleanups: (() => Promise<unknown>)[] = []
  const stopAll = async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {})
  }
  try {
    if (temporary) cleanups.push(() => rm(directory, { recursive: true, force: true }))
    const devnet = await createDevnet({ accounts: accountCount, ...(signal === undefined ? {} : { signal }) })
    cleanups.push(() => devnet.stop())
    const storage = await createStorage({ directory: join(directory, 'ipfs') })
    cleanups.push(() => storage.stop())
    const domain: ProtocolDomain = {
      chainId: devnet.chain.id,
      verifyingContract: devnet.addresses.consentRegistry,
    }

    // Operators are the last accounts, so vault(0), vault(1), … are the first ones.
    const proxies: LocalProxy[] = []
    for (let i = 0; i < proxyCount; i++) {
      signal?.throwIfAborted()
      const index = accountCount - 1 - i
      const privateKey = devnet.anvil.accounts[index]?.privateKey as Hex
      const wallet = devnet.walletClients[index] as DevnetWalletClient
      // The ECIES key the operator's kfrags are sealed to, derived from its account like any medvault key.
      const { eciesSecretKey } = deriveKeysFromPrivateKey(hexToBytes(privateKey))
      let lying = false
      const proxy = await createProxy(
        {
          account: privateKey,
          eciesSecretKey,
          receiptsDir: join(directory, `proxy-${i}`, 'receipts'),
          indexDir: join(directory, `proxy-${i}`, 'index'),
          workers: 1,
          pollingInterval: 200,
        },
        {
          publicClient: devnet.publicClient,
          storage,
          addresses: devnet.addresses,
          deployBlock: devnet.deployBlock,
          tamper: (cfrag) => {
            if (!lying) return cfrag
            const bad = cfrag.slice()
            bad[100] = (bad[100] as number) ^ 1
            return bad
          },
        },
      )
      cleanups.push(() => proxy.stop())
      await registerProxy(wallet, {
        addresses: devnet.addresses,
        publicKey: getPublicKey(eciesSecretKey),
        endpoint: proxy.url,
      })
      proxies.push({
        address: proxy.address,
        url: proxy.url,
        stop: () => proxy.stop(),
        start: () => proxy.start(),
        isStarted: () => proxy.isStarted(),
        lie: (on = true) => {
          lying = on
        },
        receipts: () => proxy.receipts(),
        proxy,
      })
    }
    const firstOperator = devnet.walletClients[accountCount - 1] as DevnetWalletClient
    const { setId } = await createProxySet(firstOperator, {
      addresses: devnet.addresses,
      members: proxies.map((p) => p.address),
    })

    // Anchored receipt trees, by receipt hash: what a proxy operator keeps to hand out inclusion proofs.
    const anchored = new Map<Hex, { proxy: Address; root: Hex; tree: ReceiptTree }>()
    const reads: ReadsSource = async (_ctx, filter, readSignal) => {
      const grants = new Set(filter.grants.map((g) => g.toLowerCase()))
      const records =
        filter.records === undefined ? undefined : new Set(filter.records.map((r) => r.toLowerCase()))
      const out: Extract<AuditEntry, { kind: 'read' }>[] = []
      for (const p of proxies) {
        for await (const { receipt, signature } of p.receipts()) {
          readSignal?.throwIfAborted()
          if (!grants.has(receipt.grantId.toLowerCase())) continue
          if (records !== undefined && !records.has(receipt.recordId.toLowerCase())) continue
          // A receipt counts only if its proxy signed it.
          await verifyReceipt({ domain, receipt, signature, proxy: p.address })
          const hash = receiptHash(domain, receipt)
          const anchor = anchored.get(hash.toLowerCase() as Hex)
          const proven =
            anchor !== undefined &&
            (await verifyReceiptInclusion(devnet.publicClient, {
              addresses: devnet.addresses,
              proxy: anchor.proxy,
              root: anchor.root,
              receiptHash: hash,
              proof: anchor.tree.getProof(hash),
            }))
          out.push({
            kind: 'read',
            grantId: receipt.grantId,
            recordId: receipt.recordId,
            reader: receipt.requester,
            proxy: receipt.proxy,
            at: receipt.at,
            receiptHash: hash,
            anchored: proven,
          })
        }
      }
      return out
    }

    const accounts = devnet.anvil.accounts.slice(0, accountCount - proxyCount).map((a) => ({
      address: a.address as Address,
      privateKey: a.privateKey as Hex,
    }))
    let stopped: Promise<void> | undefined
    const stop = () => {
      stopped ??= stopAll()
      return stopped
    }
    return {
      devnet,
      storage,
      proxies,
      proxySet: setId,
      accounts,
      async vault(index, overrides = {}) {
        const account = accounts[index]
        if (account === undefined || !Number.isInteger(index)) {
          throw new InvalidOptionError({
            option: 'index',
            expected: `a whole number from 0 to ${accounts.length - 1}`,
          })
        }
        return createVault({
          proxySet: setId,
          reads,
          ...(init.hedgeDelayMs === undefined ? {} : { hedgeDelayMs: init.hedgeDelayMs }),
          ...overrides,
          account: account.privateKey,
          chain: {
            transport: http(devnet.rpcUrl),
            addresses: devnet.addresses,
            chain: devnet.chain,
            deployBlock: devnet.deployBlock,
          },
          storage,
        })
      },
      async anchorReceipts() {
        const done: { proxy: Address; root: Hex; count: number }[] = []
        for (const [i, p] of proxies.entries()) {
          const fresh: { hash: Hex; at: number }[] = []
          for await (const { receipt } of p.receipts()) {
            const hash = receiptHash(domain, receipt).toLowerCase() as Hex
            if (!anchored.has(hash)) fresh.push({ hash, at: receipt.at })
          }
          if (fresh.length === 0) continue
          const tree = buildReceiptTree(fresh.map((f) => f.hash))
          const wallet = devnet.walletClients[accountCount - 1 - i] as DevnetWalletClient
          const times = fresh.map((f) => f.at)
          const chainNow = Number((await devnet.publicClient.getBlock()).timestamp)
          await anchorReceipts(wallet, {
            addresses: devnet.addresses,
            tree,
            fromTime: Math.min(...times, chainNow),
            // A receipt dated by the proxy's clock may be ahead of the latest block: cap at chain time.
            toTime: Math.min(Math.max(...times), chainNow),
          })
          for (const f of fresh) anchored.set(f.hash, { proxy: p.address, root: tree.root, tree })
          done.push({ proxy: p.address, root: tree.root, count: fresh.length })
        }
        return done
      },
      stop,
      [Symbol.asyncDispose]: stop,
    }
  } catch (err) {
    await stopAll()
    throw err
  }
}
