import { readFileSync } from 'node:fs'
import {
  AbortError,
  AccountRequiredError,
  type DeployMedvaultProgressEvent,
  deployMedvault,
  medvaultActions,
} from '@medvault/chain'
import { createDevnet, startAnvil } from '@medvault/chain/node'
import { datasetRegistryAbi } from '@medvault/contracts'
import { createPublicClient, createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { describe, expect, test } from 'vitest'

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

describe('createDevnet', () => {
  test('default', async () => {
    const devnet = await createDevnet()
    try {
      const { publicClient, addresses } = devnet
      // Exactly the five contracts, each at its own address.
      expect(Object.keys(addresses).sort()).toEqual([
        'auditAnchors',
        'consentRegistry',
        'datasetRegistry',
        'keyRegistry',
        'proxyRegistry',
      ])
      expect(new Set(Object.values(addresses)).size).toBe(5)
      for (const address of Object.values(addresses)) {
        expect(await publicClient.getCode({ address })).toMatch(/^0x[0-9a-f]{100,}$/)
      }
      expect(devnet.accounts).toHaveLength(10)
      expect(devnet.walletClients[3]?.account.address).toBe(devnet.accounts[3]?.address)
      expect(devnet.walletClients[0]?.medvaultAddresses).toEqual(addresses)
      expect(await publicClient.getChainId()).toBe(31337)
      expect(devnet.deployBlock).toBeGreaterThan(0n)
    } finally {
      await devnet.stop()
    }
    expect(isRunning(devnet.anvil.pid)).toBe(false)
  })

  test('behavior: viem test actions (increaseTime, mine, snapshot/revert) work', async () => {
    await using devnet = await createDevnet({ accounts: 3 })
    const { publicClient, testClient } = devnet
    const before = await publicClient.getBlock()
    const snapshot = await testClient.snapshot()
    await testClient.increaseTime({ seconds: 3600 })
    await testClient.mine({ blocks: 5 })
    const after = await publicClient.getBlock()
    expect(after.number).toBe(before.number + 5n)
    expect(after.timestamp - before.timestamp).toBeGreaterThanOrEqual(3600n)
    await testClient.revert({ id: snapshot })
    expect(await publicClient.getBlockNumber()).toBe(before.number)
  })

  test('behavior: two devnets are independent', async () => {
    const [a, b] = await Promise.all([
      createDevnet({ accounts: 2 }),
      createDevnet({ accounts: 2, chainId: 1337 }),
    ])
    try {
      expect(a.rpcUrl).not.toBe(b.rpcUrl)
      expect(await b.publicClient.getChainId()).toBe(1337)
      // Same deployer and nonces: the same addresses on both chains.
      expect(a.addresses).toEqual(b.addresses)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })
})

describe('deployMedvault', () => {
  test('default: on a bare anvil, with progress events and another dataset admin', async () => {
    const anvil = await startAnvil({ accounts: 2 })
    try {
      const transport = http(anvil.rpcUrl)
      const wallet = createWalletClient({
        account: privateKeyToAccount(anvil.accounts[1]!.privateKey),
        chain: foundry,
        transport,
        pollingInterval: 20,
      })
      const events: DeployMedvaultProgressEvent[] = []
      const admin = anvil.accounts[0]!.address
      const { addresses, blockNumber, hashes } = await deployMedvault(wallet, {
        datasetAdmin: admin,
        onProgress: (e) => events.push(e),
      })
      expect(events.filter((e) => e.type === 'deploy:mined').map((e) => e.contract)).toEqual([
        'keyRegistry',
        'proxyRegistry',
        'consentRegistry',
        'auditAnchors',
        'datasetRegistry',
      ])
      expect(Object.keys(hashes)).toHaveLength(5)
      const reader = createPublicClient({ chain: foundry, transport }).extend(medvaultActions(addresses))
      expect(await reader.getBlockNumber()).toBeGreaterThanOrEqual(blockNumber)
      expect(
        await reader.readContract({
          address: addresses.datasetRegistry,
          abi: datasetRegistryAbi,
          functionName: 'admin',
        }),
      ).toBe(admin)
      expect(await reader.getProxySet({ setId: 1 }).catch((e: unknown) => (e as Error).name)).toBe(
        'ProxySetNotFoundError',
      )
    } finally {
      await anvil.stop()
    }
  })

  test('error: no account to deploy from', async () => {
    await using devnet = await createDevnet({ accounts: 1 })
    await expect(deployMedvault(devnet.publicClient)).rejects.toBeInstanceOf(AccountRequiredError)
  })
})

describe('startAnvil', () => {
  test('error: aborted while starting', async () => {
    const controller = new AbortController()
    controller.abort()
    await expect(startAnvil({ signal: controller.signal })).rejects.toBeInstanceOf(AbortError)
    const late = new AbortController()
    const starting = startAnvil({ signal: late.signal })
    late.abort()
    await expect(starting).rejects.toBeInstanceOf(AbortError)
  })
})
