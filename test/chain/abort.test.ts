import { AbortError, deployMedvault, RecordNotFoundError } from '@medvault/chain'
import { createDevnet, type Devnet } from '@medvault/chain/node'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { cid, id } from './helpers.ts'

let devnet: Devnet
beforeAll(async () => {
  devnet = await createDevnet({ accounts: 2 })
})
afterAll(async () => {
  await devnet?.stop()
})

const patient = () => devnet.walletClients[1]!
const sentCount = (blockTag: 'latest' | 'pending' = 'latest') =>
  devnet.publicClient.getTransactionCount({ address: patient().account.address, blockTag })

describe('signal on state-changing actions', () => {
  test('behavior: aborted before sending, nothing is sent', async () => {
    const before = await sentCount()
    const controller = new AbortController()
    controller.abort(new Error('cancelled by the user'))
    const error = await patient()
      .registerRecord({ recordId: id('never sent'), cid: cid('never sent'), signal: controller.signal })
      .catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect((error as AbortError).hash).toBeUndefined()
    expect((error as AbortError).cause).toBe(controller.signal.reason)
    expect(await sentCount('pending')).toBe(before)
    await expect(devnet.publicClient.getRecord({ recordId: id('never sent') })).rejects.toBeInstanceOf(
      RecordNotFoundError,
    )
  })

  test('behavior: aborted while waiting for the receipt, the error names the sent transaction, which still lands', async () => {
    await devnet.testClient.setAutomine(false)
    try {
      const before = await sentCount()
      const controller = new AbortController()
      const pending = patient()
        .registerRecord({ recordId: id('sent then aborted'), cid: cid('sent'), signal: controller.signal })
        .catch((e: unknown) => e)
      // Wait (without a time limit) until the transaction sits in the pool, then give up waiting for it.
      while ((await sentCount('pending')) === before) await new Promise((resolve) => setTimeout(resolve, 10))
      controller.abort()
      const error = await pending
      expect(error).toBeInstanceOf(AbortError)
      const { hash } = error as AbortError
      expect(hash).toMatch(/^0x[0-9a-f]{64}$/)
      await devnet.testClient.mine({ blocks: 1 })
      expect((await devnet.publicClient.getTransactionReceipt({ hash: hash! })).status).toBe('success')
      expect((await devnet.publicClient.getRecord({ recordId: id('sent then aborted') })).owner).toBe(
        patient().account.address,
      )
    } finally {
      await devnet.testClient.setAutomine(true)
    }
  })

  test('behavior: deployMedvault stops sending on abort, and stops waiting with the pending hash', async () => {
    const before = await sentCount()
    const aborted = new AbortController()
    aborted.abort()
    await expect(deployMedvault(patient(), { signal: aborted.signal })).rejects.toBeInstanceOf(AbortError)
    expect(await sentCount('pending')).toBe(before)

    await devnet.testClient.setAutomine(false)
    try {
      const controller = new AbortController()
      const error = await deployMedvault(patient(), {
        signal: controller.signal,
        // All five creations are in the pool: give up waiting before any is mined.
        onProgress: (event) => {
          if (event.type === 'deploy:sent' && event.contract === 'datasetRegistry') controller.abort()
        },
      }).catch((e: unknown) => e)
      expect(error).toBeInstanceOf(AbortError)
      expect((error as AbortError).hash).toMatch(/^0x[0-9a-f]{64}$/)
      expect(await sentCount('pending')).toBe(before + 5)
    } finally {
      await devnet.testClient.setAutomine(true)
    }
  })
})
