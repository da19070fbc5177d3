import {
  ContractError,
  checkAccess,
  GrantAlreadyExistsError,
  type GrantEvent,
  GrantExpiredError,
  GrantIdCancelledError,
  GrantNotFoundError,
  GrantNotYetValidError,
  GrantOutlivesDelegationError,
  GrantRevokedError,
  getGrants,
  grantBySig,
  InvalidNonceError,
  InvalidSignatureError,
  InvalidThresholdError,
  isAccessAllowed,
  MalformedLogError,
  NotRecordOwnerError,
  PurposeMismatchError,
  RecordOutOfScopeError,
  SignatureExpiredError,
  signGrant,
  UnauthorizedError,
} from '@medvault/chain'
import { createDevnet, type Devnet } from '@medvault/chain/node'
import { consentRegistryAbi } from '@medvault/contracts'
import {
  ContractFunctionRevertedError,
  createPublicClient,
  custom,
  encodeAbiParameters,
  encodeEventTopics,
  type Hex,
  http,
  keccak256,
} from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { cid, compressedKey, testKey } from './helpers.ts'

let devnet: Devnet
let proxySetId: number
let records: Hex[]
let otherRecord: Hex
const tag = '0xaaaaaaaaaaaaaaaa' as const

const patient = () => devnet.walletClients[1]!
const doctor = () => devnet.walletClients[2]!
const relayer = () => devnet.walletClients[3]!
const guardian = () => devnet.walletClients[4]!
const stranger = () => devnet.walletClients[5]!
const proxies = () => devnet.walletClients.slice(6, 9)

async function now(): Promise<number> {
  return Number((await devnet.publicClient.getBlock()).timestamp)
}

async function terms(overrides: Record<string, unknown> = {}) {
  return {
    grantee: doctor().account.address,
    scope: { kind: 'record', recordId: records[0]! } as const,
    purpose: 'TREAT' as const,
    expiry: (await now()) + 30 * 24 * 3600,
    threshold: 2,
    proxySetId,
    kfragsCid: cid('kfrags'),
    ...overrides,
  }
}

beforeAll(async () => {
  devnet = await createDevnet()
  for (const [i, proxy] of proxies().entries()) {
    await proxy.registerProxy({
      publicKey: compressedKey(testKey(`proxy-${i}`)),
      endpoint: `http://127.0.0.1:${9000 + i}`,
    })
  }
  ;({ setId: proxySetId } = await relayer().createProxySet({
    members: proxies().map((p) => p.account.address),
  }))
  ;({ recordIds: records } = await patient().registerRecords({
    records: [{ cid: cid('r0'), tag }, { cid: cid('r1'), tag }, { cid: cid('r2') }],
  }))
  ;({ recordId: otherRecord } = await stranger().registerRecord({ cid: cid('theirs'), tag }))
})
afterAll(async () => {
  await devnet?.stop()
})

