/**
 * The README's example is runnable: the block that starts with `// example:` runs as it is in its own Node
 * process, against a real local network, and prints what its comments say.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'

const readme = readFileSync(join(import.meta.dirname, '../../packages/sdk/README.md'), 'utf8')
const blocks = [...readme.matchAll(/```ts\n(\/\/ example: (\w+)\n[\s\S]*?)```/g)].map((m) => ({
  name: m[2]!,
  code: m[1]!,
}))

test('default: the README has its runnable example', () => {
  expect(blocks.map((b) => b.name)).toEqual(['story'])
})

test('behavior: the README example runs and prints what it says', async () => {
  // Written beside this test so that `@medvault/sdk` resolves from the workspace.
  const file = join(import.meta.dirname, `.readme-example-${process.pid}.ts`)
  await writeFile(file, blocks[0]!.code)
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 120_000 })
    const lines = stdout.trim().split('\n')
    expect(lines.slice(0, 3)).toEqual(['HbA1c', 'true', 'epoch 1'])
    const kinds = lines.slice(3)
    const reads = kinds.filter((k) => k === 'read').length
    // Two proxies answer a read; a third asked by the hedge may answer (and sign a receipt) too.
    expect(reads === 2 || reads === 3).toBe(true)
    expect(kinds.filter((k) => k !== 'read').sort()).toEqual([
      'grant',
      'record-registered',
      'record-registered',
      'revocation',
    ])
    // Time order; reads carry their proxy's clock and chain events their block's, so within one second the
    // two may interleave: only the first entry is certain.
    expect(kinds[0]).toBe('record-registered')
  } finally {
    await rm(file, { force: true })
  }
}, 180_000)
