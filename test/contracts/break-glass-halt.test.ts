/**
 * Break-glass can be ended for good: a patient's (or revoke delegate's) end of an emergency access halts that
 * grant's record until the patient (or a grant delegate) re-authorises it; windows per grant are capped; every
 * window is evented with its grant, record and grantor as topics.
 */
import { limits, purposeOfUse, scopeKind } from '@medvault/contracts'
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

let devnet: ContractsDevnet
let setId: number
const { ETREAT, BTG } = purposeOfUse

beforeAll(async () => {
  devnet = await createContractsDevnet()
  setId = await setUpProxies(devnet)
  const alice = devnet.as(devnet.accounts[1]!)
  await devnet.mined(
    alice.consent.write.registerRecords([
      alice.account.address,
      [
        { recordId: id('h1'), tag: '0x0000000000000000', cid: cid('h1') },
        { recordId: id('h2'), tag: '0x0000000000000000', cid: cid('h2') },
      ],
    ]),
  )
})
afterAll(async () => {
  await devnet?.stop()
})

const alice = () => devnet.accounts[1]!
const bob = () => devnet.accounts[2]!
const carol = () => devnet.accounts[3]!
const guardian = () => devnet.accounts[5]!

/** A break-glass grant from alice to carol over all her records (ETREAT, `maxDuration` seconds per window). */
async function authorize(salt: string, maxDuration = 3600, overrides: Partial<GrantParams> = {}) {
  const a = devnet.as(alice())
  const p: GrantParams = {
    grantee: carol().address,
    scopeKind: scopeKind.all,
    scopeTarget: zeroHash,
    records: [],
    purpose: ETREAT,
    notBefore: 0,
    expiry: (await devnet.now()) + 30 * 24 * 3600,
    threshold: 1,
    proxySetId: setId,
    salt: id(salt),
    kfragsCid: cid(`kfrags ${salt}`),
    ...overrides,
  }
  await devnet.mined(a.consent.write.authorizeBreakGlass([alice().address, p, maxDuration]))
  return a.consent.read.grantIdOf([alice().address, id(salt)])
}

const asCarol = () => ({ account: carol() })

