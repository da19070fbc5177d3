/**
 * The proxy as a service: stop and start on the same port, receipts and the grant index kept on disk across
 * a restart (in this process and in a new instance, as after a process restart), no history scan per
 * request, the chain's word over a lagging index, and the test-only cfrag tamper hook.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Capsule, CapsuleFrag, SecretKey, Signer } from '@medvault/crypto/umbral'
import { createProxy, GRANT_INDEX_FILE, type ReencryptionProxy, type SignedReceipt } from '@medvault/node'
import { capsuleHash, parseAccessResponseBody, verifyReceipt } from '@medvault/protocol'
import { createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  addVersion,
  createNetwork,
  delegatingKey,
  grant,
  type Network,
  openDek,
  post,
  refusal,
  registerRecord,
  signedRequest,
  type TestRecord,
} from './fixture.ts'

let net: Network
let record: TestRecord
let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medvault-proxy-'))
  net = await createNetwork({
    proxies: 2,
    init: (i) =>
      i === 0
        ? { receiptsDir: join(dir, 'receipts'), indexDir: join(dir, 'index'), pollingInterval: 3_600_000 }
        : {},
    components: (i) =>
      i === 1
        ? {
            // the lying proxy: flips one bit of every cfrag it answers with
            tamper: (cfrag) => {
              const lie = cfrag.slice()
              lie[200]! ^= 1
              return lie
            },
          }
        : {},
  })
  record = await registerRecord(net)
})
afterAll(async () => {
  await net?.stop()
  await rm(dir, { recursive: true, force: true })
})

const proxy = () => net.proxies[0]!

/** A proxy instance over the same operator and directories, as after a process restart. */
function restarted(overrides: { pollingInterval?: number } = {}): Promise<ReencryptionProxy> {
  return createProxy(
    {
      account: net.devnet.accounts[4]!,
      eciesSecretKey: net.keysOf(4).eciesSecretKey,
      workers: 1,
      receiptsDir: join(dir, 'receipts'),
      indexDir: join(dir, 'index'),
      pollingInterval: overrides.pollingInterval ?? 3_600_000,
    },
    {
      publicClient: net.devnet.publicClient,
      storage: net.storage,
      addresses: net.devnet.addresses,
      deployBlock: net.devnet.deployBlock,
    },
  )
}

async function receiptsOf(p: ReencryptionProxy): Promise<SignedReceipt[]> {
  const out: SignedReceipt[] = []
  for await (const entry of p.receipts()) out.push(entry)
  return out
}

