import { createDevnet, type Devnet } from '@medvault/chain/node'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { cid, compressedKey, testKey } from './helpers.ts'

// Values an action returns must be what the mined transaction did, not what its simulation predicted one
// block earlier: counters move when others send in between, and block times move on.
let devnet: Devnet
beforeAll(async () => {
  devnet = await createDevnet({ accounts: 5 })
  for (const i of [3, 4]) {
    await devnet.walletClients[i]!.registerProxy({
      publicKey: compressedKey(testKey(`receipt values op${i}`)),
      endpoint: `https://proxy-${i}.example`,
    })
  }
})
afterAll(async () => {
  await devnet?.stop()
})

const pending = () =>
  devnet.publicClient.getBlock({ blockTag: 'pending' }).then((block) => block.transactions.length)

/** Runs `send` with automine off, waits (without a time limit) for `count` pending transactions, then mines. */
async function inOneLaterBlock<T>(count: number, send: () => Promise<T>, advance = 0): Promise<T> {
  await devnet.testClient.setAutomine(false)
  try {
    const result = send()
    while ((await pending()) < count) await new Promise((resolve) => setTimeout(resolve, 10))
    if (advance > 0) await devnet.testClient.increaseTime({ seconds: advance })
    await devnet.testClient.mine({ blocks: 1 })
    return await result
  } finally {
    await devnet.testClient.setAutomine(true)
  }
}

describe('values returned by state-changing actions', () => {
  test('behavior: two proxy sets created in one block get the ids they were actually given', async () => {
    const [a, b] = [devnet.walletClients[1]!, devnet.walletClients[2]!]
    const members = [devnet.walletClients[3]!.account.address, devnet.walletClients[4]!.account.address]
    const [first, second] = await inOneLaterBlock(2, () =>
      Promise.all([a.createProxySet({ members }), b.createProxySet({ members: [members[1]!] })]),
    )
    expect(first.setId).not.toBe(second.setId)
    expect(await devnet.publicClient.getProxySet({ setId: first.setId })).toEqual(members)
    expect(await devnet.publicClient.getProxySet({ setId: second.setId })).toEqual([members[1]])
  })

  test('behavior: breakGlass returns the end time of the block it was mined in', async () => {
    const patient = devnet.walletClients[1]!
    const clinician = devnet.walletClients[2]!
    const { recordId } = await patient.registerRecord({ cid: cid('receipt values record') })
    const { setId } = await patient.createProxySet({ members: [devnet.walletClients[3]!.account.address] })
    const now = Number((await devnet.publicClient.getBlock()).timestamp)
    const { grantId } = await patient.authorizeBreakGlass({
      grantee: clinician.account.address,
      scope: { kind: 'all' },
      purpose: 'ETREAT',
      expiry: now + 30 * 24 * 3600,
      threshold: 1,
      proxySetId: setId,
      kfragsCid: cid('receipt values kfrags'),
      maxDuration: 3600,
    })
    const { endsAt } = await inOneLaterBlock(
      1,
      () => clinician.breakGlass({ grantId, recordId, reasonCode: 'ETREAT' }),
      600,
    )
    expect(endsAt).toBe((await devnet.publicClient.getEmergencyAccess({ grantId, recordId })).endsAt)
  })
})
