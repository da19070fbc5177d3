/**
 * `grants.list` against an account that floods the chain with other grants' record lists (real anvil, Helia,
 * HTTP proxies): a records grant's list is read by its grant id, so another account's `GrantRecordsScoped`
 * events are never fetched, and a block of them larger than a provider's result limit does not fail the
 * listing. The provider's limit is played at the victim's transport, in front of the real node.
 */
import { grantAccess } from '@medvault/chain'
import { consentRegistryAbi } from '@medvault/contracts'
import { createLocalNetwork, createVault, type LocalNetwork, type Vault } from '@medvault/sdk'
import { encodeEventTopics, type Hex, http, type Log } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { intercepting } from './transports.ts'

/** The most logs one `eth_getLogs` answer may hold at the victim's provider (a result cap, as providers have). */
const PROVIDER_LIMIT = 8
const FLOOD = 3 * PROVIDER_LIMIT

const RECORDS_SCOPED = encodeEventTopics({ abi: consentRegistryAbi, eventName: 'GrantRecordsScoped' })[0]

interface LogQuery {
  topics: (Hex | Hex[] | null)[]
  answered: number
}

let net: LocalNetwork
let victim: Vault
let clinic: Vault
const queries: LogQuery[] = []

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 1 })
  const direct = http(net.devnet.rpcUrl)({ chain: net.devnet.chain, retryCount: 0 })
  // The victim's provider: every eth_getLogs goes to the node and is recorded; an answer over the limit is
  // refused with the message capped providers send (the query is then read in smaller ranges, down to a block).
  const provider = intercepting(http(net.devnet.rpcUrl), (args) => {
    if (args.method !== 'eth_getLogs') return undefined
    const [filter] = args.params as [{ topics?: (Hex | Hex[] | null)[] }]
    return (direct.request(args as Parameters<typeof direct.request>[0]) as Promise<Log[]>).then((logs) => {
      queries.push({ topics: filter.topics ?? [], answered: logs.length })
      if (logs.length > PROVIDER_LIMIT) {
        throw new Error(`query returned more than ${PROVIDER_LIMIT} results`)
      }
      return logs
    })
  })
  victim = await createVault({
    account: net.accounts[0]!.privateKey,
    chain: {
      transport: provider,
      addresses: net.devnet.addresses,
      chain: net.devnet.chain,
      deployBlock: net.devnet.deployBlock,
    },
    storage: net.storage,
    proxySet: net.proxySet,
  })
  clinic = await net.vault(1)
})

afterAll(async () => {
  await net?.stop()
})

describe('grants.list', () => {
  test('error: another account’s flood of records grants (one block past the provider’s result limit) is never read: the victim’s records grants are listed with their records, asked for by grant id', async () => {
    const [a, b, c, d] = await Promise.all([
      victim.records.put('a'),
      victim.records.put('b'),
      victim.records.put('c'),
      victim.records.put('d'),
    ])
    const first = await victim.grants.create({
      to: clinic.address,
      records: [a.id, b.id],
      purpose: 'TREAT',
      expiresIn: '1d',
    })

    // The attacker: its own records, granted by records scope again and again, all in one block.
    const attacker = await net.vault(2)
    const own = await Promise.all([attacker.records.put('mine'), attacker.records.put('mine too')])
    const wallet = net.devnet.walletClients[2]!
    const now = Number((await net.devnet.publicClient.getBlock()).timestamp)
    await net.devnet.testClient.setAutomine(false)
    try {
      for (let i = 0; i < FLOOD; i++) {
        await grantAccess(wallet, {
          addresses: net.devnet.addresses,
          grantee: clinic.address,
          scope: { kind: 'records', recordIds: own.map((r) => r.id) },
          purpose: 'TREAT',
          expiry: now + 86_400,
          threshold: 1,
          proxySetId: net.proxySet,
          kfragsCid: first.bundleCid,
          waitForReceipt: false,
        })
      }
      await net.devnet.testClient.mine({ blocks: 1 })
    } finally {
      await net.devnet.testClient.setAutomine(true)
    }
    const flooded = await net.devnet.publicClient.getContractEvents({
      address: net.devnet.addresses.consentRegistry,
      abi: consentRegistryAbi,
      eventName: 'GrantRecordsScoped',
      fromBlock: 'latest',
      toBlock: 'latest',
    })
    expect(flooded).toHaveLength(FLOOD)

    const second = await victim.grants.create({
      to: clinic.address,
      records: [c.id, d.id],
      purpose: 'TREAT',
      expiresIn: '1d',
    })

    queries.length = 0
    const listed = await victim.grants.list({ given: true })
    expect(listed.map((g) => g.id)).toEqual([first.id, second.id])
    expect(listed.map((g) => g.scope)).toEqual([
      { kind: 'records', records: [a.id, b.id] },
      { kind: 'records', records: [c.id, d.id] },
    ])
    // Each query for record lists names the victim's grant ids, and is answered with their events only.
    const scoped = queries.filter((q) => q.topics[0] === RECORDS_SCOPED)
    expect(scoped.length).toBeGreaterThan(0)
    const ids = new Set([first.id, second.id].map((id) => id.toLowerCase()))
    for (const query of scoped) {
      const filter = query.topics[1]
      expect(Array.isArray(filter) ? filter : [filter]).toSatisfy((values: unknown[]) =>
        values.every((v) => typeof v === 'string' && ids.has(v.toLowerCase())),
      )
    }
    expect(scoped.reduce((sum, q) => sum + q.answered, 0)).toBe(2)
  })
})