describe('stop and start', () => {
  test('behavior: a stopped proxy refuses connections; started again it listens on the same URL and keeps its receipts', async () => {
    const g = await grant(net, record)
    const first = await signedRequest(net, g, record)
    expect((await post(proxy(), first.body)).status).toBe(200)
    const url = proxy().url
    const before = await receiptsOf(proxy())

    await proxy().stop()
    expect(proxy().isStarted()).toBe(false)
    await expect(fetch(`${url}/v1/health`)).rejects.toThrow()
    // receipts are readable while stopped
    expect(await receiptsOf(proxy())).toEqual(before)

    await proxy().start()
    expect(proxy().url).toBe(url)
    expect((await post(proxy(), (await signedRequest(net, g, record)).body)).status).toBe(200)
    // the request answered before the restart is still answered only once
    expect(refusal(await post(proxy(), first.body))).toEqual([409, 'replayed'])
    const after = await receiptsOf(proxy())
    expect(after.slice(0, before.length)).toEqual(before)
    expect(after).toHaveLength(before.length + 1)
    for (const { receipt, signature } of after) {
      expect(await verifyReceipt({ domain: net.domain, receipt, signature, proxy: proxy().address })).toBe(
        proxy().address,
      )
    }
  })

  test('behavior: the index resumes from its checkpoint: changes made while stopped are seen, nothing is read twice', async () => {
    const g1 = await grant(net, record)
    expect((await post(proxy(), (await signedRequest(net, g1, record)).body)).status).toBe(200)
    await proxy().stop()

    const later = await registerRecord(net)
    const g2 = await grant(net, later)
    await net.patient.revokeAccess({ grantId: g1.grantId })

    await proxy().start()
    expect((await post(proxy(), (await signedRequest(net, g2, later)).body)).status).toBe(200)
    expect(refusal(await post(proxy(), (await signedRequest(net, g1, record)).body))).toEqual([
      403,
      'grant_revoked',
    ])

    // a new instance over the same directory (a process restart): the index is replayed from its file
    await proxy().stop()
    const g3 = await grant(net, later)
    const fresh = await restarted()
    try {
      expect(fresh.health().indexedBlock).not.toBeNull()
      for (const [g, r] of [
        [g2, later],
        [g3, later],
      ] as const) {
        expect((await post(fresh, (await signedRequest(net, g, r, { proxy: fresh })).body)).status).toBe(200)
      }
      const lines = (await readFile(join(dir, 'index', GRANT_INDEX_FILE), 'utf8')).trim().split('\n')
      const ops = lines.map((l) => JSON.parse(l) as { t: string; grantId?: string })
      // each grant was indexed once: the restarts read on from the checkpoint, not from the deployment
      for (const g of [g1, g2, g3]) {
        expect(ops.filter((o) => o.t === 'grant' && o.grantId === g.grantId.toLowerCase())).toHaveLength(1)
      }
      expect(ops.filter((o) => o.t === 'revoke')).toHaveLength(1)
    } finally {
      await fresh.stop()
      await proxy().start()
    }
  })

  test('behavior: a new process refuses a replay of a request answered before the restart (receipts refill the cache)', async () => {
    const g = await grant(net, record)
    const { body } = await signedRequest(net, g, record)
    expect((await post(proxy(), body)).status).toBe(200)
    await proxy().stop()
    const fresh = await restarted()
    try {
      expect(refusal(await post(fresh, body))).toEqual([409, 'replayed'])
    } finally {
      await fresh.stop()
      await proxy().start()
    }
  })

  test('behavior: a request in flight when stop() is called is still answered', async () => {
    let entered!: () => void
    const inside = new Promise<void>((resolve) => (entered = resolve))
    let release!: () => void
    const gate = new Promise<void>((resolve) => (release = resolve))
    const slow = await createProxy(
      { account: net.devnet.accounts[5]!, eciesSecretKey: net.keysOf(5).eciesSecretKey, workers: 1 },
      {
        publicClient: net.devnet.publicClient,
        // a store that holds the first read until the test lets it go
        storage: {
          getEnvelope: async (cid, options) => {
            entered()
            await gate
            return net.storage.getEnvelope(cid, options)
          },
        },
        addresses: net.devnet.addresses,
        deployBlock: net.devnet.deployBlock,
      },
    )
    const { setId } = await net.patient.createProxySet({ members: [slow.address] })
    try {
      // the same operator as the fixture's second proxy (account 5), in a set of its own
      const g = await grant(net, record, { proxySet: { setId, members: [1] } })
      const answer = post(slow, (await signedRequest(net, g, record, { proxy: slow })).body)
      const first = await Promise.race([inside.then(() => 'inside'), answer.then((a) => a.text)])
      expect(first).toBe('inside')
      const stopping = slow.stop()
      release()
      expect((await answer).status).toBe(200)
      await stopping
      expect(slow.isStarted()).toBe(false)
    } finally {
      await slow.stop()
    }
  })

  test('behavior: `await using` stops the proxy', async () => {
    let url: string
    {
      await using p = await createProxy(
        { account: net.devnet.accounts[5]!, eciesSecretKey: net.keysOf(5).eciesSecretKey, workers: 1 },
        { publicClient: net.devnet.publicClient, storage: net.storage, addresses: net.devnet.addresses },
      )
      url = p.url
      expect((await fetch(`${url}/v1/health`)).status).toBe(200)
    }
    await expect(fetch(`${url}/v1/health`)).rejects.toThrow()
  })
})

