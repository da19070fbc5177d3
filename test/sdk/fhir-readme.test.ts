/**
 * The README's FHIR example is runnable: the block that starts with `// fhir example:` runs as it is in its
 * own Node process from the repository's root, against a real local network, and prints what its comments say.
 */
import { execFile } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { expect, test } from 'vitest'

const root = join(import.meta.dirname, '..', '..')
const readme = readFileSync(join(root, 'packages/sdk/README.md'), 'utf8')
const block = /```ts\n(\/\/ fhir example: split\n[\s\S]*?)```/.exec(readme)?.[1]

test('behavior: the README FHIR example runs and prints what it says', async () => {
  expect(block).toBeDefined()
  // Written beside this test so that `@medvault/sdk` resolves from the workspace.
  const file = join(import.meta.dirname, `.fhir-readme-example-${process.pid}.ts`)
  await writeFile(file, block!)
  try {
    const { stdout } = await promisify(execFile)(process.execPath, [file], { timeout: 150_000, cwd: root })
    expect(stdout.trim().split('\n')).toEqual(['168', 'true', 'true', 'Observation.code cardinality'])
  } finally {
    await rm(file, { force: true })
  }
}, 180_000)
