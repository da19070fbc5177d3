/**
 * What a read asks the chain (real anvil, Helia, HTTP proxies), counted at the vault's transport: the owner
 * reads back its own record with one view call; a grantee asks for grant events only in blocks it has not read
 * yet and for a record's versions only when the chain's current version is one it does not know — never the
 * whole chain again per read. What is remembered never hides a revocation or a new version.
 */
import {
  createLocalNetwork,
  createVault,
  GrantRevokedError,
  type LocalNetwork,
  NoGrantError,
  type Vault,
} from '@medvault/sdk'
import { type Hex, http, pad, type Transport } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { intercepting } from './transports.ts'

interface Call {
  method: string
  params: unknown
}

/** A transport whose first `eth_getLogs` by grantee answers nothing (a backend behind the head it reported). */
const lagging = (inner: Transport, state: { lagged: boolean }): Transport =>
  intercepting(inner, (args) => {
    const topics = (args.params as [{ topics?: unknown[] }] | undefined)?.[0]?.topics
    if (args.method !== 'eth_getLogs' || state.lagged || topics?.[3] == null) return undefined
    state.lagged = true
    return Promise.resolve([])
  })

/** A transport that records every JSON-RPC request the vault sends. */
const counting = (inner: Transport, calls: Call[]): Transport =>
  intercepting(inner, (args) => {
    calls.push({ method: args.method, params: args.params })
    return undefined
  })

interface LogQuery {
  fromBlock: bigint
  toBlock: string
  topics: (string | string[] | null)[]
}

function logQueries(calls: Call[]): LogQuery[] {
  return calls
    .filter((c) => c.method === 'eth_getLogs')
    .map((c) => {
      const filter = (
        c.params as [{ fromBlock: Hex; toBlock: string; topics?: (string | string[] | null)[] }]
      )[0]
      return { fromBlock: BigInt(filter.fromBlock), toBlock: filter.toBlock, topics: filter.topics ?? [] }
    })
}

let net: LocalNetwork
let patient: Vault
let clinic: Vault
const patientCalls: Call[] = []
const clinicCalls: Call[] = []
let deployBlock: bigint

async function countedVault(index: number, calls: Call[]): Promise<Vault> {
  return createVault({
    account: net.accounts[index]!.privateKey,
    chain: {
      transport: counting(http(net.devnet.rpcUrl), calls),
      addresses: net.devnet.addresses,
      chain: net.devnet.chain,
      deployBlock: net.devnet.deployBlock,
    },
    storage: net.storage,
    proxySet: net.proxySet,
    hedgeDelayMs: 100,
  })
}

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 2 })
  deployBlock = net.devnet.deployBlock
  patient = await countedVault(0, patientCalls)
  clinic = await countedVault(1, clinicCalls)
})

afterAll(async () => {
  await net?.stop()
})

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const head = () => net.devnet.publicClient.getBlockNumber({ cacheTime: 0 })

