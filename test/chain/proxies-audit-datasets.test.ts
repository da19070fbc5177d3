import {
  AnchorNotFoundError,
  anchorReceipts,
  buildReceiptTree,
  DuplicateProxyError,
  EmergencyAccessAlreadyActiveError,
  EmergencyAccessHaltedError,
  EmergencyAccessNotActiveError,
  EmergencyAccessNotHaltedError,
  InvalidPurposeError,
  NotActiveProxyError,
  NotBreakGlassGrantError,
  NotGranteeError,
  NotStewardError,
  ProxyAlreadyRegisteredError,
  ProxyNotActiveError,
  ProxySetNotFoundError,
  RootAlreadyAnchoredError,
  UnauthorizedError,
  verifyReceiptProof,
} from '@medvault/chain'
import { createDevnet, type Devnet } from '@medvault/chain/node'
import { auditAnchorsAbi, consentRegistryAbi, purposeOfUse } from '@medvault/contracts'
import { type Hex, keccak256, parseEventLogs, toHex } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { cid, compressedKey, id, testKey } from './helpers.ts'

let devnet: Devnet
const admin = () => devnet.walletClients[0]!
const patient = () => devnet.walletClients[1]!
const clinician = () => devnet.walletClients[2]!
const steward = () => devnet.walletClients[3]!
const operator = (i: number) => devnet.walletClients[5 + i]!

async function now(): Promise<number> {
  return Number((await devnet.publicClient.getBlock()).timestamp)
}

beforeAll(async () => {
  devnet = await createDevnet()
})
afterAll(async () => {
  await devnet?.stop()
})

describe('proxies', () => {
  test('default', async () => {
    const key = compressedKey(testKey('op0'))
    await operator(0).registerProxy({ publicKey: key, endpoint: 'https://proxy-0.example' })
    expect(await devnet.publicClient.getProxy({ operator: operator(0).account.address })).toMatchObject({
      publicKey: key,
      endpoint: 'https://proxy-0.example',
      retired: false,
    })
    const rotated = compressedKey(testKey('op0-rotated'))
    await operator(0).updateProxy({ publicKey: rotated, endpoint: 'https://proxy-0.example/v2' })
    expect(await devnet.publicClient.getProxy({ operator: operator(0).account.address })).toMatchObject({
      publicKey: rotated,
      endpoint: 'https://proxy-0.example/v2',
    })
    await operator(1).registerProxy({
      publicKey: compressedKey(testKey('op1')),
      endpoint: 'https://proxy-1.example',
    })
    const members = [operator(0).account.address, operator(1).account.address]
    const { setId } = await patient().createProxySet({ members })
    expect(await devnet.publicClient.getProxySet({ setId })).toEqual(members)
  })

  test('behavior: a retired proxy stays in old sets but cannot join new ones', async () => {
    await operator(2).registerProxy({
      publicKey: compressedKey(testKey('op2')),
      endpoint: 'https://proxy-2.example',
    })
    const { setId } = await patient().createProxySet({ members: [operator(2).account.address] })
    await operator(2).retireProxy()
    expect((await devnet.publicClient.getProxy({ operator: operator(2).account.address }))?.retired).toBe(
      true,
    )
    expect(await devnet.publicClient.getProxySet({ setId })).toEqual([operator(2).account.address])
    await expect(patient().createProxySet({ members: [operator(2).account.address] })).rejects.toBeInstanceOf(
      ProxyNotActiveError,
    )
    await expect(
      operator(2).registerProxy({
        publicKey: compressedKey(testKey('again')),
        endpoint: 'https://x.example',
      }),
    ).rejects.toBeInstanceOf(ProxyAlreadyRegisteredError)
  })

  test('error: unknown set, duplicate member, never registered', async () => {
    await expect(devnet.publicClient.getProxySet({ setId: 999 })).rejects.toBeInstanceOf(
      ProxySetNotFoundError,
    )
    await expect(
      patient().createProxySet({ members: [operator(0).account.address, operator(0).account.address] }),
    ).rejects.toBeInstanceOf(DuplicateProxyError)
    expect(await devnet.publicClient.getProxy({ operator: patient().account.address })).toBeUndefined()
  })
})

