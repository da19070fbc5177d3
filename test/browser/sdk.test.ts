/**
 * The SDK in a real browser (headless Chromium): a page bundled by Vite from `@medvault/sdk` and
 * `@medvault/storage` under the `browser` export condition (so nothing Node-only may be reached) talks to a
 * real anvil devnet over HTTP (anvil answers CORS) and keeps blocks in the page: in memory for the vault, in
 * IndexedDB across a storage restart.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { createLocalNetwork, type LocalNetwork } from '@medvault/sdk'
import { CID } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type BrowserPage, bundle, chromiumPath, openPage } from './harness.ts'

const entry = `
import { createVault } from '@medvault/sdk'
import { createStorage } from '@medvault/storage'
import { http } from 'viem'

const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')
const describeError = (err) => ({ name: err?.name, message: String(err?.message ?? err) })

// The owner path, all in the page: a vault from a private key over HTTP to anvil, a memory storage.
globalThis.ownerRoundTrip = async ({ rpcUrl, addresses, deployBlock, privateKey, content }) => {
  try {
    let kept
    let result
    {
      await using storage = await createStorage()
      kept = storage
      const vault = await createVault({
        account: privateKey,
        chain: { transport: http(rpcUrl), addresses, deployBlock: BigInt(deployBlock) },
        storage,
      })
      const bytes = Uint8Array.from(content)
      const rec = await vault.records.put(bytes, { mediaType: 'application/octet-stream' })
      const back = await vault.records.get(rec.id)
      result = { id: rec.id, owner: rec.owner, size: rec.size, sent: hex(bytes), back: hex(back) }
    }
    return { ...result, status: kept.status }
  } catch (err) {
    return { error: describeError(err) }
  }
}

// The grantee path: the page reads another account's record through the devnet's HTTP proxies (re-encryption
// over CORS), its storage fetching the ciphertext from a trustless gateway.
globalThis.granteeRead = async ({ rpcUrl, addresses, deployBlock, privateKey, gateway, id }) => {
  try {
    await using storage = await createStorage({ gateways: [gateway] })
    const vault = await createVault({
      account: privateKey,
      chain: { transport: http(rpcUrl), addresses, deployBlock: BigInt(deployBlock) },
      storage,
    })
    return { back: hex(await vault.records.get(id)) }
  } catch (err) {
    return { error: describeError(err) }
  }
}

// IndexedDB: blocks and pins outlive the storage that wrote them.
globalThis.indexedDbRestart = async ({ name, content }) => {
  try {
    const bytes = Uint8Array.from(content)
    let cid
    {
      await using storage = await createStorage({ indexedDB: name })
      cid = (await storage.putBytes(bytes)).toString()
    }
    await using again = await createStorage({ indexedDB: name })
    const parts = []
    for await (const chunk of again.get(cid)) parts.push(...chunk)
    return { cid, pinned: await again.isPinned(cid), back: hex(parts), sent: hex(bytes) }
  } catch (err) {
    return { error: describeError(err) }
  }
}

// The Node-only options are refused in the browser build, with the option to use instead.
globalThis.refusals = async () => {
  try {
    await createStorage({ directory: '/data' })
    return 'accepted'
  } catch (err) {
    return describeError(err)
  }
}

globalThis.ready = true
`

describe.skipIf(chromiumPath === undefined)('the SDK in Chromium (Vite bundle, browser conditions)', () => {
  let net: LocalNetwork
  let browser: BrowserPage
  let gatewayServer: Server | undefined
  let gateway: string

  beforeAll(async () => {
    const [network, script] = await Promise.all([createLocalNetwork({ proxies: 3 }), bundle(entry)])
    net = network
    // A trustless gateway (raw blocks) over the network's shared store, answering CORS as public gateways
    // do, so that the page's storage can fetch what Node-side vaults wrote. The page verifies every block.
    const store = net.storage
    gatewayServer = createServer(async (req, res) => {
      const match = /^\/ipfs\/([^/?]+)/.exec(req.url ?? '')
      const cors = { 'access-control-allow-origin': '*' }
      try {
        const parts: Uint8Array[] = []
        for await (const chunk of store.helia.blockstore.get(CID.parse(match![1]!), { offline: true })) {
          parts.push(chunk)
        }
        res.writeHead(200, { ...cors, 'content-type': 'application/vnd.ipld.raw' }).end(Buffer.concat(parts))
      } catch {
        res.writeHead(404, cors).end()
      }
    })
    await new Promise<void>((resolve) => gatewayServer!.listen(0, '127.0.0.1', resolve))
    gateway = `http://127.0.0.1:${(gatewayServer.address() as AddressInfo).port}`
    browser = await openPage(script)
  }, 120_000)
  afterAll(async () => {
    await browser?.close()
    await net?.stop()
    await new Promise((resolve) => gatewayServer?.close(resolve))
  })

  test('default: a vault in the page puts a record on the devnet and gets it back byte-identical', async () => {
    // Every byte value, and more than one 256 KiB chunk of ciphertext.
    const content = Array.from({ length: 300_000 }, (_, i) => (i * 7 + (i >> 8)) & 0xff)
    const account = net.accounts[2]!
    const result = await browser.page.evaluate(
      async (args) =>
        (globalThis as unknown as { ownerRoundTrip: (a: unknown) => Promise<unknown> }).ownerRoundTrip(args),
      {
        rpcUrl: net.devnet.rpcUrl,
        addresses: net.devnet.addresses,
        deployBlock: net.devnet.deployBlock.toString(),
        privateKey: account.privateKey,
        content,
      },
    )
    expect(result).not.toHaveProperty('error')
    const r = result as {
      id: string
      owner: string
      size: number
      sent: string
      back: string
      status: string
    }
    expect(r.back).toBe(r.sent)
    expect(r.size).toBe(content.length)
    expect(r.owner.toLowerCase()).toBe(account.address.toLowerCase())
    // `await using` stopped the page's storage at the end of its scope.
    expect(r.status).toBe('stopped')
    // The record is on the chain Node sees, owned by the page's account.
    const onChain = await net.devnet.publicClient.getRecord({ recordId: r.id as `0x${string}` })
    expect(onChain).toMatchObject({ owner: account.address, version: 1 })
  })

  test('behavior: a grantee in the page reads a record through the HTTP proxies (CORS) and a gateway', async () => {
    const [patient] = await Promise.all([net.vault(0), net.vault(1)]) // the clinic's keys are published
    const clinic = net.accounts[1]!
    const content = new TextEncoder().encode('HbA1c 6.1 % — read in a browser')
    const rec = await patient.records.put(content)
    await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 2,
    })
    const result = await browser.page.evaluate(
      async (args) =>
        (globalThis as unknown as { granteeRead: (a: unknown) => Promise<unknown> }).granteeRead(args),
      {
        rpcUrl: net.devnet.rpcUrl,
        addresses: net.devnet.addresses,
        deployBlock: net.devnet.deployBlock.toString(),
        privateKey: clinic.privateKey,
        gateway,
        id: rec.id,
      },
    )
    expect(result).toEqual({ back: Buffer.from(content).toString('hex') })
  })

  test('behavior: an IndexedDB storage keeps blocks and pins across a restart', async () => {
    const content = Array.from({ length: 5_000 }, (_, i) => i & 0xff)
    const result = await browser.page.evaluate(
      async (args) =>
        (globalThis as unknown as { indexedDbRestart: (a: unknown) => Promise<unknown> }).indexedDbRestart(
          args,
        ),
      { name: 'medvault-test', content },
    )
    expect(result).not.toHaveProperty('error')
    const r = result as { cid: string; pinned: boolean; sent: string; back: string }
    expect(r.back).toBe(r.sent)
    expect(r.pinned).toBe(true)
  })

  test('error: the browser build refuses `directory`, naming the browser options', async () => {
    const result = await browser.page.evaluate(async () =>
      (globalThis as unknown as { refusals: () => Promise<unknown> }).refusals(),
    )
    expect(result).toMatchObject({ name: 'TypeError', message: expect.stringMatching(/indexedDB/) })
  })
})
