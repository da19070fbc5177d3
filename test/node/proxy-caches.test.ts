/**
 * What the proxy keeps between requests must never answer for the chain: the KeyRegistry keys it caches
 * follow every publication and rotation the index reads, and the public key it remembers for a grantee's
 * signatures never lets another signer pass as that grantee. Real anvil devnet, real store, real HTTP.
 */
import { publicKeys } from '@medvault/crypto'
import { SecretKey } from '@medvault/crypto/umbral'
import { createPublicClient, http } from 'viem'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import { intercepting } from '../sdk/transports.ts'
import {
  createNetwork,
  grant,
  type Network,
  post,
  refusal,
  registerRecord,
  signedRequest,
  type TestRecord,
} from './fixture.ts'

let net: Network
let record: TestRecord
/** While set, every eth_getLogs of the proxy fails: its index halts (as on a node that lost its log index). */
let failLogs = false

beforeAll(async () => {
  net = await createNetwork({
    proxies: 1,
    // The proxy's own client, in front of the same anvil: only its reads can be made to fail.
    components: (_, devnet) => ({
      publicClient: createPublicClient({
        chain: devnet.chain,
        transport: intercepting(http(devnet.rpcUrl), ({ method }) =>
          failLogs && method === 'eth_getLogs'
            ? Promise.reject(new Error('eth_getLogs unavailable'))
            : undefined,
        ),
      }),
    }),
  })
  record = await registerRecord(net)
})
afterAll(async () => {
  await net?.stop()
})

const proxy = () => net.proxies[0]!

/** Waits until the proxy's index has read the chain's current head (the block of the last transaction). */
async function indexed(): Promise<void> {
  // cacheTime 0: viem otherwise hands out a block number up to 4 s old, from before the last transaction
  const head = await net.devnet.publicClient.getBlockNumber({ cacheTime: 0 })
  await vi.waitFor(
    () => {
      expect(BigInt(proxy().health().indexedBlock ?? -1)).toBeGreaterThanOrEqual(head)
    },
    { timeout: 10_000, interval: 25 },
  )
}

describe('published keys cache', () => {
  test('error: a grantee key rotated on chain is seen: the bundle for the old key is refused (422), and answered again once that key is published back', async () => {
    // The stranger is the grantee here: its keys are rotated, which the other tests' grants do not use.
    const g = await grant(net, record, { grantee: net.stranger })
    const ask = async () =>
      post(proxy(), (await signedRequest(net, g, record, { signer: net.stranger })).body)
    // answered twice: the grantor's and grantee's keys are now cached
    expect((await ask()).status).toBe(200)
    expect((await ask()).status).toBe(200)

    const own = publicKeys(net.keysOf(3))
    await net.stranger.publishKeys({
      receivingKey: SecretKey.random().publicKey().toCompressedBytes(),
      verifyingKey: own.verifying,
    })
    await indexed()
    // A cache that missed the KeysPublished event would still hold the old receiving key and answer 200.
    const rotated = await ask()
    expect(refusal(rotated)).toEqual([422, 'invalid_bundle'])
    expect(rotated.text).toContain("receiving key is not the grantee's published key")

    await net.stranger.publishKeys({ receivingKey: own.receiving, verifyingKey: own.verifying })
    await indexed()
    expect((await ask()).status).toBe(200)
  })

  test('error: a grantor verifying key rotated on chain is seen: its grants’ bundles, signed with the old key, are refused', async () => {
    const g = await grant(net, record)
    const ask = async () => post(proxy(), (await signedRequest(net, g, record)).body)
    expect((await ask()).status).toBe(200)

    const own = publicKeys(net.keysOf(1))
    await net.patient.publishKeys({
      receivingKey: own.receiving,
      verifyingKey: SecretKey.random().publicKey().toCompressedBytes(),
    })
    await indexed()
    const rotated = await ask()
    expect(refusal(rotated)).toEqual([422, 'invalid_bundle'])
    expect(rotated.text).toContain("verifying key is not the grantor's published key")

    await net.patient.publishKeys({ receivingKey: own.receiving, verifyingKey: own.verifying })
    await indexed()
    expect((await ask()).status).toBe(200)
  })

  test('error: a grantee key rotated on chain while the index is halted (eth_getLogs failing) is seen once the index’s last pass is too old: the bundle for the old key is refused (422), never answered from the cache', async () => {
    const g = await grant(net, record, { grantee: net.stranger })
    const ask = async () =>
      post(proxy(), (await signedRequest(net, g, record, { signer: net.stranger })).body)
    expect((await ask()).status).toBe(200)
    expect((await ask()).status).toBe(200)
    await indexed()

    const own = publicKeys(net.keysOf(3))
    failLogs = true
    try {
      // The receiving key the bundle was made for is compromised: the grantee publishes another.
      await net.stranger.publishKeys({
        receivingKey: SecretKey.random().publicKey().toCompressedBytes(),
        verifyingKey: own.verifying,
      })
      const head = await net.devnet.publicClient.getBlockNumber({ cacheTime: 0 })
      // An index that halts never reads the KeysPublished event: a cache trusted for as long as it halts would
      // answer 200 with the old key for good.
      await vi.waitFor(
        async () => {
          const answer = await ask()
          expect(refusal(answer)).toEqual([422, 'invalid_bundle'])
          expect(answer.text).toContain("receiving key is not the grantee's published key")
        },
        { timeout: 10_000, interval: 250 },
      )
      // The index has indeed not read the rotation: the refusal comes from the keys read at the latest block.
      expect(BigInt(proxy().health().indexedBlock ?? -1)).toBeLessThan(head)
      expect(refusal(await ask())).toEqual([422, 'invalid_bundle'])
    } finally {
      failLogs = false
      await net.stranger.publishKeys({ receivingKey: own.receiving, verifyingKey: own.verifying })
    }
    await indexed()
    expect((await ask()).status).toBe(200)
  })

  test('error: a wall clock set back as fast as time passes while the index is halted does not keep the cache trusted: the rotated key is still seen (422)', async () => {
    const g = await grant(net, record, { grantee: net.stranger })
    const ask = async () =>
      post(proxy(), (await signedRequest(net, g, record, { signer: net.stranger })).body)
    expect((await ask()).status).toBe(200)
    await indexed()

    const own = publicKeys(net.keysOf(3))
    // From the moment the index halts, the host's wall clock is set back as fast as time passes (steps back by
    // NTP or an operator): it reads the same instant throughout. The requests are signed by the same clock, so
    // they stay fresh to the proxy (its rate limits run on a monotonic clock and do not see the step); only the
    // age of the index's last pass must not be taken from it, or the halted index looks live forever.
    const wall = Date.now
    const halted = wall.call(Date)
    const stepped = vi.spyOn(Date, 'now').mockImplementation(() => halted)
    failLogs = true
    try {
      await net.stranger.publishKeys({
        receivingKey: SecretKey.random().publicKey().toCompressedBytes(),
        verifyingKey: own.verifying,
      })
      await vi.waitFor(
        async () => {
          const answer = await ask()
          expect(refusal(answer)).toEqual([422, 'invalid_bundle'])
        },
        { timeout: 10_000, interval: 250 },
      )
    } finally {
      stepped.mockRestore()
      failLogs = false
      await net.stranger.publishKeys({ receivingKey: own.receiving, verifyingKey: own.verifying })
    }
    await indexed()
    expect((await ask()).status).toBe(200)
  })

  test('error: a grant revoked after its keys and kfrag were cached is refused on the next request', async () => {
    const g = await grant(net, record)
    expect((await post(proxy(), (await signedRequest(net, g, record)).body)).status).toBe(200)
    await net.patient.revokeAccess({ grantId: g.grantId })
    // no wait for the index: the next request after the revoke transaction is refused
    expect(refusal(await post(proxy(), (await signedRequest(net, g, record)).body))).toEqual([
      403,
      'grant_revoked',
    ])
  })
})

