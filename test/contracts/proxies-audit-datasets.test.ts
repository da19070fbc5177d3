import { buildReceiptTree, verifyReceiptProof } from '@medvault/chain'
import {
  auditAnchorsAbi,
  auditAnchorsBytecode,
  consentRegistryAbi,
  consentRegistryBytecode,
  datasetRegistryAbi,
  datasetRegistryBytecode,
} from '@medvault/contracts'
import fc from 'fast-check'
import {
  type Abi,
  BaseError,
  bytesToHex,
  concat,
  decodeErrorResult,
  encodeDeployData,
  type Hex,
  keccak256,
  stringToHex,
  zeroAddress,
} from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type ContractsDevnet,
  cid,
  createContractsDevnet,
  id,
  publicKey,
  revertOf,
  zeroHash,
} from './devnet.ts'

let devnet: ContractsDevnet
beforeAll(async () => {
  devnet = await createContractsDevnet()
})
afterAll(async () => {
  await devnet?.stop()
})

describe('constructors', () => {
  test('error: every constructor refuses the zero address', async () => {
    const deployRevert = async (abi: Abi, bytecode: Hex) => {
      const err = await devnet.publicClient
        .call({
          account: devnet.accounts[0]!,
          data: encodeDeployData({ abi, bytecode, args: [zeroAddress] }),
        })
        .then(
          () => undefined,
          (e: unknown) => e,
        )
      // eth_call of creation code: the node hands back the revert data on the RPC error; decode it by the ABI.
      const withData =
        err instanceof BaseError ? err.walk((e) => typeof (e as { data?: unknown }).data === 'string') : null
      const data = (withData as { data?: Hex } | null)?.data
      if (data === undefined) throw err ?? new Error('deployed')
      const { errorName, args } = decodeErrorResult({ abi, data })
      return { errorName, args }
    }
    expect(await deployRevert(consentRegistryAbi, consentRegistryBytecode)).toEqual({
      errorName: 'ZeroAddress',
      args: ['proxyRegistry'],
    })
    expect(await deployRevert(auditAnchorsAbi, auditAnchorsBytecode)).toEqual({
      errorName: 'ZeroAddress',
      args: ['proxyRegistry'],
    })
    expect(await deployRevert(datasetRegistryAbi, datasetRegistryBytecode)).toEqual({
      errorName: 'ZeroAddress',
      args: ['admin'],
    })
  })
})