describe('grantAccess / isAccessAllowed / revokeAccess', () => {
  test('default', async () => {
    const { grantId, salt } = await patient().grantAccess(await terms())
    const query = {
      grantId,
      recordId: records[0]!,
      grantee: doctor().account.address,
      purpose: 'TREAT',
    } as const
    expect(await devnet.publicClient.isAccessAllowed(query)).toBe(true)
    await devnet.publicClient.checkAccess(query)
    const grant = await devnet.publicClient.getGrant({ grantId })
    expect(grant).toMatchObject({
      grantor: patient().account.address,
      grantee: doctor().account.address,
      scopeKind: 'record',
      purpose: 'TREAT',
      threshold: 2,
      revoked: false,
      breakGlass: false,
    })
    expect(grant.scopeKey).toBe(
      keccak256(
        encodeAbiParameters([{ type: 'bytes32' }, { type: 'bytes32' }], [grantId, records[0]!]),
      ).slice(0, 26),
    )
    expect(salt).toMatch(/^0x[0-9a-f]{64}$/)
    const grantedAt = await devnet.publicClient.getBlockNumber({ cacheTime: 0 })

    await patient().revokeAccess({ grantId })
    expect(await devnet.publicClient.isAccessAllowed(query)).toBe(false)
    expect((await devnet.publicClient.getGrant({ grantId })).revoked).toBe(true)
    // As it stood at a past block: not yet revoked, and not yet there before it was granted.
    expect((await devnet.publicClient.getGrant({ grantId, blockNumber: grantedAt })).revoked).toBe(false)
    await expect(
      devnet.publicClient.getGrant({ grantId, blockNumber: grantedAt - 1n }),
    ).rejects.toBeInstanceOf(GrantNotFoundError)
    const err = await devnet.publicClient.checkAccess(query).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GrantRevokedError)
    expect((err as GrantRevokedError).args).toEqual({ grantId })
    expect((err as GrantRevokedError).cause).toBeInstanceOf(ContractFunctionRevertedError)
  })

  test('behavior: purpose, record and grantee must all match', async () => {
    const { grantId } = await patient().grantAccess(await terms())
    const base = { addresses: devnet.addresses, grantId, grantee: doctor().account.address }
    expect(
      await isAccessAllowed(devnet.publicClient, { ...base, recordId: records[0]!, purpose: 'TREAT' }),
    ).toBe(true)
    expect(
      await isAccessAllowed(devnet.publicClient, { ...base, recordId: records[0]!, purpose: 'ETREAT' }),
    ).toBe(false)
    expect(
      await isAccessAllowed(devnet.publicClient, { ...base, recordId: records[1]!, purpose: 'TREAT' }),
    ).toBe(false)
    expect(
      await isAccessAllowed(devnet.publicClient, {
        ...base,
        grantee: stranger().account.address,
        recordId: records[0]!,
        purpose: 'TREAT',
      }),
    ).toBe(false)
    await expect(
      checkAccess(devnet.publicClient, { ...base, recordId: records[0]!, purpose: 'HRESCH' }),
    ).rejects.toBeInstanceOf(PurposeMismatchError)
    await expect(
      checkAccess(devnet.publicClient, { ...base, recordId: records[1]!, purpose: 'TREAT' }),
    ).rejects.toBeInstanceOf(RecordOutOfScopeError)
  })

  test('behavior: tag, record-set and all-records scopes', async () => {
    const doctorAddress = doctor().account.address
    const byTag = await patient().grantAccess(await terms({ scope: { kind: 'tag', tag } }))
    const bySet = await patient().grantAccess(
      await terms({ scope: { kind: 'records', recordIds: [records[2]!] } }),
    )
    const byAll = await patient().grantAccess(await terms({ scope: { kind: 'all' } }))
    const allowed = (grantId: Hex, recordId: Hex) =>
      devnet.publicClient.isAccessAllowed({ grantId, recordId, grantee: doctorAddress, purpose: 'TREAT' })
    expect([await allowed(byTag.grantId, records[0]!), await allowed(byTag.grantId, records[2]!)]).toEqual([
      true,
      false,
    ])
    // The same tag on someone else's record is not covered: the owner must be the grantor.
    expect(await allowed(byTag.grantId, otherRecord)).toBe(false)
    expect([await allowed(bySet.grantId, records[2]!), await allowed(bySet.grantId, records[0]!)]).toEqual([
      true,
      false,
    ])
    expect(await allowed(byAll.grantId, records[1]!)).toBe(true)
    // A record registered after the grant is covered by tag and all scopes.
    const { recordId: later } = await patient().registerRecord({ cid: cid('later'), tag })
    expect([await allowed(byTag.grantId, later), await allowed(byAll.grantId, later)]).toEqual([true, true])
    const listed = await devnet.publicClient.getGrants({
      grantor: patient().account.address,
      fromBlock: devnet.deployBlock,
    })
    const set = listed.find((g) => g.grantId === bySet.grantId)
    expect(set?.records).toEqual([records[2]])
    expect(set?.kfragsCid).toBe(cid('kfrags'))
    expect(listed.find((g) => g.grantId === byTag.grantId)?.scopeTarget).toBe(`${tag}${'0'.repeat(48)}`)
  })

  test("behavior: getGrants finds every records grant's list when the node answers AccessGranted out of chain order", async () => {
    const first = await patient().grantAccess(
      await terms({ scope: { kind: 'records', recordIds: [records[0]!, records[1]!] } }),
    )
    const second = await patient().grantAccess(
      await terms({ scope: { kind: 'records', recordIds: [records[2]!] } }),
    )
    expect(second.receipt!.blockNumber).toBeGreaterThan(first.receipt!.blockNumber)
    // A real node behind a transport that hands its AccessGranted logs back newest first (nothing in
    // eth_getLogs promises an order to a client talking to an arbitrary provider).
    const [accessGranted] = encodeEventTopics({ abi: consentRegistryAbi, eventName: 'AccessGranted' })
    const node = http(devnet.rpcUrl)({ chain: devnet.chain, retryCount: 0 })
    const reversing = createPublicClient({
      chain: devnet.chain,
      transport: custom({
        async request({ method, params }) {
          const answer = await node.request({ method, params } as Parameters<typeof node.request>[0])
          const [filter] = (params ?? []) as [{ topics?: (Hex | null)[] }?]
          return method === 'eth_getLogs' && filter?.topics?.[0] === accessGranted && Array.isArray(answer)
            ? [...answer].reverse()
            : answer
        },
      }),
    })
    const listed = await getGrants(reversing, {
      addresses: devnet.addresses,
      grantor: patient().account.address,
      fromBlock: devnet.deployBlock,
    })
    expect(listed.find((g) => g.grantId === first.grantId)?.records).toEqual([records[0], records[1]])
    expect(listed.find((g) => g.grantId === second.grantId)?.records).toEqual([records[2]])
    // Listed in chain order all the same, as the documentation promises.
    const order = listed.map((g) => [g.blockNumber, g.grantId] as const)
    expect(order.findIndex(([, id]) => id === first.grantId)).toBeLessThan(
      order.findIndex(([, id]) => id === second.grantId),
    )
    expect(order.map(([n]) => n)).toEqual(
      [...order.map(([n]) => n)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)),
    )
  })

  test('attack: getGrants through a node answering AccessGranted logs without a block number or log index: MalformedLogError', async () => {
    // A records grant, whose record list is read over the blocks of its AccessGranted log.
    await patient().grantAccess(await terms({ scope: { kind: 'records', recordIds: [records[0]!] } }))
    const [accessGranted] = encodeEventTopics({ abi: consentRegistryAbi, eventName: 'AccessGranted' })
    const node = http(devnet.rpcUrl)({ chain: devnet.chain, retryCount: 0 })
    for (const [field, tamper] of [
      // A pending log's shape (viem gives it `blockNumber: null`), and a log with its index left out.
      ['blockNumber', (log: Record<string, unknown>) => ({ ...log, blockNumber: null, blockHash: null })],
      ['logIndex', ({ logIndex: _, ...log }: Record<string, unknown>) => log],
    ] as const) {
      const tampering = createPublicClient({
        chain: devnet.chain,
        transport: custom({
          async request({ method, params }) {
            const answer = await node.request({ method, params } as Parameters<typeof node.request>[0])
            const [filter] = (params ?? []) as [{ topics?: (Hex | null)[] }?]
            return method === 'eth_getLogs' && filter?.topics?.[0] === accessGranted && Array.isArray(answer)
              ? answer.map((log: Record<string, unknown>) => tamper(log))
              : answer
          },
        }),
      })
      const err = await getGrants(tampering, {
        addresses: devnet.addresses,
        grantor: patient().account.address,
        fromBlock: devnet.deployBlock,
      }).catch((e: unknown) => e)
      // Not a TypeError from comparing a missing block number, nor a listing in the node's order.
      expect(err).toBeInstanceOf(MalformedLogError)
      expect((err as MalformedLogError).field).toBe(field)
    }
  })

  test('behavior: notBefore and expiry follow chain time', async () => {
    const t = await now()
    const { grantId } = await patient().grantAccess(await terms({ notBefore: t + 3600, expiry: t + 7200 }))
    const query = {
      grantId,
      recordId: records[0]!,
      grantee: doctor().account.address,
      purpose: 'TREAT',
    } as const
    await expect(devnet.publicClient.checkAccess(query)).rejects.toBeInstanceOf(GrantNotYetValidError)
    await devnet.testClient.increaseTime({ seconds: 3600 })
    await devnet.testClient.mine({ blocks: 1 })
    expect(await devnet.publicClient.isAccessAllowed(query)).toBe(true)
    await devnet.testClient.increaseTime({ seconds: 3600 })
    await devnet.testClient.mine({ blocks: 1 })
    const err = await devnet.publicClient.checkAccess(query).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GrantExpiredError)
    expect((err as GrantExpiredError).args).toEqual({ grantId, expiredAt: t + 7200 })
  })

  test('behavior: a grant delegate grants and a revoke delegate revokes for the patient', async () => {
    const expiry = (await now()) + 3600
    await patient().appointDelegate({
      delegate: guardian().account.address,
      permissions: ['grant', 'revoke'],
      expiry,
    })
    // What a guardian grants ends with its term.
    const tooLong = await guardian()
      .grantAccess({ ...(await terms()), grantor: patient().account.address })
      .catch((e: unknown) => e)
    expect(tooLong).toBeInstanceOf(GrantOutlivesDelegationError)
    expect((tooLong as GrantOutlivesDelegationError).args).toMatchObject({
      delegate: guardian().account.address,
      delegationExpiry: expiry,
    })
    const { grantId } = await guardian().grantAccess({
      ...(await terms({ expiry })),
      grantor: patient().account.address,
    })
    expect((await devnet.publicClient.getGrant({ grantId })).grantor).toBe(patient().account.address)
    await guardian().revokeAccess({ grantId })
    expect((await devnet.publicClient.getGrant({ grantId })).revoked).toBe(true)
    await patient().removeDelegate({ delegate: guardian().account.address })
    await expect(
      guardian().grantAccess({ ...(await terms()), grantor: patient().account.address }),
    ).rejects.toBeInstanceOf(UnauthorizedError)
  })

  test('error: reverts map to domain errors', async () => {
    const notMine = await patient()
      .grantAccess(await terms({ scope: { kind: 'record', recordId: otherRecord } }))
      .catch((e: unknown) => e)
    expect(notMine).toBeInstanceOf(NotRecordOwnerError)
    expect((notMine as NotRecordOwnerError).args).toEqual({
      recordId: otherRecord,
      owner: stranger().account.address,
      grantor: patient().account.address,
    })
    const threshold = await patient()
      .grantAccess(await terms({ threshold: 4 }))
      .catch((e: unknown) => e)
    expect(threshold).toBeInstanceOf(InvalidThresholdError)
    expect((threshold as InvalidThresholdError).args).toEqual({ threshold: 4, proxies: 3n })
    // The message's structure: the domain sentence, then the decoded error, the function and the contract it
    // reverted in (whatever address this deployment got).
    expect((threshold as InvalidThresholdError).message.split('\n')).toEqual([
      'The threshold must be 1 to the proxy set size 3 (got 4).',
      '',
      'Error: InvalidThreshold(threshold: 4, proxies: 3)',
      'Function: grant',
      `Contract: ${devnet.addresses.consentRegistry}`,
    ])
    const revokeOthers = await stranger()
      .revokeAccess({ grantId: (await patient().grantAccess(await terms())).grantId })
      .catch((e: unknown) => e)
    expect(revokeOthers).toBeInstanceOf(UnauthorizedError)
    expect(revokeOthers).toBeInstanceOf(ContractError)
  })
})

