import {
  ContractError,
  getRecord,
  InvalidPublishedKeyError,
  KeyNotPublishedError,
  RecordAlreadyRegisteredError,
  RecordNotFoundError,
  registerRecord,
  UnauthorizedError,
} from '@medvault/chain'
import { createDevnet, type Devnet } from '@medvault/chain/node'
import { ContractFunctionRevertedError, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { cid, compressedKey, id, testKey } from './helpers.ts'

let devnet: Devnet
beforeAll(async () => {
  devnet = await createDevnet({ accounts: 4 })
})
afterAll(async () => {
  await devnet?.stop()
})

const patient = () => devnet.walletClients[1]!
const guardian = () => devnet.walletClients[2]!
const stranger = () => devnet.walletClients[3]!

describe('keys', () => {
  test('default: both public keys in one version, found by address', async () => {
    const receivingKey = compressedKey(testKey('patient-receiving-1'))
    const verifyingKey = compressedKey(testKey('patient-verifying-1'))
    const { version, receipt } = await patient().publishKeys({ receivingKey, verifyingKey })
    expect(version).toBe(1)
    const block = await devnet.publicClient.getBlock({ blockNumber: receipt!.blockNumber })
    expect(await stranger().getPublicKeys({ account: patient().account.address })).toEqual({
      receivingKey,
      verifyingKey,
      version: 1,
      updatedAt: Number(block.timestamp),
    })
  })

  test('behavior: a rotation replaces both keys and bumps the version; bytes are accepted', async () => {
    const receivingKey = compressedKey(testKey('patient-receiving-2'))
    const verifyingKey = compressedKey(testKey('patient-verifying-2'))
    const { version } = await patient().publishKeys({
      receivingKey: Buffer.from(receivingKey.slice(2), 'hex'),
      verifyingKey: Buffer.from(verifyingKey.slice(2), 'hex'),
    })
    expect(version).toBe(2)
    const keys = await devnet.publicClient.getPublicKeys({ account: patient().account.address })
    expect([keys.receivingKey, keys.verifyingKey, keys.version]).toEqual([receivingKey, verifyingKey, 2])
  })

  test('error: an account without keys', async () => {
    const err = await devnet.publicClient
      .getPublicKeys({ account: stranger().account.address })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KeyNotPublishedError)
    expect((err as KeyNotPublishedError).args).toEqual({ account: stranger().account.address })
  })

  test('error: not a compressed point, in either slot, named', async () => {
    const good = compressedKey(testKey('good'))
    const uncompressed = `0x04${'11'.repeat(32)}` as const
    for (const [slot, keys] of [
      ['receivingKey', { receivingKey: uncompressed, verifyingKey: good }],
      ['verifyingKey', { receivingKey: good, verifyingKey: uncompressed }],
    ] as const) {
      const err = await patient()
        .publishKeys(keys)
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(InvalidPublishedKeyError)
      expect((err as InvalidPublishedKeyError).args).toEqual({ parameter: slot, length: 33n, prefix: '0x04' })
      expect((err as InvalidPublishedKeyError).shortMessage).toBe(
        `The ${slot} is not a 33-byte compressed secp256k1 point (got 33 bytes, prefix 0x04).`,
      )
    }
  })
})

