/**
 * `stat` of identity CIDs: the CID holds its block, so its size is known without any store.
 */
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { UnverifiableCidError } from './errors.ts'
import { createStorage } from './index.ts'
import type { Storage } from './types.ts'

let s: Storage

beforeAll(async () => {
  s = await createStorage()
})

afterAll(async () => {
  await s?.stop()
})

test('behavior: stat of a raw identity CID reports the inline data length, nothing stored and nothing to fetch', async () => {
  const bytes = new Uint8Array(37).fill(9)
  const cid = CID.createV1(raw.code, identity.digest(bytes))
  expect(await s.stat(cid)).toEqual({
    cid,
    codec: 'raw',
    size: 37,
    blocks: 0,
    localBlocks: 0,
    local: true,
    pinned: false,
  })
})

test('behavior: stat of a dag-cbor identity CID reports the length of its block', async () => {
  const block = dagCbor.encode({ v: 1, note: 'inline' })
  const cid = CID.createV1(dagCbor.code, identity.digest(block))
  const stat = await s.stat(cid)
  expect(stat.codec).toBe('dag-cbor')
  expect(stat.size).toBe(block.length)
})

test('error: stat of an identity CID over 128 bytes is refused, as on every other path', async () => {
  const cid = CID.createV1(raw.code, identity.digest(new Uint8Array(200)))
  await expect(s.stat(cid)).rejects.toThrow(UnverifiableCidError)
})
