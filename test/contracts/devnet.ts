/**
 * A real anvil with every medvault contract deployed, for the contract tests and the gas bench.
 * Deliberately built from `startAnvil` + viem's `deployContract` (not @medvault/chain's actions), so the
 * contracts are tested through nothing but their ABI.
 */
import { type Anvil, startAnvil } from '@medvault/chain/node'
import {
  auditAnchorsAbi,
  auditAnchorsBytecode,
  consentRegistryAbi,
  consentRegistryBytecode,
  datasetRegistryAbi,
  datasetRegistryBytecode,
  keyRegistryAbi,
  keyRegistryBytecode,
  proxyRegistryAbi,
  proxyRegistryBytecode,
} from '@medvault/contracts'
import {
  type Abi,
  type Account,
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type GetContractReturnType,
  getAddress,
  getContract,
  type Hash,
  type Hex,
  http,
  type PublicClient,
  type TestClient,
  type TransactionReceipt,
  type Transport,
  type WalletClient,
} from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'

type Chain = typeof foundry
type Clients = { public: PublicClient<Transport, Chain>; wallet: WalletClient<Transport, Chain, Account> }

/** Typed contract handles that write as one account. */
export interface Actor {
  account: PrivateKeyAccount
  keys: GetContractReturnType<typeof keyRegistryAbi, Clients>
  proxies: GetContractReturnType<typeof proxyRegistryAbi, Clients>
  consent: GetContractReturnType<typeof consentRegistryAbi, Clients>
  anchors: GetContractReturnType<typeof auditAnchorsAbi, Clients>
  datasets: GetContractReturnType<typeof datasetRegistryAbi, Clients>
}

export interface ContractsDevnet {
  anvil: Anvil
  publicClient: PublicClient<Transport, Chain>
  testClient: TestClient<'anvil', Transport, Chain>
  /** The anvil's funded accounts (index 0 deployed everything and administers the DatasetRegistry). */
  accounts: PrivateKeyAccount[]
  walletOf(account: Account): WalletClient<Transport, Chain, Account>
  addresses: Record<
    'keyRegistry' | 'proxyRegistry' | 'consentRegistry' | 'auditAnchors' | 'datasetRegistry',
    Address
  >
  /** Typed contract handles acting as `account` (writes) and reading through the public client. */
  as(account: PrivateKeyAccount): Actor
  /** Waits for a transaction and fails unless it succeeded. */
  mined(hash: Promise<Hash> | Hash): Promise<TransactionReceipt>
  /** The timestamp of the latest block. */
  now(): Promise<number>
  /** Moves chain time forward and mines a block, so both calls and transactions see the new time. */
  advance(seconds: number): Promise<void>
  stop(): Promise<void>
}

