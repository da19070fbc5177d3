import {
  type Chain,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type HttpTransport,
  http,
  type PrivateKeyAccount,
  type PublicClient,
  type TestClient,
  type WalletClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import type { MedvaultAddresses } from './addresses.ts'
import { type Anvil, type StartAnvilOptions, startAnvil } from './anvil.ts'
import { type MedvaultActions, medvaultActions } from './decorator.ts'
import { deployMedvault } from './deploy.ts'

export interface CreateDevnetOptions extends Omit<StartAnvilOptions, 'args'> {
  /** Polling interval (ms) of the returned clients. Default 20: a local node answers at once. */
  pollingInterval?: number
  /** More anvil command-line arguments. */
  anvilArgs?: readonly string[]
}

/** A wallet client for one funded devnet account, with the medvault actions attached. */
export type DevnetWalletClient = WalletClient<HttpTransport, Chain, PrivateKeyAccount> & MedvaultActions

/** A public client with the medvault actions attached (reads and event queries). */
export type DevnetPublicClient = PublicClient<HttpTransport, Chain> & MedvaultActions

export interface Devnet {
  readonly anvil: Anvil
  readonly rpcUrl: string
  readonly chain: Chain
  /** The deployed medvault contracts. */
  readonly addresses: MedvaultAddresses
  /** The block of the deployment: event followers can start there. */
  readonly deployBlock: bigint
  /** The funded accounts (anvil's default mnemonic unless `mnemonic` is set); index 0 deployed the contracts. */
  readonly accounts: readonly PrivateKeyAccount[]
  readonly publicClient: DevnetPublicClient
  /** One wallet client per account, same order as `accounts`. */
  readonly walletClients: readonly DevnetWalletClient[]
  /** viem's test client: `increaseTime`, `mine`, `setNextBlockTimestamp`, `snapshot`, `revert`, … */
  readonly testClient: TestClient<'anvil', HttpTransport, Chain>
  /** Stops anvil and waits for it to exit. Idempotent. */
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

/**
 * The embedded default chain: a real anvil node on 127.0.0.1 with every medvault contract deployed, funded
 * accounts and typed viem clients that carry the medvault actions.
 *
 * @example
 * ```ts
 * await using devnet = await createDevnet()
 * const [patient, doctor] = devnet.walletClients
 * await patient.publishKeys({ receivingKey, verifyingKey })
 * ```
 */
export async function createDevnet(options: CreateDevnetOptions = {}): Promise<Devnet> {
  const { pollingInterval = 20, anvilArgs, ...anvilOptions } = options
  const anvil = await startAnvil({ ...anvilOptions, ...(anvilArgs === undefined ? {} : { args: anvilArgs }) })
  try {
    const chain: Chain = anvil.chainId === foundry.id ? foundry : { ...foundry, id: anvil.chainId }
    const transport = http(anvil.rpcUrl)
    const accounts = anvil.accounts.map((a) => privateKeyToAccount(a.privateKey))
    const deployer = createWalletClient({ account: accounts[0]!, chain, transport, pollingInterval })
    // The signal covers the deployment too; an abort stops anvil below.
    const { addresses, blockNumber } = await deployMedvault(deployer, {
      pollingInterval,
      signal: options.signal,
    })
    const actions = medvaultActions(addresses)
    const publicClient = createPublicClient({ chain, transport, pollingInterval }).extend(actions)
    const walletClients = accounts.map((account) =>
      createWalletClient({ account, chain, transport, pollingInterval }).extend(actions),
    )
    const testClient = createTestClient({ chain, mode: 'anvil', transport, pollingInterval })
    return {
      anvil,
      rpcUrl: anvil.rpcUrl,
      chain,
      addresses,
      deployBlock: blockNumber,
      accounts,
      publicClient: publicClient as unknown as DevnetPublicClient,
      walletClients: walletClients as unknown as DevnetWalletClient[],
      testClient,
      stop: anvil.stop,
      [Symbol.asyncDispose]: anvil.stop,
    }
  } catch (err) {
    await anvil.stop()
    throw err
  }
}
