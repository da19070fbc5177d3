/**
 * What an app developer meets first: every publishable package packed as it would be published (`pnpm pack`
 * rewrites `workspace:` and `catalog:` ranges), installed from the tarballs into a fresh npm project with npm's
 * default behaviour, typechecked there with the oldest TypeScript that docs/install.md supports, and the SDK
 * README's example run there as that README says. The install footprint is printed and held to a budget.
 *
 * Slow by nature (a real `npm install` of some 600 packages; the npm cache in node_modules/.cache makes
 * the next run faster), so it is one file whose steps share one project and run in order.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs'
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { dirname, join, relative, resolve } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const ROOT = resolve(import.meta.dirname, '../..')
const REPOSITORY = 'git+https://github.com/medvault/medvault.git'
/** The oldest TypeScript docs/install.md supports: Helia's and libp2p's types need 5.7's generic Uint8Array. */
const MIN_TYPESCRIPT = '~5.7.0'
const MB = 1024 * 1024
/**
 * Budgets in MB of files under node_modules (apparent size) for an app that installs the SDK and viem. npm
 * also installs react-native (≈140 MB) because @libp2p/webrtc, which every Helia package depends on, depends
 * on react-native-webrtc, whose peer react-native npm installs by default; `--omit=peer` leaves it out (see
 * docs/install.md). Measured 334 and 197 with npm 11: the budgets leave some 8–10 % headroom.
 */
const BUDGET_MB = 365
const BUDGET_WITHOUT_PEER_ONLY_MB = 215

const MINUTE = 60_000
const packages = readdirSync(join(ROOT, 'packages'))
  .filter((dir) => existsSync(join(ROOT, 'packages', dir, 'package.json')))
  .map((dir) => ({ dir, manifest: readJson(join(ROOT, 'packages', dir, 'package.json')) }))
  .filter(({ manifest }) => manifest.private !== true)

interface Manifest {
  name: string
  version: string
  private?: boolean
  repository?: { url?: string; directory?: string }
  homepage?: string
  bugs?: { url?: string }
  keywords?: string[]
  engines?: { node?: string }
  exports?: Record<string, Record<string, string>>
  bin?: Record<string, string>
  [field: string]: unknown
}

function readJson(file: string): Manifest {
  return JSON.parse(readFileSync(file, 'utf8'))
}

/**
 * Child processes get a clean environment: no NODE_PATH (the workspace's node shim sets one that would let
 * the consumer resolve the workspace's own packages) and no npm_* variables that pnpm exports to scripts.
 */
function cleanEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [key, value] of Object.entries(process.env)) {
    if (/^(npm_|pnpm_)/i.test(key) || key === 'NODE_PATH' || key === 'NODE_OPTIONS') continue
    env[key] = value
  }
  return env
}

interface RunResult {
  code: number
  stdout: string
  stderr: string
}

function run(cmd: string, args: string[], cwd: string, timeout = 10 * MINUTE): Promise<RunResult> {
  return new Promise((resolvePromise) => {
    execFile(cmd, args, { cwd, env: cleanEnv(), timeout, maxBuffer: 64 * MB }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : 1
      resolvePromise({ code, stdout, stderr: err !== null && stderr === '' ? String(err) : stderr })
    })
  })
}

async function ok(cmd: string, args: string[], cwd: string, timeout?: number): Promise<string> {
  const r = await run(cmd, args, cwd, timeout)
  if (r.code !== 0) {
    throw new Error(
      `${cmd} ${args.join(' ')} exited ${r.code}\n${r.stdout.slice(-4000)}\n${r.stderr.slice(-4000)}`,
    )
  }
  return r.stdout
}

function walk(dir: string, out: string[] = []): string[] {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name)
    if (entry.isDirectory()) walk(path, out)
    else if (entry.isFile()) out.push(path)
  }
  return out
}

function sizeOf(dir: string): number {
  let total = 0
  for (const file of walk(dir)) total += statSync(file).size
  return total
}

