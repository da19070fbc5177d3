import { readFileSync } from 'node:fs'
import { createDevnet } from '@medvault/chain'
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