describe('read index', () => {
  test('behavior: the owner reads back its record with one view call and no log query', async () => {
    const rec = await patient.records.put('owner read')
    patientCalls.length = 0
    expect(text(await patient.records.get(rec.id))).toBe('owner read')
    expect(patientCalls.map((c) => c.method)).toEqual(['eth_call'])
    const updated = await patient.records.update(rec.id, 'owner read, v2')
    expect(updated.version).toBe(2)
    patientCalls.length = 0
    expect(text(await patient.records.get(rec.id))).toBe('owner read, v2')
    expect(text(await patient.records.get(rec.id, { version: 1 }))).toBe('owner read')
    expect(patientCalls.map((c) => c.method)).toEqual(['eth_call', 'eth_call'])
  })

  test("behavior: a grantee's reads ask only for blocks they have not read, filtered by its address and the record", async () => {
    const [a, b] = await Promise.all([patient.records.put('record a'), patient.records.put('record b')])
    const grant = await patient.grants.create({
      to: clinic.address,
      records: [a.id, b.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 1,
    })
    clinicCalls.length = 0
    expect(text(await clinic.records.get(a.id))).toBe('record a')
    const first = logQueries(clinicCalls)
    const grantee = pad(clinic.address).toLowerCase()
    // The first read: the record's versions (its id topic) and the grants to the clinic (its address topic),
    // from the deployment block; the records grant's list, by grant id, in the grant's block only.
    expect(first).toHaveLength(3)
    expect(first.every((q) => q.topics.length >= 2)).toBe(true)
    expect(first.filter((q) => q.fromBlock === deployBlock)).toHaveLength(2)
    expect(first.some((q) => (q.topics[1] as string).toLowerCase() === a.id.toLowerCase())).toBe(true)
    expect(first.some((q) => (q.topics[3] as string | undefined)?.toLowerCase() === grantee)).toBe(true)
    // Grants are asked for by grantor too: a stranger's grants to the clinic never swell this query.
    const grantQueries = first.filter((q) => (q.topics[3] as string | undefined)?.toLowerCase() === grantee)
    expect(grantQueries.map((q) => (q.topics[2] as string).toLowerCase())).toEqual([
      pad(patient.address).toLowerCase(),
    ])
    expect(
      first.some((q) => JSON.stringify(q.topics[1]).toLowerCase().includes(grant.id.toLowerCase())),
    ).toBe(true)

    // The chain grows: 500 empty blocks and another record of the patient.
    const readTo = await head()
    await net.devnet.testClient.mine({ blocks: 500 })
    await patient.records.put('not granted')
    clinicCalls.length = 0
    expect(text(await clinic.records.get(a.id))).toBe('record a')
    const again = logQueries(clinicCalls)
    // One query, for the grants to the clinic in the blocks mined since the last read; no version lookup.
    expect(again).toHaveLength(1)
    expect(again[0]!.fromBlock).toBe(readTo + 1n)
    expect((again[0]!.topics[3] as string).toLowerCase()).toBe(grantee)
    // No block since: no query at all, only the chain's head.
    clinicCalls.length = 0
    expect(text(await clinic.records.get(a.id))).toBe('record a')
    expect(logQueries(clinicCalls)).toHaveLength(0)
    expect(clinicCalls.filter((c) => c.method === 'eth_blockNumber')).toHaveLength(1)

    // Another record, met for the first time: one query for its versions, filtered by its id (no new block:
    // no grant query).
    clinicCalls.length = 0
    expect(text(await clinic.records.get(b.id))).toBe('record b')
    const other = logQueries(clinicCalls)
    expect(other).toHaveLength(1)
    expect(other[0]!.fromBlock).toBe(deployBlock)
    expect((other[0]!.topics[1] as string).toLowerCase()).toBe(b.id.toLowerCase())
  })

  test('error: a revocation is seen by the next read, whatever the vault read before', async () => {
    const rec = await patient.records.put('revoked soon')
    const grant = await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 1,
    })
    expect(text(await clinic.records.get(rec.id))).toBe('revoked soon')
    await patient.grants.revoke(grant.id)
    await expect(clinic.records.get(rec.id)).rejects.toBeInstanceOf(GrantRevokedError)
    // Read again with the revocation remembered: still the chain's typed refusal.
    await expect(clinic.records.get(rec.id)).rejects.toBeInstanceOf(GrantRevokedError)
    // A new grant is found by the next read.
    await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 1,
    })
    expect(text(await clinic.records.get(rec.id))).toBe('revoked soon')
  })

  test('behavior: a new version is read at once; its lookup starts at the block of the version read before', async () => {
    const rec = await patient.records.put('version 1')
    await expect(clinic.records.get(rec.id)).rejects.toBeInstanceOf(NoGrantError)
    await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 1,
    })
    expect(text(await clinic.records.get(rec.id))).toBe('version 1')
    const [v1] = await patient.records.history(rec.id)
    await net.devnet.testClient.mine({ blocks: 20 })
    await patient.records.update(rec.id, 'version 2')
    clinicCalls.length = 0
    expect(text(await clinic.records.get(rec.id))).toBe('version 2')
    const lookups = logQueries(clinicCalls).filter(
      (q) => typeof q.topics[1] === 'string' && q.topics[1].toLowerCase() === rec.id.toLowerCase(),
    )
    expect(lookups).toHaveLength(1)
    expect(lookups[0]!.fromBlock).toBe(v1!.blockNumber)
    const info = await clinic.records.info(rec.id)
    expect(info.version).toBe(2)
    expect((await clinic.records.history(rec.id)).map((v) => v.version)).toEqual([1, 2])
  })

  test('attack: an RPC backend that once answers a grant query with nothing (lagging, or a reorganisation) does not hide the grant for good', async () => {
    const state = { lagged: false }
    const reader = await createVault({
      account: net.accounts[2]!.privateKey,
      chain: {
        transport: lagging(http(net.devnet.rpcUrl), state),
        addresses: net.devnet.addresses,
        chain: net.devnet.chain,
        deployBlock: net.devnet.deployBlock,
      },
      storage: net.storage,
      proxySet: net.proxySet,
      hedgeDelayMs: 100,
    })
    const rec = await patient.records.put('found on the second look')
    await patient.grants.create({
      to: net.accounts[2]!.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 1,
    })
    expect(text(await reader.records.get(rec.id))).toBe('found on the second look')
    expect(state.lagged).toBe(true)
  })
})
