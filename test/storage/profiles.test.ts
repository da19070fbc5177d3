/**
 * Known-answer CIDs from an independent implementation (Kubo), see fixtures/README.md for provenance.
 * Inputs are regenerated here with Kubo's deterministic generator (helpers.ts `det`).
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { createStorage, type ImportProfile, type Storage } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { det, sha256Hex } from './helpers.ts'

async function* toAsync(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
): AsyncGenerator<Uint8Array> {
  yield* source
}

interface Vector {
  input: string
  settings: string
  cid: string
  source: string
}
const vectors: Vector[] = JSON.parse(
  readFileSync(join(import.meta.dirname, 'fixtures', 'cid_known_answers.json'), 'utf8'),
).vectors

/** The expected CID of the fixture row whose input and settings start with these strings. */
function expected(input: string, settings: string): string {
  const row = vectors.find((v) => v.input.startsWith(input) && v.settings.startsWith(settings))
  if (row === undefined) throw new Error(`no fixture row for ${input} / ${settings}`)
  expect(row.source).toMatch(/kubo|gateway-conformance/)
  return row.cid
}

type Case = {
  name: string
  input: () => AsyncIterable<Uint8Array> | Iterable<Uint8Array>
  row: [string, string]
}
const text = (s: string) => [new TextEncoder().encode(s)]

const cases: Record<ImportProfile, Case[]> = {
  'unixfs-v1-2025': [
    {
      name: "'hello world'",
      input: () => text('hello world'),
      row: ["UTF-8 'hello world' (11 bytes)", 'kubo --cid-version=1 (raw leaves) / unixfs-v1-2025'],
    },
    { name: 'empty file', input: () => [], row: ['empty file (0 bytes)', '--raw-leaves / CIDv1'] },
    {
      name: 'exactly one 1 MiB chunk',
      input: () => det(1_048_576, 'chunk-v1-seed'),
      row: ["det(1048576, 'chunk-v1-seed')", 'unixfs-v1-2025'],
    },
    {
      name: 'one chunk + 1 byte',
      input: () => det(1_048_577, 'chunk-v1-seed'),
      row: ["det(1048577, 'chunk-v1-seed')", 'unixfs-v1-2025'],
    },
  ],
  'unixfs-v0-2015': [
    {
      name: "'hello world'",
      input: () => text('hello world'),
      row: ["UTF-8 'hello world' (11 bytes, no newline)", 'kubo-default'],
    },
    {
      name: "'Hello Mars!\\n'",
      input: () => text('Hello Mars!\n'),
      row: ["file 'Hello Mars!\\n' (inputs", 'kubo-default'],
    },
    {
      name: 'exactly one 256 KiB chunk',
      input: () => det(262_144, 'chunk-v0-seed'),
      row: ["det(262144, 'chunk-v0-seed')", 'kubo-default'],
    },
    {
      name: 'one chunk + 1 byte',
      input: () => det(262_145, 'chunk-v0-seed'),
      row: ["det(262145, 'chunk-v0-seed')", 'kubo-default'],
    },
    {
      name: '174 chunks: one full layer of links',
      input: () => det(45_613_056, 'v0-seed'),
      row: ['det(174*262144 = 45613056', 'kubo-default'],
    },
    {
      name: '174 chunks + 1 byte: rebalanced to two layers',
      input: () => det(45_613_057, 'v0-seed'),
      row: ['det(174*262144+1 = 45613057', 'kubo-default'],
    },
  ],
}

let storage: Storage
beforeAll(async () => {
  storage = await createStorage()
})
afterAll(async () => {
  await storage.stop()
})

test('default: the default profile is unixfs-v1-2025', async () => {
  const cid = await storage.putBytes(new TextEncoder().encode('hello world'))
  expect(cid.toString()).toBe(expected("UTF-8 'hello world' (11 bytes)", 'kubo --cid-version=1'))
})

for (const [profile, list] of Object.entries(cases) as [ImportProfile, Case[]][]) {
  describe(`behavior: ${profile} matches Kubo`, () => {
    for (const c of list) {
      test(c.name, async () => {
        const cid = await storage.putStream(c.input(), { profile, pin: false })
        expect(cid.toString()).toBe(expected(...c.row))
        // and it reads back byte for byte
        expect(await sha256Hex(storage.get(cid))).toEqual(await sha256Hex(toAsync(c.input())))
      })
    }
  })
}

test('behavior: a storage created with profile unixfs-v0-2015 uses it for every put', async () => {
  const v0 = await createStorage({ profile: 'unixfs-v0-2015' })
  try {
    const cid = await v0.putBytes(new TextEncoder().encode('hello world'))
    expect(cid.toString()).toBe(expected("UTF-8 'hello world' (11 bytes, no newline)", 'kubo-default'))
    expect(cid.version).toBe(0)
  } finally {
    await v0.stop()
  }
})

test('error: an unknown profile is refused at creation', async () => {
  await expect(
    createStorage({ profile: 'unixfs-v9' as ImportProfile }),
  ).rejects.toThrowErrorMatchingInlineSnapshot(
    `[RangeError: Unknown import profile "unixfs-v9"; use one of unixfs-v1-2025, unixfs-v0-2015.]`,
  )
})
