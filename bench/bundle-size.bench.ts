/**
 * What a browser app downloads: the patient portal and each medvault package's browser entry, bundled by Vite
 * (Rolldown, minified, browser export conditions, one chunk per entry, dynamic imports inlined) and measured
 * raw and gzipped (level 9), against baselines bundled the same way in the same run: viem alone and Helia
 * alone (the two libraries the chain and storage entries build on), viem both whole and as an app calling
 * contracts imports it.
 *
 * Each entry is `import * as m from '<specifier>'` kept alive whole, so the figure is the entry's full
 * weight; an app importing a few functions pays less (tree-shaking). The portal is built with its own
 * vite.config.ts (code splitting as in production) and counted as the sum of its JavaScript and CSS.
 *
 * Run: `npx -y pnpm@10 bench bundle-size` (or `npx -y pnpm@10 exec node bench/bundle-size.bench.ts` after a
 * build).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import { build, type Rolldown } from 'vite'
import { printTable, type Row, writeResults } from './lib.ts'

interface Size {
  raw: number
  gzip: number
}

const gz = (bytes: Uint8Array) => gzipSync(bytes, { level: 9 }).length

/** One entry module (its source), bundled into a single minified chunk for browsers. */
async function bundleSize(source: string): Promise<Size> {
  // Inside bench/ so that bare imports resolve from the workspace root's node_modules.
  const dir = mkdtempSync(join(import.meta.dirname, '.bundle-'))
  try {
    const entry = join(dir, 'entry.js')
    writeFileSync(entry, source)
    const out = await build({
      configFile: false,
      logLevel: 'silent',
      root: dir,
      build: {
        write: false,
        minify: true,
        target: 'es2022',
        rollupOptions: { input: entry, output: { format: 'es', codeSplitting: false } },
      },
    })
    const outputs = (Array.isArray(out) ? out : [out]) as Rolldown.RolldownOutput[]
    let raw = 0
    let gzip = 0
    for (const file of outputs.flatMap((o) => o.output)) {
      const bytes =
        file.type === 'chunk'
          ? new TextEncoder().encode(file.code)
          : typeof file.source === 'string'
            ? new TextEncoder().encode(file.source)
            : file.source
      raw += bytes.length
      gzip += gz(bytes)
    }
    return { raw, gzip }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

/** The portal as `vite build` makes it with its own configuration. */
async function portalSize(): Promise<Size & { files: number }> {
  const root = join(import.meta.dirname, '..', 'examples', 'patient-portal')
  const outDir = mkdtempSync(join(import.meta.dirname, '.portal-'))
  try {
    await build({
      root,
      configFile: join(root, 'vite.config.ts'),
      logLevel: 'silent',
      build: { outDir, emptyOutDir: true },
    })
    const assets = join(outDir, 'assets')
    let raw = 0
    let gzip = 0
    let files = 0
    for (const name of readdirSync(assets)) {
      const bytes = readFileSync(join(assets, name))
      raw += bytes.length
      gzip += gz(bytes)
      files++
    }
    return { raw, gzip, files }
  } finally {
    rmSync(outDir, { recursive: true, force: true })
  }
}

const kb = (n: number) => Math.round(n / 102.4) / 10

const whole = (specifier: string) => `import * as m from '${specifier}'\nglobalThis.__entry = m\n`
// What an app on viem alone needs to talk to contracts: clients, transports, a local account, contract calls.
const viemClient = `import { createPublicClient, createWalletClient, custom, http, getContract, parseAbi } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
globalThis.__entry = { createPublicClient, createWalletClient, custom, http, getContract, parseAbi, privateKeyToAccount }
`

const baselines: Array<[string, string, string]> = [
  ['viem, whole (baseline)', 'viem', whole('viem')],
  ['viem, clients + contracts (baseline)', 'viem-client', viemClient],
  ['helia, whole (baseline)', 'helia', whole('helia')],
]
const entries: Array<[string, string, string | undefined]> = [
  ['@medvault/crypto', '@medvault/crypto', undefined],
  ['@medvault/crypto/umbral', '@medvault/crypto/umbral', undefined],
  ['@medvault/protocol', '@medvault/protocol', undefined],
  ['@medvault/chain', '@medvault/chain', 'viem-client'],
  ['@medvault/storage (browser)', '@medvault/storage', 'helia'],
  ['@medvault/fhir', '@medvault/fhir', undefined],
  ['@medvault/sdk (browser)', '@medvault/sdk', 'viem-client'],
]

const signed = (n: number) => `${n < 0 ? '−' : '+'}${Math.abs(kb(n))}`
const sizes = new Map<string, Size>()
const rows: Row[] = []
for (const [label, key, source] of baselines) {
  const size = await bundleSize(source)
  sizes.set(key, size)
  rows.push({ entry: label, 'raw KiB': kb(size.raw), 'gzip KiB': kb(size.gzip), 'gzip vs baseline': '' })
}
for (const [label, specifier, over] of entries) {
  const size = await bundleSize(whole(specifier))
  sizes.set(specifier, size)
  const base = over === undefined ? undefined : sizes.get(over)
  rows.push({
    entry: label,
    'raw KiB': kb(size.raw),
    'gzip KiB': kb(size.gzip),
    'gzip vs baseline': base === undefined ? '' : `${signed(size.gzip - base.gzip)} vs ${over}`,
  })
}
// What every app on the SDK in a browser bundles: the SDK and a storage (createVault takes one).
const sdkAndStorage = await bundleSize(
  "import * as a from '@medvault/sdk'\nimport * as b from '@medvault/storage'\nglobalThis.__entry = { a, b }\n",
)
rows.push({
  entry: '@medvault/sdk + @medvault/storage',
  'raw KiB': kb(sdkAndStorage.raw),
  'gzip KiB': kb(sdkAndStorage.gzip),
  'gzip vs baseline': '',
})
const portal = await portalSize()
rows.push({
  entry: `patient portal (${portal.files} files)`,
  'raw KiB': kb(portal.raw),
  'gzip KiB': kb(portal.gzip),
  'gzip vs baseline': `${signed(portal.gzip - sdkAndStorage.gzip)} vs sdk + storage`,
})

const table = {
  title: 'Browser bundle sizes (Vite, minified, browser conditions; KiB = 1024 bytes)',
  rows,
  notes: [
    'Each medvault entry is bundled whole (import * as m); the Umbral WebAssembly backend is embedded (base64) in ' +
      'every entry that imports @medvault/crypto/umbral. viem-client: createPublicClient, createWalletClient, ' +
      'http, custom, getContract, parseAbi and privateKeyToAccount (what an app on viem alone needs for contract ' +
      'calls). gzip level 9. The portal is the sum of the JS and CSS assets `vite build` writes.',
  ],
}
printTable(table)
console.log(`\nresults: ${writeResults('bundle-size', [table])}`)