describe('ProxyRegistry', () => {
  test('default: register, update, retire; sets of active proxies', async () => {
    const [p1, p2, p3] = [1, 2, 3].map((i) => devnet.as(devnet.accounts[i]!))
    await devnet.mined(p1!.proxies.write.registerProxy([publicKey('p1'), 'https://p1.example']))
    await devnet.mined(p2!.proxies.write.registerProxy([publicKey('p2', '03'), 'https://p2.example']))
    const proxy = await p1!.proxies.read.getProxy([p1!.account.address])
    expect(proxy).toMatchObject({
      publicKeyX: `0x${publicKey('p1').slice(4)}`,
      publicKeyPrefix: '0x02',
      retired: false,
      endpoint: 'https://p1.example',
    })
    expect(proxy.registeredAt).toBeGreaterThan(0)
    await devnet.mined(p1!.proxies.write.updateProxy([publicKey('p1 new'), 'https://p1-new.example']))
    expect((await p1!.proxies.read.getProxy([p1!.account.address])).endpoint).toBe('https://p1-new.example')

    const receipt = await devnet.mined(
      p3!.consent.write.createProxySet([[p1!.account.address, p2!.account.address]]),
    )
    const [created] = await p3!.consent.getEvents.ProxySetCreated(
      {},
      { fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber },
    )
    const setId = created!.args.setId!
    expect(created?.args).toEqual({
      setId,
      creator: p3!.account.address,
      members: [p1!.account.address, p2!.account.address],
    })
    expect(await p3!.consent.read.proxySetMembers([setId])).toEqual([
      p1!.account.address,
      p2!.account.address,
    ])
    expect(await p3!.consent.read.proxySetSize([setId])).toBe(2n)
    expect(await p3!.consent.read.proxySetCount()).toBe(setId)

    await devnet.mined(p2!.proxies.write.retireProxy())
    expect(await p2!.proxies.read.isActiveProxy([p2!.account.address])).toBe(false)
    expect(await p2!.proxies.read.isActiveProxy([p1!.account.address])).toBe(true)
    // Existing sets keep their members; a retired proxy cannot join a new set.
    expect(await p3!.consent.read.proxySetSize([setId])).toBe(2n)
    expect(
      await revertOf(p3!.consent.simulate.createProxySet([[p2!.account.address]], { account: p3!.account })),
    ).toEqual({ errorName: 'ProxyNotActive', args: [p2!.account.address] })
  })

  test('error: every misuse of the proxy registry reverts with its reason', async () => {
    const op = devnet.as(devnet.accounts[4]!)
    const o = { account: op.account }
    const stranger = devnet.accounts[5]!
    expect(
      await revertOf(op.proxies.simulate.registerProxy([`0x04${'11'.repeat(32)}`, 'https://x'], o)),
    ).toEqual({
      errorName: 'InvalidPublicKey',
      args: [33n, '0x04'],
    })
    expect(await revertOf(op.proxies.simulate.registerProxy([publicKey('x'), ''], o))).toEqual({
      errorName: 'InvalidEndpointLength',
      args: [0n, 256n],
    })
    expect(
      await revertOf(op.proxies.simulate.registerProxy([publicKey('x'), `https://${'a'.repeat(249)}`], o)),
    ).toEqual({ errorName: 'InvalidEndpointLength', args: [257n, 256n] })
    expect(await revertOf(op.proxies.simulate.updateProxy([publicKey('x'), 'https://x'], o))).toEqual({
      errorName: 'ProxyNotActive',
      args: [op.account.address],
    })
    expect(await revertOf(op.proxies.simulate.retireProxy(o))).toEqual({
      errorName: 'ProxyNotActive',
      args: [op.account.address],
    })
    await devnet.mined(op.proxies.write.registerProxy([publicKey('op4'), 'https://op4.example']))
    expect(await revertOf(op.proxies.simulate.updateProxy([publicKey('x'), 'h'.repeat(257)], o))).toEqual({
      errorName: 'InvalidEndpointLength',
      args: [257n, 256n],
    })
    expect(
      await revertOf(op.proxies.simulate.updateProxy([`0x02${'11'.repeat(31)}`, 'https://x'], o)),
    ).toEqual({
      errorName: 'InvalidPublicKey',
      args: [32n, '0x02'],
    })
    expect(await revertOf(op.proxies.simulate.registerProxy([publicKey('x'), 'https://x'], o))).toEqual({
      errorName: 'ProxyAlreadyRegistered',
      args: [op.account.address],
    })
    expect(await revertOf(op.consent.simulate.createProxySet([[]], o))).toEqual({
      errorName: 'InvalidProxySetSize',
      args: [0n, 32n],
    })
    expect(
      await revertOf(op.consent.simulate.createProxySet([Array(33).fill(op.account.address)], o)),
    ).toEqual({ errorName: 'InvalidProxySetSize', args: [33n, 32n] })
    expect(
      await revertOf(op.consent.simulate.createProxySet([[op.account.address, op.account.address]], o)),
    ).toEqual({ errorName: 'DuplicateProxy', args: [op.account.address] })
    expect(await revertOf(op.consent.simulate.createProxySet([[stranger.address]], o))).toEqual({
      errorName: 'ProxyNotActive',
      args: [stranger.address],
    })
    expect(await revertOf(op.consent.read.proxySetMembers([4242]))).toEqual({
      errorName: 'ProxySetNotFound',
      args: [4242],
    })
    await devnet.mined(op.proxies.write.retireProxy())
    expect(await revertOf(op.proxies.simulate.registerProxy([publicKey('again'), 'https://x'], o))).toEqual({
      errorName: 'ProxyAlreadyRegistered',
      args: [op.account.address],
    })
  })
})