describe('cost', () => {
  test('behavior: a request reads no event history; its chain calls are the same with one grant or forty more', async () => {
    const calls: string[] = []
    const counting = createPublicClient({
      chain: net.devnet.chain,
      transport: http(net.devnet.rpcUrl, {
        onFetchRequest: async (request) => {
          const body = (await request.clone().json()) as { method: string } | Array<{ method: string }>
          for (const call of Array.isArray(body) ? body : [body]) calls.push(call.method)
        },
      }),
    })
    const counted = await createProxy(
      {
        account: net.devnet.accounts[5]!,
        eciesSecretKey: net.keysOf(5).eciesSecretKey,
        workers: 1,
        pollingInterval: 3_600_000,
      },
      {
        publicClient: counting,
        storage: net.storage,
        addresses: net.devnet.addresses,
        deployBlock: net.devnet.deployBlock,
      },
    )
    try {
      const g = await grant(net, record)
      const ask = async () => {
        const { body } = await signedRequest(net, g, record, { proxy: counted })
        calls.length = 0
        const answer = await post(counted, body)
        expect(answer.status).toBe(200)
        return [...calls].sort()
      }
      await ask() // the first request for a new grant catches the index up
      const withOne = await ask()
      expect(withOne).not.toContain('eth_getLogs')
      for (let i = 0; i < 40; i++) await grant(net, record)
      const withMore = await ask()
      expect(withMore).toEqual(withOne)
    } finally {
      await counted.stop()
    }
  })
})

test('behavior: the chain decides before the index has seen a revocation', async () => {
  // proxy 0 does not poll: its index learns only on a miss, so it has not seen this revocation
  const g = await grant(net, record)
  expect((await post(proxy(), (await signedRequest(net, g, record)).body)).status).toBe(200)
  await net.patient.revokeAccess({ grantId: g.grantId })
  expect(refusal(await post(proxy(), (await signedRequest(net, g, record)).body))).toEqual([
    403,
    'grant_revoked',
  ])
})

test('behavior: a superseded version’s capsule is refused even before the index has read the new version', async () => {
  // proxy 0 does not poll: its index still holds version 1 when version 2 is registered
  const versioned = await registerRecord(net)
  const g = await grant(net, versioned)
  expect((await post(proxy(), (await signedRequest(net, g, versioned)).body)).status).toBe(200)
  const v2 = await addVersion(net, versioned)
  expect(refusal(await post(proxy(), (await signedRequest(net, g, versioned)).body))).toEqual([
    409,
    'capsule_mismatch',
  ])
  const current = await post(proxy(), (await signedRequest(net, g, v2)).body)
  expect(current.status).toBe(200)
  expect(openDek(net, g, v2, current.text)).toEqual(v2.dek)
})

test('behavior: with confirmations, a version newer than the index is refused (503 index_behind) until it is deep enough', async () => {
  const deep = await createProxy(
    {
      account: net.devnet.accounts[5]!,
      eciesSecretKey: net.keysOf(5).eciesSecretKey,
      workers: 1,
      confirmations: 2,
    },
    {
      publicClient: net.devnet.publicClient,
      storage: net.storage,
      addresses: net.devnet.addresses,
      deployBlock: net.devnet.deployBlock,
    },
  )
  try {
    const { setId } = await net.patient.createProxySet({ members: [deep.address] })
    const versioned = await registerRecord(net)
    const g = await grant(net, versioned, { proxySet: { setId, members: [1] } })
    await net.devnet.testClient.mine({ blocks: 2 })
    const ask = async (r: TestRecord) => post(deep, (await signedRequest(net, g, r, { proxy: deep })).body)
    expect((await ask(versioned)).status).toBe(200)
    const v2 = await addVersion(net, versioned)
    expect(refusal(await ask(v2))).toEqual([503, 'index_behind'])
    expect(refusal(await ask(versioned))).toEqual([503, 'index_behind'])
    await net.devnet.testClient.mine({ blocks: 2 })
    expect((await ask(v2)).status).toBe(200)
  } finally {
    await deep.stop()
  }
})

