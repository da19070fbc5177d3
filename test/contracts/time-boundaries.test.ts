import { eip712DomainInfo, grantTypes, purposeOfUse, scopeKind } from '@medvault/contracts'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type ContractsDevnet,
  cid,
  createContractsDevnet,
  type GrantParams,
  id,
  revertOf,
  setUpProxies,
  zeroHash,
} from './devnet.ts'

// The exact second at which each time rule flips. Blocks are mined at chosen timestamps
// (evm_setNextBlockTimestamp + mine), and the views are read at that block, so block.timestamp is exactly the
// second under test; no wall clock is involved. Own devnet: these tests move chain time a lot.
let devnet: ContractsDevnet
let setId: number
const { TREAT, ETREAT } = purposeOfUse

const alice = () => devnet.accounts[1]!
const bob = () => devnet.accounts[2]!
const carol = () => devnet.accounts[3]!

beforeAll(async () => {
  devnet = await createContractsDevnet()
  setId = await setUpProxies(devnet)
  await devnet.mined(
    devnet.as(alice()).consent.write.registerRecord([id('t1'), '0x0000000000000000', cid('t1')]),
  )
})
afterAll(async () => {
  await devnet?.stop()
})

/** Mines one empty block whose timestamp is exactly `timestamp`; returns its number. */
async function mineAt(timestamp: number): Promise<bigint> {
  await devnet.testClient.setNextBlockTimestamp({ timestamp: BigInt(timestamp) })
  await devnet.testClient.mine({ blocks: 1 })
  const block = await devnet.publicClient.getBlock()
  expect(Number(block.timestamp)).toBe(timestamp)
  return block.number
}

function params(salt: string, overrides: Partial<GrantParams>): GrantParams {
  return {
    grantee: bob().address,
    scopeKind: scopeKind.record,
    scopeTarget: id('t1'),
    records: [],
    purpose: TREAT,
    notBefore: 0,
    expiry: 0,
    threshold: 1,
    proxySetId: setId,
    salt: id(salt),
    kfragsCid: cid(`kfrags ${salt}`),
    ...overrides,
  }
}

