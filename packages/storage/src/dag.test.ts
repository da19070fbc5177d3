import * as dagPb from '@ipld/dag-pb'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import { identity } from 'multiformats/hashes/identity'
import { sha256 } from 'multiformats/hashes/sha2'
import { describe, expect, test } from 'vitest'
import { MAX_PENDING_LINKS, walkDag } from './dag.ts'
import { DagTooWideError } from './errors.ts'

async function block(node: dagPb.PBNode): Promise<{ cid: CID; bytes: Uint8Array }> {
  const bytes = dagPb.encode(node)
  return { cid: CID.createV1(dagPb.code, await sha256.digest(bytes)), bytes }
}

/** A chain of dag-pb blocks, each linking the next first and then `extra` other links. */
async function chain(depth: number, extra: (level: number) => Promise<CID[]>) {
  const blocks = new Map<string, Uint8Array>()
  let next: CID | undefined
  for (let level = depth - 1; level >= 0; level--) {
    const links = [...(next === undefined ? [] : [next]), ...(await extra(level))]
    const b = await block({ Links: links.map((Hash) => ({ Hash, Tsize: 1 })) })
    blocks.set(b.cid.toString(), b.bytes)
    next = b.cid
  }
  return { root: next!, blocks }
}

describe('walkDag', () => {
  test('attack: repeated and inline links, more than a walk lets wait, wait once each: the walk ends and visits each block once', async () => {
    const leaf = raw.encode(new Uint8Array([1]))
    const leafCid = CID.createV1(raw.code, await sha256.digest(leaf))
    const inline = CID.createV1(raw.code, identity.digest(new Uint8Array([2])))
    expect(30 * 10_000).toBeGreaterThan(MAX_PENDING_LINKS)
    const { root, blocks } = await chain(30, async () => [
      ...Array.from({ length: 5_000 }, () => leafCid),
      ...Array.from({ length: 5_000 }, () => inline),
    ])
    blocks.set(leafCid.toString(), leaf)
    const seen: string[] = []
    const source = {
      get: async (cid: CID) => blocks.get(cid.toString())!,
    }
    for await (const b of walkDag(root, source)) seen.push(b.cid.toString())
    // 30 chain blocks and the one leaf, each once, in pre-order: the leaf right after the deepest block.
    expect(seen).toHaveLength(31)
    expect(seen[30]).toBe(leafCid.toString())
    expect(new Set(seen).size).toBe(31)
  })

  test('attack: nested blocks of thousands of distinct links are refused once too many wait at once', async () => {
    let n = 0
    const distinct = async () =>
      Promise.all(
        Array.from({ length: 20_000 }, async () => {
          const bytes = new TextEncoder().encode(`leaf ${n++}`)
          return CID.createV1(raw.code, await sha256.digest(bytes))
        }),
      )
    const depth = Math.ceil(MAX_PENDING_LINKS / 20_000) + 2
    const { root, blocks } = await chain(depth, distinct)
    let walked = 0
    const error = await (async () => {
      for await (const _ of walkDag(root, { get: async (cid) => blocks.get(cid.toString())! })) walked++
    })().catch((err: unknown) => err)
    expect(error).toBeInstanceOf(DagTooWideError)
    expect((error as DagTooWideError).maxPendingLinks).toBe(MAX_PENDING_LINKS)
    // Stopped while still descending the chain: no leaf was asked for.
    expect(walked).toBeLessThan(depth)
  })

  test('behavior: a link repeated within a block is walked at its first place (pre-order kept)', async () => {
    const leaf = async (text: string) => {
      const bytes = raw.encode(new TextEncoder().encode(text))
      return { cid: CID.createV1(raw.code, await sha256.digest(bytes)), bytes }
    }
    const a = await leaf('a')
    const b = await leaf('b')
    const root = await block({
      Links: [a.cid, b.cid, a.cid].map((Hash) => ({ Hash, Tsize: 1 })),
    })
    const blocks = new Map([
      [root.cid.toString(), root.bytes],
      [a.cid.toString(), a.bytes],
      [b.cid.toString(), b.bytes],
    ])
    const order: string[] = []
    for await (const w of walkDag(root.cid, { get: async (cid) => blocks.get(cid.toString())! })) {
      order.push(w.cid.toString())
    }
    expect(order).toEqual([root.cid.toString(), a.cid.toString(), b.cid.toString()])
  })
})
