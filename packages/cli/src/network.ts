/**
 * How a CLI process reaches a deployment: the network file `medvault devnet` writes (chain id, RPC URL,
 * contract addresses, deployment block, proxy set, the devnet's store URL), the RPC URL given on the command
 * line or in the configuration, and a store directory of its own.
 *
 * @module
 */
import { mkdir } from 'node:fs/promises'
import { type NetworkFile, NetworkFileError } from '@medvault/chain'
import { readNetworkFile as readDeploymentFile } from '@medvault/chain/node'
import { createVault, type Vault } from '@medvault/sdk'
import { createStorage, type Storage } from '@medvault/storage'
import { type Address, createPublicClient, defineChain, type Hex, http, parseEther } from 'viem'
import { ExitCode, NetworkConfigError } from './errors.ts'
import { uploadingStorage } from './store-service.ts'

/**
 * A deployment as its file describes it: what `medvault devnet --addresses FILE` writes (`medvault-network/1`),
 * and what every other command reads — that format, or the plain `{ chainId?, deployBlock, addresses }` record
 * a deployment script or `medvault-node`'s configuration uses. One parser for every tool: `@medvault/chain`'s.
 */
export type { NetworkFile }

/**
 * Reads the deployment file `--addresses` names.
 *
 * @throws {NetworkConfigError} the file is missing (exit 4) or not a deployment file (exit 2, every problem
 *   listed).
 */
export async function readNetworkFile(file: string): Promise<NetworkFile> {
  try {
    return await readDeploymentFile(file)
  } catch (cause) {
    if (cause instanceof NetworkFileError) {
      throw new NetworkConfigError(`${file} is not a medvault deployment file.`, {
        cause,
        hint: cause.problems.join('; '),
      })
    }
    throw new NetworkConfigError(`Cannot read the addresses file ${file}.`, {
      exitCode: ExitCode.notFound,
      cause,
      hint: 'Start `medvault devnet --addresses FILE`, or pass --addresses.',
    })
  }
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
  // A busy machine's node can take seconds to answer a log query: be patient before calling the chain down.
  const transport = http(init.rpcUrl, { retryCount: 2, timeout: 30_000 })
  let chainId: number
  try {
    chainId = await createPublicClient({ transport }).getChainId()
  } catch (cause) {
    throw new NetworkConfigError(`The chain at ${init.rpcUrl} does not answer.`, {
      exitCode: ExitCode.network,
      cause,
      hint: 'Is `medvault devnet` running? Check --rpc and --addresses.',
    })
  }
  // A file without a chain id (a plain deployment record) is taken to be for the chain the RPC serves.
  if (network.chainId !== undefined && chainId !== network.chainId) {
    throw new NetworkConfigError(
      `The chain at ${init.rpcUrl} has id ${chainId}, the addresses file is for chain ${network.chainId}.`,
    )
  }
  const chain = defineChain({
    id: chainId,
    name: network.devnet === true ? 'medvault devnet' : `chain ${chainId}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [init.rpcUrl] } },
  })
  const publicClient = createPublicClient({ chain, transport })
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
      chain: { transport, addresses: network.addresses, chain, deployBlock: network.deployBlock },
      storage,
      ...(network.proxySet === undefined ? {} : { proxySet: network.proxySet }),
    })
    return { vault, storage, network, close: () => local.stop() }
  } catch (err) {
    await local.stop()
    throw err
  }
}