describe('time boundaries', () => {
  test('behavior: a grant is refused at notBefore - 1, allowed at notBefore and at expiry - 1, refused at expiry', async () => {
    const a = devnet.as(alice())
    const notBefore = (await devnet.now()) + 1000
    const expiry = notBefore + 500
    await devnet.mined(a.consent.write.grant([params('window', { notBefore, expiry })]))
    const grantId = await a.consent.read.grantIdOf([alice().address, id('window')])
    const query = [grantId, id('t1'), bob().address, TREAT] as const
    const at = async (timestamp: number) => {
      const blockNumber = await mineAt(timestamp)
      return {
        allowed: await a.consent.read.isAccessAllowed(query, { blockNumber }),
        check: await a.consent.read.checkAccess(query, { blockNumber }).then(
          () => 'ok' as const,
          async (error: unknown) => revertOf(Promise.reject(error)),
        ),
      }
    }

    expect(await at(notBefore - 1)).toEqual({
      allowed: false,
      check: { errorName: 'GrantNotYetValid', args: [grantId, notBefore] },
    })
    expect(await at(notBefore)).toEqual({ allowed: true, check: 'ok' })
    expect(await at(expiry - 1)).toEqual({ allowed: true, check: 'ok' })
    expect(await at(expiry)).toEqual({
      allowed: false,
      check: { errorName: 'GrantExpired', args: [grantId, expiry] },
    })
  })

  test('behavior: an emergency access holds at endsAt - 1 and has ended at endsAt', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const maxDuration = 600
    const expiry = (await devnet.now()) + 30 * 24 * 3600
    await devnet.mined(
      a.consent.write.authorizeBreakGlass([
        alice().address,
        params('box', { grantee: carol().address, purpose: ETREAT, expiry }),
        maxDuration,
      ]),
    )
    const grantId = await a.consent.read.grantIdOf([alice().address, id('box')])
    const query = [grantId, id('t1'), carol().address, ETREAT] as const

    // The breakGlass transaction itself is mined at a chosen second, so its end is known exactly.
    const startedAt = (await devnet.now()) + 100
    await devnet.testClient.setNextBlockTimestamp({ timestamp: BigInt(startedAt) })
    await devnet.mined(c.consent.write.breakGlass([grantId, id('t1'), ETREAT, zeroHash]))
    const endsAt = startedAt + maxDuration
    expect(await a.consent.read.emergencyAccessEndsAt([grantId, id('t1')])).toBe(endsAt)

    const rebreak = (blockNumber: bigint) =>
      c.consent.simulate.breakGlass([grantId, id('t1'), ETREAT, zeroHash], { account: carol(), blockNumber })
    let blockNumber = await mineAt(endsAt - 1)
    expect(await a.consent.read.isAccessAllowed(query, { blockNumber })).toBe(true)
    // The window still runs at endsAt - 1: no second window on the record yet.
    expect(await revertOf(rebreak(blockNumber))).toEqual({
      errorName: 'EmergencyAccessAlreadyActive',
      args: [grantId, id('t1'), endsAt],
    })
    blockNumber = await mineAt(endsAt)
    expect(await a.consent.read.isAccessAllowed(query, { blockNumber })).toBe(false)
    expect(await revertOf(a.consent.read.checkAccess(query, { blockNumber }))).toEqual({
      errorName: 'EmergencyAccessNotActive',
      args: [grantId, id('t1')],
    })
    // Nothing left for the grantee to end at that second, and from that second a new window may open.
    expect(
      await revertOf(
        c.consent.simulate.endEmergencyAccess([grantId, id('t1')], { account: carol(), blockNumber }),
      ),
    ).toEqual({ errorName: 'EmergencyAccessNotActive', args: [grantId, id('t1')] })
    expect((await rebreak(blockNumber)).result).toBe(endsAt + maxDuration)
  })

  test('behavior: an emergency access never outlives its grant: capped at expiry, allowed at expiry - 1, refused at expiry', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const startedAt = (await devnet.now()) + 100
    const expiry = startedAt + 300
    await devnet.mined(
      a.consent.write.authorizeBreakGlass([
        alice().address,
        params('capped', { grantee: carol().address, purpose: ETREAT, expiry }),
        3600,
      ]),
    )
    const grantId = await a.consent.read.grantIdOf([alice().address, id('capped')])
    const query = [grantId, id('t1'), carol().address, ETREAT] as const
    await devnet.testClient.setNextBlockTimestamp({ timestamp: BigInt(startedAt) })
    await devnet.mined(c.consent.write.breakGlass([grantId, id('t1'), ETREAT, zeroHash]))
    expect(await a.consent.read.emergencyAccessEndsAt([grantId, id('t1')])).toBe(expiry)

    let blockNumber = await mineAt(expiry - 1)
    expect(await a.consent.read.isAccessAllowed(query, { blockNumber })).toBe(true)
    blockNumber = await mineAt(expiry)
    expect(await a.consent.read.isAccessAllowed(query, { blockNumber })).toBe(false)
    expect(await revertOf(a.consent.read.checkAccess(query, { blockNumber }))).toEqual({
      errorName: 'GrantExpired',
      args: [grantId, expiry],
    })
  })

  test('behavior: a signature is accepted at its deadline and refused one second later', async () => {
    const r = devnet.as(devnet.accounts[4]!)
    const deadlineAt = (await devnet.now()) + 100
    const deadline = BigInt(deadlineAt)
    const p = params('deadline', { expiry: deadlineAt + 30 * 24 * 3600 })
    const signature = await devnet.walletOf(alice()).signTypedData({
      domain: {
        ...eip712DomainInfo,
        chainId: devnet.publicClient.chain.id,
        verifyingContract: devnet.addresses.consentRegistry,
      },
      types: grantTypes,
      primaryType: 'Grant',
      message: { grantor: alice().address, signer: alice().address, ...p, deadline },
    })
    const args = [alice().address, p, alice().address, deadline, signature] as const
    const grantId = await r.consent.read.grantIdOf([alice().address, id('deadline')])

    let blockNumber = await mineAt(deadlineAt)
    const { result } = await r.consent.simulate.grantBySig(args, { account: r.account, blockNumber })
    expect(result).toBe(grantId)
    blockNumber = await mineAt(deadlineAt + 1)
    expect(await revertOf(r.consent.simulate.grantBySig(args, { account: r.account, blockNumber }))).toEqual({
      errorName: 'SignatureExpired',
      args: [deadline, deadline + 1n],
    })
  })
})
