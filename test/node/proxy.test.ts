/**
 * The re-encryption proxy over real HTTP (fetch to 127.0.0.1), against a real anvil devnet and a real
 * embedded store, with real Umbral and real kfrag bundles: an honest request is answered with a cfrag that
 * verifies and opens the data key, and every request the proxy must refuse is refused with its own status
 * and code — each beside a control request that is answered, so the refusal is the check under test.
 */

import { capsuleHash, hashAccessRequest, parseAccessResponseBody, verifyReceipt } from '@medvault/protocol'
import { createStorage } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test, vi } from 'vitest'
import {
  addVersion,
  createNetwork,
  ETREAT,
  grant,
  HRESCH,
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
const logLines: Array<{ message: string; fields: Record<string, unknown> }> = []

beforeAll(async () => {
  net = await createNetwork({
    proxies: 2,
    components: () => ({
      logger: {
        info: (message, fields) => logLines.push({ message, fields }),
        error: (message, fields) => logLines.push({ message, fields }),
      },
    }),
  })
  record = await registerRecord(net)
})
afterAll(async () => {
  await net?.stop()
})

const proxy = (i = 0) => net.proxies[i]!

describe('POST /v1/reencrypt', () => {
  test('default: the grantee’s fresh request is answered with a cfrag that verifies and opens the data key, and a signed receipt', async () => {
    const g = await grant(net, record)
    const { request, body } = await signedRequest(net, g, record)
    const answer = await post(proxy(), body)
    expect(answer.status).toBe(200)
    expect(openDek(net, g, record, answer.text)).toEqual(record.dek)

    const { receipt, signature } = parseAccessResponseBody(answer.text)
    expect(receipt).toEqual({
      proxy: proxy().address,
      grantId: g.grantId,
      recordId: record.recordId,
      requester: net.clinician.account.address,
      capsuleHash: capsuleHash(record.envelope.capsules.record),
      requestHash: hashAccessRequest(net.domain, request),
      at: expect.any(Number),
    })
    expect(await verifyReceipt({ domain: net.domain, receipt, signature, proxy: proxy().address })).toBe(
      proxy().address,
    )
    const stored = []
    for await (const entry of proxy().receipts()) stored.push(entry)
    expect(stored.at(-1)).toEqual({ receipt, signature })
  })

  test('behavior: a 2-of-2 grant: each proxy answers its own request and the two cfrags open the key', async () => {
    const g = await grant(net, record, { threshold: 2 })
    const answers = await Promise.all(
      [0, 1].map(async (i) =>
        post(proxy(i), (await signedRequest(net, g, record, { proxy: proxy(i) })).body),
      ),
    )
    expect(answers.map((a) => a.status)).toEqual([200, 200])
    expect(
      openDek(
        net,
        g,
        record,
        answers.map((a) => a.text),
      ),
    ).toEqual(record.dek)
    // one cfrag alone is not enough
    expect(() => openDek(net, g, record, [answers[0]!.text])).toThrow()
  })

  test('behavior: all- and tag-scoped grants re-encrypt the capsule of their own level', async () => {
    const tag = '0x1122334455667788' as const
    const tagged = await registerRecord(net, { tag })
    const all = await grant(net, record, { scope: { kind: 'all' } })
    const byTag = await grant(net, tagged, { scope: { kind: 'tag', tag } })
    for (const [g, r] of [
      [all, record],
      [all, tagged],
      [byTag, tagged],
    ] as const) {
      const answer = await post(proxy(), (await signedRequest(net, g, r)).body)
      expect(answer.status).toBe(200)
      expect(openDek(net, g, r, answer.text)).toEqual(r.dek)
    }
    // a tag grant does not reach a record without the tag
    const untagged = await signedRequest(net, byTag, record, {
      capsuleHash: capsuleHash(record.envelope.capsules.record),
    })
    const outside = await post(proxy(), untagged.body)
    expect(refusal(outside)).toEqual([403, 'record_out_of_scope'])
  })

  test('behavior: after a new version, only the current envelope’s capsule is re-encrypted', async () => {
    const versioned = await registerRecord(net)
    const g = await grant(net, versioned)
    const v2 = await addVersion(net, versioned)
    const old = await post(proxy(), (await signedRequest(net, g, versioned)).body)
    expect(refusal(old)).toEqual([409, 'capsule_mismatch'])
    const current = await post(proxy(), (await signedRequest(net, g, v2)).body)
    expect(current.status).toBe(200)
    expect(openDek(net, g, v2, current.text)).toEqual(v2.dek)
  })
})

describe('refusals', () => {
  test('error: a stale or a future-dated request is refused; the same grant asked afresh is answered', async () => {
    const g = await grant(net, record)
    const now = Math.floor(Date.now() / 1000)
    const stale = await post(proxy(), (await signedRequest(net, g, record, { issuedAt: now - 400 })).body)
    const future = await post(proxy(), (await signedRequest(net, g, record, { issuedAt: now + 120 })).body)
    expect([refusal(stale), refusal(future)]).toEqual([
      [401, 'stale_request'],
      [401, 'future_request'],
    ])
    expect((await post(proxy(), (await signedRequest(net, g, record)).body)).status).toBe(200)
  })

  test('error: the same request twice is answered once (409 replayed), also when both arrive at once', async () => {
    const g = await grant(net, record)
    const { body } = await signedRequest(net, g, record)
    expect((await post(proxy(), body)).status).toBe(200)
    expect(refusal(await post(proxy(), body))).toEqual([409, 'replayed'])

    const twin = (await signedRequest(net, g, record)).body
    const both = await Promise.all([post(proxy(), twin), post(proxy(), twin)])
    expect(both.map((a) => a.status).sort()).toEqual([200, 409])
  })

  test('error: a request addressed to another proxy, or replayed to a second proxy, is refused (421 wrong_proxy)', async () => {
    const g = await grant(net, record)
    const forOther = await signedRequest(net, g, record, { proxy: proxy(1) })
    expect(refusal(await post(proxy(0), forOther.body))).toEqual([421, 'wrong_proxy'])
    // the one it names answers it
    expect((await post(proxy(1), forOther.body)).status).toBe(200)

    const answered = await signedRequest(net, g, record, { proxy: proxy(0) })
    expect((await post(proxy(0), answered.body)).status).toBe(200)
    expect(refusal(await post(proxy(1), answered.body))).toEqual([421, 'wrong_proxy'])
  })

  test('error: a request signed by someone other than the grantee, altered after signing, or signed for another deployment is refused (403 not_grantee)', async () => {
    const g = await grant(net, record)
    const byStranger = await signedRequest(net, g, record, { signer: net.stranger })
    const altered = await signedRequest(net, g, record, {
      alter: (r) => ({ ...r, issuedAt: r.issuedAt - 1 }),
    })
    const otherNonce = await signedRequest(net, g, record, {
      alter: (r) => ({ ...r, nonce: `0x${'11'.repeat(32)}` }),
    })
    const otherChain = await signedRequest(net, g, record, {
      domain: { ...net.domain, chainId: net.domain.chainId + 1 },
    })
    const otherRegistry = await signedRequest(net, g, record, {
      domain: { ...net.domain, verifyingContract: net.devnet.addresses.keyRegistry },
    })
    for (const { body } of [byStranger, altered, otherNonce, otherChain, otherRegistry]) {
      expect(refusal(await post(proxy(), body))).toEqual([403, 'not_grantee'])
    }
    expect((await post(proxy(), (await signedRequest(net, g, record)).body)).status).toBe(200)
  })

  test('error: a live grant for record A cannot open record B, nor B’s capsule under A’s id (the demo proxy’s hole)', async () => {
    const a = await registerRecord(net)
    const b = await registerRecord(net)
    const liveForA = await grant(net, a)
    const revokedForB = await grant(net, b)
    expect((await post(proxy(), (await signedRequest(net, revokedForB, b)).body)).status).toBe(200)
    await net.patient.revokeAccess({ grantId: revokedForB.grantId })

    // A's live grant, asking for B by id (with B's capsule hash)
    const forB = await signedRequest(net, liveForA, b)
    expect(refusal(await post(proxy(), forB.body))).toEqual([403, 'record_out_of_scope'])
    // A's live grant and A's id, but B's capsule: the proxy only re-encrypts A's registered capsule
    const bCapsule = await signedRequest(net, liveForA, a, {
      capsuleHash: capsuleHash(b.envelope.capsules.record),
    })
    expect(refusal(await post(proxy(), bCapsule.body))).toEqual([409, 'capsule_mismatch'])
    // no field of the body can carry a capsule
    const withCapsule = JSON.stringify({
      ...JSON.parse((await signedRequest(net, liveForA, a)).body),
      capsule: Buffer.from(b.envelope.capsules.record).toString('hex'),
    })
    expect(refusal(await post(proxy(), withCapsule))).toEqual([400, 'malformed_request'])
    // B's revoked grant stays refused
    expect(refusal(await post(proxy(), (await signedRequest(net, revokedForB, b)).body))).toEqual([
      403,
      'grant_revoked',
    ])
    // and A is still answered
    expect((await post(proxy(), (await signedRequest(net, liveForA, a)).body)).status).toBe(200)
  })

  test('error: a capsule hash that is not the registered envelope’s capsule of the grant’s level is refused (409)', async () => {
    const g = await grant(net, record)
    const allLevel = await signedRequest(net, g, record, {
      capsuleHash: capsuleHash(record.envelope.capsules.all),
    })
    const made = await signedRequest(net, g, record, { capsuleHash: `0x${'ab'.repeat(32)}` })
    expect(refusal(await post(proxy(), allLevel.body))).toEqual([409, 'capsule_mismatch'])
    expect(refusal(await post(proxy(), made.body))).toEqual([409, 'capsule_mismatch'])
  })

  test('error: a purpose other than the grant’s is refused (403 purpose_mismatch)', async () => {
    const g = await grant(net, record)
    const research = await signedRequest(net, g, record, { purpose: HRESCH })
    expect(refusal(await post(proxy(), research.body))).toEqual([403, 'purpose_mismatch'])
  })

  test('error: after the revoke transaction, the next request is refused (403 grant_revoked), though the grant’s kfrag was kept open; the workers then drop it', async () => {
    const g = await grant(net, record)
    const before = await proxy().cachedKfrags()
    // Twice: the second request is answered with the kfrag the first one opened and kept.
    for (let i = 0; i < 2; i++) {
      expect((await post(proxy(), (await signedRequest(net, g, record)).body)).status).toBe(200)
    }
    expect(await proxy().cachedKfrags()).toBe(before + 1)
    await net.patient.revokeAccess({ grantId: g.grantId })
    expect(refusal(await post(proxy(), (await signedRequest(net, g, record)).body))).toEqual([
      403,
      'grant_revoked',
    ])
    await vi.waitFor(async () => expect(await proxy().cachedKfrags()).toBe(before), { timeout: 10_000 })
    expect(refusal(await post(proxy(), (await signedRequest(net, g, record)).body))).toEqual([
      403,
      'grant_revoked',
    ])
  })

  test('error: an expired grant is refused (403 grant_expired) once chain time passes its expiry, though its kfrag was kept open', async () => {
    const g = await grant(net, record, { expiresIn: 600 })
    for (let i = 0; i < 2; i++) {
      expect((await post(proxy(), (await signedRequest(net, g, record)).body)).status).toBe(200)
    }
    await net.devnet.testClient.increaseTime({ seconds: 700 })
    await net.devnet.testClient.mine({ blocks: 1 })
    expect(refusal(await post(proxy(), (await signedRequest(net, g, record)).body))).toEqual([
      403,
      'grant_expired',
    ])
  })

  test('error: the chain’s verdict is the refusal even when the bundle is bad too (expired grant with a foreign grantee in its bundle: 403 grant_expired, not 422)', async () => {
    // The chain call and the bundle checks run side by side; the refusal is still the first failing step's.
    const g = await grant(net, record, {
      expiresIn: 600,
      tamperBundle: (b) => ({ ...b, grantee: net.stranger.account.address }),
    })
    expect(refusal(await post(proxy(), (await signedRequest(net, g, record)).body))).toEqual([
      422,
      'invalid_bundle',
    ])
    await net.devnet.testClient.increaseTime({ seconds: 700 })
    await net.devnet.testClient.mine({ blocks: 1 })
    expect(refusal(await post(proxy(), (await signedRequest(net, g, record)).body))).toEqual([
      403,
      'grant_expired',
    ])
  })

  test('error: a break-glass grant is answered only while the grantee’s emergency window is open (403 access_denied)', async () => {
    const g = await grant(net, record, { purpose: ETREAT, breakGlass: { maxDuration: 600 } })
    const ask = async () => post(proxy(), (await signedRequest(net, g, record, { purpose: ETREAT })).body)
    expect(refusal(await ask())).toEqual([403, 'access_denied'])
    await net.clinician.breakGlass({ grantId: g.grantId, recordId: record.recordId, reasonCode: 'ETREAT' })
    const answer = await ask()
    expect(answer.status).toBe(200)
    expect(openDek(net, g, record, answer.text)).toEqual(record.dek)
    await net.devnet.testClient.increaseTime({ seconds: 700 })
    await net.devnet.testClient.mine({ blocks: 1 })
    expect(refusal(await ask())).toEqual([403, 'access_denied'])
  })

  test('error: an unknown grant (404 unknown_grant) and an unknown record under an all grant (404 unknown_record)', async () => {
    const g = await grant(net, record)
    const unknown = await signedRequest(net, { ...g, grantId: `0x${'42'.repeat(32)}` }, record)
    expect(refusal(await post(proxy(), unknown.body))).toEqual([404, 'unknown_grant'])
    const all = await grant(net, record, { scope: { kind: 'all' } })
    const noRecord = await signedRequest(net, all, record, { recordId: `0x${'43'.repeat(32)}` })
    expect(refusal(await post(proxy(), noRecord.body))).toEqual([404, 'unknown_record'])
  })

  test('error: a proxy outside the grant’s proxy set holds no kfrag for it (403 not_in_proxy_set)', async () => {
    const { setId } = await net.patient.createProxySet({ members: [proxy(0).address] })
    const g = await grant(net, record, { proxySet: { setId, members: [0] } })
    expect(
      refusal(await post(proxy(1), (await signedRequest(net, g, record, { proxy: proxy(1) })).body)),
    ).toEqual([403, 'not_in_proxy_set'])
    expect((await post(proxy(0), (await signedRequest(net, g, record)).body)).status).toBe(200)
  })

  test('error: malformed JSON, unknown or missing fields, a non-JSON body and an unknown route are refused', async () => {
    const g = await grant(net, record)
    const good = JSON.parse((await signedRequest(net, g, record)).body) as Record<string, unknown>
    const { nonce: _, ...missing } = good
    for (const body of [
      '{"v":1,',
      'null',
      '[]',
      JSON.stringify(missing),
      JSON.stringify({ ...good, v: 2 }),
    ]) {
      expect(refusal(await post(proxy(), body))).toEqual([400, 'malformed_request'])
    }
    expect(refusal(await post(proxy(), JSON.stringify(good), { 'content-type': 'text/plain' }))).toEqual([
      415,
      'unsupported_media_type',
    ])
    const route = await fetch(`${proxy().url}/v1/other`, { method: 'POST' })
    expect([route.status, ((await route.json()) as { error: { code: string } }).error.code]).toEqual([
      404,
      'not_found',
    ])
  })

  test('error: a body over the limit is refused with 413 before it is parsed', async () => {
    const g = await grant(net, record)
    const good = JSON.parse((await signedRequest(net, g, record)).body) as Record<string, unknown>
    const padded = JSON.stringify({ ...good, padding: 'x'.repeat(5000) })
    expect(refusal(await post(proxy(), padded))).toEqual([413, 'body_too_large'])
    // streamed without a Content-Length too
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(padded))
        controller.close()
      },
    })
    const response = await fetch(`${proxy().url}/v1/reencrypt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: stream,
      duplex: 'half',
    } as RequestInit)
    expect(response.status).toBe(413)
  })

  test('error: a kfrag copied from another grant’s bundle does not open here (422 invalid_bundle)', async () => {
    const original = await grant(net, record)
    expect((await post(proxy(), (await signedRequest(net, original, record)).body)).status).toBe(200)
    const copied = await grant(net, record, {
      tamperBundle: (b) => ({
        ...b,
        entries: [{ ...b.entries[0]!, kfrags: original.bundle.entries[0]!.kfrags }],
      }),
    })
    expect(refusal(await post(proxy(), (await signedRequest(net, copied, record)).body))).toEqual([
      422,
      'invalid_bundle',
    ])
  })

  test('error: a bundle that does not match its grant on chain is not used (422 invalid_bundle)', async () => {
    const other = await registerRecord(net)
    const cases = [
      // kfrags of the all-records key under a record grant: they would reach every record
      await grant(net, record, {
        scope: { kind: 'all' },
        chainScope: { kind: 'record', recordId: record.recordId },
      }),
      // another grantee named in the bundle
      await grant(net, record, { tamperBundle: (b) => ({ ...b, grantee: net.stranger.account.address }) }),
      // proxies in another order than the grant's proxy set
      await grant(net, record, { tamperBundle: (b) => ({ ...b, proxies: [...b.proxies].reverse() }) }),
      // an entry for another record only
      await grant(net, record, {
        tamperBundle: (b) => ({
          ...b,
          entries: [{ ...b.entries[0]!, scope: { kind: 'record', recordId: other.recordId } }],
        }),
      }),
    ]
    for (const g of cases) {
      const { body } = await signedRequest(
        net,
        { ...g, scope: { kind: 'record', recordId: record.recordId } },
        record,
      )
      expect(refusal(await post(proxy(), body))).toEqual([422, 'invalid_bundle'])
    }
  })

  test('behavior: refusals carry only { error: { code, message } }, and the log holds no capsule, cfrag or signature', async () => {
    const g = await grant(net, record)
    const { body } = await signedRequest(net, g, record)
    const answered = await post(proxy(), body)
    const replayed = await post(proxy(), body)
    expect(Object.keys(replayed.json as object)).toEqual(['error'])
    expect(Object.keys((replayed.json as { error: object }).error).sort()).toEqual(['code', 'message'])
    const secrets = [
      JSON.parse(body).signature as string,
      (answered.json as { cfrag: string }).cfrag,
      Buffer.from(record.envelope.capsules.record).toString('hex'),
      Buffer.from(net.keysOf(4).eciesSecretKey).toString('hex'),
    ].map((s) => s.replace(/^0x/, '').toLowerCase())
    const logged = JSON.stringify(logLines).toLowerCase()
    expect(logLines.length).toBeGreaterThan(0)
    for (const secret of secrets) {
      expect(logged).not.toContain(secret)
      expect(replayed.text.toLowerCase()).not.toContain(secret)
    }
  })
})

describe('GET /v1/health', () => {
  test('default', async () => {
    const response = await fetch(`${proxy().url}/v1/health`)
    const health = (await response.json()) as Record<string, unknown>
    expect(health).toEqual({
      ok: true,
      address: proxy().address,
      chainId: net.devnet.chain.id,
      indexedBlock: expect.stringMatching(/^\d+$/),
      index: { live: true, syncAgeMs: expect.any(Number), maxSyncAgeMs: expect.any(Number) },
    })
  })
})

test('behavior: the store is only read for CID-verified documents (a second store without the blocks cannot serve)', async () => {
  // A proxy whose store lacks the envelope answers 503 unavailable rather than anything unverified.
  const empty = await createStorage()
  const { createProxy } = await import('@medvault/node')
  const lonely = await createProxy(
    {
      account: net.devnet.accounts[4]!,
      eciesSecretKey: net.keysOf(4).eciesSecretKey,
      workers: 1,
      fetchTimeoutMs: 500,
    },
    {
      publicClient: net.devnet.publicClient,
      storage: empty,
      addresses: net.devnet.addresses,
      deployBlock: net.devnet.deployBlock,
    },
  )
  try {
    const g = await grant(net, record)
    const answer = await post(lonely, (await signedRequest(net, g, record, { proxy: lonely })).body)
    expect(refusal(answer)).toEqual([503, 'unavailable'])
  } finally {
    await lonely.stop()
    await empty.stop()
  }
})
