/**
 * The SDK's browser entry (export condition `browser`): `createVault` and everything it returns, without
 * `createLocalNetwork`, and nothing in its module graph needs Node.
 */
import { readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import * as full from '@medvault/sdk'
import { describe, expect, test } from 'vitest'

const dist = dirname(fileURLToPath(import.meta.resolve('@medvault/sdk')))

/** Every module of the package reachable from `file`, and the bare specifiers they import. */
function graph(file: string, seen = new Set<string>(), bare = new Set<string>()) {
  if (!seen.has(file)) {
    seen.add(file)
    // Comments hold usage examples with imports of their own: only code counts.
    const code = readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
    for (const [, spec] of code.matchAll(/(?:from|import) '([^']+)'/g)) {
      if (spec!.startsWith('.')) graph(join(dirname(file), spec!), seen, bare)
      else bare.add(spec!)
    }
  }
  return { files: seen, bare }
}

describe('the browser entry', () => {
  test('default: everything but createLocalNetwork', async () => {
    const browser = (await import(join(dist, 'browser.js'))) as Record<string, unknown>
    expect(Object.keys(browser).sort()).toEqual(
      Object.keys(full)
        .filter((name) => name !== 'createLocalNetwork')
        .sort(),
    )
  })

  test('behavior: its modules import no node: builtin and no Node-only package', () => {
    const { files, bare } = graph(join(dist, 'browser.js'))
    expect(files.size).toBeGreaterThan(10)
    expect([...files].some((f) => f.endsWith('local-network.js'))).toBe(false)
    expect([...bare].sort()).toEqual([
      '@medvault/chain', // browser-safe: anvil and the devnet are in @medvault/chain/node
      '@medvault/crypto',
      '@medvault/crypto/errors',
      '@medvault/crypto/umbral',
      '@medvault/fhir', // browser-safe: it reads the R4 definitions from disk only on Node, else they are passed in
      '@medvault/protocol',
      '@medvault/storage/errors',
      'multiformats/cid',
      'multiformats/hashes/sha2',
      'viem',
      'viem/accounts',
      'viem/actions',
    ])
  })
})
