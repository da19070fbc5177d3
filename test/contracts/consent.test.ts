import { purposeOfUse, scopeKind, tagScopeTarget } from '@medvault/contracts'
import fc from 'fast-check'
import {
  type BaseError,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  encodeAbiParameters,
  type Hex,
  keccak256,
} from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type ContractsDevnet,
  cid,
  createContractsDevnet,
  type GrantParams,
  id,
  revertOf,
  setUpProxies,
  zeroAddress,
  zeroHash,
} from './devnet.ts'

let devnet: ContractsDevnet
let setId: number
let t0: number
const tagA = '0xaaaaaaaaaaaaaaaa' as const
const tagB = '0xbbbbbbbbbbbbbbbb' as const
const noTag = '0x0000000000000000' as const
const { TREAT, HRESCH } = purposeOfUse

beforeAll(async () => {
  devnet = await createContractsDevnet()
  setId = await setUpProxies(devnet)
  t0 = await devnet.now()
  const alice = devnet.as(devnet.accounts[1]!)
  const bob = devnet.as(devnet.accounts[2]!)
  await devnet.mined(
    alice.consent.write.registerRecords([
      alice.account.address,
      [
        { recordId: id('a1'), tag: tagA, cid: cid('a1') },
        { recordId: id('a2'), tag: tagA, cid: cid('a2') },
        { recordId: id('a3'), tag: tagB, cid: cid('a3') },
        { recordId: id('a4'), tag: noTag, cid: cid('a4') },
      ],
    ]),
  )
  await devnet.mined(bob.consent.write.registerRecord([id('b1'), tagA, cid('b1')]))
})
afterAll(async () => {
  await devnet?.stop()
})

const alice = () => devnet.as(devnet.accounts[1]!)
const bob = () => devnet.accounts[2]!
const carol = () => devnet.accounts[3]!

function params(salt: string, overrides: Partial<GrantParams> = {}): GrantParams {
  return {
    grantee: bob().address,
    scopeKind: scopeKind.record,
    scopeTarget: id('a1'),
    records: [],
    purpose: TREAT,
    notBefore: 0,
    expiry: t0 + 10 * 24 * 3600,
    threshold: 2,
    proxySetId: setId,
    salt: id(salt),
    kfragsCid: cid(`kfrags ${salt}`),
    ...overrides,
  }
}

async function grant(salt: string, overrides: Partial<GrantParams> = {}): Promise<Hex> {
  const a = alice()
  await devnet.mined(a.consent.write.grant([params(salt, overrides)]))
  return a.consent.read.grantIdOf([a.account.address, id(salt)])
}

const allowed = (grantId: Hex, recordId: Hex, grantee = bob().address, purpose: number = TREAT) =>
  alice().consent.read.isAccessAllowed([grantId, recordId, grantee, purpose])

