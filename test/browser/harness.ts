/**
 * Runs code in a real Chromium (Debian's, through playwright-core): bundles an entry module with Vite,
 * serves it from a throw-away HTTP server on 127.0.0.1, and loads it in a fresh headless page.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { type Browser, chromium, type Page } from 'playwright-core'
import { build, type Rolldown } from 'vite'

/**
 * The Chromium binary, or undefined when this machine has none (browser tests then skip on a developer's
 * machine). In CI (`CI=true`) a missing browser is an error, never a silent skip: the test script installs
 * Debian's chromium, so its absence means that step broke.
 */
export const chromiumPath: string | undefined = [process.env.MEDVAULT_CHROMIUM, '/usr/bin/chromium'].find(
  (p): p is string => p !== undefined && p !== '' && existsSync(p),
)
if (chromiumPath === undefined && process.env.CI === 'true') {
  throw new Error(
    'CI=true but no Chromium at /usr/bin/chromium or $MEDVAULT_CHROMIUM: browser tests cannot run.',
  )
}

/** Bundles `source` (an ES module; bare imports resolve from the repo root) into one browser script. */
export async function bundle(source: string): Promise<string> {
  const dir = mkdtempSync(join(import.meta.dirname, '.bundle-'))
  try {
    const entry = join(dir, 'entry.ts')
    writeFileSync(entry, source)
    const out = await build({
      configFile: false,
      logLevel: 'silent',
      root: dir,
      build: {
        write: false,
        minify: false,
        target: 'es2022',
        rollupOptions: { input: entry, output: { format: 'es', codeSplitting: false } },
      },
    })
    const outputs = (Array.isArray(out) ? out : [out]) as Rolldown.RolldownOutput[]
    const chunk = outputs.flatMap((o) => o.output).find((c) => c.type === 'chunk')
    if (chunk === undefined || chunk.type !== 'chunk') throw new Error('vite produced no chunk')
    return chunk.code
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

export interface BrowserPage {
  page: Page
  close(): Promise<void>
}

/** Serves `script` as a module on 127.0.0.1 and opens it in headless Chromium; resolves once loaded. */
export async function openPage(script: string): Promise<BrowserPage> {
  if (chromiumPath === undefined) throw new Error('no chromium on this machine')
  const html = '<!doctype html><meta charset="utf-8"><script type="module" src="/entry.js"></script>'
  const server: Server = createServer((req, res) => {
    if (req.url === '/entry.js') {
      res.writeHead(200, { 'content-type': 'text/javascript' }).end(script)
    } else {
      res.writeHead(200, { 'content-type': 'text/html' }).end(html)
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  let browser: Browser | undefined
  try {
    browser = await chromium.launch({
      executablePath: chromiumPath,
      // A closed network: background networking would only produce refused connections.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    })
    const page = await browser.newPage()
    await page.goto(`http://127.0.0.1:${port}/`)
    await page.waitForFunction(() => (globalThis as { ready?: boolean }).ready === true)
    const b = browser
    return {
      page,
      async close() {
        await b.close()
        server.close()
      },
    }
  } catch (err) {
    await browser?.close()
    server.close()
    throw err
  }
}
