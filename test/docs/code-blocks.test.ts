/**
 * The documentation's code cannot rot: every ```ts / ```typescript block of README.md, docs/**\/*.md and
 * packages/*\/README.md is type-checked against the built workspace packages (the same `@medvault/*` an app
 * imports, through their `exports`), with the repository's compiler settings, in one TypeScript program.
 *
 * A block is checked as written, as its own module. An HTML comment right before a block's fence, invisible
 * to readers, can say more:
 * - `<!-- continues the block above -->`: the block is the next step of the story the previous checked block
 *   of the same file tells, and is checked appended to it (it may use the names declared there);
 * - `<!-- compiled with: ... -->`: TypeScript lines (imports, `declare const rpcUrl: string`) checked before
 *   the block, for the names a reader brings along (an RPC URL, a wallet client); the block must still
 *   compile against their real types;
 * - `<!-- not compiled: <reason> -->`: a deliberate fragment (a shape, a signature, an elided body). These
 *   are counted and must stay few.
 *
 * The API reference gets the same treatment: TypeDoc validates every published entry point (broken
 * `{@link}`s, public signatures that use unexported types) without writing anything.
 */
import { execFile } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { mkdir, rm, writeFile } from 'node:fs/promises'
import { join, relative } from 'node:path'
import { promisify, stripVTControlCharacters } from 'node:util'
import { afterAll, beforeAll, expect, test } from 'vitest'

const root = join(import.meta.dirname, '../..')
const run = promisify(execFile)

/** Fragments allowed across all the docs: a budget, so that "not compiled" stays the exception. */
const MAX_FRAGMENTS = 8

interface Block {
  /** Markdown file, relative to the repository root. */
  file: string
  /** 1-based line of the first code line (the one after the opening fence). */
  line: number
  code: string
  /** Reason given by `<!-- not compiled: reason -->`, if the block is a fragment. */
  fragment?: string
  continues: boolean
  /** Lines of `<!-- compiled with: ... -->` and the Markdown line of the first. */
  prelude?: { line: number; code: string }
}

function markdownFiles(): string[] {
  const files = ['README.md']
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`
      // docs/api/reference is TypeDoc's generated output, docs/api/node_modules its install.
      if (entry.isDirectory() && entry.name !== 'node_modules' && path !== 'docs/api/reference') walk(path)
      else if (entry.isFile() && entry.name.endsWith('.md')) files.push(path)
    }
  }
  walk('docs')
  for (const dir of readdirSync(join(root, 'packages')).sort()) {
    if (existsSync(join(root, 'packages', dir, 'README.md'))) files.push(`packages/${dir}/README.md`)
  }
  return files
}

const FENCE = /^(\s*)(`{3,}|~{3,})\s*(\S*)(.*)$/
const NOT_COMPILED = /^<!--\s*not compiled:\s*([\s\S]*?)\s*-->$/
const CONTINUES = /^<!--\s*continues the block above\s*-->$/
const COMPILED_WITH = /^<!--\s*compiled with:\n([\s\S]*?)\n?\s*-->$/

/** The HTML comment that ends on the last non-blank line before `fence` (0-based), with its first line. */
function markerBefore(lines: string[], fence: number): { text: string; line: number } | undefined {
  let end = fence - 1
  while (end >= 0 && lines[end]!.trim() === '') end--
  if (end < 0 || !lines[end]!.trimEnd().endsWith('-->')) return undefined
  let start = end
  while (start > 0 && !lines[start]!.includes('<!--')) start--
  return {
    text: lines
      .slice(start, end + 1)
      .join('\n')
      .trim(),
    line: start,
  }
}

function extract(file: string): Block[] {
  const lines = readFileSync(join(root, file), 'utf8').split('\n')
  const blocks: Block[] = []
  for (let i = 0; i < lines.length; i++) {
    const open = FENCE.exec(lines[i]!)
    if (!open) continue
    const [, indent, fence, lang] = open as unknown as [string, string, string, string]
    let end = i + 1
    while (end < lines.length && !lines[end]!.trimStart().startsWith(fence)) end++
    if (lang === 'ts' || lang === 'typescript') {
      const marker = markerBefore(lines, i)
      const reason = marker && NOT_COMPILED.exec(marker.text)?.[1]
      const prelude = marker && COMPILED_WITH.exec(marker.text)?.[1]
      blocks.push({
        file,
        line: i + 2,
        code: lines
          .slice(i + 1, end)
          .map((l) => (l.startsWith(indent) ? l.slice(indent.length) : l))
          .join('\n'),
        ...(reason == null ? {} : { fragment: reason }),
        ...(prelude == null ? {} : { prelude: { line: marker!.line + 2, code: prelude } }),
        continues: marker !== undefined && CONTINUES.test(marker.text),
      })
    }
    i = end
  }
  return blocks
}

const blocks = markdownFiles().flatMap(extract)
const fragments = blocks.filter((b) => b.fragment !== undefined)
const checked = blocks.filter((b) => b.fragment === undefined)