/** A second, independent Merkle implementation (OpenZeppelin-style sorted pairs, double-hashed leaves). */
function tree(receiptHashes: Hex[]) {
  const leaves = receiptHashes.map((h) => keccak256(h)).sort((a, b) => (BigInt(a) < BigInt(b) ? -1 : 1))
  const pair = (a: Hex, b: Hex) =>
    BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]))
  const levels: Hex[][] = [leaves]
  while (levels.at(-1)!.length > 1) {
    const below = levels.at(-1)!
    const above: Hex[] = []
    for (let i = 0; i < below.length; i += 2)
      above.push(i + 1 < below.length ? pair(below[i]!, below[i + 1]!) : below[i]!)
    levels.push(above)
  }
  const proof = (receiptHash: Hex): Hex[] => {
    let index = leaves.indexOf(keccak256(receiptHash))
    const path: Hex[] = []
    for (const level of levels.slice(0, -1)) {
      const sibling = index ^ 1
      if (sibling < level.length) path.push(level[sibling]!)
      index >>= 1
    }
    return path
  }
  return { root: levels.at(-1)![0]!, proof }
}

describe('AuditAnchors', () => {
  test('default: a proxy anchors a receipt root; inclusion proofs verify, wrong ones do not', async () => {
    const op = devnet.as(devnet.accounts[6]!)
    await devnet.mined(op.proxies.write.registerProxy([publicKey('auditor'), 'https://audit.example']))
    const receipts = [1, 2, 3, 4, 5].map((i) => keccak256(stringToHex(`signed access receipt ${i}`)))
    const { root, proof } = tree(receipts)
    const now = await devnet.now()
    const receipt = await devnet.mined(op.anchors.write.anchor([root, 5, now - 600, now]))
    const block = await devnet.publicClient.getBlock({ blockNumber: receipt.blockNumber })
    expect(await op.anchors.read.getAnchor([op.account.address, root])).toEqual({
      count: 5,
      fromTime: now - 600,
      toTime: now,
      anchoredAt: Number(block.timestamp),
    })
    const [event] = await op.anchors.getEvents.ReceiptsAnchored(
      { root },
      { fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber },
    )
    expect(event?.args).toEqual({
      root,
      proxy: op.account.address,
      count: 5,
      fromTime: now - 600,
      toTime: now,
    })

    for (const r of receipts)
      expect(await op.anchors.read.verifyReceipt([op.account.address, root, r, proof(r)])).toBe(true)
    expect(await op.anchors.read.leafOf([receipts[0]!])).toBe(keccak256(receipts[0]!))
    expect(await op.anchors.read.processProof([keccak256(receipts[0]!), proof(receipts[0]!)])).toBe(root)
    // Wrong receipt, wrong proof, truncated proof, an inner node passed off as a leaf, an unanchored root.
    const stranger = keccak256(stringToHex('never happened'))
    expect(
      await op.anchors.read.verifyReceipt([op.account.address, root, stranger, proof(receipts[0]!)]),
    ).toBe(false)
    expect(
      await op.anchors.read.verifyReceipt([op.account.address, root, receipts[0]!, proof(receipts[1]!)]),
    ).toBe(false)
    expect(
      await op.anchors.read.verifyReceipt([
        op.account.address,
        root,
        receipts[0]!,
        proof(receipts[0]!).slice(1),
      ]),
    ).toBe(false)
    const path = proof(receipts[0]!)
    const innerNode =
      BigInt(keccak256(receipts[0]!)) < BigInt(path[0]!)
        ? keccak256(concat([keccak256(receipts[0]!), path[0]!]))
        : keccak256(concat([path[0]!, keccak256(receipts[0]!)]))
    expect(await op.anchors.read.verifyReceipt([op.account.address, root, innerNode, path.slice(1)])).toBe(
      false,
    )
    const other = tree([stranger])
    expect(await op.anchors.read.verifyReceipt([op.account.address, other.root, stranger, []])).toBe(false)
  })

  test('behavior: @medvault/chain builds the same trees; the contract verifies its proofs (property)', async () => {
    const reader = devnet.as(devnet.accounts[0]!)
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(fc.uint8Array({ minLength: 32, maxLength: 32 }), {
          minLength: 1,
          maxLength: 17,
          selector: (b) => bytesToHex(b),
        }),
        async (raw) => {
          const receipts = raw.map((b) => bytesToHex(b))
          const ours = tree(receipts)
          const theirs = buildReceiptTree(receipts)
          expect(theirs.root).toBe(ours.root)
          for (const r of receipts) {
            const path = theirs.getProof(r)
            expect(verifyReceiptProof({ root: theirs.root, receiptHash: r, proof: path })).toBe(true)
            expect(await reader.anchors.read.processProof([keccak256(r), path])).toBe(ours.root)
          }
        },
      ),
      { numRuns: 12 },
    )
  })

  test('error: every misuse of anchoring reverts with its reason', async () => {
    const op = devnet.as(devnet.accounts[7]!)
    const o = { account: op.account }
    const now = await devnet.now()
    expect(await revertOf(op.anchors.simulate.anchor([id('root'), 1, now - 1, now], o))).toEqual({
      errorName: 'NotActiveProxy',
      args: [op.account.address],
    })
    await devnet.mined(op.proxies.write.registerProxy([publicKey('anchorer'), 'https://anchorer.example']))
    expect(await revertOf(op.anchors.simulate.anchor([zeroHash, 1, now - 1, now], o))).toEqual({
      errorName: 'InvalidRoot',
      args: [zeroHash],
    })
    expect(await revertOf(op.anchors.simulate.anchor([id('root'), 0, now - 1, now], o))).toEqual({
      errorName: 'InvalidReceiptCount',
      args: [0],
    })
    const reversed = await revertOf(op.anchors.simulate.anchor([id('root'), 1, now, now - 1], o))
    expect(reversed.errorName).toBe('InvalidTimeRange')
    expect(reversed.args.slice(0, 2)).toEqual([now, now - 1])
    const future = await revertOf(op.anchors.simulate.anchor([id('root'), 1, now, now + 10_000], o))
    expect(future.errorName).toBe('InvalidTimeRange')
    await devnet.mined(op.anchors.write.anchor([id('root'), 1, now - 1, now]))
    expect(await revertOf(op.anchors.simulate.anchor([id('root'), 1, now - 1, now], o))).toEqual({
      errorName: 'RootAlreadyAnchored',
      args: [id('root'), op.account.address],
    })
    expect(await revertOf(op.anchors.read.getAnchor([op.account.address, id('unknown root')]))).toEqual({
      errorName: 'AnchorNotFound',
      args: [op.account.address, id('unknown root')],
    })
    await devnet.mined(op.proxies.write.retireProxy())
    expect(await revertOf(op.anchors.simulate.anchor([id('root 2'), 1, now - 1, now], o))).toEqual({
      errorName: 'NotActiveProxy',
      args: [op.account.address],
    })
  })
})