describe('records', () => {
  test('default', async () => {
    const { recordId, hash } = await patient().registerRecord({ cid: cid('r1'), tag: '0x0102030405060708' })
    expect(recordId).toMatch(/^0x[0-9a-f]{64}$/)
    const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash })
    expect(receipt.status).toBe('success')
    expect(await getRecord(devnet.publicClient, { addresses: devnet.addresses, recordId })).toEqual({
      owner: patient().account.address,
      version: 1,
      tag: '0x0102030405060708',
    })
  })

  test('behavior: versions supersede, history is kept in the events', async () => {
    const { recordId } = await patient().registerRecord({ recordId: id('versioned'), cid: cid('v1') })
    expect((await patient().registerRecordVersion({ recordId, cid: cid('v2') })).version).toBe(2)
    expect((await patient().registerRecordVersion({ recordId, cid: cid('v3') })).version).toBe(3)
    expect((await devnet.publicClient.getRecord({ recordId })).version).toBe(3)
    const versions = await devnet.publicClient.getRecordVersions({ recordId, fromBlock: devnet.deployBlock })
    expect(versions.map((v) => [v.version, v.cid, v.author])).toEqual([
      [1, cid('v1'), patient().account.address],
      [2, cid('v2'), patient().account.address],
      [3, cid('v3'), patient().account.address],
    ])
  })

  test('behavior: a batch registers all records in one transaction', async () => {
    const records = Array.from({ length: 20 }, (_, i) => ({ cid: cid(`batch-${i}`) }))
    const { recordIds, hash } = await patient().registerRecords({ records })
    expect(recordIds).toHaveLength(20)
    expect(new Set(recordIds).size).toBe(20)
    const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash })
    expect(receipt.logs).toHaveLength(20)
    for (const recordId of [recordIds[0]!, recordIds[19]!]) {
      expect((await devnet.publicClient.getRecord({ recordId })).owner).toBe(patient().account.address)
    }
  })

  test('behavior: a records delegate registers and versions for the patient', async () => {
    // From chain time, not the wall clock: the devnet's clock is what the contract compares with.
    const expiry = Number((await devnet.publicClient.getBlock()).timestamp) + 3600
    await patient().appointDelegate({
      delegate: guardian().account.address,
      permissions: ['records'],
      expiry,
    })
    expect(
      await devnet.publicClient.getDelegation({
        patient: patient().account.address,
        delegate: guardian().account.address,
      }),
    ).toEqual({ permissions: ['records'], expiry })
    expect(
      await devnet.publicClient.isDelegate({
        patient: patient().account.address,
        delegate: guardian().account.address,
        permissions: ['records'],
      }),
    ).toBe(true)
    const { recordId } = await guardian().registerRecord({
      cid: cid('by-guardian'),
      owner: patient().account.address,
    })
    expect((await devnet.publicClient.getRecord({ recordId })).owner).toBe(patient().account.address)
    const { recordIds } = await guardian().registerRecords({
      owner: patient().account.address,
      records: [{ cid: cid('g1') }, { cid: cid('g2') }],
    })
    expect((await devnet.publicClient.getRecord({ recordId: recordIds[1]! })).owner).toBe(
      patient().account.address,
    )
    await guardian().registerRecordVersion({ recordId, cid: cid('by-guardian-v2') })
    const versions = await devnet.publicClient.getRecordVersions({ recordId })
    expect(versions[1]?.author).toBe(guardian().account.address)

    await patient().removeDelegate({ delegate: guardian().account.address })
    const err = await guardian()
      .registerRecord({ cid: cid('after-removal'), owner: patient().account.address })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnauthorizedError)
  })

  test('error: a taken record id is a domain error with the decoded revert as cause', async () => {
    const recordId = id('taken')
    await patient().registerRecord({ recordId, cid: cid('first') })
    const err = await stranger()
      .registerRecord({ recordId, cid: cid('second') })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RecordAlreadyRegisteredError)
    expect(err).toBeInstanceOf(ContractError)
    const e = err as RecordAlreadyRegisteredError
    expect(e.name).toBe('RecordAlreadyRegisteredError')
    expect(e.errorName).toBe('RecordAlreadyRegistered')
    expect(e.args).toEqual({ recordId, owner: patient().account.address })
    expect(e.functionName).toBe('registerRecord')
    expect(e.contractAddress).toBe(devnet.addresses.consentRegistry)
    expect(e.cause).toBeInstanceOf(ContractFunctionRevertedError)
    expect((e.cause as ContractFunctionRevertedError).data?.errorName).toBe('RecordAlreadyRegistered')
    expect(e.shortMessage).toMatchInlineSnapshot(
      `"Record 0x5892b45c89fbd57a8b1f2d322cd938b846698ad9bf7b9727aea0bab0187334d2 is already registered (owner 0x70997970C51812dc3A010C7d01b50e0d17dc79C8)."`,
    )
  })

  test('error: only the owner adds versions', async () => {
    const { recordId } = await patient().registerRecord({ cid: cid('mine') })
    const err = await stranger()
      .registerRecordVersion({ recordId, cid: cid('theirs') })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(UnauthorizedError)
    expect((err as UnauthorizedError).args).toEqual({
      caller: stranger().account.address,
      owner: patient().account.address,
      permission: 1,
    })
  })

  test('error: unknown record, bad input', async () => {
    await expect(devnet.publicClient.getRecord({ recordId: id('nope') })).rejects.toBeInstanceOf(
      RecordNotFoundError,
    )
    await expect(patient().registerRecord({ recordId: '0x1234' as Hex, cid: cid('x') })).rejects.toThrow(
      TypeError,
    )
    await expect(
      registerRecord(devnet.publicClient, { addresses: devnet.addresses, cid: cid('no account') }),
    ).rejects.toMatchObject({ name: 'AccountRequiredError' })
  })
})
