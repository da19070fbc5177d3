/**
 * The owner's audit over HTTP and receipt anchoring, on a real devnet with real proxies: `GET /v1/receipts`
 * answers the grantor only (EIP-712 query, fresh, once), with anchor roots and proofs the chain confirms;
 * anchoring by count and by interval, durable across a restart.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { getAnchor, verifyReceiptInclusion, verifyReceiptProof } from '@medvault/chain'
import type { DevnetWalletClient } from '@medvault/chain/node'
import { createProxy, type ReencryptionProxy } from '@medvault/node'
import {
  parseReceiptsResponseBody,
  type ReceiptsQuery,
  randomNonce,
  receiptHash,
  receiptsQueryParams,
  receiptsQueryTypedData,
  verifyReceipt,
} from '@medvault/protocol'
import { type Hex, recoverTypedDataAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  addressOf,
  createNetwork,
  grant,
  type Network,
  post,
  refusal,
  registerRecord,
  signedRequest,
  type TestGrant,
  type TestRecord,
} from './fixture.ts'

let net: Network
let dir: string
let record: TestRecord
let other: TestRecord
let g: TestGrant

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medvault-receipts-'))
  net = await createNetwork({
    proxies: 2,
    init: (p) => ({
      receiptsDir: join(dir, `proxy-${p}`),
      // proxy 0 anchors by hand (anchorReceipts) only; proxy 1 once 3 receipts wait
      anchor: p === 0 ? { maxReceipts: 65_536, intervalSeconds: 604_800 } : { maxReceipts: 3 },
    }),
    components: (p, devnet) => ({ walletClient: devnet.walletClients[4 + p] as DevnetWalletClient }),
  })
  record = await registerRecord(net)
  other = await registerRecord(net)
  g = await grant(net, record)
  await grant(net, other)
})

afterAll(async () => {
  await net?.stop()
  await rm(dir, { recursive: true, force: true })
})

async function read(proxy: ReencryptionProxy, r: TestRecord = record, tg: TestGrant = g): Promise<void> {
  const answer = await post(proxy, (await signedRequest(net, tg, r, { proxy })).body)
  expect(answer.status).toBe(200)
}

async function ask(
  proxy: ReencryptionProxy,
  {
    signer = net.patient,
    signature: given,
    ...fields
  }: Partial<ReceiptsQuery> & {
    signer?: DevnetWalletClient
    signature?: Hex
  } = {},
) {
  const query: ReceiptsQuery = {
    proxy: proxy.address,
    grantor: addressOf(net.patient),
    recordId: `0x${'00'.repeat(32)}`,
    after: 0,
    issuedAt: Math.floor(Date.now() / 1000),
    nonce: randomNonce(),
    ...fields,
  }
  const signature = given ?? (await signer.account.signTypedData(receiptsQueryTypedData(net.domain, query)))
  const response = await fetch(
    `${proxy.url}/v1/receipts?${new URLSearchParams(receiptsQueryParams(query, signature))}`,
  )
  const text = await response.text()
  return { status: response.status, json: JSON.parse(text) as unknown, text, query, signature }
}

describe('GET /v1/receipts', () => {
  test('default: the grantor gets its receipts, signed by the proxy, with proofs the chain confirms once anchored', async () => {
    const proxy = net.proxies[0]!
    await read(proxy)
    await read(proxy)
    const before = await ask(proxy)
    expect(before.status).toBe(200)
    const receipts = parseReceiptsResponseBody(before.text)
    expect(receipts).toHaveLength(2)
    for (const r of receipts) {
      expect(r.anchor).toBeUndefined()
      expect(r.receipt).toMatchObject({
        grantId: g.grantId,
        recordId: record.recordId,
        requester: addressOf(net.clinician),
      })
      await verifyReceipt({
        domain: net.domain,
        receipt: r.receipt,
        signature: r.signature,
        proxy: proxy.address,
      })
    }

    const [anchored] = await proxy.anchorReceipts()
    expect(anchored).toMatchObject({ count: 2 })
    expect(await proxy.anchorReceipts()).toEqual([])
    const after = parseReceiptsResponseBody((await ask(proxy)).text)
    for (const r of after) {
      const hash = receiptHash(net.domain, r.receipt)
      expect(r.anchor?.root).toBe(anchored!.root)
      expect(verifyReceiptProof({ root: r.anchor!.root, receiptHash: hash, proof: r.anchor!.proof })).toBe(
        true,
      )
      expect(
        await verifyReceiptInclusion(net.devnet.publicClient, {
          addresses: net.devnet.addresses,
          proxy: proxy.address,
          root: r.anchor!.root,
          receiptHash: hash,
          proof: r.anchor!.proof,
        }),
      ).toBe(true)
    }
  })

  test('behavior: filtered by record and by time; another account’s grants are not in its answer', async () => {
    const proxy = net.proxies[0]!
    const og = await grant(net, other)
    await read(proxy, other, og)
    const all = parseReceiptsResponseBody((await ask(proxy)).text)
    const onlyOther = parseReceiptsResponseBody((await ask(proxy, { recordId: other.recordId })).text)
    expect(onlyOther.map((r) => r.receipt.recordId)).toEqual([other.recordId])
    expect(all.length).toBe(onlyOther.length + 2)
    const last = Math.max(...all.map((r) => r.receipt.at))
    expect(parseReceiptsResponseBody((await ask(proxy, { after: last })).text)).toEqual([])
    // The stranger granted nothing: it gets an empty answer, never the patient's receipts.
    const strangers = await ask(proxy, { grantor: addressOf(net.stranger), signer: net.stranger })
    expect(strangers.status).toBe(200)
    expect(parseReceiptsResponseBody(strangers.text)).toEqual([])
  })

  test('error: a query not signed by the grantor it names', async () => {
    const answer = await ask(net.proxies[0]!, { signer: net.clinician })
    expect(refusal(answer)).toEqual([403, 'not_grantor'])
    expect(answer.json).not.toHaveProperty('receipts')
  })

  test('error: a stale query, a query from the future, a replayed query, a query for another proxy', async () => {
    const proxy = net.proxies[0]!
    const now = Math.floor(Date.now() / 1000)
    expect(refusal(await ask(proxy, { issuedAt: now - 3600 }))).toEqual([401, 'stale_request'])
    expect(refusal(await ask(proxy, { issuedAt: now + 3600 }))).toEqual([401, 'future_request'])
    const once = await ask(proxy)
    expect(once.status).toBe(200)
    const again = await fetch(
      `${proxy.url}/v1/receipts?${new URLSearchParams(receiptsQueryParams(once.query, once.signature))}`,
    )
    expect(again.status).toBe(409)
    expect(refusal(await ask(proxy, { proxy: net.proxies[1]!.address }))).toEqual([421, 'wrong_proxy'])
  })

  test('error: a signature that recovers no address; unknown parameters', async () => {
    const proxy = net.proxies[0]!
    const query: ReceiptsQuery = {
      proxy: proxy.address,
      grantor: addressOf(net.patient),
      recordId: `0x${'00'.repeat(32)}`,
      after: 0,
      issuedAt: Math.floor(Date.now() / 1000),
      nonce: randomNonce(),
    }
    // An r that is no curve point's x: recovery fails (found, not assumed).
    let unrecoverable: Hex | undefined
    for (let r = 1; unrecoverable === undefined; r++) {
      const signature = `0x${r.toString(16).padStart(64, '0')}${'00'.repeat(31)}011b` as Hex
      try {
        await recoverTypedDataAddress({ ...receiptsQueryTypedData(net.domain, query), signature })
      } catch {
        unrecoverable = signature
      }
    }
    expect(refusal(await ask(proxy, { ...query, signature: unrecoverable }))).toEqual([401, 'bad_signature'])
    const signed = await ask(proxy)
    const extra = await fetch(
      `${proxy.url}/v1/receipts?${new URLSearchParams({ ...receiptsQueryParams({ ...signed.query, nonce: randomNonce() }, signed.signature), limit: '5' })}`,
    )
    expect(extra.status).toBe(400)
  })
})

describe('anchoring', () => {
  test('behavior: by count — the third waiting receipt anchors a tree, and its proofs survive a restart', async () => {
    const proxy = net.proxies[1]!
    for (let i = 0; i < 3; i++) await read(proxy)
    let anchored: ReturnType<typeof parseReceiptsResponseBody> = []
    for (let i = 0; i < 100 && (anchored.length < 3 || !anchored.every((r) => r.anchor !== undefined)); i++) {
      await new Promise((resolve) => setTimeout(resolve, 100))
      anchored = parseReceiptsResponseBody((await ask(proxy)).text)
    }
    expect(anchored).toHaveLength(3)
    const root = anchored[0]!.anchor!.root
    expect(anchored.every((r) => r.anchor?.root === root)).toBe(true)
    expect(
      await getAnchor(net.devnet.publicClient, {
        addresses: net.devnet.addresses,
        proxy: proxy.address,
        root,
      }),
    ).toMatchObject({ count: 3 })

    // A new process over the same directory hands out the same proofs and does not anchor them again.
    await proxy.stop()
    const reopened = await createProxy(
      {
        account: net.devnet.accounts[5]!,
        eciesSecretKey: net.keysOf(5).eciesSecretKey,
        workers: 1,
        receiptsDir: join(dir, 'proxy-1'),
        port: Number(new URL(proxy.url).port),
      },
      {
        publicClient: net.devnet.publicClient,
        storage: net.storage,
        addresses: net.devnet.addresses,
        deployBlock: net.devnet.deployBlock,
        walletClient: net.devnet.walletClients[5] as DevnetWalletClient,
      },
    )
    try {
      const again = parseReceiptsResponseBody((await ask(reopened)).text)
      expect(again.map((r) => r.anchor)).toEqual(anchored.map((r) => r.anchor))
      expect(await reopened.anchorReceipts()).toEqual([])
    } finally {
      await reopened.stop()
      await proxy.start()
    }
  })

  test('behavior: by interval — a waiting receipt is anchored within the interval', async () => {
    const fast = await createProxy(
      {
        account: net.devnet.accounts[4]!,
        eciesSecretKey: net.keysOf(4).eciesSecretKey,
        workers: 1,
        anchor: { maxReceipts: 1000, intervalSeconds: 1 },
      },
      {
        publicClient: net.devnet.publicClient,
        storage: net.storage,
        addresses: net.devnet.addresses,
        deployBlock: net.devnet.deployBlock,
        walletClient: net.devnet.walletClients[4] as DevnetWalletClient,
      },
    )
    try {
      await read(fast)
      let answer: ReturnType<typeof parseReceiptsResponseBody> = []
      for (let i = 0; i < 50 && answer[0]?.anchor === undefined; i++) {
        await new Promise((resolve) => setTimeout(resolve, 100))
        answer = parseReceiptsResponseBody((await ask(fast)).text)
      }
      expect(answer[0]?.anchor).toBeDefined()
    } finally {
      await fast.stop()
    }
  })

  test('error: a wallet client of another account is refused at start', async () => {
    await expect(
      createProxy(
        { account: net.devnet.accounts[4]!, eciesSecretKey: net.keysOf(4).eciesSecretKey, workers: 1 },
        {
          publicClient: net.devnet.publicClient,
          storage: net.storage,
          addresses: net.devnet.addresses,
          walletClient: net.devnet.walletClients[3] as DevnetWalletClient,
        },
      ),
    ).rejects.toMatchObject({ name: 'InvalidProxyInitError' })
  })
})