describe('DatasetRegistry', () => {
  test('default: an approved steward registers a dataset with its provenance', async () => {
    const admin = devnet.as(devnet.accounts[0]!)
    const steward = devnet.as(devnet.accounts[8]!)
    expect(await admin.datasets.read.admin()).toBe(admin.account.address)
    await devnet.mined(admin.datasets.write.setSteward([steward.account.address, true]))
    expect(await admin.datasets.read.isSteward([steward.account.address])).toBe(true)
    const snapshot = (await devnet.publicClient.getBlockNumber()) - 1n
    const receipt = await devnet.mined(
      steward.datasets.write.registerDataset([
        cid('dataset'),
        id('manifest'),
        id('rules'),
        snapshot,
        'CC-BY-4.0',
      ]),
    )
    const datasetId = keccak256(cid('dataset'))
    const block = await devnet.publicClient.getBlock({ blockNumber: receipt.blockNumber })
    expect(await admin.datasets.read.getDataset([datasetId])).toEqual({
      steward: steward.account.address,
      consentSnapshotBlock: snapshot,
      registeredAt: Number(block.timestamp),
      manifestHash: id('manifest'),
      ruleSetHash: id('rules'),
      cid: cid('dataset'),
      licence: 'CC-BY-4.0',
    })
    const [event] = await admin.datasets.getEvents.DatasetRegistered(
      { datasetId },
      { fromBlock: receipt.blockNumber },
    )
    expect(event?.args.steward).toBe(steward.account.address)
  })

  test('error: every misuse of the dataset registry reverts with its reason', async () => {
    const admin = devnet.as(devnet.accounts[0]!)
    const steward = devnet.as(devnet.accounts[9]!)
    const s = { account: steward.account }
    const snapshot = (await devnet.publicClient.getBlockNumber()) - 1n
    const register = (c: Hex, m: Hex, r: Hex, b: bigint, l: string) =>
      revertOf(steward.datasets.simulate.registerDataset([c, m, r, b, l], s))
    expect(await register(cid('d'), id('m'), id('r'), snapshot, 'MIT')).toEqual({
      errorName: 'NotSteward',
      args: [steward.account.address],
    })
    expect(await revertOf(steward.datasets.simulate.setSteward([steward.account.address, true], s))).toEqual({
      errorName: 'NotAdmin',
      args: [steward.account.address],
    })
    expect(
      await revertOf(admin.datasets.simulate.setSteward([zeroAddress, true], { account: admin.account })),
    ).toEqual({ errorName: 'ZeroAddress', args: ['steward'] })
    await devnet.mined(admin.datasets.write.setSteward([steward.account.address, true]))
    expect(await register('0x', id('m'), id('r'), snapshot, 'MIT')).toEqual({
      errorName: 'InvalidCidLength',
      args: [0n, 128n],
    })
    expect(await register(`0x${'01'.repeat(129)}`, id('m'), id('r'), snapshot, 'MIT')).toEqual({
      errorName: 'InvalidCidLength',
      args: [129n, 128n],
    })
    expect(await register(cid('d'), id('m'), id('r'), snapshot, '')).toEqual({
      errorName: 'InvalidLicenceLength',
      args: [0n, 256n],
    })
    expect(await register(cid('d'), id('m'), id('r'), snapshot, 'x'.repeat(257))).toEqual({
      errorName: 'InvalidLicenceLength',
      args: [257n, 256n],
    })
    expect(await register(cid('d'), zeroHash, id('r'), snapshot, 'MIT')).toEqual({
      errorName: 'ZeroHash',
      args: ['manifestHash'],
    })
    expect(await register(cid('d'), id('m'), zeroHash, snapshot, 'MIT')).toEqual({
      errorName: 'ZeroHash',
      args: ['ruleSetHash'],
    })
    const ahead = await register(cid('d'), id('m'), id('r'), snapshot + 100n, 'MIT')
    expect(ahead.errorName).toBe('SnapshotBlockNotInPast')
    expect(ahead.args[0]).toBe(snapshot + 100n)
    await devnet.mined(steward.datasets.write.registerDataset([cid('d'), id('m'), id('r'), snapshot, 'MIT']))
    expect(await register(cid('d'), id('m'), id('r'), snapshot, 'MIT')).toEqual({
      errorName: 'DatasetAlreadyRegistered',
      args: [keccak256(cid('d'))],
    })
    expect(await revertOf(admin.datasets.read.getDataset([id('none')]))).toEqual({
      errorName: 'DatasetNotFound',
      args: [id('none')],
    })
    await devnet.mined(admin.datasets.write.setSteward([steward.account.address, false]))
    expect(await register(cid('d2'), id('m'), id('r'), snapshot, 'MIT')).toEqual({
      errorName: 'NotSteward',
      args: [steward.account.address],
    })
    expect(
      await revertOf(admin.datasets.simulate.transferAdmin([zeroAddress], { account: admin.account })),
    ).toEqual({
      errorName: 'ZeroAddress',
      args: ['newAdmin'],
    })
    expect(
      await revertOf(
        steward.datasets.simulate.transferAdmin([steward.account.address], { account: steward.account }),
      ),
    ).toEqual({ errorName: 'NotAdmin', args: [steward.account.address] })
    await devnet.mined(admin.datasets.write.transferAdmin([steward.account.address]))
    expect(
      await revertOf(
        admin.datasets.simulate.setSteward([steward.account.address, true], { account: admin.account }),
      ),
    ).toEqual({ errorName: 'NotAdmin', args: [admin.account.address] })
  })
})
