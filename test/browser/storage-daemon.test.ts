/**
 * A page's storage and a real `medvault-node` over WebSockets on 127.0.0.1, in headless Chromium: the storage's
 * browser build bundled by Vite, the daemon as a child process (the built bin).
 *
 * - Without `network.allowPrivateAddresses` the page may not dial the node's `ws://127.0.0.1` listener:
 *   libp2p's browser rules refuse it with `DialDeniedError`.
 * - With it, the page connects; bytes it stores are pinned by the node through its Pinning Service API (the
 *   node fetches them over bitswap on the connection the page opened, since a page cannot listen), and once the
 *   page is closed a reader elsewhere gets them, verified, from the node's trustless gateway.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type DaemonProcess,
  daemonAddress,
  freePort,
  PASSPHRASE,
  runNode,
  startDaemon,
} from '../node-daemon/daemon-process.ts'
import { type BrowserPage, bundle, chromiumPath, openPage } from './harness.ts'

const entry = `
import { createStorage } from '@medvault/storage'

const describeError = (err) => ({ name: err?.name, message: String(err?.message ?? err) })
let storage

globalThis.dial = async ({ address, allowPrivateAddresses }) => {
  await storage?.stop()
  // The daemon is a configured peer: only those may be dialled at private addresses. (connect() dials it
  // again, which resolves at once when it is already connected.)
  storage = await createStorage({ network: allowPrivateAddresses ? { allowPrivateAddresses, peers: [address] } : {} })
  try {
    await storage.connect(address)
    return { ok: true }
  } catch (err) {
    return { ok: false, error: describeError(err) }
  }
}

globalThis.put = async (text) => (await storage.putBytes(new TextEncoder().encode(text))).toString()

globalThis.ready = true
`

describe.skipIf(chromiumPath === undefined)('a page storage and a node daemon over ws://127.0.0.1', () => {
  let root: string
  let daemon: DaemonProcess | undefined
  let browserPage: BrowserPage | undefined
  let address: string
  let token: string
  const env = { MEDVAULT_NODE_PASSPHRASE: PASSPHRASE }

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'mv-storage-daemon-'))
    const repo = join(root, 'node')
    const [script] = await Promise.all([
      bundle(entry),
      (async () => {
        const init = await runNode(['init', '--repo', repo, '--listen', '/ip4/127.0.0.1/tcp/0/ws'], env)
        expect(init.code, init.stderr).toBe(0)
        const made = await runNode(['token', 'create', 'page-test', '--repo', repo], env)
        expect(made.code, made.stderr).toBe(0)
        token = made.stdout.trim()
        daemon = startDaemon(repo, await freePort(), ['--services', 'pinning,gateway'], env)
        await daemon.waitReady(240_000)
        address = await daemonAddress(daemon!, '/ws/')
      })(),
    ])
    browserPage = await openPage(script)
  }, 300_000)

  afterAll(async () => {
    await browserPage?.close()
    daemon?.kill('SIGKILL')
    await daemon?.exited
    if (root !== undefined) await rm(root, { recursive: true, force: true })
  }, 60_000)

  test('attack: without allowPrivateAddresses the page may not dial the loopback ws:// listener', async () => {
    expect(address).toMatch(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/ws\/p2p\/12D3/)
    const result = await browserPage!.page.evaluate(
      (a) => (globalThis as unknown as Dial).dial({ address: a, allowPrivateAddresses: false }),
      address,
    )
    expect(result.ok).toBe(false)
    expect(result.error?.name).toBe('DialDeniedError')
  }, 60_000)

  test('default: with it the page connects; the node pins what the page stored, and serves it after the page is gone', async () => {
    const { page } = browserPage!
    const dialled = await page.evaluate(
      (a) => (globalThis as unknown as Dial).dial({ address: a, allowPrivateAddresses: true }),
      address,
    )
    expect(dialled).toEqual({ ok: true })
    const text = `stored in a page, pinned by a node ${Date.now()}`
    const cid = await page.evaluate((t) => (globalThis as unknown as Dial).put(t), text)

    // The Pinning Service API, as an app's backend would call it: no origins (a page has no address to
    // dial), so the node finds the blocks on the connection the page opened.
    const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
    const posted = await fetch(`${daemon!.url}/pins`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ cid, name: 'from a page' }),
    })
    expect(posted.status).toBe(202)
    const { requestid } = (await posted.json()) as { requestid: string }
    let status = ''
    for (const until = Date.now() + 60_000; Date.now() < until; ) {
      const res = await fetch(`${daemon!.url}/pins/${requestid}`, { headers: auth })
      status = ((await res.json()) as { status: string }).status
      if (status === 'pinned' || status === 'failed') break
      await new Promise((r) => setTimeout(r, 200))
    }
    expect(status).toBe('pinned')

    // The page is gone; a reader (another storage, with the node's gateway only) still gets the bytes.
    await page.close()
    await using reader = await createStorage({ gateways: [daemon!.url] })
    const parts: Uint8Array[] = []
    for await (const part of reader.get(cid)) parts.push(part)
    expect(Buffer.concat(parts).toString('utf8')).toBe(text)
  }, 120_000)
})

interface Dial {
  dial(init: {
    address: string
    allowPrivateAddresses: boolean
  }): Promise<{ ok: boolean; error?: { name: string; message: string } }>
  put(text: string): Promise<string>
}