test('behavior: with confirmations, a grant mined a moment ago is 503 index_behind (ask again), not a final 404', async () => {
  const deep = await createProxy(
    {
      account: net.devnet.accounts[5]!,
      eciesSecretKey: net.keysOf(5).eciesSecretKey,
      workers: 1,
      confirmations: 2,
    },
    {
      publicClient: net.devnet.publicClient,
      storage: net.storage,
      addresses: net.devnet.addresses,
      deployBlock: net.devnet.deployBlock,
    },
  )
  try {
    const { setId } = await net.patient.createProxySet({ members: [deep.address] })
    const fresh = await registerRecord(net)
    const g = await grant(net, fresh, { proxySet: { setId, members: [1] } })
    const ask = async () => post(deep, (await signedRequest(net, g, fresh, { proxy: deep })).body)
    expect(refusal(await ask())).toEqual([503, 'index_behind'])
    await net.devnet.testClient.mine({ blocks: 2 })
    expect((await ask()).status).toBe(200)
    // A grant the chain does not hold stays a final 404.
    const unknown = { ...g, grantId: `0x${'ab'.repeat(32)}` as const }
    expect(
      refusal(await post(deep, (await signedRequest(net, unknown, fresh, { proxy: deep })).body)),
    ).toEqual([404, 'unknown_grant'])
  } finally {
    await deep.stop()
  }
})

test('behavior: the tamper hook (fault injection) makes a proxy lie; its cfrag fails the grantee’s verification', async () => {
  const g = await grant(net, record)
  const liar = net.proxies[1]!
  const answer = await post(liar, (await signedRequest(net, g, record, { proxy: liar })).body)
  expect(answer.status).toBe(200)
  const { cfrag, receipt } = parseAccessResponseBody(answer.text)
  expect(receipt.capsuleHash).toBe(capsuleHash(record.envelope.capsules.record))
  expect(() =>
    CapsuleFrag.fromBytes(cfrag).verify(
      Capsule.fromBytesSimple(record.envelope.capsules.record),
      new Signer(SecretKey.fromBEBytes(net.keysOf(1).signingSecretKey)).verifyingKey(),
      delegatingKey(net, g.scope).publicKey(),
      SecretKey.fromBEBytes(net.keysOf(2).receivingSecretKey).publicKey(),
    ),
  ).toThrow()
  // the honest proxy's answer to the same grant verifies and opens the key
  const honest = await post(proxy(), (await signedRequest(net, g, record)).body)
  expect(openDek(net, g, record, honest.text)).toEqual(record.dek)
})

describe('createProxy', () => {
  test('error: malformed settings are refused with InvalidProxyInitError, naming the setting only', async () => {
    const components = {
      publicClient: net.devnet.publicClient,
      storage: net.storage,
      addresses: net.devnet.addresses,
    }
    const account = net.devnet.accounts[5]!
    await expect(
      createProxy({ account, eciesSecretKey: new Uint8Array(31), start: false }, components),
    ).rejects.toMatchObject({
      name: 'InvalidProxyInitError',
      shortMessage: 'Invalid proxy setting `eciesSecretKey`: expected 32 bytes (or their hex).',
    })
    await expect(
      createProxy(
        { account, eciesSecretKey: net.keysOf(5).eciesSecretKey, port: 70_000, start: false },
        components,
      ),
    ).rejects.toMatchObject({
      name: 'InvalidProxyInitError',
      shortMessage: 'Invalid proxy setting `port`: expected an integer from 0 to 65535.',
    })
    await expect(
      createProxy(
        { account: '0x1234', eciesSecretKey: net.keysOf(5).eciesSecretKey, start: false },
        components,
      ),
    ).rejects.toMatchObject({ name: 'InvalidProxyInitError' })
    await expect(
      createProxy(
        { account, eciesSecretKey: net.keysOf(5).eciesSecretKey, kfragCacheSize: -1, start: false },
        components,
      ),
    ).rejects.toMatchObject({
      name: 'InvalidProxyInitError',
      shortMessage: 'Invalid proxy setting `kfragCacheSize`: expected an integer from 0 to 1000000.',
    })
  })
})
