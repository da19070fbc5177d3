import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type ContractsDevnet,
  cid,
  createContractsDevnet,
  id,
  publicKey,
  revertOf,
  zeroAddress,
  zeroHash,
} from './devnet.ts'

let devnet: ContractsDevnet
beforeAll(async () => {
  devnet = await createContractsDevnet()
})
afterAll(async () => {
  await devnet?.stop()
})

const tagA = '0x1111111111111111' as const
const noTag = '0x0000000000000000' as const

describe('KeyRegistry', () => {
  test('default: publishes both keys under one version, looks them up by address and rotates them together', async () => {
    const alice = devnet.as(devnet.accounts[1]!)
    const address = alice.account.address
    expect(await alice.keys.read.hasKeys([address])).toBe(false)
    const first = await devnet.mined(
      alice.keys.write.publishKeys([publicKey('alice receiving 1'), publicKey('alice verifying 1', '03')]),
    )
    const firstAt = Number((await devnet.publicClient.getBlock({ blockNumber: first.blockNumber })).timestamp)
    expect(await alice.keys.read.hasKeys([address])).toBe(true)
    // Anyone reads them by address alone: the grantor's kfrag target and the kfrag signer's verifying key.
    expect(await devnet.as(devnet.accounts[0]!).keys.read.keysOf([address])).toEqual([
      publicKey('alice receiving 1'),
      publicKey('alice verifying 1', '03'),
      1,
      firstAt,
    ])
    const receipt = await devnet.mined(
      alice.keys.write.publishKeys([publicKey('alice receiving 2', '03'), publicKey('alice verifying 2')]),
    )
    const rotatedAt = Number(
      (await devnet.publicClient.getBlock({ blockNumber: receipt.blockNumber })).timestamp,
    )
    expect(await alice.keys.read.keysOf([address])).toEqual([
      publicKey('alice receiving 2', '03'),
      publicKey('alice verifying 2'),
      2,
      rotatedAt,
    ])
    const events = await alice.keys.getEvents.KeysPublished(
      { account: address },
      { fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber },
    )
    expect(events.map((e) => e.args)).toEqual([
      {
        account: address,
        version: 2,
        receivingKey: publicKey('alice receiving 2', '03'),
        verifyingKey: publicKey('alice verifying 2'),
      },
    ])
  })

  test('behavior: the same point may fill both slots (an account that signs kfrags with its receiving key)', async () => {
    const carol = devnet.as(devnet.accounts[3]!)
    await devnet.mined(carol.keys.write.publishKeys([publicKey('carol'), publicKey('carol')]))
    const [receivingKey, verifyingKey, version] = await carol.keys.read.keysOf([carol.account.address])
    expect([receivingKey, verifyingKey, version]).toEqual([publicKey('carol'), publicKey('carol'), 1])
  })

  test('error: a malformed key in either slot, named; nothing is stored', async () => {
    const bob = devnet.as(devnet.accounts[2]!)
    const good = publicKey('bob good')
    const sim = (receivingKey: `0x${string}`, verifyingKey: `0x${string}`) =>
      bob.keys.simulate.publishKeys([receivingKey, verifyingKey], { account: bob.account })
    const malformed = [
      ['0x', 0n, '0x00'],
      [`0x02${'ab'.repeat(31)}`, 32n, '0x02'],
      [`0x04${'ab'.repeat(32)}`, 33n, '0x04'],
      [`0x02${'ab'.repeat(33)}`, 34n, '0x02'],
    ] as const
    for (const [key, length, prefix] of malformed) {
      expect(await revertOf(sim(key, good))).toEqual({
        errorName: 'InvalidPublishedKey',
        args: ['receivingKey', length, prefix],
      })
      expect(await revertOf(sim(good, key))).toEqual({
        errorName: 'InvalidPublishedKey',
        args: ['verifyingKey', length, prefix],
      })
    }
    expect(await bob.keys.read.hasKeys([bob.account.address])).toBe(false)
  })

  test('error: looking up an account without keys', async () => {
    const who = devnet.accounts[6]!.address
    expect(await revertOf(devnet.as(devnet.accounts[0]!).keys.read.keysOf([who]))).toEqual({
      errorName: 'KeyNotPublished',
      args: [who],
    })
  })
})