let work: string
let app: string
const tarballs = new Map<string, string>()
const extracted = new Map<string, string>()
const npmCache = join(ROOT, 'node_modules/.cache/medvault-pack-npm')
const npmFlags = ['--no-audit', '--no-fund', '--prefer-offline', '--cache', npmCache]

beforeAll(async () => {
  expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24) // `await using` in the example
  for (const { dir } of packages) {
    if (!existsSync(join(ROOT, 'packages', dir, 'dist/index.js'))) {
      throw new Error(`packages/${dir}/dist is missing: run \`pnpm build\` before this test`)
    }
  }
  await ok('npm', ['--version'], ROOT) // npm on PATH, as an app developer has it
  work = await mkdtemp(join(tmpdir(), 'medvault-pack-'))
  app = join(work, 'app')
  await mkdir(join(work, 'tarballs'))
  await mkdir(app)
  // One recursive pack, as a release would run it; private packages are left out.
  await ok(
    'npx',
    ['-y', 'pnpm@10', '-r', '--filter', './packages/*', 'pack', '--pack-destination', join(work, 'tarballs')],
    ROOT,
  )
  for (const { dir, manifest } of packages) {
    const file = join(
      work,
      'tarballs',
      `${manifest.name.replace('@', '').replace('/', '-')}-${manifest.version}.tgz`,
    )
    if (!existsSync(file)) throw new Error(`pnpm pack made no ${file}`)
    tarballs.set(manifest.name, file)
    const into = join(work, 'extracted', dir)
    await mkdir(into, { recursive: true })
    await ok('tar', ['-xzf', file, '-C', into], work)
    extracted.set(manifest.name, join(into, 'package'))
  }
}, 5 * MINUTE)

afterAll(async () => {
  if (work !== undefined) await rm(work, { recursive: true, force: true })
})