describe('signGrant + grantBySig', () => {
  test('default', async () => {
    const signed = await signGrant(patient(), {
      addresses: devnet.addresses,
      ...(await terms()),
      deadline: (await now()) + 600,
    })
    const balanceBefore = await devnet.publicClient.getBalance({ address: patient().account.address })
    const { grantId, receipt } = await grantBySig(relayer(), {
      addresses: devnet.addresses,
      signedGrant: signed,
    })
    expect(grantId).toBe(signed.grantId)
    expect(receipt?.from).toBe(relayer().account.address.toLowerCase())
    // The patient paid nothing.
    expect(await devnet.publicClient.getBalance({ address: patient().account.address })).toBe(balanceBefore)
    expect((await devnet.publicClient.getGrant({ grantId })).grantor).toBe(patient().account.address)
    // An account's signature goes out in the 64-byte EIP-2098 form (32 bytes less calldata for the relayer).
    expect(signed.signature).toHaveLength(2 + 2 * 64)
    expect(signed).not.toHaveProperty('nonce')
  })

  test('error: a replayed signature is refused (its salt is its nonce)', async () => {
    const signed = await patient().signGrant({ ...(await terms()), deadline: (await now()) + 600 })
    await relayer().grantBySig({ signedGrant: signed })
    const err = await stranger()
      .grantBySig({ signedGrant: signed })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GrantAlreadyExistsError)
    expect((err as GrantAlreadyExistsError).args).toEqual({ grantId: signed.grantId })
  })

  test('behavior: cancelGrantSalt voids an unused signature', async () => {
    const signed = await patient().signGrant({ ...(await terms()), deadline: (await now()) + 600 })
    const { grantId } = await patient().cancelGrantSalt({
      grantor: signed.grantor,
      salt: signed.params.salt,
    })
    expect(grantId).toBe(signed.grantId)
    const err = await relayer()
      .grantBySig({ signedGrant: signed })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GrantIdCancelledError)
    expect((err as GrantIdCancelledError).args).toEqual({ grantId: signed.grantId })
    await expect(devnet.publicClient.getGrant({ grantId })).rejects.toBeInstanceOf(GrantIdCancelledError)
    // Only the grantor or its grant delegate may cancel.
    const other = await patient().signGrant({ ...(await terms()), deadline: (await now()) + 600 })
    await expect(
      stranger().cancelGrantSalt({ grantor: other.grantor, salt: other.params.salt }),
    ).rejects.toBeInstanceOf(UnauthorizedError)
    await relayer().grantBySig({ signedGrant: other })
  })

  test('error: an expired deadline, a tampered term, a wrong signer', async () => {
    const t = await now()
    const expired = await patient().signGrant({ ...(await terms()), deadline: t + 10 })
    await devnet.testClient.increaseTime({ seconds: 60 })
    await devnet.testClient.mine({ blocks: 1 })
    await expect(relayer().grantBySig({ signedGrant: expired })).rejects.toBeInstanceOf(SignatureExpiredError)

    const signed = await patient().signGrant({ ...(await terms()), deadline: (await now()) + 600 })
    const tampered = { ...signed, params: { ...signed.params, grantee: stranger().account.address } }
    await expect(relayer().grantBySig({ signedGrant: tampered })).rejects.toBeInstanceOf(
      InvalidSignatureError,
    )

    // Someone who is not the patient's delegate signs for the patient.
    const forged = await stranger().signGrant({
      ...(await terms()),
      grantor: patient().account.address,
      deadline: (await now()) + 600,
    })
    await expect(relayer().grantBySig({ signedGrant: forged })).rejects.toBeInstanceOf(UnauthorizedError)
  })

  test('behavior: several outstanding signatures submitted in any order, and a signed revocation', async () => {
    const nonce = await devnet.publicClient.getSignatureNonce({ signer: patient().account.address })
    const deadline = (await now()) + 600
    const first = await patient().signGrant({ ...(await terms()), deadline })
    const second = await patient().signGrant({ ...(await terms()), deadline })
    await relayer().grantBySig({ signedGrant: second })
    await relayer().grantBySig({ signedGrant: first })
    // Signed grants use no nonce; the revocation takes the signer's next revocation nonce.
    const revoke = await patient().signRevoke({ grantId: second.grantId, deadline })
    expect(revoke.nonce).toBe(nonce)
    await relayer().revokeBySig({ signedRevoke: revoke })
    expect((await devnet.publicClient.getGrant({ grantId: second.grantId })).revoked).toBe(true)
    expect((await devnet.publicClient.getGrant({ grantId: first.grantId })).revoked).toBe(false)
    await expect(relayer().revokeBySig({ signedRevoke: revoke })).rejects.toBeInstanceOf(InvalidNonceError)
  })
})

describe('watchGrants', () => {
  test('default', async () => {
    const seen: GrantEvent[] = []
    let wake: () => void = () => {}
    // Past viem's block-number cache (it lives a polling interval): a number read before the last blocks were
    // mined would have the watcher report earlier tests' grants to the same doctor.
    const fromBlock = (await devnet.publicClient.getBlockNumber({ cacheTime: 0 })) + 1n
    const unwatch = devnet.publicClient.watchGrants({
      grantee: doctor().account.address,
      fromBlock,
      pollingInterval: 20,
      onGrants: (events) => {
        seen.push(...events)
        wake()
      },
    })
    try {
      const { grantId } = await patient().grantAccess(await terms())
      await patient().grantAccess(await terms({ grantee: stranger().account.address }))
      await patient().revokeAccess({ grantId })
      while (seen.length < 2) await new Promise<void>((r) => (wake = r))
      // Grants and revocations come from two watchers: their relative order across callbacks is not fixed.
      expect(seen.map((e) => [e.type, e.grantId]).sort()).toEqual([
        ['granted', grantId],
        ['revoked', grantId],
      ])
      expect(seen.every((e) => e.blockNumber >= fromBlock)).toBe(true)
    } finally {
      unwatch()
    }
  })
})