describe('ConsentRegistry grants', () => {
  test('default: a single-record grant allows its grantee, record and purpose only', async () => {
    const a = alice()
    const grantId = await grant('single')
    expect(await allowed(grantId, id('a1'))).toBe(true)
    expect(await allowed(grantId, id('a2'))).toBe(false)
    expect(await allowed(grantId, id('a1'), carol().address)).toBe(false)
    expect(await allowed(grantId, id('a1'), bob().address, HRESCH)).toBe(false)
    expect(await allowed(id('no such grant'), id('a1'))).toBe(false)
    expect(await a.consent.read.getGrant([grantId])).toEqual({
      grantor: a.account.address,
      notBefore: 0,
      expiry: t0 + 10 * 24 * 3600,
      threshold: 2,
      scopeKind: scopeKind.record,
      purpose: TREAT,
      flags: 0,
      grantee: bob().address,
      // Not the id's prefix: keccak256(abi.encode(grantId, recordId))[0:12].
      scopeKey: keccak256(
        encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [grantId, id('a1')]),
      ).slice(0, 26),
    })
    const [event] = await a.consent.getEvents.AccessGranted({ grantId }, { fromBlock: 0n })
    expect(event?.args).toEqual({
      grantId,
      grantor: a.account.address,
      grantee: bob().address,
      scopeKind: scopeKind.record,
      scopeTarget: id('a1'),
      purpose: TREAT,
      notBefore: 0,
      expiry: t0 + 10 * 24 * 3600,
      threshold: 2,
      proxySetId: setId,
      kfragsCid: cid('kfrags single'),
    })
    // checkAccess explains each refusal.
    await a.consent.read.checkAccess([grantId, id('a1'), bob().address, TREAT])
    expect(await revertOf(a.consent.read.checkAccess([grantId, id('a2'), bob().address, TREAT]))).toEqual({
      errorName: 'RecordOutOfScope',
      args: [grantId, id('a2')],
    })
    expect(await revertOf(a.consent.read.checkAccess([grantId, id('a1'), carol().address, TREAT]))).toEqual({
      errorName: 'GranteeMismatch',
      args: [grantId, carol().address],
    })
    expect(await revertOf(a.consent.read.checkAccess([grantId, id('a1'), bob().address, HRESCH]))).toEqual({
      errorName: 'PurposeMismatch',
      args: [grantId, HRESCH],
    })
    expect(
      await revertOf(a.consent.read.checkAccess([grantId, id('nowhere'), bob().address, TREAT])),
    ).toEqual({
      errorName: 'RecordNotFound',
      args: [id('nowhere')],
    })
    expect(
      await revertOf(a.consent.read.checkAccess([id('no such grant'), id('a1'), bob().address, TREAT])),
    ).toEqual({
      errorName: 'GrantNotFound',
      args: [id('no such grant')],
    })
  })

  test('behavior: a single-record grant covers only its record, not another one sharing its first 12 bytes', async () => {
    // Ids that differ only in their last bytes (e.g. counters, left-padded numbers) must not share a grant.
    const a = alice()
    const first = `0x${'00'.repeat(31)}01` as Hex
    const second = `0x${'00'.repeat(31)}02` as Hex
    await devnet.mined(a.consent.write.registerRecord([first, noTag, cid('first')]))
    const grantId = await grant('shared id prefix', { scopeTarget: first })
    // Registered after the grant too: the grant's stored key must not be derivable from the id alone.
    await devnet.mined(a.consent.write.registerRecord([second, noTag, cid('second')]))
    expect(await allowed(grantId, first)).toBe(true)
    expect(await allowed(grantId, second)).toBe(false)
    expect(await revertOf(a.consent.read.checkAccess([grantId, second, bob().address, TREAT]))).toEqual({
      errorName: 'RecordOutOfScope',
      args: [grantId, second],
    })
  })

  test('behavior: a tag grant covers the grantor’s records with that tag, including later ones', async () => {
    const a = alice()
    const grantId = await grant('tag', { scopeKind: scopeKind.tag, scopeTarget: tagScopeTarget(tagA) })
    expect(await allowed(grantId, id('a1'))).toBe(true)
    expect(await allowed(grantId, id('a2'))).toBe(true)
    expect(await allowed(grantId, id('a3'))).toBe(false) // other tag
    expect(await allowed(grantId, id('a4'))).toBe(false) // untagged
    expect(await allowed(grantId, id('b1'))).toBe(false) // same tag, another owner
    await devnet.mined(a.consent.write.registerRecord([id('a5 later'), tagA, cid('a5')]))
    expect(await allowed(grantId, id('a5 later'))).toBe(true)
  })

  test('behavior: a record-set grant covers exactly its listed records', async () => {
    const a = alice()
    const receipt = await devnet.mined(
      a.consent.write.grant([
        params('set', { scopeKind: scopeKind.records, scopeTarget: zeroHash, records: [id('a1'), id('a3')] }),
      ]),
    )
    const grantId = await a.consent.read.grantIdOf([a.account.address, id('set')])
    expect(await allowed(grantId, id('a1'))).toBe(true)
    expect(await allowed(grantId, id('a3'))).toBe(true)
    expect(await allowed(grantId, id('a2'))).toBe(false)
    const events = await a.consent.getEvents.GrantRecordsScoped(
      { grantId },
      { fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber },
    )
    expect(events[0]?.args.records).toEqual([id('a1'), id('a3')])
  })

  test('behavior: an all-records grant covers every record of the grantor and nobody else’s', async () => {
    const grantId = await grant('all', { scopeKind: scopeKind.all, scopeTarget: zeroHash })
    for (const r of ['a1', 'a2', 'a3', 'a4']) expect(await allowed(grantId, id(r))).toBe(true)
    expect(await allowed(grantId, id('b1'))).toBe(false)
  })

  test('behavior: a grant holds from notBefore until (excluding) expiry', async () => {
    const a = alice()
    const start = (await devnet.now()) + 1000
    const end = start + 1000
    const grantId = await grant('window', { notBefore: start, expiry: end })
    expect(await allowed(grantId, id('a1'))).toBe(false)
    expect(await revertOf(a.consent.read.checkAccess([grantId, id('a1'), bob().address, TREAT]))).toEqual({
      errorName: 'GrantNotYetValid',
      args: [grantId, start],
    })
    await devnet.advance(1500)
    expect(await allowed(grantId, id('a1'))).toBe(true)
    await devnet.advance(1000)
    expect(await allowed(grantId, id('a1'))).toBe(false)
    expect(await revertOf(a.consent.read.checkAccess([grantId, id('a1'), bob().address, TREAT]))).toEqual({
      errorName: 'GrantExpired',
      args: [grantId, end],
    })
    t0 = await devnet.now()
  })

  test('behavior: revoking ends access at once and is evented; grants list by grantor and grantee via logs', async () => {
    const a = alice()
    // Listing is checked over this test's own blocks, so the expected lists are exact whatever ran before (read
    // past viem's block-number cache, which waiting for the last receipt filled a block or more ago).
    const fromBlock = (await devnet.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n
    const grantId = await grant('to revoke', { grantee: carol().address })
    expect(await allowed(grantId, id('a1'), carol().address)).toBe(true)
    await devnet.mined(a.consent.write.revoke([grantId]))
    expect(await allowed(grantId, id('a1'), carol().address)).toBe(false)
    expect((await a.consent.read.getGrant([grantId])).flags).toBe(1)
    expect(await revertOf(a.consent.read.checkAccess([grantId, id('a1'), carol().address, TREAT]))).toEqual({
      errorName: 'GrantRevoked',
      args: [grantId],
    })
    const revoked = await a.consent.getEvents.AccessRevoked({ grantId }, { fromBlock: 0n })
    expect(revoked[0]?.args).toEqual({
      grantId,
      grantor: a.account.address,
      grantee: carol().address,
      revokedBy: a.account.address,
    })
    const toCarol = await a.consent.getEvents.AccessGranted({ grantee: carol().address }, { fromBlock: 0n })
    expect(toCarol.map((e) => e.args.grantId)).toEqual([grantId])
    // Two more by alice and one by someone else, which the grantor filter must leave out.
    const listed = [grantId, await grant('listed 1'), await grant('listed 2', { grantee: carol().address })]
    const asBob = devnet.as(bob())
    await devnet.mined(
      asBob.consent.write.grant([params('by bob', { scopeTarget: id('b1'), grantee: a.account.address })]),
    )
    const byAlice = await a.consent.getEvents.AccessGranted({ grantor: a.account.address }, { fromBlock })
    expect(byAlice.map((e) => e.args.grantId)).toEqual(listed)
    const toCarolNow = await a.consent.getEvents.AccessGranted({ grantee: carol().address }, { fromBlock })
    expect(toCarolNow.map((e) => e.args.grantId)).toEqual([grantId, listed[2]])
  })

  test('error: revoking twice, someone else’s grant, or an unknown grant', async () => {
    const a = alice()
    const grantId = await grant('revoke twice')
    await devnet.mined(a.consent.write.revoke([grantId]))
    expect(await revertOf(a.consent.simulate.revoke([grantId], { account: a.account }))).toEqual({
      errorName: 'GrantRevoked',
      args: [grantId],
    })
    const other = await grant('not yours')
    expect(await revertOf(a.consent.simulate.revoke([other], { account: carol() }))).toEqual({
      errorName: 'Unauthorized',
      args: [carol().address, a.account.address, 4],
    })
    // The grantee cannot revoke either: only the grantor or its revoke delegate.
    expect(await revertOf(a.consent.simulate.revoke([other], { account: bob() }))).toEqual({
      errorName: 'Unauthorized',
      args: [bob().address, a.account.address, 4],
    })
    expect(await revertOf(a.consent.simulate.revoke([id('unknown grant')], { account: a.account }))).toEqual({
      errorName: 'GrantNotFound',
      args: [id('unknown grant')],
    })
  })

  test('error: every malformed grant reverts with its reason and arguments', async () => {
    const a = alice()
    const sim = (p: GrantParams) => revertOf(a.consent.simulate.grant([p], { account: a.account }))
    expect(await sim(params('e1', { grantee: zeroAddress }))).toEqual({
      errorName: 'ZeroAddress',
      args: ['grantee'],
    })
    expect(await sim(params('e2', { purpose: 0 }))).toEqual({ errorName: 'InvalidPurpose', args: [0] })
    expect(await sim(params('e3', { purpose: 33 }))).toEqual({ errorName: 'InvalidPurpose', args: [33] })
    const past = await sim(params('e4', { expiry: t0 - 10 }))
    expect(past.errorName).toBe('ExpiryNotInFuture')
    expect(past.args[0]).toBe(BigInt(t0 - 10))
    expect(await sim(params('e5', { notBefore: t0 + 20_000, expiry: t0 + 10_000 }))).toEqual({
      errorName: 'InvalidValidity',
      args: [t0 + 20_000, t0 + 10_000],
    })
    expect(await sim(params('e6', { kfragsCid: '0x' }))).toEqual({
      errorName: 'InvalidCidLength',
      args: [0n, 128n],
    })
    expect(await sim(params('e7', { kfragsCid: `0x${'ab'.repeat(129)}` }))).toEqual({
      errorName: 'InvalidCidLength',
      args: [129n, 128n],
    })
    expect(await sim(params('e8', { proxySetId: 999 }))).toEqual({
      errorName: 'UnknownProxySet',
      args: [999],
    })
    expect(await sim(params('e9', { threshold: 0 }))).toEqual({
      errorName: 'InvalidThreshold',
      args: [0, 3n],
    })
    expect(await sim(params('e10', { threshold: 4 }))).toEqual({
      errorName: 'InvalidThreshold',
      args: [4, 3n],
    })
    expect(await sim(params('e11', { scopeTarget: id('nowhere') }))).toEqual({
      errorName: 'RecordNotFound',
      args: [id('nowhere')],
    })
    expect(await sim(params('e12', { scopeTarget: id('b1') }))).toEqual({
      errorName: 'NotRecordOwner',
      args: [id('b1'), bob().address, a.account.address],
    })
    expect(await sim(params('e13', { records: [id('a1')] }))).toEqual({
      errorName: 'InvalidScope',
      args: [scopeKind.record, id('a1')],
    })
    expect(await sim(params('e14', { scopeKind: scopeKind.none }))).toEqual({
      errorName: 'InvalidScope',
      args: [scopeKind.none, id('a1')],
    })
    expect(await sim(params('e15', { scopeKind: scopeKind.tag, scopeTarget: zeroHash }))).toEqual({
      errorName: 'InvalidScope',
      args: [scopeKind.tag, zeroHash],
    })
    // A tag target must be the 8-byte tag left-aligned; anything in the low 24 bytes is rejected.
    expect(await sim(params('e16', { scopeKind: scopeKind.tag, scopeTarget: id('a1') }))).toEqual({
      errorName: 'InvalidScope',
      args: [scopeKind.tag, id('a1')],
    })
    expect(await sim(params('e17', { scopeKind: scopeKind.records, scopeTarget: zeroHash }))).toEqual({
      errorName: 'InvalidRecordSetSize',
      args: [0n, 64n],
    })
    const many = Array.from({ length: 65 }, () => id('a1'))
    expect(
      await sim(params('e18', { scopeKind: scopeKind.records, scopeTarget: zeroHash, records: many })),
    ).toEqual({
      errorName: 'InvalidRecordSetSize',
      args: [65n, 64n],
    })
    expect(
      await sim(
        params('e19', { scopeKind: scopeKind.records, scopeTarget: zeroHash, records: [id('a1'), id('b1')] }),
      ),
    ).toEqual({ errorName: 'NotRecordOwner', args: [id('b1'), bob().address, a.account.address] })
    expect(await sim(params('e20', { scopeKind: scopeKind.all, scopeTarget: id('a1') }))).toEqual({
      errorName: 'InvalidScope',
      args: [scopeKind.all, id('a1')],
    })
    // An out-of-range enum value is rejected by the ABI decoder before any check: a revert with empty data
    // (no custom error, no panic), so nothing else can be what stopped it.
    const badEnum = await a.consent.simulate
      .grant([params('e21', { scopeKind: 9 })], { account: a.account })
      .catch((error: unknown) => error)
    expect(badEnum).toBeInstanceOf(ContractFunctionExecutionError)
    const bare = (badEnum as BaseError).walk((e) => e instanceof ContractFunctionRevertedError)
    expect(bare).toBeInstanceOf(ContractFunctionRevertedError)
    expect(bare).toMatchObject({ raw: '0x', data: undefined, signature: undefined })
    const taken = await grant('taken')
    expect(await sim(params('taken'))).toEqual({ errorName: 'GrantAlreadyExists', args: [taken] })
  })

  test('behavior: a grant delegate grants and a revoke delegate revokes for the patient', async () => {
    const a = alice()
    const guardian = devnet.as(devnet.accounts[5]!)
    const g = { account: guardian.account }
    const expiry = (await devnet.now()) + 3600
    await devnet.mined(a.consent.write.appointDelegate([guardian.account.address, 2, expiry]))
    // A delegate cannot confer access beyond its own term, directly or as a break-glass authorisation.
    expect(
      await revertOf(guardian.consent.simulate.grantFor([a.account.address, params('too long')], g)),
    ).toEqual({
      errorName: 'GrantOutlivesDelegation',
      args: [guardian.account.address, t0 + 10 * 24 * 3600, expiry],
    })
    expect(
      await revertOf(
        guardian.consent.simulate.authorizeBreakGlass([a.account.address, params('glass too long'), 3600], g),
      ),
    ).toEqual({
      errorName: 'GrantOutlivesDelegation',
      args: [guardian.account.address, t0 + 10 * 24 * 3600, expiry],
    })
    await devnet.mined(
      guardian.consent.write.grantFor([a.account.address, params('by guardian', { expiry })]),
    )
    const grantId = await a.consent.read.grantIdOf([a.account.address, id('by guardian')])
    expect((await a.consent.read.getGrant([grantId])).grantor).toBe(a.account.address)
    expect(await allowed(grantId, id('a1'))).toBe(true)
    expect(await revertOf(guardian.consent.simulate.revoke([grantId], g))).toEqual({
      errorName: 'Unauthorized',
      args: [guardian.account.address, a.account.address, 4],
    })
    await devnet.mined(a.consent.write.appointDelegate([guardian.account.address, 2 | 4, expiry]))
    await devnet.mined(guardian.consent.write.revoke([grantId]))
    expect(await allowed(grantId, id('a1'))).toBe(false)
    expect(await revertOf(guardian.consent.simulate.grantFor([zeroAddress, params('zero')], g))).toEqual({
      errorName: 'ZeroAddress',
      args: ['grantor'],
    })
    expect(
      await revertOf(guardian.consent.simulate.grantFor([carol().address, params('not my patient')], g)),
    ).toEqual({ errorName: 'Unauthorized', args: [guardian.account.address, carol().address, 2] })
  })

  test('behavior: isAccessAllowed agrees with a reference model over random grants and queries (property)', async () => {
    const a = alice()
    const tags: Record<string, Hex> = { a1: tagA, a2: tagA, a3: tagB, a4: noTag }
    const aliceRecords = ['a1', 'a2', 'a3', 'a4']
    const grantees = [bob().address, carol().address]
    let run = 0
    const scope = fc.oneof(
      fc.record({ kind: fc.constant(scopeKind.record), record: fc.constantFrom(...aliceRecords) }),
      fc.record({
        kind: fc.constant(scopeKind.records),
        records: fc.subarray(aliceRecords, { minLength: 1 }),
      }),
      fc.record({ kind: fc.constant(scopeKind.tag), tag: fc.constantFrom(tagA, tagB) }),
      fc.record({ kind: fc.constant(scopeKind.all) }),
    )
    await fc.assert(
      fc.asyncProperty(
        scope,
        fc.constantFrom(TREAT, HRESCH),
        fc.constantFrom(...grantees),
        fc.boolean(),
        fc.boolean(),
        async (sc, purpose, grantee, future, revoked) => {
          const salt = `model ${run++}`
          const now = await devnet.now()
          const target =
            sc.kind === scopeKind.record
              ? id(sc.record)
              : sc.kind === scopeKind.tag
                ? tagScopeTarget(sc.tag as `0x${string}`)
                : zeroHash
          const grantId = await grant(salt, {
            grantee,
            purpose,
            scopeKind: sc.kind,
            scopeTarget: target,
            records: sc.kind === scopeKind.records ? sc.records.map((r) => id(r)) : [],
            notBefore: future ? now + 1_000_000 : 0,
            expiry: now + 2_000_000,
          })
          if (revoked) await devnet.mined(a.consent.write.revoke([grantId]))
          for (const record of [...aliceRecords, 'b1', 'unknown']) {
            const inScope =
              aliceRecords.includes(record) &&
              (sc.kind === scopeKind.all ||
                (sc.kind === scopeKind.record && sc.record === record) ||
                (sc.kind === scopeKind.records && sc.records.includes(record)) ||
                (sc.kind === scopeKind.tag && tags[record] === sc.tag))
            for (const who of grantees) {
              for (const p of [TREAT, HRESCH]) {
                const expected = inScope && !revoked && !future && who === grantee && p === purpose
                expect(await allowed(grantId, id(record), who, p)).toBe(expected)
              }
            }
          }
        },
      ),
      { numRuns: 15 },
    )
  })

  test('behavior: a grant stops covering a record whose owner is not the grantor', async () => {
    // The scope key compares the first 12 bytes of a record id; the owner check keeps other people's
    // records out even when their ids share that prefix.
    const bobC = devnet.as(bob())
    const a = alice()
    const grantId = await grant('prefix', { grantee: carol().address })
    const lookalike = `${id('a1').slice(0, 26)}${'ee'.repeat(20)}` as Hex
    await devnet.mined(bobC.consent.write.registerRecord([lookalike, noTag, cid('lookalike')]))
    expect(await allowed(grantId, lookalike, carol().address)).toBe(false)
    expect(await revertOf(a.consent.read.checkAccess([grantId, lookalike, carol().address, TREAT]))).toEqual({
      errorName: 'RecordOutOfScope',
      args: [grantId, lookalike],
    })
  })
})
