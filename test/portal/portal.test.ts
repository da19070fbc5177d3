/**
 * The patient portal end to end, in real headless Chromium against real local services: `medvault devnet`
 * (anvil with the contracts, three HTTP re-encryption proxies, the shared store) as a child process, the
 * portal built by Vite and served by `vite preview` on 127.0.0.1, and a clinician using the `medvault` CLI.
 *
 * The patient, in the page, uploads a FHIR Bundle and grants the clinician TREAT access through 2 of the 3
 * proxies; the clinician reads it byte for byte with `medvault read`; the page's audit shows the read (the
 * proxies' signed receipts); the patient revokes in the page; the clinician's next read is refused (exit 5);
 * last, a break-glass window is authorised and opened, and the audit shows it.
 * Then a second page with an injected EIP-1193 wallet (anvil's unlocked account behind it) stores a record as
 * that wallet's account.
 *
 * On failure the page's screenshot goes to $MEDVAULT_ARTIFACTS (default: <tmp>/medvault-artifacts). With
 * MEDVAULT_PORTAL_DOCS_IMAGES=1 the screenshot of each screen is also written to docs/images/portal-*.png.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createVault, type VaultChainInit } from '@medvault/sdk'
import { createStorage } from '@medvault/storage'
import { type Browser, chromium, type Page } from 'playwright-core'
import { defineChain, type Hex, http } from 'viem'
import type { PreviewServer } from 'vite'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { keyItem, uploadingStorage } from '../../examples/patient-portal/src/session.ts'
import { chromiumPath } from '../browser/harness.ts'
import {
  buildPortal,
  type Devnet,
  type ProxyNodes,
  previewPortal,
  runCli,
  setUpProxyNodes,
  startDevnet,
} from './services.ts'

const BUNDLE = fileURLToPath(new URL('../../examples/demo/data/patient-bundle.json', import.meta.url))
const DOCS_IMAGES = fileURLToPath(new URL('../../docs/images/', import.meta.url))
const ARTIFACTS = process.env.MEDVAULT_ARTIFACTS ?? join(tmpdir(), 'medvault-artifacts')
const PASSPHRASE = 'a test passphrase, never a real one'

/** Waits for all (so that afterAll finds every started service to stop), then throws the first failure. */
async function settled(work: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(work)).find((r) => r.status === 'rejected')
  if (failed !== undefined) throw failed.reason
}

