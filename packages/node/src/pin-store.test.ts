/**
 * The pin store's creation times: unique and in creation order, on the clock even when thousands of requests
 * arrive within one millisecond, and the same after a replay of its file.
 */
import { appendFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createPinStore, formatCreated, PIN_STORE_FILE, parseTimeUs } from './pin-store.ts'

let dir: string

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mvn-pinstore-'))
})

afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

test('behavior: 5,000 requests added at once stay on the clock; created is unique, increasing in creation order, and survives a replay', async () => {
  const store = createPinStore({ dir })
  await store.open()
  const startedMs = Date.now()
  const added = await Promise.all(
    Array.from({ length: 5000 }, (_, i) =>
      store.add({ owner: 'token:burst', cid: 'bafkqaaa', name: `n${i}` }),
    ),
  )
  // Many of them share a millisecond (the case under test), yet none is dated more than a few milliseconds
  // past the clock: bumping whole milliseconds put the last one 5 s in the future.
  expect(new Set(added.map((r) => r.createdMs)).size).toBeLessThan(added.length)
  expect(added.at(-1)!.createdMs).toBeLessThanOrEqual(Date.now() + 5)
  expect(added[0]!.createdMs).toBeGreaterThanOrEqual(startedMs)
  for (let i = 1; i < added.length; i++) expect(added[i]!.createdUs).toBeGreaterThan(added[i - 1]!.createdUs)
  for (const r of added.slice(0, 50)) {
    expect(r.created).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/)
    expect(parseTimeUs(r.created)).toBe(r.createdUs)
    expect(Math.floor(r.createdUs / 1000)).toBe(r.createdMs)
  }
  await store.close()

  const again = createPinStore({ dir })
  await again.open()
  for (const r of added) expect(again.get(r.requestid)?.createdUs).toBe(r.createdUs)
  const next = await again.add({ owner: 'token:burst', cid: 'bafkqaaa' })
  expect(next.createdUs).toBeGreaterThan(added.at(-1)!.createdUs)
  await again.close()
})

test('behavior: a file written with millisecond times replays; parseTimeUs reads offsets and drops digits past the microsecond', async () => {
  const d = join(dir, 'ms')
  const store = createPinStore({ dir: d })
  await store.open()
  await store.close()
  const line = {
    t: 'add',
    r: {
      requestid: 'r1',
      owner: 'token:x',
      cid: 'bafkqaaa',
      created: '2026-01-02T03:04:05.678Z',
      status: 'pinned',
    },
  }
  await appendFile(join(d, PIN_STORE_FILE), `${JSON.stringify(line)}\n`)
  const again = createPinStore({ dir: d })
  await again.open()
  expect(again.get('r1')).toMatchObject({
    createdMs: Date.parse(line.r.created),
    createdUs: Date.parse(line.r.created) * 1000,
  })
  await again.close()

  const ms = Date.parse('2026-01-02T03:04:05.678Z')
  expect(parseTimeUs('2026-01-02T03:04:05.678901234Z')).toBe(ms * 1000 + 901)
  expect(parseTimeUs('2026-01-02T05:04:05.6789+02:00')).toBe(ms * 1000 + 900)
  expect(parseTimeUs('2026-01-02T03:04:05Z')).toBe(Date.parse('2026-01-02T03:04:05Z') * 1000)
  expect(parseTimeUs('yesterday')).toBeUndefined()
  expect(formatCreated(ms * 1000 + 7)).toBe('2026-01-02T03:04:05.678007Z')
})