describe('tarballs', () => {
  test('default: every package is packed', () => {
    expect(packages.length).toBeGreaterThanOrEqual(9)
    expect([...tarballs.keys()].sort()).toEqual(packages.map((p) => p.manifest.name).sort())
  })

  test.each(packages.map((p) => [p.manifest.name, p.dir] as const))(
    'behavior: %s ships its licence, metadata, and only files that resolve',
    (name, dir) => {
      const pkg = extracted.get(name)!
      const files = walk(pkg).map((f) => relative(pkg, f))
      expect(readFileSync(join(pkg, 'LICENSE'), 'utf8')).toMatch(/^MIT License/)

      const manifest = readJson(join(pkg, 'package.json'))
      expect(JSON.stringify(manifest)).not.toMatch(/"(workspace|catalog):/)
      expect(manifest.repository).toEqual({ type: 'git', url: REPOSITORY, directory: `packages/${dir}` })
      expect(manifest.homepage).toMatch(/^https:\/\/github\.com\/medvault\/medvault\//)
      expect(manifest.bugs?.url).toBe('https://github.com/medvault/medvault/issues')
      expect(manifest.keywords?.length).toBeGreaterThan(0)
      expect(manifest.engines?.node).toBe('>=22')
      expect(manifest.license).toBe('MIT')

      expect(files.filter((f) => /\.(test|bench)\.|(^|\/)__snapshots__\//.test(f))).toEqual([])
      // README links must work on npm, where ../../docs does not exist.
      expect(readFileSync(join(pkg, 'README.md'), 'utf8').match(/\]\((\.\.?\/|src\/)[^)]*\)/g) ?? []).toEqual(
        [],
      )

      const targets = [
        ...Object.values(manifest.exports ?? {}).flatMap((conditions) => Object.values(conditions)),
        ...Object.values(manifest.bin ?? {}),
      ]
      expect(targets.length).toBeGreaterThan(0)
      expect(targets.filter((t) => !existsSync(join(pkg, t)))).toEqual([])

      // Source maps and declaration maps may only point at sources that ship.
      const dangling: string[] = []
      for (const map of files.filter((f) => f.endsWith('.map'))) {
        const { sources, sourceRoot } = JSON.parse(readFileSync(join(pkg, map), 'utf8')) as {
          sources: string[]
          sourceRoot?: string
        }
        for (const source of sources) {
          const path = resolve(dirname(join(pkg, map)), sourceRoot ?? '', source)
          if (!existsSync(path)) dangling.push(`${map} → ${source}`)
        }
      }
      // In a working tree, a map without its source is stale output of a deleted file (tsc -b never removes
      // it): a clean build (rm -rf packages/*/dist packages/*/tsconfig.tsbuildinfo; pnpm build) fixes it.
      expect(dangling).toEqual([])
    },
  )
})

describe('installed into a fresh npm project', () => {
  const sdkDeps = () => [...tarballs.entries()].filter(([name]) => name !== '@medvault/cli').map(([, f]) => f)
  const lock = () =>
    JSON.parse(readFileSync(join(app, 'package-lock.json'), 'utf8')) as {
      packages: Record<string, { peer?: boolean; dev?: boolean }>
    }

  test(
    'behavior: the SDK and viem install within the footprint budget, without anvil',
    async () => {
      await writeFile(
        join(app, 'package.json'),
        `${JSON.stringify({ name: 'medvault-app', version: '1.0.0', private: true, type: 'module' }, null, 2)}\n`,
      )
      const sdk = readJson(join(extracted.get('@medvault/sdk')!, 'package.json'))
      const viem = (sdk.peerDependencies as Record<string, string>).viem
      await ok('npm', ['install', ...npmFlags, ...sdkDeps(), `viem@${viem}`], app, 15 * MINUTE)

      const installed = lock().packages
      const names = Object.keys(installed).filter((p) => p !== '')
      expect(names.filter((p) => p.includes('@foundry-rs/anvil'))).toEqual([])
      const total = sizeOf(join(app, 'node_modules'))
      const peerOnly = names
        .filter((p) => installed[p]!.peer === true)
        .filter((p, _, peers) => !peers.some((q) => p.startsWith(`${q}/`)))
        .reduce((sum, p) => sum + (existsSync(join(app, p)) ? sizeOf(join(app, p)) : 0), 0)
      const peerOnlyCount = names.filter((p) => installed[p]!.peer === true).length
      console.info(
        `npm install of the SDK + viem: ${names.length} packages, ${(total / MB).toFixed(0)} MB in node_modules; ` +
          `of which ${peerOnlyCount} packages, ${(peerOnly / MB).toFixed(0)} MB, only as auto-installed peers ` +
          `(react-native: ${installed['node_modules/react-native']?.peer === true ? 'yes' : 'no'}; left out by --omit=peer)`,
      )
      expect(total / MB).toBeLessThanOrEqual(BUDGET_MB)
      expect((total - peerOnly) / MB).toBeLessThanOrEqual(BUDGET_WITHOUT_PEER_ONLY_MB)
    },
    16 * MINUTE,
  )

  test(
    'behavior: a consumer typechecks with the minimum TypeScript (node16 and bundler resolution)',
    async () => {
      await ok(
        'npm',
        ['install', ...npmFlags, '--save-dev', `typescript@${MIN_TYPESCRIPT}`, '@types/node@22'],
        app,
      )
      // Every entry point of every package installed so far (the CLI comes last, with anvil).
      const imports = packages
        .filter(({ manifest }) => manifest.name !== '@medvault/cli')
        .flatMap(({ manifest }) =>
          Object.keys(manifest.exports ?? {}).map((subpath) => `${manifest.name}${subpath.slice(1)}`),
        )
      await writeFile(
        join(app, 'exports.ts'),
        `${imports.map((spec, i) => `import * as m${i} from '${spec}'`).join('\n')}\n` +
          `export const all = [${imports.map((_, i) => `m${i}`).join(', ')}]\n`,
      )
      await writeFile(join(app, 'example.ts'), readmeExample())
      // skipLibCheck off: the dependencies' declarations are checked too, as a strict consumer has them.
      // `dom`: libp2p's and Helia's declarations name DOM types (EventInit, JsonWebKey).
      const compilerOptions = {
        target: 'es2022',
        module: 'node16',
        moduleResolution: 'node16',
        lib: ['es2023', 'esnext.disposable', 'dom'],
        types: ['node'],
        strict: true,
        skipLibCheck: false,
        noEmit: true,
      }
      await writeFile(
        join(app, 'tsconfig.json'),
        JSON.stringify({ compilerOptions, files: ['example.ts', 'exports.ts'] }),
      )
      await writeFile(
        join(app, 'tsconfig.bundler.json'),
        JSON.stringify({
          extends: './tsconfig.json',
          compilerOptions: { module: 'esnext', moduleResolution: 'bundler' },
        }),
      )
      const tsc = join(app, 'node_modules/typescript/bin/tsc')
      const version = await ok(process.execPath, [tsc, '--version'], app)
      expect(version).toMatch(/Version 5\.7\./)
      const [node16, bundler] = await Promise.all([
        run(process.execPath, [tsc, '-p', 'tsconfig.json'], app),
        run(process.execPath, [tsc, '-p', 'tsconfig.bundler.json'], app),
      ])
      expect(node16.stdout + node16.stderr).toBe('')
      expect(bundler.stdout + bundler.stderr).toBe('')
      expect([node16.code, bundler.code]).toEqual([0, 0])
    },
    10 * MINUTE,
  )

  test(
    'error: the devnet without @foundry-rs/anvil says how to install it',
    async () => {
      await writeFile(
        join(app, 'no-anvil.ts'),
        `import { createDevnet } from '@medvault/chain/node'
try {
  await using devnet = await createDevnet()
  console.log('started', devnet.rpcUrl)
} catch (err) {
  console.log(JSON.stringify({ name: (err as Error).name, message: (err as Error).message }))
}
`,
      )
      const out = JSON.parse(await ok(process.execPath, ['no-anvil.ts'], app, 2 * MINUTE))
      expect(out.name).toBe('AnvilNotFoundError')
      expect(out.message).toContain('npm install --save-dev @foundry-rs/anvil')
    },
    3 * MINUTE,
  )

  test(
    'behavior: the SDK README example runs after `npm install --save-dev @foundry-rs/anvil`',
    async () => {
      const readme = readFileSync(join(ROOT, 'packages/sdk/README.md'), 'utf8')
      expect(readme).toContain('npm install --save-dev @foundry-rs/anvil')
      await ok('npm', ['install', ...npmFlags, '--save-dev', '@foundry-rs/anvil'], app)
      const stdout = await ok(process.execPath, ['example.ts'], app, 5 * MINUTE)
      const lines = stdout.trim().split('\n')
      expect(lines.slice(0, 3)).toEqual(['HbA1c', 'true', 'epoch 1'])
      expect(new Set(lines.slice(3))).toEqual(new Set(['record-registered', 'grant', 'read', 'revocation']))
    },
    8 * MINUTE,
  )

  test(
    'behavior: the CLI installs from its tarball and runs',
    async () => {
      await ok('npm', ['install', ...npmFlags, tarballs.get('@medvault/cli')!], app)
      const help = await ok(
        process.execPath,
        [join(app, 'node_modules/@medvault/cli/dist/bin.js'), '--help'],
        app,
      )
      expect(help).toContain('devnet')
      expect(existsSync(join(app, 'node_modules/.bin/medvault'))).toBe(true)
    },
    10 * MINUTE,
  )
})

function readmeExample(): string {
  const readme = readFileSync(join(ROOT, 'packages/sdk/README.md'), 'utf8')
  const block = readme.match(/```ts\n(\/\/ example: story\n[\s\S]*?)```/)
  if (block === null) throw new Error('packages/sdk/README.md has no `// example: story` block')
  return block[1]!
}