describe.skipIf(chromiumPath === undefined)('the patient portal in Chromium', () => {
  let root: string
  let devnet: Devnet | undefined
  let nodes: ProxyNodes | undefined
  let dist: string
  let portal: PreviewServer | undefined
  let browser: Browser | undefined
  let page: Page
  let url: string
  let clinic: { env: NodeJS.ProcessEnv; address: string }

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'medvault-portal-'))
    const addresses = join(root, 'net.json')
    dist = join(root, 'dist')
    // The build needs no network: it runs while the devnet starts.
    await settled([
      startDevnet(addresses, 3).then((d) => {
        devnet = d
      }),
      buildPortal(dist),
    ])
    const clinicEnv = {
      MEDVAULT_HOME: join(root, 'clinic'),
      MEDVAULT_ADDRESSES: addresses,
      MEDVAULT_PASSPHRASE: PASSPHRASE,
    }
    // The clinic makes its identity and publishes its keys (so the patient can grant to its address) while
    // the portal is served and Chromium starts.
    const clinicReady = (async () => {
      const made = await runCli(['identity', 'new', '--json'], clinicEnv)
      expect(made.code, made.stderr).toBe(0)
      const published = await runCli(['identity', 'publish'], clinicEnv)
      expect(published.code, published.stderr).toBe(0)
      return (JSON.parse(made.stdout) as { address: string }).address
    })()
    const launched = chromium.launch({
      executablePath: chromiumPath!,
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-sync',
      ],
    })
    await settled([
      // Two medvault-node operators, set up from their command line as a proxy set (started by their test).
      setUpProxyNodes(join(root, 'nodes'), devnet!, 2).then((n) => {
        nodes = n
      }),
      clinicReady.then((address) => {
        clinic = { env: clinicEnv, address }
      }),
      previewPortal(dist, addresses).then((s) => {
        portal = s
      }),
      launched.then((b) => {
        browser = b
      }),
    ])
    url = portal!.resolvedUrls!.local[0]!
    page = await browser!.newPage({ viewport: { width: 1100, height: 760 } })
  }, 420_000)

  afterAll(async () => {
    await browser?.close()
    await portal?.close()
    await nodes?.stop()
    await devnet?.stop()
    if (root !== undefined) rmSync(root, { recursive: true, force: true })
  }, 30_000)

  /** Waits for `selector`, or fails with the portal's error line if it shows one first. */
  async function until(selector: string, on: Page = page): Promise<void> {
    const error = '#status[data-state="error"]'
    const hit = await on.waitForSelector(`${selector}, ${error}`, { timeout: 60_000 })
    if (await hit.evaluate((el, e) => el.matches(e), error)) {
      throw new Error(`the portal shows an error: ${await hit.textContent()}`)
    }
  }

  async function open(screen: string, on: Page = page): Promise<void> {
    await on.click(`nav a[href="#${screen}"]`)
    await until(`body[data-rendered="${screen}"]`, on)
  }

  async function shot(screen: string): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true })
    await page.screenshot({ path: join(ARTIFACTS, `portal-${screen}.png`), fullPage: true })
    if (process.env.MEDVAULT_PORTAL_DOCS_IMAGES === '1') {
      mkdirSync(DOCS_IMAGES, { recursive: true })
      await page.screenshot({ path: join(DOCS_IMAGES, `portal-${screen}.png`), fullPage: true })
    }
  }

  /** Break-glass for the clinician on `recordId`: authorised by the page's account, opened by the clinician. */
  async function emergency(recordId: Hex): Promise<void> {
    const file = JSON.parse(readFileSync(devnet!.file, 'utf8')) as {
      chainId: number
      rpcUrl: string
      addresses: VaultChainInit['addresses']
      deployBlock: string
      proxySet: number
      store: string
    }
    const chain = defineChain({
      id: file.chainId,
      name: 'medvault devnet',
      nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
      rpcUrls: { default: { http: [file.rpcUrl] } },
    })
    // The page keeps its key in localStorage (a devnet portal without a wallet), under this network's entry.
    const item = keyItem({ chainId: file.chainId, addresses: file.addresses })
    const patientKey = (await page.evaluate((name) => localStorage.getItem(name), item)) as Hex
    expect(patientKey).toMatch(/^0x[0-9a-f]{64}$/)
    const shown = await runCli(['identity', 'show', '--reveal', '--json'], clinic.env)
    expect(shown.code, shown.stderr).toBe(0)
    const clinicKey = (JSON.parse(shown.stdout) as { privateKey: Hex }).privateKey

    // The page stored the record in the devnet's shared store; the patient's vault reads its envelope there,
    // and stores the break-glass grant's kfrag bundle there too (as the page does): the proxies, and every
    // daemon following the chain, fetch it from the store.
    await using local = await createStorage({ gateways: [file.store] })
    const storage = uploadingStorage(local, file.store)
    const vaultOf = (account: Hex) =>
      createVault({
        account,
        chain: {
          transport: http(file.rpcUrl),
          chain,
          addresses: file.addresses,
          deployBlock: BigInt(file.deployBlock),
        },
        storage,
      })
    const patient = await vaultOf(patientKey)
    const clinician = await vaultOf(clinicKey)
    const grant = await patient.breakGlass.authorize({
      to: clinic.address as Hex,
      records: [recordId],
      purpose: 'ETREAT',
      expiresIn: '1d',
      maxWindow: '1h',
      threshold: 2,
      proxySet: file.proxySet,
    })
    await clinician.breakGlass.open({ grant: grant.id, record: recordId, reason: 'ETREAT' })
  }

  test('default: upload → grant → the clinician reads (CLI) → audit shows it → revoke → refused', async () => {
    try {
      await page.goto(`${url}#records`)
      await until('body[data-rendered="records"]')
      const patient = (await page.getAttribute('body', 'data-address'))!
      expect(patient).toMatch(/^0x[0-9a-fA-F]{40}$/)

      // Upload: encrypted in the page, blocks uploaded to the devnet's store, registered on chain.
      await open('upload')
      await page.setInputFiles('input[name="file"]', BUNDLE)
      await page.fill('input[name="tag"]', 'summary')
      await page.click('form button[type="submit"]')
      await until('[data-testid="upload-result"][data-record]')
      const recordId = (await page.getAttribute('[data-testid="upload-result"]', 'data-record')) as Hex
      expect(recordId).toMatch(/^0x[0-9a-f]{64}$/)
      await shot('upload')

      // My records: listed from the chain, opened (decrypted) in the page.
      await open('records')
      await page.click(`button[data-record="${recordId}"]`)
      await until('[data-testid="record-view"]:not(:empty)')
      expect(await page.textContent('[data-testid="records"]')).toContain('patient-bundle.json')
      expect(JSON.parse((await page.textContent('[data-testid="record-view"]'))!)).toEqual(
        JSON.parse(readFileSync(BUNDLE, 'utf8')),
      )
      await shot('records')

      // Grant: TREAT for 30 days through 2 of the 3 proxies.
      await open('grant')
      await page.selectOption('select[name="record"]', recordId)
      await page.fill('input[name="to"]', clinic.address)
      await page.selectOption('select[name="purpose"]', 'TREAT')
      await page.fill('input[name="expires"]', '30d')
      await page.fill('input[name="threshold"]', '2')
      await page.click('form button[type="submit"]')
      await until('[data-testid="grant-result"][data-grant]')
      const grantId = (await page.getAttribute('[data-testid="grant-result"]', 'data-grant'))!
      await shot('grant')

      // The clinician reads it from the command line, through the proxies: the bytes the patient uploaded.
      const out = join(root, 'read.json')
      const read = await runCli(['read', recordId, '-o', out], clinic.env)
      expect(read.code, read.stderr).toBe(0)
      expect(readFileSync(out)).toEqual(readFileSync(BUNDLE))

      // Audit: the grant and the clinician's read (from the proxies' signed receipts).
      await open('audit')
      expect(await page.locator('[data-kind="read"]').count()).toBeGreaterThanOrEqual(1)
      expect(await page.locator('[data-kind="grant"]').count()).toBe(1)
      expect(await page.textContent('[data-testid="audit"]')).toContain(clinic.address.slice(0, 8))

      // Revoke in the page.
      await open('grants')
      await until(`button[data-revoke="${grantId}"]`)
      await shot('grants')
      await page.click(`button[data-revoke="${grantId}"]`)
      await until('[data-testid="grants"] [data-state="revoked"]')

      // The clinician is refused from now on: exit code 5, a one-line reason naming the revocation.
      const refused = await runCli(['read', recordId], clinic.env)
      expect(refused.code, refused.stderr).toBe(5)
      expect(refused.stderr).toMatch(/revoked/i)
      expect(refused.stdout).toBe('')

      // Last: an emergency. The patient pre-authorises break-glass access (ETREAT, windows of at most an
      // hour) for the clinician through the SDK, and the clinician opens a window.
      await emergency(recordId)
      await open('audit')
      const audit = (await page.textContent('[data-testid="audit"]'))!
      // Two grants: TREAT, and the break-glass authorisation (a grant, dormant until a window opens).
      expect(await page.locator('[data-kind="grant"]').count()).toBe(2)
      expect(await page.locator('[data-kind="revocation"]').count()).toBe(1)
      expect(await page.locator('[data-kind="break-glass"]').count()).toBe(1)
      expect(audit).toContain('BREAK-GLASS ETREAT')
      await shot('audit')
    } catch (err) {
      mkdirSync(ARTIFACTS, { recursive: true })
      const file = join(ARTIFACTS, `portal-failure-${Date.now()}.png`)
      await page.screenshot({ path: file, fullPage: true }).catch(() => {})
      throw new Error(`${(err as Error).message}\n(screenshot: ${file})`, { cause: err })
    }
  }, 240_000)

  test("behavior: with an injected wallet the page acts as the wallet's account, keys from its signature", async () => {
    // The wallet is anvil itself: its unlocked dev accounts sign typed data (the key-derivation signature) and
    // send transactions over JSON-RPC, as an EIP-1193 provider in the page forwards them.
    const walletPage = await browser!.newPage()
    try {
      await walletPage.addInitScript({
        content: `
          const rpc = ${JSON.stringify(devnet!.network.rpcUrl)}
          const call = async (method, params) => {
            const res = await fetch(rpc, { method: 'POST', headers: { 'content-type': 'application/json' },
              body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }) })
            const body = await res.json()
            if (body.error) throw Object.assign(new Error(body.error.message), { code: body.error.code })
            return body.result
          }
          window.ethereum = {
            request: async ({ method, params }) =>
              method === 'eth_requestAccounts' ? [(await call('eth_accounts', []))[3]] : call(method, params ?? []),
          }`,
      })
      await walletPage.goto(`${url}#upload`)
      await until('body[data-rendered="upload"]', walletPage)
      // anvil's account 3 (public test mnemonic)
      expect(await walletPage.getAttribute('body', 'data-address')).toBe(
        '0x90F79bf6EB2c4f870365E785982E1f101E93b906',
      )
      expect(await walletPage.textContent('#who')).toContain('(wallet)')
      const observation = join(root, 'observation.json')
      writeFileSync(
        observation,
        JSON.stringify({ resourceType: 'Observation', status: 'final', code: { text: 'HbA1c' } }),
      )
      await walletPage.setInputFiles('input[name="file"]', observation)
      await walletPage.click('form button[type="submit"]')
      await until('[data-testid="upload-result"][data-record]', walletPage)
      await open('records', walletPage)
      expect(await walletPage.textContent('[data-testid="records"]')).toContain('observation.json')
    } catch (err) {
      mkdirSync(ARTIFACTS, { recursive: true })
      const file = join(ARTIFACTS, `portal-wallet-failure-${Date.now()}.png`)
      await walletPage.screenshot({ path: file, fullPage: true }).catch(() => {})
      throw new Error(`${(err as Error).message}\n(screenshot: ${file})`, { cause: err })
    } finally {
      await walletPage.close()
    }
  }, 120_000)

  test('attack: the built page refuses a link that sets ?rpc or ?config to another origin, on screen', async () => {
    const linkPage = await browser!.newPage()
    try {
      // Nothing may be asked of the other origin: record any request to it.
      const asked: string[] = []
      await linkPage.route('https://evil.example/**', (route) => {
        asked.push(route.request().url())
        return route.abort()
      })
      for (const [name, value] of [
        ['rpc', 'https://evil.example/'],
        ['config', 'https://evil.example/net.json'],
      ] as const) {
        const link = new URL(url)
        link.searchParams.set(name, value)
        await linkPage.goto(`${link.href}#records`)
        await linkPage.waitForSelector('#status[data-state="error"]', { timeout: 60_000 })
        expect(await linkPage.textContent('#status')).toBe(
          `PortalOverrideRefusedError: This link points \`${name}\` to https://evil.example, not to this site. Open the portal without it.`,
        )
        expect(await linkPage.getAttribute('body', 'data-address')).toBeNull()
      }
      expect(asked).toEqual([])
      // The site's own file named in the link is taken.
      const own = new URL(url)
      own.searchParams.set('config', '/portal-config.json')
      await linkPage.goto(`${own.href}#records`)
      await until('body[data-rendered="records"]', linkPage)
      expect(await linkPage.getAttribute('body', 'data-address')).toMatch(/^0x[0-9a-fA-F]{40}$/)
    } catch (err) {
      mkdirSync(ARTIFACTS, { recursive: true })
      const file = join(ARTIFACTS, `portal-link-failure-${Date.now()}.png`)
      await linkPage.screenshot({ path: file, fullPage: true }).catch(() => {})
      throw new Error(`${(err as Error).message}\n(screenshot: ${file})`, { cause: err })
    } finally {
      await linkPage.close()
    }
  }, 120_000)

  test('behavior: with medvault-node daemons only: the page dials them over ws://127.0.0.1; upload → grant → the clinician reads via the daemons → revoke → refused', async () => {
    const peers = await nodes!.start()
    // The page's network: the devnet's chain, the daemons' proxy set, the daemons as libp2p peers, no store. A
    // same-origin file named by ?config=, which a built page takes; it marks a devnet, so the page may dial
    // the daemons' loopback ws:// listeners.
    const { store: _store, ...chain } = devnet!.network
    writeFileSync(join(dist, 'daemons.json'), JSON.stringify({ ...chain, proxySet: nodes!.proxySet, peers }))
    // The clinician reads the blocks from a daemon's trustless gateway (the CLI reads blocks from its network
    // file's `store`, as from any gateway), and asks the daemons' proxies named by the grant.
    const clinicNetwork = join(root, 'clinic-daemons.json')
    writeFileSync(
      clinicNetwork,
      JSON.stringify({ ...chain, proxySet: nodes!.proxySet, store: nodes!.daemons[0]!.url }),
    )
    const clinicEnv = { ...clinic.env, MEDVAULT_ADDRESSES: clinicNetwork }
    /** Each daemon's chain follower: what it pinned, once it has nothing left to do. */
    const settledPins = async () => {
      for (const until = Date.now() + 90_000; ; ) {
        const counts = await Promise.all(nodes!.daemons.map(async (d) => (await d.status()).pins.follower))
        for (const c of counts) expect(c.failed).toBe(0)
        if (counts.every((c) => c.queued === 0 && c.pinning === 0)) return counts.map((c) => c.pinned)
        if (Date.now() > until)
          throw new Error(`the daemons' followers did not settle: ${JSON.stringify(counts)}`)
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    /** Every daemon pinned `n` more CIDs than `before` (records registered earlier came from the store). */
    const pinnedMore = async (before: number[], n: number) => {
      for (const until = Date.now() + 90_000; ; ) {
        const now = await settledPins()
        if (now.every((p, i) => p >= before[i]! + n)) return now
        if (Date.now() > until) throw new Error(`the daemons pinned ${now}, expected ${before} + ${n}`)
        await new Promise((r) => setTimeout(r, 200))
      }
    }
    const before = await settledPins()

    const nodePage = await browser!.newPage({ viewport: { width: 1100, height: 760 } })
    // Nothing may go to the devnet's store: whatever the clinician reads came from the daemons.
    const storeRequests: string[] = []
    nodePage.on('request', (r) => {
      if (new URL(r.url()).pathname.startsWith('/store/')) storeRequests.push(r.url())
    })
    try {
      const link = new URL(url)
      link.searchParams.set('config', '/daemons.json')
      await nodePage.goto(`${link.href}#upload`)
      await until('body[data-rendered="upload"]', nodePage)
      await nodePage.setInputFiles('input[name="file"]', BUNDLE)
      await nodePage.click('form button[type="submit"]')
      await until('[data-testid="upload-result"][data-record]', nodePage)
      const recordId = (await nodePage.getAttribute('[data-testid="upload-result"]', 'data-record')) as Hex
      // The daemons' followers saw the record on chain and fetched its envelope and content from the page,
      // over the connection the page opened (a page cannot be dialled).
      const afterUpload = await pinnedMore(before, 2)

      await open('grant', nodePage)
      await nodePage.selectOption('select[name="record"]', recordId)
      await nodePage.fill('input[name="to"]', clinic.address)
      await nodePage.selectOption('select[name="purpose"]', 'TREAT')
      await nodePage.fill('input[name="expires"]', '30d')
      await nodePage.fill('input[name="threshold"]', '2')
      await nodePage.click('form button[type="submit"]')
      await until('[data-testid="grant-result"][data-grant]', nodePage)
      const grantId = (await nodePage.getAttribute('[data-testid="grant-result"]', 'data-grant'))!
      await pinnedMore(afterUpload, 1)

      // Both daemons re-encrypt (2 of 2) and the first serves the blocks: the bytes the patient uploaded.
      const out = join(root, 'read-via-daemons.json')
      const read = await runCli(['read', recordId, '-o', out], clinicEnv)
      expect(read.code, read.stderr).toBe(0)
      expect(readFileSync(out)).toEqual(readFileSync(BUNDLE))

      // The audit screen fetched the daemons' signed receipts.
      await open('audit', nodePage)
      expect(await nodePage.locator('[data-kind="read"]').count()).toBeGreaterThanOrEqual(1)

      await open('grants', nodePage)
      await until(`button[data-revoke="${grantId}"]`, nodePage)
      await nodePage.click(`button[data-revoke="${grantId}"]`)
      await until('[data-testid="grants"] [data-state="revoked"]', nodePage)
      const refused = await runCli(['read', recordId], clinicEnv)
      expect(refused.code, refused.stderr).toBe(5)
      expect(refused.stderr).toMatch(/revoked/i)
      expect(storeRequests).toEqual([])
    } catch (err) {
      mkdirSync(ARTIFACTS, { recursive: true })
      const file = join(ARTIFACTS, `portal-daemons-failure-${Date.now()}.png`)
      await nodePage.screenshot({ path: file, fullPage: true }).catch(() => {})
      const logs = nodes!.daemons.map((d, i) => `daemon ${i}:\n${d.lines.slice(-30).join('\n')}`).join('\n')
      throw new Error(`${(err as Error).message}\n(screenshot: ${file})\n${logs}`, { cause: err })
    } finally {
      await nodePage.close()
    }
  }, 420_000)
})