describe('audit anchors', () => {
  const receipts = Array.from({ length: 13 }, (_, i) => keccak256(toHex(`signed access receipt ${i}`)))

  test('default', async () => {
    await operator(3).registerProxy({
      publicKey: compressedKey(testKey('op3')),
      endpoint: 'https://proxy-3.example',
    })
    const tree = buildReceiptTree(receipts)
    const t = await now()
    const { receipt } = await operator(3).anchorReceipts({ tree, fromTime: t - 3600, toTime: t })
    const proxy = operator(3).account.address
    const block = await devnet.publicClient.getBlock({ blockNumber: receipt!.blockNumber })
    expect(await devnet.publicClient.getAnchor({ proxy, root: tree.root })).toEqual({
      proxy,
      root: tree.root,
      count: 13,
      fromTime: t - 3600,
      toTime: t,
      anchoredAt: Number(block.timestamp),
    })
    for (const receiptHash of receipts) {
      const proof = tree.getProof(receiptHash)
      expect(verifyReceiptProof({ root: tree.root, receiptHash, proof })).toBe(true)
      expect(
        await devnet.publicClient.verifyReceiptInclusion({ proxy, root: tree.root, receiptHash, proof }),
      ).toBe(true)
      // Only the anchor of the proxy named counts: no other account anchored this root.
      expect(
        await devnet.publicClient.verifyReceiptInclusion({
          proxy: operator(0).account.address,
          root: tree.root,
          receiptHash,
          proof,
        }),
      ).toBe(false)
    }
    const outsider = keccak256(toHex('never logged'))
    const proof = tree.getProof(receipts[0]!)
    expect(
      await devnet.publicClient.verifyReceiptInclusion({
        proxy,
        root: tree.root,
        receiptHash: outsider,
        proof,
      }),
    ).toBe(false)
  })

  test('attack: another proxy anchoring the same root first (forged count and range) neither blocks nor alters the honest anchor', async () => {
    const tree = buildReceiptTree(receipts.slice(0, 5))
    const t = await now()
    // Any account can register a proxy; operator 1 plays the one copying a root from the mempool.
    const copier = operator(1)
    await copier.anchorReceipts({ tree: { root: tree.root, count: 1 }, fromTime: 0, toTime: 0 })
    await operator(3).anchorReceipts({ tree, fromTime: t - 60, toTime: t })
    const honest = await devnet.publicClient.getAnchor({
      proxy: operator(3).account.address,
      root: tree.root,
    })
    expect([honest.count, honest.fromTime, honest.toTime]).toEqual([5, t - 60, t])
    const copied = await devnet.publicClient.getAnchor({ proxy: copier.account.address, root: tree.root })
    expect([copied.count, copied.fromTime, copied.toTime]).toEqual([1, 0, 0])
  })

  test('behavior: the TypeScript tree hashes exactly as the contract (leafOf, processProof)', async () => {
    for (const size of [1, 2, 3, 8, 33]) {
      const batch = receipts
        .concat(Array.from({ length: 40 }, (_, i) => keccak256(toHex(`more ${i}`))))
        .slice(0, size)
      const tree = buildReceiptTree(batch)
      for (const receiptHash of batch) {
        const leaf = await devnet.publicClient.readContract({
          address: devnet.addresses.auditAnchors,
          abi: auditAnchorsAbi,
          functionName: 'leafOf',
          args: [receiptHash],
        })
        const root = await devnet.publicClient.readContract({
          address: devnet.addresses.auditAnchors,
          abi: auditAnchorsAbi,
          functionName: 'processProof',
          args: [leaf, tree.getProof(receiptHash)],
        })
        expect(root).toBe(tree.root)
      }
    }
  })

  test('error: only an active proxy anchors, once per root and proxy', async () => {
    const tree = buildReceiptTree([keccak256(toHex('x'))])
    const t = await now()
    const err = await anchorReceipts(patient(), {
      addresses: devnet.addresses,
      tree,
      fromTime: t,
      toTime: t,
    }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotActiveProxyError)
    await operator(3).anchorReceipts({ tree, fromTime: t, toTime: t })
    await expect(operator(3).anchorReceipts({ tree, fromTime: t, toTime: t })).rejects.toBeInstanceOf(
      RootAlreadyAnchoredError,
    )
    const missing = await devnet.publicClient
      .getAnchor({ proxy: operator(3).account.address, root: id('no root') })
      .catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(AnchorNotFoundError)
    expect((missing as AnchorNotFoundError).args).toEqual({
      proxy: operator(3).account.address,
      root: id('no root'),
    })
  })
})

