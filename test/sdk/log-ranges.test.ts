/**
 * A vault on a long chain behind an RPC provider that caps `eth_getLogs` (real anvil, Helia, HTTP proxies): the
 * deployment lies many times the provider's cap back, and a JSON-RPC front on 127.0.0.1 refuses, as public providers
 * do, any log query over more blocks than its cap (Alchemy's wording and code, or a public node's "exceed
 * maximum block range"), or with more results than its cap (Infura's). Grant lists, the records of a grant,
 * the audit trail, break-glass windows, a dataset build and a grantee's read all answer exactly what they
 * answer straight from the node, and no query the front served spanned more than its cap.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  createLocalNetwork,
  createVault,
  InvalidOptionError,
  type LocalNetwork,
  type Vault,
} from '@medvault/sdk'
import { type Hex, http } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

/**
 * Blocks mined between the deployment and each step of the story: the chain is ~600 blocks long, 12 times the
 * smallest cap below, as 5 million blocks are 500 times a 10,000-block cap (anvil mines ~4 ms a block here).
 */
const GAP = 200
const KEY = new TextEncoder().encode('a dataset key of 32 bytes, fixed')

type Refusal =
  /** Alchemy: code -32600, a block-range and response-size message. */
  | { kind: 'alchemy'; maxBlocks: number }
  /** A public node's range cap, as geth-based public endpoints word it. */
  | { kind: 'range'; maxBlocks: number }
  /** Infura: code -32005, a cap on the results of one query. */
  | { kind: 'infura'; maxResults: number }

interface CappedRpc {
  url: string
  /** Block count of every eth_getLogs the front answered, and of every one it refused. */
  served: bigint[]
  refused: bigint[]
  close(): Promise<void>
}

/** A real JSON-RPC front for the real anvil that answers `eth_getLogs` as a capped provider does. */
async function cappedRpc(upstream: string, refusal: Refusal): Promise<CappedRpc> {
  const served: bigint[] = []
  const refused: bigint[] = []
  const call = async (body: unknown) => {
    const res = await fetch(upstream, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    })
    return (await res.json()) as { id: number; result?: unknown; error?: unknown }
  }
  const answer = async (request: { id: number; method: string; params?: unknown[] }) => {
    if (request.method !== 'eth_getLogs') return call(request)
    const filter = request.params?.[0] as { fromBlock?: string; toBlock?: string; blockHash?: string }
    const block = async (tag: string | undefined) =>
      tag?.startsWith('0x') === true
        ? BigInt(tag)
        : BigInt((await call({ jsonrpc: '2.0', id: 0, method: 'eth_blockNumber' })).result as Hex)
    const blocks =
      filter.blockHash === undefined
        ? (await block(filter.toBlock)) - (await block(filter.fromBlock)) + 1n
        : 1n
    const refuse = (code: number, message: string) => {
      refused.push(blocks)
      return { jsonrpc: '2.0', id: request.id, error: { code, message } }
    }
    if (refusal.kind === 'alchemy' && blocks > refusal.maxBlocks) {
      return refuse(
        -32600,
        `Log response size exceeded. You can make eth_getLogs requests with up to a ${refusal.maxBlocks} block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response.`,
      )
    }
    if (refusal.kind === 'range' && blocks > refusal.maxBlocks) {
      return refuse(-32000, `exceed maximum block range: ${refusal.maxBlocks}`)
    }
    const reply = await call(request)
    if (
      refusal.kind === 'infura' &&
      Array.isArray(reply.result) &&
      reply.result.length > refusal.maxResults
    ) {
      return refuse(-32005, `query returned more than ${refusal.maxResults} results`)
    }
    served.push(blocks)
    return reply
  }
  const server: Server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const request = JSON.parse(body) as Parameters<typeof answer>[0] | Parameters<typeof answer>[0][]
    const reply = Array.isArray(request) ? await Promise.all(request.map(answer)) : await answer(request)
    res.setHeader('content-type', 'application/json')
    res.end(JSON.stringify(reply))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    served,
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