describe('RecordRegistry', () => {
  test('default: registers a record; owner, version and tag are stored, the CID is evented', async () => {
    const alice = devnet.as(devnet.accounts[1]!)
    const receipt = await devnet.mined(
      alice.consent.write.registerRecord([id('rec one'), tagA, cid('rec one v1')]),
    )
    expect(await alice.consent.read.getRecord([id('rec one')])).toEqual({
      owner: alice.account.address,
      version: 1,
      tag: tagA,
    })
    expect(await alice.consent.read.ownerOf([id('rec one')])).toBe(alice.account.address)
    const events = await alice.consent.getEvents.RecordRegistered(
      { recordId: id('rec one') },
      { fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber },
    )
    expect(events[0]?.args).toEqual({
      recordId: id('rec one'),
      owner: alice.account.address,
      tag: tagA,
      cid: cid('rec one v1'),
    })
  })

  test('behavior: registers many records in one transaction', async () => {
    const alice = devnet.as(devnet.accounts[1]!)
    const batch = [1, 2, 3].map((i) => ({
      recordId: id(`batch ${i}`),
      tag: i === 2 ? noTag : tagA,
      cid: cid(`batch ${i}`),
    }))
    const receipt = await devnet.mined(alice.consent.write.registerRecords([alice.account.address, batch]))
    for (const [i, r] of batch.entries()) {
      expect(await alice.consent.read.getRecord([r.recordId])).toEqual({
        owner: alice.account.address,
        version: 1,
        tag: i === 1 ? noTag : tagA,
      })
    }
    const events = await alice.consent.getEvents.RecordRegistered(
      {},
      { fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber },
    )
    expect(events.map((e) => e.args.cid)).toEqual(batch.map((r) => r.cid))
  })

  test('behavior: new versions supersede older ones and the history stays in the log', async () => {
    const alice = devnet.as(devnet.accounts[1]!)
    await devnet.mined(alice.consent.write.registerRecord([id('versioned'), noTag, cid('versioned v1')]))
    const first = await devnet.mined(alice.consent.write.addVersion([id('versioned'), cid('versioned v2')]))
    await devnet.mined(alice.consent.write.addVersion([id('versioned'), cid('versioned v3')]))
    expect((await alice.consent.read.getRecord([id('versioned')])).version).toBe(3)
    const history = await alice.consent.getEvents.RecordVersionAdded(
      { recordId: id('versioned') },
      { fromBlock: first.blockNumber },
    )
    expect(history.map((e) => [e.args.version, e.args.cid, e.args.author])).toEqual([
      [2, cid('versioned v2'), alice.account.address],
      [3, cid('versioned v3'), alice.account.address],
    ])
  })

  test('error: every misuse of registration reverts with its reason', async () => {
    const alice = devnet.as(devnet.accounts[1]!)
    const bob = devnet.as(devnet.accounts[2]!)
    const a = { account: alice.account }
    await devnet.mined(alice.consent.write.registerRecord([id('taken'), noTag, cid('taken')]))

    expect(await revertOf(alice.consent.simulate.registerRecord([zeroHash, noTag, cid('x')], a))).toEqual({
      errorName: 'InvalidRecordId',
      args: [zeroHash],
    })
    expect(
      await revertOf(
        bob.consent.simulate.registerRecord([id('taken'), noTag, cid('x')], { account: bob.account }),
      ),
    ).toEqual({
      errorName: 'RecordAlreadyRegistered',
      args: [id('taken'), alice.account.address],
    })
    expect(await revertOf(alice.consent.simulate.registerRecord([id('empty cid'), noTag, '0x'], a))).toEqual({
      errorName: 'InvalidCidLength',
      args: [0n, 128n],
    })
    const longCid = `0x${'01'.repeat(129)}` as const
    expect(
      await revertOf(alice.consent.simulate.registerRecord([id('long cid'), noTag, longCid], a)),
    ).toEqual({
      errorName: 'InvalidCidLength',
      args: [129n, 128n],
    })
    expect(await revertOf(alice.consent.simulate.registerRecords([alice.account.address, []], a))).toEqual({
      errorName: 'EmptyBatch',
      args: [],
    })
    // All or nothing: a duplicate inside the batch reverts the whole batch.
    const dup = { recordId: id('dup in batch'), tag: noTag, cid: cid('dup') }
    expect(
      await revertOf(alice.consent.simulate.registerRecords([alice.account.address, [dup, dup]], a)),
    ).toEqual({
      errorName: 'RecordAlreadyRegistered',
      args: [id('dup in batch'), alice.account.address],
    })
    expect(
      await revertOf(
        alice.consent.simulate.registerRecords(
          [bob.account.address, [{ ...dup, recordId: id('for bob') }]],
          a,
        ),
      ),
    ).toEqual({ errorName: 'Unauthorized', args: [alice.account.address, bob.account.address, 1] })
    expect(await revertOf(alice.consent.simulate.registerRecords([zeroAddress, [dup]], a))).toEqual({
      errorName: 'ZeroAddress',
      args: ['owner'],
    })
    expect(
      await revertOf(alice.consent.simulate.registerRecordFor([zeroAddress, id('x'), noTag, cid('x')], a)),
    ).toEqual({
      errorName: 'ZeroAddress',
      args: ['owner'],
    })
    expect(
      await revertOf(
        alice.consent.simulate.registerRecordFor([bob.account.address, id('x'), noTag, cid('x')], a),
      ),
    ).toEqual({ errorName: 'Unauthorized', args: [alice.account.address, bob.account.address, 1] })
  })

  test('error: versions only by the owner or a records delegate, only of known records', async () => {
    const alice = devnet.as(devnet.accounts[1]!)
    const bob = devnet.as(devnet.accounts[2]!)
    await devnet.mined(alice.consent.write.registerRecord([id('mine'), noTag, cid('mine')]))
    expect(
      await revertOf(bob.consent.simulate.addVersion([id('mine'), cid('evil')], { account: bob.account })),
    ).toEqual({
      errorName: 'Unauthorized',
      args: [bob.account.address, alice.account.address, 1],
    })
    expect(
      await revertOf(alice.consent.simulate.addVersion([id('nobody'), cid('x')], { account: alice.account })),
    ).toEqual({ errorName: 'RecordNotFound', args: [id('nobody')] })
    expect(
      await revertOf(alice.consent.simulate.addVersion([id('mine'), '0x'], { account: alice.account })),
    ).toEqual({
      errorName: 'InvalidCidLength',
      args: [0n, 128n],
    })
    expect(await revertOf(alice.consent.read.getRecord([id('nobody')]))).toEqual({
      errorName: 'RecordNotFound',
      args: [id('nobody')],
    })
    expect(await alice.consent.read.ownerOf([id('nobody')])).toBe(zeroAddress)
  })
})