describe('emergency access', () => {
  test('default', async () => {
    const { recordIds } = await patient().registerRecords({
      records: [{ cid: cid('e0') }, { cid: cid('e1') }],
    })
    await operator(4).registerProxy({
      publicKey: compressedKey(testKey('op4')),
      endpoint: 'https://proxy-4.example',
    })
    const { setId } = await patient().createProxySet({ members: [operator(4).account.address] })
    const { grantId } = await patient().authorizeBreakGlass({
      grantee: clinician().account.address,
      scope: { kind: 'all' },
      purpose: 'ETREAT',
      expiry: (await now()) + 365 * 24 * 3600,
      threshold: 1,
      proxySetId: setId,
      kfragsCid: cid('bg kfrags'),
      maxDuration: 3600,
    })
    const grant = await devnet.publicClient.getGrant({ grantId })
    expect(grant.breakGlass).toBe(true)
    const query = {
      grantId,
      recordId: recordIds[0]!,
      grantee: clinician().account.address,
      purpose: 'ETREAT',
    } as const
    // Dormant until the glass is broken.
    expect(await devnet.publicClient.isAccessAllowed(query)).toBe(false)

    const reasonRef = keccak256(toHex('salted digest of an off-chain note'))
    const { endsAt, window, receipt } = await clinician().breakGlass({
      grantId,
      recordId: recordIds[0]!,
      reasonCode: 'ETREAT',
      reasonRef,
    })
    expect(window).toBe(1)
    // The public event says who, which record and why as a code; no free text.
    const [started] = parseEventLogs({
      abi: consentRegistryAbi,
      eventName: 'EmergencyAccessStarted',
      logs: receipt?.logs ?? [],
    })
    expect(started?.args).toEqual({
      grantId,
      recordId: recordIds[0]!,
      grantor: patient().account.address,
      grantee: clinician().account.address,
      endsAt,
      window: 1,
      reasonCode: purposeOfUse.ETREAT,
      reasonRef,
    })
    expect(await devnet.publicClient.isAccessAllowed(query)).toBe(true)
    expect(await devnet.publicClient.getEmergencyAccess({ grantId, recordId: recordIds[0]! })).toEqual({
      endsAt,
      halted: false,
      maxDuration: 3600,
      windowsOpened: 1,
    })
    // Only the record named in the emergency.
    expect(await devnet.publicClient.isAccessAllowed({ ...query, recordId: recordIds[1]! })).toBe(false)

    // The patient's end holds: the grantee cannot reopen the record until the patient re-authorises it.
    await patient().endEmergencyAccess({ grantId, recordId: recordIds[0]! })
    expect(await devnet.publicClient.isAccessAllowed(query)).toBe(false)
    expect((await devnet.publicClient.getEmergencyAccess({ grantId, recordId: recordIds[0]! })).halted).toBe(
      true,
    )
    const reopened = await clinician()
      .breakGlass({ grantId, recordId: recordIds[0]!, reasonCode: 'BTG' })
      .catch((e: unknown) => e)
    expect(reopened).toBeInstanceOf(EmergencyAccessHaltedError)
    expect((reopened as EmergencyAccessHaltedError).args).toEqual({ grantId, recordId: recordIds[0]! })
    await expect(patient().endEmergencyAccess({ grantId, recordId: recordIds[0]! })).rejects.toBeInstanceOf(
      EmergencyAccessHaltedError,
    )
    await expect(
      clinician().reauthorizeBreakGlass({ grantId, recordId: recordIds[0]! }),
    ).rejects.toBeInstanceOf(UnauthorizedError)
    await patient().reauthorizeBreakGlass({ grantId, recordId: recordIds[0]! })
    await expect(
      patient().reauthorizeBreakGlass({ grantId, recordId: recordIds[0]! }),
    ).rejects.toBeInstanceOf(EmergencyAccessNotHaltedError)
    const second = await clinician().breakGlass({ grantId, recordId: recordIds[0]!, reasonCode: 'BTG' })
    expect(second.window).toBe(2)
    // One window at a time per record.
    await expect(
      clinician().breakGlass({ grantId, recordId: recordIds[0]!, reasonCode: 'BTG' }),
    ).rejects.toBeInstanceOf(EmergencyAccessAlreadyActiveError)
    // The grantee closing its own window early is no halt.
    await clinician().endEmergencyAccess({ grantId, recordId: recordIds[0]! })
    await expect(clinician().endEmergencyAccess({ grantId, recordId: recordIds[0]! })).rejects.toBeInstanceOf(
      EmergencyAccessNotActiveError,
    )

    // The time box runs out by itself.
    await clinician().breakGlass({ grantId, recordId: recordIds[1]!, reasonCode: 'BTG' })
    await devnet.testClient.increaseTime({ seconds: 3601 })
    await devnet.testClient.mine({ blocks: 1 })
    expect(await devnet.publicClient.isAccessAllowed({ ...query, recordId: recordIds[1]! })).toBe(false)

    // The audit trail: every window, how it ended, and every halt, by grant.
    const { windows, halts } = await devnet.publicClient.getEmergencyAccesses({ grantId })
    const patientAddress = patient().account.address
    const clinicianAddress = clinician().account.address
    expect(
      windows.map((w) => ({
        record: recordIds.indexOf(w.recordId),
        window: w.window,
        reasonCode: w.reasonCode,
        grantor: w.grantor,
        grantee: w.grantee,
        endedBy: w.endedBy,
        ranFull: w.endedAt === undefined,
      })),
    ).toEqual([
      {
        record: 0,
        window: 1,
        reasonCode: 'ETREAT',
        grantor: patientAddress,
        grantee: clinicianAddress,
        endedBy: patientAddress,
        ranFull: false,
      },
      {
        record: 0,
        window: 2,
        reasonCode: 'BTG',
        grantor: patientAddress,
        grantee: clinicianAddress,
        endedBy: clinicianAddress,
        ranFull: false,
      },
      {
        record: 1,
        window: 3,
        reasonCode: 'BTG',
        grantor: patientAddress,
        grantee: clinicianAddress,
        endedBy: undefined,
        ranFull: true,
      },
    ])
    for (const w of windows) {
      const block = await devnet.publicClient.getBlock({ blockNumber: w.blockNumber })
      expect(w.startedAt).toBe(Number(block.timestamp))
      expect(w.endsAt).toBe(w.startedAt + 3600)
      if (w.endedAt !== undefined) expect(w.endedAt).toBeGreaterThanOrEqual(w.startedAt)
    }
    expect(windows[0]!.reasonRef).toBe(reasonRef)
    expect(halts.map((h) => [h.kind, recordIds.indexOf(h.recordId), h.by])).toEqual([
      ['halted', 0, patientAddress],
      ['reauthorized', 0, patientAddress],
    ])
    // The same windows by record and by grantor (the grantor filter also finds this patient's other grants).
    const byRecord = await devnet.publicClient.getEmergencyAccesses({ recordId: recordIds[1]! })
    expect(byRecord.windows).toEqual([windows[2]])
    expect(byRecord.halts).toEqual([])
    const byGrantor = await devnet.publicClient.getEmergencyAccesses({ grantor: patientAddress })
    expect(byGrantor.windows.filter((w) => w.grantId === grantId)).toEqual(windows)
    expect((await devnet.publicClient.getEmergencyAccesses({ grantor: clinicianAddress })).windows).toEqual(
      [],
    )
  })

  test('error: only the grantee, only a break-glass grant, only an assigned reason code', async () => {
    const { recordId } = await patient().registerRecord({ cid: cid('e2') })
    const { setId } = await patient().createProxySet({ members: [operator(4).account.address] })
    const common = {
      scope: { kind: 'record', recordId } as const,
      purpose: 'ETREAT' as const,
      expiry: (await now()) + 3600,
      threshold: 1,
      proxySetId: setId,
      kfragsCid: cid('k'),
    }
    const bg = await patient().authorizeBreakGlass({
      ...common,
      grantee: clinician().account.address,
      maxDuration: 60,
    })
    await expect(
      steward().breakGlass({ grantId: bg.grantId, recordId, reasonCode: 'ETREAT' }),
    ).rejects.toBeInstanceOf(NotGranteeError)
    // The why must be an assigned purpose code; there is no free-text field to fall back on.
    for (const reasonCode of [0, 33]) {
      const refused = await clinician()
        .breakGlass({ grantId: bg.grantId, recordId, reasonCode })
        .catch((e: unknown) => e)
      expect(refused).toBeInstanceOf(InvalidPurposeError)
      expect((refused as InvalidPurposeError).args).toEqual({ purpose: reasonCode })
    }
    const plain = await patient().grantAccess({ ...common, grantee: clinician().account.address })
    await expect(
      clinician().breakGlass({ grantId: plain.grantId, recordId, reasonCode: 'ETREAT' }),
    ).rejects.toBeInstanceOf(NotBreakGlassGrantError)
  })
})

