import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as main from '@medvault/chain'
import * as node from '@medvault/chain/node'
import { describe, expect, test } from 'vitest'

const dist = dirname(fileURLToPath(import.meta.resolve('@medvault/chain')))
const nodeOnly = [
  'startAnvil',
  'anvilBinaryPath',
  'deriveAccounts',
  'DEFAULT_MNEMONIC',
  'createDevnet',
  'fileCheckpointStore',
  'readNetworkFile',
  'writeNetworkFile',
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

describe('the main entry runs in browsers; the Node-only parts are in `@medvault/chain/node`', () => {
  test('default: `@medvault/chain/node` exports the Node-only parts, the main entry none of them', () => {
    expect(Object.keys(node).sort()).toEqual([...nodeOnly].sort())
    for (const name of nodeOnly) expect(Object.keys(main)).not.toContain(name)
  })

  test('behavior: no module the main entry loads imports a node: builtin', () => {
    const files = graph(join(dist, 'index.js'))
    expect(files.size).toBeGreaterThan(40)
    for (const file of files) expect(readFileSync(file, 'utf8'), file).not.toMatch(/from 'node:/)
  })

  test('behavior: the package has one entry for every condition (no separate browser build)', () => {
    const manifest = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')) as {
      exports: Record<string, Record<string, string>>
    }
    expect(Object.keys(manifest.exports['.'] ?? {})).not.toContain('browser')
    expect(manifest.exports['./node']?.default).toBe('./dist/node.js')
  })
})
