/**
 * Per-IP and per-requester rate limits of the proxy over real HTTP on a real devnet: a bounded flood is
 * answered 429 rate_limited with Retry-After, before signatures are checked (per IP) and per recovered
 * requester; other requesters are still served, and the limited one again after the wait it was given.
 */
import { createProxy, type ReencryptionProxy } from '@medvault/node'
import { afterAll, beforeAll, expect, test } from 'vitest'
import {
  createNetwork,
  grant,
  type Network,
  refusal,
  registerRecord,
  signedRequest,
  type TestGrant,
  type TestRecord,
} from './fixture.ts'

let net: Network
let record: TestRecord
let g: TestGrant

beforeAll(async () => {
  net = await createNetwork({
    proxies: 1,
    init: () => ({ rateLimit: { ip: false, requester: { perSecond: 1, burst: 3 } } }),
  })
  record = await registerRecord(net)
  g = await grant(net, record)
})

afterAll(async () => {
  await net?.stop()
})

async function send(proxy: ReencryptionProxy, body: string) {
  const response = await fetch(`${proxy.url}/v1/reencrypt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  const text = await response.text()
  return {
    status: response.status,
    json: JSON.parse(text) as unknown,
    retryAfter: response.headers.get('retry-after'),
  }
}

test('behavior: a flood from one IP is refused 429 before any signature is checked; health stays open', async () => {
  const guarded = await createProxy(
    {
      account: net.devnet.accounts[4]!,
      eciesSecretKey: net.keysOf(4).eciesSecretKey,
      workers: 1,
      rateLimit: { ip: { perSecond: 2, burst: 10 }, requester: false },
    },
    {
      publicClient: net.devnet.publicClient,
      storage: net.storage,
      addresses: net.devnet.addresses,
      deployBlock: net.devnet.deployBlock,
    },
  )
  try {
    // 40 bodies that are not even access requests: without the limit each would be parsed and refused 400.
    const answers = await Promise.all(Array.from({ length: 40 }, () => send(guarded, '{"not":"a request"}')))
    const limited = answers.filter((a) => a.status === 429)
    expect(limited.length).toBeGreaterThanOrEqual(25)
    expect(answers.filter((a) => a.status === 400).length).toBeLessThanOrEqual(15)
    for (const a of limited) {
      expect(refusal(a)).toEqual([429, 'rate_limited'])
      expect(Number(a.retryAfter)).toBeGreaterThanOrEqual(1)
    }
    expect((await fetch(`${guarded.url}/v1/health`)).status).toBe(200)
  } finally {
    await guarded.stop()
  }
})

test('behavior: per requester — past its burst one requester waits Retry-After; another is still answered', async () => {
  const proxy = net.proxies[0]!
  const answers = []
  for (let i = 0; i < 6; i++) answers.push(await send(proxy, (await signedRequest(net, g, record)).body))
  expect(answers.slice(0, 3).map((a) => a.status)).toEqual([200, 200, 200])
  const limited = answers.slice(3).filter((a) => a.status === 429)
  expect(limited.length).toBeGreaterThanOrEqual(2)
  expect(refusal(limited[0]!)).toEqual([429, 'rate_limited'])
  // The stranger is not the grantee (403), but it is not limited by the clinician's bucket.
  expect(
    refusal(await send(proxy, (await signedRequest(net, g, record, { signer: net.stranger })).body)),
  ).toEqual([403, 'not_grantee'])
  const wait = Number(limited.at(-1)!.retryAfter)
  await new Promise((resolve) => setTimeout(resolve, wait * 1000 + 100))
  expect((await send(proxy, (await signedRequest(net, g, record)).body)).status).toBe(200)
})