describe('datasets', () => {
  test('default', async () => {
    await admin().setSteward({ steward: steward().account.address, approved: true })
    const snapshot = (await devnet.publicClient.getBlockNumber()) - 1n
    const manifestHash = keccak256(toHex('manifest'))
    const ruleSetHash = keccak256(toHex('safe harbor rules'))
    const { datasetId } = await steward().registerDataset({
      cid: cid('dataset'),
      manifestHash,
      ruleSetHash,
      consentSnapshotBlock: snapshot,
      licence: 'CC-BY-4.0',
    })
    expect(datasetId).toBe(keccak256(cid('dataset')))
    expect(await devnet.publicClient.getDataset({ datasetId })).toMatchObject({
      steward: steward().account.address,
      cid: cid('dataset'),
      manifestHash,
      ruleSetHash,
      consentSnapshotBlock: snapshot,
      licence: 'CC-BY-4.0',
    })
  })

  test('error: only an approved steward', async () => {
    const err = await patient()
      .registerDataset({
        cid: cid('rogue'),
        manifestHash: id('m'),
        ruleSetHash: id('r'),
        consentSnapshotBlock: 1n,
        licence: 'MIT',
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(NotStewardError)
    expect((err as NotStewardError).shortMessage).toBe(
      `${patient().account.address} is not an approved data steward.`,
    )
    const removed: Hex = steward().account.address
    await admin().setSteward({ steward: removed, approved: false })
    await expect(
      steward().registerDataset({
        cid: cid('late'),
        manifestHash: id('m'),
        ruleSetHash: id('r'),
        consentSnapshotBlock: 1n,
        licence: 'MIT',
      }),
    ).rejects.toBeInstanceOf(NotStewardError)
  })
})