describe('ConsentRegistry break-glass: an end by the patient holds', () => {
  test('attack: the grantee re-breaks in the next block after the patient ended the access: refused until the patient re-authorises', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const grantId = await authorize('halt')
    await devnet.mined(c.consent.write.breakGlass([grantId, id('h1'), ETREAT, zeroHash]))
    expect(await a.consent.read.isAccessAllowed([grantId, id('h1'), carol().address, ETREAT])).toBe(true)

    const ended = await devnet.mined(a.consent.write.endEmergencyAccess([grantId, id('h1')]))
    // The grantee's very next transaction: before, this reopened the record for a fresh time box, and doing it
    // before each window lapsed kept access open until the grant expired.
    expect(
      await revertOf(c.consent.simulate.breakGlass([grantId, id('h1'), BTG, zeroHash], asCarol())),
    ).toEqual({ errorName: 'EmergencyAccessHalted', args: [grantId, id('h1')] })
    await expect(
      devnet.mined(c.consent.write.breakGlass([grantId, id('h1'), BTG, zeroHash], { gas: 200_000n })),
    ).rejects.toThrow(/reverted/)
    expect(await a.consent.read.isAccessAllowed([grantId, id('h1'), carol().address, ETREAT])).toBe(false)
    expect(await a.consent.read.getEmergencyAccess([grantId, id('h1')])).toEqual({
      endsAt: Number((await devnet.publicClient.getBlock({ blockNumber: ended.blockNumber })).timestamp),
      halted: true,
    })
    // Time does not lift it: a day later, past any window it could have had, still refused.
    await devnet.advance(24 * 3600)
    expect(
      await revertOf(c.consent.simulate.breakGlass([grantId, id('h1'), BTG, zeroHash], asCarol())),
    ).toEqual({ errorName: 'EmergencyAccessHalted', args: [grantId, id('h1')] })
    // The halt is per record: the grant's other records can still be opened in an emergency.
    await devnet.mined(c.consent.write.breakGlass([grantId, id('h2'), BTG, zeroHash]))
    expect(await a.consent.read.isAccessAllowed([grantId, id('h2'), carol().address, ETREAT])).toBe(true)

    const halted = await a.consent.getEvents.BreakGlassHalted(
      { grantId, recordId: id('h1'), grantor: alice().address },
      { fromBlock: ended.blockNumber, toBlock: ended.blockNumber },
    )
    expect(halted.map((e) => e.args)).toEqual([
      { grantId, recordId: id('h1'), grantor: alice().address, haltedBy: alice().address },
    ])

    // Only a new authorisation by the patient reopens the record to break-glass.
    const re = await devnet.mined(a.consent.write.reauthorizeBreakGlass([grantId, id('h1')]))
    const reauthorized = await a.consent.getEvents.BreakGlassReauthorized(
      { grantId },
      { fromBlock: re.blockNumber, toBlock: re.blockNumber },
    )
    expect(reauthorized.map((e) => e.args)).toEqual([
      { grantId, recordId: id('h1'), grantor: alice().address, authorizedBy: alice().address },
    ])
    expect((await a.consent.read.getEmergencyAccess([grantId, id('h1')])).halted).toBe(false)
    await devnet.mined(c.consent.write.breakGlass([grantId, id('h1'), BTG, zeroHash]))
    expect(await a.consent.read.isAccessAllowed([grantId, id('h1'), carol().address, ETREAT])).toBe(true)
  })

  test('attack: a revoke delegate’s end holds as well; the grantee, a stranger or a revoke-only delegate cannot lift it', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const g = devnet.as(guardian())
    const term = (await devnet.now()) + 60 * 24 * 3600
    await devnet.mined(a.consent.write.appointDelegate([guardian().address, 4, term]))
    const grantId = await authorize('halt by delegate')
    await devnet.mined(c.consent.write.breakGlass([grantId, id('h1'), ETREAT, zeroHash]))
    await devnet.mined(g.consent.write.endEmergencyAccess([grantId, id('h1')]))
    expect(
      await revertOf(c.consent.simulate.breakGlass([grantId, id('h1'), BTG, zeroHash], asCarol())),
    ).toEqual({ errorName: 'EmergencyAccessHalted', args: [grantId, id('h1')] })
    // Lifting a halt is an authorisation: the grant permission, not the revoke permission nor the grantee.
    for (const who of [carol(), bob(), guardian()]) {
      expect(
        await revertOf(a.consent.simulate.reauthorizeBreakGlass([grantId, id('h1')], { account: who })),
      ).toEqual({ errorName: 'Unauthorized', args: [who.address, alice().address, 2] })
    }
    // Ending again changes nothing: the record is already halted.
    expect(
      await revertOf(a.consent.simulate.endEmergencyAccess([grantId, id('h1')], { account: alice() })),
    ).toEqual({ errorName: 'EmergencyAccessHalted', args: [grantId, id('h1')] })

    // A grant delegate may re-authorise, within its term like any grant it makes.
    await devnet.mined(a.consent.write.appointDelegate([guardian().address, 2 | 4, term]))
    await devnet.mined(g.consent.write.reauthorizeBreakGlass([grantId, id('h1')]))
    expect(
      await revertOf(a.consent.simulate.reauthorizeBreakGlass([grantId, id('h1')], { account: alice() })),
    ).toEqual({ errorName: 'EmergencyAccessNotHalted', args: [grantId, id('h1')] })
    await devnet.mined(c.consent.write.breakGlass([grantId, id('h1'), BTG, zeroHash]))

    const short = (await devnet.now()) + 3600
    await devnet.mined(a.consent.write.appointDelegate([guardian().address, 2 | 4, short]))
    await devnet.mined(g.consent.write.endEmergencyAccess([grantId, id('h1')]))
    const { expiry } = await a.consent.read.getGrant([grantId])
    expect(
      await revertOf(a.consent.simulate.reauthorizeBreakGlass([grantId, id('h1')], { account: guardian() })),
    ).toEqual({ errorName: 'GrantOutlivesDelegation', args: [guardian().address, expiry, short] })
  })

  test('behavior: the patient halts a record before any window opened; the grantee’s own early end does not halt', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const grantId = await authorize('halt ahead')
    await devnet.mined(a.consent.write.endEmergencyAccess([grantId, id('h2')]))
    expect(
      await revertOf(c.consent.simulate.breakGlass([grantId, id('h2'), BTG, zeroHash], asCarol())),
    ).toEqual({ errorName: 'EmergencyAccessHalted', args: [grantId, id('h2')] })
    // No window was running, so none is reported ended: only the halt.
    // The head past viem's block-number cache: a number cached while waiting for the halt's receipt may be the
    // block before it.
    const head = await devnet.publicClient.getBlockNumber({ cacheTime: 0 })
    expect(
      await a.consent.getEvents.EmergencyAccessEnded({ grantId }, { fromBlock: 0n, toBlock: head }),
    ).toEqual([])
    expect(
      (await a.consent.getEvents.BreakGlassHalted({ grantId }, { fromBlock: 0n, toBlock: head })).length,
    ).toBe(1)

    // The grantee ends its own window: that is no halt, it may open a new one (counted as another window).
    await devnet.mined(c.consent.write.breakGlass([grantId, id('h1'), ETREAT, zeroHash]))
    await devnet.mined(c.consent.write.endEmergencyAccess([grantId, id('h1')]))
    expect((await a.consent.read.getEmergencyAccess([grantId, id('h1')])).halted).toBe(false)
    expect(await revertOf(c.consent.simulate.endEmergencyAccess([grantId, id('h1')], asCarol()))).toEqual({
      errorName: 'EmergencyAccessNotActive',
      args: [grantId, id('h1')],
    })
    await devnet.mined(c.consent.write.breakGlass([grantId, id('h1'), ETREAT, zeroHash]))
    expect(await a.consent.read.breakGlassWindowsOpened([grantId])).toBe(2)
  })

  test('error: halting or re-authorising a grant that is not break-glass, or does not exist', async () => {
    const a = devnet.as(alice())
    const plain = await (async () => {
      const p: GrantParams = {
        grantee: carol().address,
        scopeKind: scopeKind.all,
        scopeTarget: zeroHash,
        records: [],
        purpose: ETREAT,
        notBefore: 0,
        expiry: (await devnet.now()) + 3600,
        threshold: 1,
        proxySetId: setId,
        salt: id('not glass'),
        kfragsCid: cid('not glass'),
      }
      await devnet.mined(a.consent.write.grant([p]))
      return a.consent.read.grantIdOf([alice().address, id('not glass')])
    })()
    for (const fn of ['endEmergencyAccess', 'reauthorizeBreakGlass'] as const) {
      expect(await revertOf(a.consent.simulate[fn]([plain, id('h1')], { account: alice() }))).toEqual({
        errorName: 'NotBreakGlassGrant',
        args: [plain],
      })
      expect(
        await revertOf(a.consent.simulate[fn]([id('no grant'), id('h1')], { account: alice() })),
      ).toEqual({ errorName: 'GrantNotFound', args: [id('no grant')] })
    }
  })
})