describe('DelegateRegistry', () => {
  test('default: a records delegate registers and versions records for the patient until removed', async () => {
    const patient = devnet.as(devnet.accounts[3]!)
    const guardian = devnet.as(devnet.accounts[4]!)
    const g = { account: guardian.account }
    const expiry = (await devnet.now()) + 3600
    await devnet.mined(patient.consent.write.appointDelegate([guardian.account.address, 1, expiry]))
    expect(
      await patient.consent.read.getDelegation([patient.account.address, guardian.account.address]),
    ).toEqual({
      permissions: 1,
      expiry,
    })
    expect(
      await patient.consent.read.isDelegate([patient.account.address, guardian.account.address, 1]),
    ).toBe(true)
    expect(
      await patient.consent.read.isDelegate([patient.account.address, guardian.account.address, 2]),
    ).toBe(false)

    await devnet.mined(
      guardian.consent.write.registerRecordFor([patient.account.address, id('by guardian'), noTag, cid('g')]),
    )
    expect((await patient.consent.read.getRecord([id('by guardian')])).owner).toBe(patient.account.address)
    await devnet.mined(
      guardian.consent.write.registerRecords([
        patient.account.address,
        [{ recordId: id('by guardian batch'), tag: noTag, cid: cid('gb') }],
      ]),
    )
    await devnet.mined(guardian.consent.write.addVersion([id('by guardian'), cid('g v2')]))

    await devnet.mined(patient.consent.write.removeDelegate([guardian.account.address]))
    expect(await revertOf(guardian.consent.simulate.addVersion([id('by guardian'), cid('g v3')], g))).toEqual(
      {
        errorName: 'Unauthorized',
        args: [guardian.account.address, patient.account.address, 1],
      },
    )
  })

  test('behavior: a delegation lapses at its expiry and is limited to its permissions', async () => {
    const patient = devnet.as(devnet.accounts[5]!)
    const guardian = devnet.as(devnet.accounts[6]!)
    const g = { account: guardian.account }
    const expiry = (await devnet.now()) + 1000
    await devnet.mined(patient.consent.write.appointDelegate([guardian.account.address, 2 | 4, expiry]))
    expect(
      await revertOf(
        guardian.consent.simulate.registerRecordFor(
          [patient.account.address, id('nope'), noTag, cid('n')],
          g,
        ),
      ),
    ).toEqual({ errorName: 'Unauthorized', args: [guardian.account.address, patient.account.address, 1] })
    await devnet.mined(patient.consent.write.appointDelegate([guardian.account.address, 1, expiry]))
    await devnet.mined(
      guardian.consent.write.registerRecordFor([patient.account.address, id('ok'), noTag, cid('ok')]),
    )
    await devnet.advance(2000)
    expect(
      await patient.consent.read.isDelegate([patient.account.address, guardian.account.address, 1]),
    ).toBe(false)
    expect(await revertOf(guardian.consent.simulate.addVersion([id('ok'), cid('late')], g))).toEqual({
      errorName: 'Unauthorized',
      args: [guardian.account.address, patient.account.address, 1],
    })
  })

  test('error: every misuse of appointing and removing reverts with its reason', async () => {
    const patient = devnet.as(devnet.accounts[3]!)
    const p = { account: patient.account }
    const other = devnet.accounts[8]!.address
    const future = (await devnet.now()) + 3600
    expect(await revertOf(patient.consent.simulate.appointDelegate([zeroAddress, 1, future], p))).toEqual({
      errorName: 'ZeroAddress',
      args: ['delegate'],
    })
    expect(
      await revertOf(patient.consent.simulate.appointDelegate([patient.account.address, 1, future], p)),
    ).toEqual({
      errorName: 'SelfDelegation',
      args: [patient.account.address],
    })
    expect(await revertOf(patient.consent.simulate.appointDelegate([other, 0, future], p))).toEqual({
      errorName: 'InvalidPermissions',
      args: [0],
    })
    expect(await revertOf(patient.consent.simulate.appointDelegate([other, 8, future], p))).toEqual({
      errorName: 'InvalidPermissions',
      args: [8],
    })
    const past = (await devnet.now()) - 10
    const expired = await revertOf(patient.consent.simulate.appointDelegate([other, 1, past], p))
    expect(expired.errorName).toBe('ExpiryNotInFuture')
    expect(expired.args[0]).toBe(BigInt(past))
    expect(expired.args[1]).toBeGreaterThan(BigInt(past))
    expect(await revertOf(patient.consent.simulate.removeDelegate([other], p))).toEqual({
      errorName: 'DelegationNotFound',
      args: [patient.account.address, other],
    })
  })
})