describe('health of the grant index', () => {
  type IndexHealth = { live: boolean; syncAgeMs: number | null; maxSyncAgeMs: number }
  const viaHttp = async () =>
    (await (await fetch(`${proxy().url}/v1/health`)).json()) as { indexedBlock: string; index: IndexHealth }

  test('behavior: GET /v1/health says whether the index keeps up: live while its polls succeed, not live (its last pass growing old) once eth_getLogs fails, live again when it recovers; nothing but times and blocks', async () => {
    await indexed()
    // 3 × pollingInterval (50 ms in the fixture) + 1 s: the age past which requests stop using cached keys.
    const live = await viaHttp()
    expect(live.index).toEqual({ live: true, syncAgeMs: expect.any(Number), maxSyncAgeMs: 1150 })
    expect(live.index.syncAgeMs).toBeLessThanOrEqual(1150)
    expect(proxy().health().index.live).toBe(true)

    failLogs = true
    try {
      // A new block: with none, the index has nothing to read and stays rightly live without eth_getLogs.
      await net.devnet.publicClient.request({ method: 'evm_mine' } as never)
      // On the old code health said nothing of this: operators saw only 'index poll failed' log lines.
      await vi.waitFor(
        async () => {
          expect((await viaHttp()).index.live).toBe(false)
        },
        { timeout: 10_000, interval: 100 },
      )
      const halted = await viaHttp()
      expect(halted.index.syncAgeMs).toBeGreaterThan(1150)
      expect(halted.index.maxSyncAgeMs).toBe(1150)
      expect(proxy().health().index.live).toBe(false)
      expect(Object.keys(halted).sort()).toEqual(['address', 'chainId', 'index', 'indexedBlock', 'ok'])
      // No error text (it could name the RPC endpoint): the log has the error's name, health has the verdict.
      expect(JSON.stringify(halted)).not.toMatch(/eth_getLogs|unavailable|http/i)
    } finally {
      failLogs = false
    }
    await vi.waitFor(
      async () => {
        expect((await viaHttp()).index.live).toBe(true)
      },
      { timeout: 10_000, interval: 50 },
    )
  })
})

describe('signer keys', () => {
  test('error: once the grantee’s public key is known, another account’s signature, the grantee’s signature of other fields, or with the other v are refused (403 not_grantee)', async () => {
    const g = await grant(net, record)
    // the grantee's key becomes known to the proxy
    expect((await post(proxy(), (await signedRequest(net, g, record)).body)).status).toBe(200)
    const byStranger = await signedRequest(net, g, record, { signer: net.stranger })
    const altered = await signedRequest(net, g, record, {
      alter: (r) => ({ ...r, issuedAt: r.issuedAt - 1 }),
    })
    const good = await signedRequest(net, g, record)
    const body = JSON.parse(good.body) as { signature: string }
    const flipped = JSON.stringify({
      ...body,
      signature: `${body.signature.slice(0, -2)}${body.signature.endsWith('1b') ? '1c' : '1b'}`,
    })
    for (const sent of [byStranger.body, altered.body, flipped]) {
      expect(refusal(await post(proxy(), sent))).toEqual([403, 'not_grantee'])
    }
    expect((await post(proxy(), good.body)).status).toBe(200)
  })
})
