/**
 * Audit anchors are keyed by (proxy, root): anyone may register a proxy, so a root copied from the mempool and
 * anchored first by someone else must neither block the honest proxy's anchor nor change what reads back as it.
 */
import { buildReceiptTree } from '@medvault/chain'
import { type Hex, keccak256, stringToHex } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type ContractsDevnet, createContractsDevnet, publicKey, revertOf } from './devnet.ts'

let devnet: ContractsDevnet
beforeAll(async () => {
  devnet = await createContractsDevnet()
})
afterAll(async () => {
  await devnet?.stop()
})

const honest = () => devnet.as(devnet.accounts[6]!)
const attacker = () => devnet.as(devnet.accounts[7]!)
const reader = () => devnet.as(devnet.accounts[0]!)

const receipts = (label: string): Hex[] =>
  [1, 2, 3, 4, 5, 6, 7].map((i) => keccak256(stringToHex(`${label}: signed access receipt ${i}`)))

describe('AuditAnchors attribution', () => {
  beforeAll(async () => {
    await devnet.mined(honest().proxies.write.registerProxy([publicKey('honest'), 'https://honest.example']))
    // Registering a proxy is open to anyone: that is all the attacker needs.
    await devnet.mined(attacker().proxies.write.registerProxy([publicKey('mallory'), 'https://m.example']))
  })

  test('attack: a root anchored first by another proxy, with a forged count and time range, neither blocks nor alters the honest anchor', async () => {
    const batch = receipts('front-run')
    const tree = buildReceiptTree(batch)
    const now = await devnet.now()
    // The attacker copies the honest proxy's root (e.g. from the mempool) and anchors it first, claiming one
    // receipt from a year ago.
    await devnet.mined(
      attacker().anchors.write.anchor([tree.root, 1, now - 365 * 24 * 3600, now - 365 * 24 * 3600]),
    )
    // The honest proxy's anchor still goes through...
    const honestReceipt = await devnet.mined(honest().anchors.write.anchor([tree.root, 7, now - 600, now]))
    const anchoredAt = Number(
      (await devnet.publicClient.getBlock({ blockNumber: honestReceipt.blockNumber })).timestamp,
    )
    // ...and reads back as the honest proxy's own: its count, its time range.
    expect(await reader().anchors.read.getAnchor([honest().account.address, tree.root])).toEqual({
      count: 7,
      fromTime: now - 600,
      toTime: now,
      anchoredAt,
    })
    for (const r of batch) {
      expect(
        await reader().anchors.read.verifyReceipt([honest().account.address, tree.root, r, tree.getProof(r)]),
      ).toBe(true)
    }
    // The attacker's copy is attributed to the attacker only.
    expect((await reader().anchors.read.getAnchor([attacker().account.address, tree.root])).count).toBe(1)
    // Each proxy's own anchoring event names it.
    const events = await reader().anchors.getEvents.ReceiptsAnchored({ root: tree.root }, { fromBlock: 0n })
    expect(events.map((e) => [e.args.proxy, e.args.count])).toEqual([
      [attacker().account.address, 1],
      [honest().account.address, 7],
    ])
  })

  test('attack: anchoring an honest proxy’s existing root afterwards changes nothing of it', async () => {
    const tree = buildReceiptTree(receipts('after'))
    const now = await devnet.now()
    await devnet.mined(honest().anchors.write.anchor([tree.root, 7, now - 60, now]))
    const before = await reader().anchors.read.getAnchor([honest().account.address, tree.root])
    await devnet.mined(attacker().anchors.write.anchor([tree.root, 4_000_000_000, 0, now]))
    expect(await reader().anchors.read.getAnchor([honest().account.address, tree.root])).toEqual(before)
  })

  test('error: a proxy anchors a root once; another proxy’s anchor is not found under this one', async () => {
    const tree = buildReceiptTree(receipts('once'))
    const now = await devnet.now()
    const h = honest()
    await devnet.mined(h.anchors.write.anchor([tree.root, 7, now - 60, now]))
    expect(
      await revertOf(h.anchors.simulate.anchor([tree.root, 7, now - 60, now], { account: h.account })),
    ).toEqual({ errorName: 'RootAlreadyAnchored', args: [tree.root, h.account.address] })
    expect(await revertOf(reader().anchors.read.getAnchor([attacker().account.address, tree.root]))).toEqual({
      errorName: 'AnchorNotFound',
      args: [attacker().account.address, tree.root],
    })
    const r = receipts('once')[0]!
    expect(
      await reader().anchors.read.verifyReceipt([attacker().account.address, tree.root, r, tree.getProof(r)]),
    ).toBe(false)
  })
})
