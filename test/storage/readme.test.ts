/**
 * The README's examples are runnable: each block that starts with `// example:` runs in its own Node process.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'

const readme = readFileSync(join(import.meta.dirname, '../../packages/storage/README.md'), 'utf8')
const blocks = [...readme.matchAll(/```ts\n(\/\/ example: (\w+)\n[\s\S]*?)```/g)].map((m) => ({
  name: m[2]!,
  code: m[1]!,
}))

const expectations: Record<string, RegExp[]> = {
  embedded: [/written 4194304 bytes/, /removed: 1, kept: 6/, /size: 4194304/],
  network: [/hello from A/],
  car: [/\[ 'bafkrei\w+' \] true/],
}

test('default: the README has the three runnable examples', () => {
  expect(blocks.map((b) => b.name)).toEqual(['embedded', 'network', 'car'])
})

for (const { name, code } of blocks) {
  test(`behavior: README example "${name}" runs`, async () => {
    // Written beside this test so that `@medvault/storage` resolves from the workspace.
    const file = join(import.meta.dirname, `.readme-example-${name}-${process.pid}.ts`)
    await writeFile(file, code)
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 60_000 })
      for (const re of expectations[name] ?? []) expect(stdout).toMatch(re)
    } finally {
      await rm(file, { force: true })
    }
  })
}
