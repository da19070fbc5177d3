import { createHash } from 'node:crypto'
import type { CID } from 'multiformats/cid'
import type { MultihashHasher } from 'multiformats/hashes/interface'

const SHA2_256 = 0x12
const IDENTITY = 0x00

export type HasherLookup = (code: number) => MultihashHasher | Promise<MultihashHasher>

/** True when `bytes` hash to the digest in `cid`. sha2-256 goes through node:crypto (the fast path). */
export async function blockMatchesCid(
  cid: CID,
  bytes: Uint8Array,
  getHasher: HasherLookup,
): Promise<boolean> {
  const expected = cid.multihash.digest
  let actual: Uint8Array
  if (cid.multihash.code === SHA2_256) {
    actual = createHash('sha256').update(bytes).digest()
  } else if (cid.multihash.code === IDENTITY) {
    actual = bytes
  } else {
    const hasher = await getHasher(cid.multihash.code)
    actual = (await hasher.digest(bytes)).digest
  }
  if (actual.byteLength < expected.byteLength) return false
  // Truncated digests are allowed by the multihash spec: compare the prefix the CID carries.
  for (let i = 0; i < expected.byteLength; i++) if (actual[i] !== expected[i]) return false
  return cid.multihash.code === IDENTITY ? actual.byteLength === expected.byteLength : true
}

/** Concatenates a block's chunks; blocks are bounded (≤ 2 MiB by the bitswap spec) so this is safe. */
export async function collect(chunks: Iterable<Uint8Array> | AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  let length = 0
  for await (const chunk of chunks) {
    parts.push(chunk)
    length += chunk.byteLength
  }
  if (parts.length === 1) return parts[0]!
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.byteLength
  }
  return out
}
