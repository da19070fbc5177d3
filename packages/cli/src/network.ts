/**
 * How a CLI process reaches a deployment: the network file `medvault devnet` writes (chain id, RPC URL,
 * contract addresses, deployment block, proxy set, the devnet's store URL), the RPC URL given on the command
 * line or in the configuration, and a store directory of its own.
 *
 * @module
 */
import { mkdir, readFile } from 'node:fs/promises'
import type { MedvaultAddresses } from '@medvault/chain'
import { createVault, type Vault } from '@medvault/sdk'
import { createStorage, type Storage } from '@medvault/storage'
import { type Address, createPublicClient, defineChain, type Hex, http, parseEther } from 'viem'
import { ExitCode, NetworkConfigError } from './errors.ts'
import { uploadingStorage } from './store-service.ts'

/** What `medvault devnet --addresses FILE` writes, and what every other command reads. */
export interface NetworkFile {
  format: 'medvault-network/1'
  chainId: number
  rpcUrl: string
  addresses: MedvaultAddresses
  deployBlock: string
  proxySet: number
  /** The devnet's shared store (gateway + CAR upload), when there is one. */
  store?: string
  /** A development chain: the CLI may give its accounts gas with `anvil_setBalance`. */
  devnet?: boolean
}

export async function readNetworkFile(file: string): Promise<NetworkFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    throw new NetworkConfigError(`Cannot read the addresses file ${file}.`, {
      exitCode: ExitCode.notFound,
      cause,
      hint: 'Start `medvault devnet --addresses FILE`, or pass --addresses.',
    })
  }
  let parsed: Partial<NetworkFile>
  try {
    parsed = JSON.parse(text) as Partial<NetworkFile>
  } catch (cause) {
    throw new NetworkConfigError(`${file} is not JSON.`, { cause })
  }
  if (
    parsed.format !== 'medvault-network/1' ||
    typeof parsed.chainId !== 'number' ||
    typeof parsed.addresses !== 'object' ||
    typeof parsed.deployBlock !== 'string' ||
    typeof parsed.proxySet !== 'number'
  ) {
    throw new NetworkConfigError(`${file} is not a medvault addresses file (written by \`medvault devnet\`).`)
  }
  return parsed as NetworkFile
}

export interface Connection {
  vault: Vault
  storage: Storage
  network: NetworkFile
  close(): Promise<void>
}

export interface ConnectInit {
  privateKey: Hex
  address: Address
  network: NetworkFile
  rpcUrl: string
  storeDirectory: string
}

/** Opens storage and a vault for the identity on the network. */
export async function connect(init: ConnectInit): Promise<Connection> {
  const { network } = init
  const chain = defineChain({
    id: network.chainId,
    name: network.devnet === true ? 'medvault devnet' : `chain ${network.chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [init.rpcUrl] } },
  })
  // A busy machine's node can take seconds to answer a log query: be patient before calling the chain down.
  const transport = http(init.rpcUrl, { retryCount: 2, timeout: 30_000 })
  const publicClient = createPublicClient({ chain, transport })
  let chainId: number
  try {
    chainId = await publicClient.getChainId()
  } catch (cause) {
    throw new NetworkConfigError(`The chain at ${init.rpcUrl} does not answer.`, {
      exitCode: ExitCode.network,
      cause,
      hint: 'Is `medvault devnet` running? Check --rpc and --addresses.',
    })
  }
  if (chainId !== network.chainId) {
    throw new NetworkConfigError(
      `The chain at ${init.rpcUrl} has id ${chainId}, the addresses file is for chain ${network.chainId}.`,
    )
  }
  // A development chain's gas is free: top up this account so a fresh identity can write.
  if (network.devnet === true) {
    const balance = await publicClient.getBalance({ address: init.address })
    if (balance < parseEther('1')) {
      await publicClient.request({
        method: 'anvil_setBalance' as 'eth_chainId',
        params: [init.address, `0x${parseEther('100').toString(16)}`] as unknown as undefined,
      })
    }
  }
  await mkdir(init.storeDirectory, { recursive: true, mode: 0o700 })
  const local = await createStorage({
    directory: init.storeDirectory,
    ...(network.store === undefined ? {} : { gateways: [network.store] }),
  })
  const storage = network.store === undefined ? local : uploadingStorage(local, network.store)
  try {
    const vault = await createVault({
      account: init.privateKey,
      chain: { transport, addresses: network.addresses, chain, deployBlock: BigInt(network.deployBlock) },
      storage,
      proxySet: network.proxySet,
    })
    return { vault, storage, network, close: () => local.stop() }
  } catch (err) {
    await local.stop()
    throw err
  }
}