let net: LocalNetwork
const fronts: CappedRpc[] = []
/** Straight from the node: patient, clinic, research steward. */
let direct: { patient: Vault; clinic: Vault; steward: Vault }
let records: { a: Hex; b: Hex; study: Hex }
let grants: { clinic: Hex; revoked: Hex; research: Hex }

function vault(index: number, rpcUrl: string, options: { retryCount?: number; logBlockRange?: number } = {}) {
  return createVault({
    account: net.accounts[index]!.privateKey,
    chain: {
      // Infura's result cap answers -32005, which viem retries three times with back-off before the vault sees
      // it: the front answers the same way every time, so the test skips the waiting.
      transport: http(rpcUrl, { retryCount: options.retryCount ?? 3 }),
      addresses: net.devnet.addresses,
      chain: net.devnet.chain,
      deployBlock: net.devnet.deployBlock,
      ...(options.logBlockRange === undefined ? {} : { logBlockRange: options.logBlockRange }),
    },
    storage: net.storage,
    proxySet: net.proxySet,
    hedgeDelayMs: 100,
  })
}

/** A FHIR transaction Bundle with a Patient and an Observation, as a dataset build takes it. */
function bundle(marker: number) {
  const hex = String(marker).padStart(8, '0')
  const pid = `${hex}-0000-4000-8000-000000000000`
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: `urn:uuid:${pid}`,
        resource: { resourceType: 'Patient', id: pid, name: [{ family: `Family${marker}` }] },
        request: { method: 'POST', url: 'Patient' },
      },
      {
        fullUrl: `urn:uuid:${hex}-1111-4111-8111-111111111111`,
        resource: {
          resourceType: 'Observation',
          id: `${hex}-1111-4111-8111-111111111111`,
          status: 'final',
          code: { text: 'marker' },
          subject: { reference: `urn:uuid:${pid}` },
          valueQuantity: { value: marker, unit: 'mg' },
        },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  }
}

const mine = (blocks: number) => net.devnet.testClient.mine({ blocks })

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 2 })
  const rpc = net.devnet.rpcUrl
  direct = { patient: await vault(0, rpc), clinic: await vault(1, rpc), steward: await vault(2, rpc) }
  const { patient, clinic, steward } = direct
  await mine(GAP)
  const [a, b, study] = await Promise.all([
    patient.records.put('discharge letter'),
    patient.records.put('lab results', { tag: 'labs' }),
    patient.records.put(bundle(101), { tag: 'research' }),
  ])
  await mine(GAP)
  const [toClinic, revoked, research] = await Promise.all([
    patient.grants.create({ to: clinic.address, records: [a.id, b.id], purpose: 'TREAT', expiresIn: '1d' }),
    patient.grants.create({ to: clinic.address, tag: 'labs', purpose: 'TREAT', expiresIn: '1d' }),
    patient.grants.create({ to: steward.address, tag: 'research', purpose: 'HRESCH', expiresIn: '30d' }),
  ])
  await patient.grants.revoke(revoked.id)
  await mine(GAP)
  await patient.records.update(a.id, 'discharge letter, amended')
  // A build's snapshot is the block before the latest.
  await mine(1)
  records = { a: a.id, b: b.id, study: study.id }
  grants = { clinic: toClinic.id, revoked: revoked.id, research: research.id }
}, 120_000)