/** One module per story: a block, and the blocks that continue it. Lines map back to the Markdown. */
interface Unit {
  name: string
  blocks: Block[]
  /** For each line of the module: the Markdown file and line it came from. */
  origin: { file: string; line: number }[]
  text: string
}

const units: Unit[] = []
for (const block of checked) {
  const last = units.at(-1)
  if (block.continues && last !== undefined && last.blocks[0]!.file === block.file) {
    last.blocks.push(block)
  } else {
    const slug = block.file.replace(/\.md$/, '').replace(/[^\w]+/g, '-')
    units.push({ name: `${slug}-L${block.line}`, blocks: [block], origin: [], text: '' })
  }
}
for (const unit of units) {
  const lines: string[] = []
  for (const b of unit.blocks) {
    b.prelude?.code.split('\n').forEach((l, k) => {
      lines.push(l)
      unit.origin.push({ file: b.file, line: b.prelude!.line + k })
    })
    b.code.split('\n').forEach((l, k) => {
      lines.push(l)
      unit.origin.push({ file: b.file, line: b.line + k })
    })
  }
  // Every block is a module of its own (top-level await, no names shared with another block).
  unit.text = `${lines.join('\n')}\nexport {}\n`
}

// Beside this test, inside the repository, so that imports resolve to the workspace's packages as in an app.
const dir = join(import.meta.dirname, '.blocks')

beforeAll(async () => {
  for (const pkg of readdirSync(join(root, 'packages'))) {
    if (!existsSync(join(root, 'packages', pkg, 'dist'))) {
      throw new Error(`packages/${pkg}/dist is missing: run \`pnpm build\` before this test`)
    }
  }
  await rm(dir, { recursive: true, force: true })
  await mkdir(dir, { recursive: true })
  // ESM like the packages and the apps the docs speak to: top-level await is allowed.
  await writeFile(join(dir, 'package.json'), '{ "type": "module", "private": true }\n')
  await writeFile(
    join(dir, 'tsconfig.json'),
    JSON.stringify({
      extends: '../../../tsconfig.base.json',
      compilerOptions: {
        noEmit: true,
        declaration: false,
        declarationMap: false,
        sourceMap: false,
        // The docs speak to apps with `strict` on; `const [patient, doctor] = devnet.wallets` must not need a
        // `!` because this repository also turns on index checks, which `strict` does not include.
        noUncheckedIndexedAccess: false,
      },
      include: ['*.ts'],
    }),
  )
  for (const unit of units) await writeFile(join(dir, `${unit.name}.ts`), unit.text)
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('default: the docs have TypeScript blocks, and fragments stay few and say why', () => {
  expect(checked.length).toBeGreaterThan(30)
  for (const f of fragments) expect(f.fragment, `${f.file}:${f.line}`).not.toBe('')
  expect(fragments.map((f) => `${f.file}:${f.line}`).length).toBeLessThanOrEqual(MAX_FRAGMENTS)
  // A "continues" marker must follow a checked block of the same file, or it would silently start a story.
  for (const unit of units) expect(unit.blocks[0]!.continues, unit.name).toBe(false)
})

test('behavior: every TypeScript block of the docs type-checks against the workspace packages', async () => {
  const tsc = join(root, 'node_modules/typescript/bin/tsc')
  const output = await run(process.execPath, [tsc, '-p', dir, '--pretty', 'false'], {
    cwd: root,
    timeout: 120_000,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout }) => stdout,
    (err: { stdout?: string }) => err.stdout ?? String(err),
  )
  // test/docs/.blocks/<unit>.ts(12,5): error TS2304: Cannot find name 'x'.  →  docs/x.md:40: TS2304 ...
  const problems = output
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => {
      const m = /^(.*?)\.ts\((\d+),(\d+)\): (.*)$/.exec(l)
      const unit = m && units.find((u) => u.name === relative(dir, join(root, m[1]!)))
      const origin = unit?.origin[Number(m![2]) - 1]
      return origin ? `${origin.file}:${origin.line}:${m![3]} ${m![4]}` : l
    })
  expect(problems).toEqual([])
}, 150_000)

test('behavior: TypeDoc validates the API reference of every published entry point (links, exports)', async () => {
  const typedoc = join(root, 'docs/api/node_modules/typedoc/bin/typedoc')
  const output = await run(process.execPath, [typedoc, '--emit', 'none', '--logLevel', 'Warn'], {
    cwd: join(root, 'docs/api'),
    timeout: 240_000,
    maxBuffer: 16 * 1024 * 1024,
  }).then(
    ({ stdout, stderr }) => stdout + stderr,
    (err: { stdout?: string; stderr?: string }) => `${err.stdout ?? ''}${err.stderr ?? String(err)}`,
  )
  // treatWarningsAsErrors is on: any warning (a broken link, an unexported public type) is a failure.
  expect(stripVTControlCharacters(output).trim()).toBe('')
}, 300_000)
