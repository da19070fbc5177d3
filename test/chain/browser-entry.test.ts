import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as full from '@medvault/chain'
import { describe, expect, test } from 'vitest'

const dist = dirname(fileURLToPath(import.meta.resolve('@medvault/chain')))
const nodeOnly = [
  'startAnvil',
  'anvilBinaryPath',
  'deriveAccounts',
  'DEFAULT_MNEMONIC',
  'createDevnet',
  'fileCheckpointStore',
]

/** Every module reachable from `file` through relative imports. */
function graph(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen
  seen.add(file)
  for (const [, spec] of readFileSync(file, 'utf8').matchAll(/from '(\.[^']+)'/g)) {
    graph(join(dirname(file), spec as string), seen)
  }
  return seen
}

describe('the browser entry (export condition `browser`)', () => {
  test('default: everything but the Node-only parts', async () => {
    const browser = (await import(join(dist, 'browser.js'))) as Record<string, unknown>
    expect(Object.keys(browser).sort()).toEqual(
      Object.keys(full)
        .filter((name) => !nodeOnly.includes(name))
        .sort(),
    )
  })

  test('behavior: no module it loads imports a node: builtin', () => {
    const files = graph(join(dist, 'browser.js'))
    expect(files.size).toBeGreaterThan(40)
    for (const file of files) expect(readFileSync(file, 'utf8'), file).not.toMatch(/from 'node:/)
  })
})