/** @param options.anvilArgs extra anvil flags, e.g. `['--steps-tracing']` for `debug_traceTransaction` opcode logs. */
export async function createContractsDevnet(
  options: { anvilArgs?: string[] } = {},
): Promise<ContractsDevnet> {
  const anvil: Anvil = await startAnvil({ args: options.anvilArgs ?? [] })
  const transport = http(anvil.rpcUrl)
  const publicClient = createPublicClient({ chain: foundry, transport, pollingInterval: 10 })
  const testClient = createTestClient({ chain: foundry, mode: 'anvil', transport, pollingInterval: 10 })
  const accounts = anvil.accounts.map((a) => privateKeyToAccount(a.privateKey))
  const walletOf = (account: Account): WalletClient<Transport, Chain, Account> =>
    createWalletClient({ account, chain: foundry, transport, pollingInterval: 10 })
  const deployer = walletOf(accounts[0]!)

  const deploy = async (abi: Abi, bytecode: Hex, args: readonly unknown[] = []): Promise<Address> => {
    const hash = await deployer.deployContract({ abi, bytecode, args })
    const receipt = await publicClient.waitForTransactionReceipt({ hash })
    if (receipt.contractAddress == null) throw new Error('deployment failed')
    return getAddress(receipt.contractAddress)
  }
  const keyRegistry = await deploy(keyRegistryAbi, keyRegistryBytecode)
  const proxyRegistry = await deploy(proxyRegistryAbi, proxyRegistryBytecode)
  const consentRegistry = await deploy(consentRegistryAbi, consentRegistryBytecode, [proxyRegistry])
  const auditAnchors = await deploy(auditAnchorsAbi, auditAnchorsBytecode, [proxyRegistry])
  const datasetRegistry = await deploy(datasetRegistryAbi, datasetRegistryBytecode, [accounts[0]!.address])

  const as = (account: PrivateKeyAccount): Actor => {
    const client = { public: publicClient, wallet: walletOf(account) }
    return {
      account,
      keys: getContract({ abi: keyRegistryAbi, address: keyRegistry, client }),
      proxies: getContract({ abi: proxyRegistryAbi, address: proxyRegistry, client }),
      consent: getContract({ abi: consentRegistryAbi, address: consentRegistry, client }),
      anchors: getContract({ abi: auditAnchorsAbi, address: auditAnchors, client }),
      datasets: getContract({ abi: datasetRegistryAbi, address: datasetRegistry, client }),
    }
  }

  const mined = async (hash: Promise<Hash> | Hash): Promise<TransactionReceipt> => {
    const receipt = await publicClient.waitForTransactionReceipt({ hash: await hash })
    if (receipt.status !== 'success') throw new Error(`transaction ${receipt.transactionHash} reverted`)
    return receipt
  }

  const now = async (): Promise<number> => Number((await publicClient.getBlock()).timestamp)

  const advance = async (seconds: number): Promise<void> => {
    await testClient.increaseTime({ seconds })
    await testClient.mine({ blocks: 1 })
  }

  return {
    anvil,
    publicClient,
    testClient,
    accounts,
    walletOf,
    addresses: { keyRegistry, proxyRegistry, consentRegistry, auditAnchors, datasetRegistry },
    as,
    mined,
    now,
    advance,
    stop: () => anvil.stop(),
  }
}

/** The decoded custom error of a reverted call or transaction. */
export async function revertOf(
  promise: Promise<unknown>,
): Promise<{ errorName: string; args: readonly unknown[] }> {
  let error: unknown
  try {
    await promise
  } catch (err) {
    error = err
  }
  if (error === undefined) throw new Error('expected a revert, but the call succeeded')
  const reverted =
    error instanceof BaseError ? error.walk((e) => e instanceof ContractFunctionRevertedError) : undefined
  if (!(reverted instanceof ContractFunctionRevertedError) || reverted.data === undefined) throw error
  return { errorName: reverted.data.errorName, args: reverted.data.args ?? [] }
}

/** 32 random-looking bytes derived from a label, for record ids, salts and hashes in tests. */
export function id(label: string): Hex {
  let hex = ''
  for (const ch of label.padEnd(32, '.').slice(0, 32)) hex += ch.charCodeAt(0).toString(16).padStart(2, '0')
  return `0x${hex}`
}

/** A fake but well-formed binary CIDv1 (dag-cbor, sha2-256): 0x01 0x71 0x12 0x20 + 32 bytes. */
export function cid(label: string): Hex {
  return `0x01711220${id(label).slice(2)}`
}

/** A compressed secp256k1 public key shape (33 bytes); the contracts check the encoding only. */
export function publicKey(label: string, prefix: '02' | '03' = '02'): Hex {
  return `0x${prefix}${id(label).slice(2)}`
}

/** `IConsentRegistry.GrantParams` as viem takes it. */
export interface GrantParams {
  grantee: Address
  scopeKind: number
  scopeTarget: Hex
  records: readonly Hex[]
  purpose: number
  notBefore: number
  expiry: number
  threshold: number
  proxySetId: number
  salt: Hex
  kfragsCid: Hex
}

export const zeroHash: Hex = `0x${'0'.repeat(64)}`
export const zeroAddress: Address = `0x${'0'.repeat(40)}`

/**
 * Registers three active proxies (accounts 7, 8, 9) and a set of them; returns the set id.
 * The set is what grants reference.
 */
export async function setUpProxies(devnet: ContractsDevnet): Promise<number> {
  const operators = devnet.accounts.slice(7, 10)
  for (const [i, op] of operators.entries()) {
    await devnet.mined(
      devnet.as(op).proxies.write.registerProxy([publicKey(`proxy ${i}`), `https://proxy-${i}.example`]),
    )
  }
  const count = await devnet.as(operators[0]!).consent.read.proxySetCount()
  await devnet.mined(devnet.as(operators[0]!).consent.write.createProxySet([operators.map((o) => o.address)]))
  return count + 1
}