describe('ConsentRegistry break-glass: windows are distinct, capped and listed', () => {
  test('attack: re-breaking while a window runs (to push its end out) is refused', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const grantId = await authorize('no overlap', 600)
    const first = await devnet.mined(c.consent.write.breakGlass([grantId, id('h1'), ETREAT, zeroHash]))
    const endsAt = await a.consent.read.emergencyAccessEndsAt([grantId, id('h1')])
    expect(endsAt).toBe(
      Number((await devnet.publicClient.getBlock({ blockNumber: first.blockNumber })).timestamp) + 600,
    )
    await devnet.advance(500)
    expect(
      await revertOf(c.consent.simulate.breakGlass([grantId, id('h1'), ETREAT, zeroHash], asCarol())),
    ).toEqual({ errorName: 'EmergencyAccessAlreadyActive', args: [grantId, id('h1'), endsAt] })
    expect(await a.consent.read.emergencyAccessEndsAt([grantId, id('h1')])).toBe(endsAt)
    // Once it lapsed, a new window may open (and is counted).
    await devnet.advance(100)
    await devnet.mined(c.consent.write.breakGlass([grantId, id('h1'), ETREAT, zeroHash]))
    expect(await a.consent.read.breakGlassWindowsOpened([grantId])).toBe(2)
  })

  test('attack: a grantee cannot open windows without end: at most MAX_BREAK_GLASS_WINDOWS per grant', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const max = await a.consent.read.MAX_BREAK_GLASS_WINDOWS()
    expect(max).toBe(limits.maxBreakGlassWindows)
    const grantId = await authorize('capped', 60)
    // Open and end windows back to back, across the grant's two records: the cap is per grant.
    for (let i = 0; i < max; i++) {
      const record = id(i % 2 === 0 ? 'h1' : 'h2')
      await devnet.mined(c.consent.write.breakGlass([grantId, record, ETREAT, zeroHash]))
      await devnet.mined(c.consent.write.endEmergencyAccess([grantId, record]))
    }
    expect(await a.consent.read.breakGlassWindowsOpened([grantId])).toBe(max)
    expect(
      await revertOf(c.consent.simulate.breakGlass([grantId, id('h1'), ETREAT, zeroHash], asCarol())),
    ).toEqual({ errorName: 'BreakGlassWindowsExhausted', args: [grantId, max] })
    // Every window stayed on record: one EmergencyAccessStarted each, numbered 1..max.
    const started = await a.consent.getEvents.EmergencyAccessStarted({ grantId }, { fromBlock: 0n })
    expect(started.map((e) => e.args.window)).toEqual(Array.from({ length: max }, (_, i) => i + 1))
    expect(new Set(started.map((e) => e.args.recordId))).toEqual(new Set([id('h1'), id('h2')]))
  })

  test('behavior: windows are listed by grant, by record and by grantor (indexed topics)', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const grantId = await authorize('listed', 60)
    // Past viem's block-number cache: a stale number would take in earlier tests' windows on the same record.
    const from = await devnet.publicClient.getBlockNumber({ cacheTime: 0 })
    const reasonRef = id('digest of an encrypted note')
    const opened = await devnet.mined(c.consent.write.breakGlass([grantId, id('h2'), BTG, reasonRef]))
    const block = await devnet.publicClient.getBlock({ blockNumber: opened.blockNumber })
    const expected = {
      grantId,
      recordId: id('h2'),
      grantor: alice().address,
      grantee: carol().address,
      endsAt: Number(block.timestamp) + 60,
      window: 1,
      reasonCode: BTG,
      reasonRef,
    }
    const range = { fromBlock: from, toBlock: opened.blockNumber }
    expect((await a.consent.getEvents.EmergencyAccessStarted({ grantId }, range)).map((e) => e.args)).toEqual(
      [expected],
    )
    const byRecord = await a.consent.getEvents.EmergencyAccessStarted({ recordId: id('h2') }, range)
    expect(byRecord.map((e) => e.args)).toEqual([expected])
    const byGrantor = await a.consent.getEvents.EmergencyAccessStarted({ grantor: alice().address }, range)
    expect(byGrantor.map((e) => e.args)).toEqual([expected])
    // Fixed-size data only (grantee, endsAt, window, code, ref): no dynamic field where free text could hide.
    expect(byGrantor[0]?.data.length).toBe(2 + 5 * 64)

    const ended = await devnet.mined(a.consent.write.endEmergencyAccess([grantId, id('h2')]))
    const endEvents = await a.consent.getEvents.EmergencyAccessEnded(
      { grantId, recordId: id('h2'), grantor: alice().address },
      { fromBlock: ended.blockNumber, toBlock: ended.blockNumber },
    )
    expect(endEvents.map((e) => e.args)).toEqual([
      { grantId, recordId: id('h2'), grantor: alice().address, endedBy: alice().address },
    ])
  })
})