afterAll(async () => {
  await Promise.all(fronts.map((f) => f.close()))
  await net?.stop()
})

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe.each<Refusal>([
  { kind: 'alchemy', maxBlocks: 50 },
  { kind: 'range', maxBlocks: 100 },
  { kind: 'infura', maxResults: 1 },
])('a provider that caps eth_getLogs ($kind)', (refusal) => {
  let front: CappedRpc
  let capped: { patient: Vault; clinic: Vault; steward: Vault }

  beforeAll(async () => {
    front = await cappedRpc(net.devnet.rpcUrl, refusal)
    fronts.push(front)
    const retryCount = refusal.kind === 'infura' ? 0 : 3
    capped = {
      patient: await vault(0, front.url, { retryCount }),
      clinic: await vault(1, front.url, { retryCount }),
      steward: await vault(2, front.url, { retryCount }),
    }
  })

  test('default: grant lists, grant records, audit and break-glass answer as straight from the node', async () => {
    const head = await net.devnet.publicClient.getBlockNumber({ cacheTime: 0 })
    expect(head - net.devnet.deployBlock).toBeGreaterThan(3n * BigInt(GAP))

    const given = await capped.patient.grants.list()
    expect(given.map((g) => g.id).sort()).toEqual(Object.values(grants).sort())
    expect(given).toEqual(await direct.patient.grants.list())
    expect(await capped.clinic.grants.list({ received: true })).toEqual(
      await direct.clinic.grants.list({ received: true }),
    )
    const listed = await capped.clinic.grants.records(grants.clinic)
    expect(listed.map((r) => r.id).sort()).toEqual([records.a, records.b].sort())
    expect(listed).toEqual(await direct.clinic.grants.records(grants.clinic))
    expect(await capped.steward.grants.records(grants.research)).toEqual(
      await direct.steward.grants.records(grants.research),
    )

    const trail = await capped.patient.audit.list()
    expect(trail.filter((e) => e.kind === 'record-registered')).toHaveLength(4)
    expect(trail.filter((e) => e.kind === 'revocation')).toHaveLength(1)
    expect(trail).toEqual(await direct.patient.audit.list())
    expect(await capped.patient.breakGlass.list()).toEqual(await direct.patient.breakGlass.list())

    // The front did refuse, and every query it answered was within its cap.
    expect(front.refused.length).toBeGreaterThan(0)
    if (refusal.kind !== 'infura') expect(front.served.every((n) => n <= refusal.maxBlocks)).toBe(true)
  })

  test("behavior: a grantee's reads (the read index) and a dataset build work through the cap", async () => {
    expect(text(await capped.clinic.records.get(records.a))).toBe('discharge letter, amended')
    expect(await capped.clinic.records.history(records.a)).toEqual(
      await direct.clinic.records.history(records.a),
    )
    expect(text(await capped.clinic.records.get(records.b))).toBe('lab results')

    const built = await capped.steward.datasets.build({ purpose: 'HRESCH', key: KEY, publish: false })
    const reference = await direct.steward.datasets.build({ purpose: 'HRESCH', key: KEY, publish: false })
    expect(built.manifest.consent).toEqual(reference.manifest.consent)
    expect(built.manifest.records).toBe(1)
    expect(built.manifest.output).toEqual(reference.manifest.output)
    if (refusal.kind !== 'infura') expect(front.served.every((n) => n <= refusal.maxBlocks)).toBe(true)
  })
})

test('behavior: chain.logBlockRange at the provider cap: no query is refused', async () => {
  const front = await cappedRpc(net.devnet.rpcUrl, { kind: 'range', maxBlocks: 70 })
  fronts.push(front)
  const patient = await vault(0, front.url, { logBlockRange: 70 })
  expect(await patient.grants.list()).toEqual(await direct.patient.grants.list())
  expect(await patient.audit.list()).toEqual(await direct.patient.audit.list())
  expect(front.refused).toEqual([])
  expect(front.served.length).toBeGreaterThan(0)
})

test('error: chain.logBlockRange must be a positive whole number', async () => {
  for (const logBlockRange of [0, -5, 1.5, Number.NaN]) {
    await expect(vault(0, net.devnet.rpcUrl, { logBlockRange })).rejects.toThrow(InvalidOptionError)
  }
  const err = await vault(0, net.devnet.rpcUrl, { logBlockRange: 0 }).catch((e: unknown) => e)
  expect((err as InvalidOptionError).message).toMatch(/chain\.logBlockRange/)
})
