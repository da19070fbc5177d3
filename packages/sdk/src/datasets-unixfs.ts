/**
 * A flat UnixFS directory (dag-pb) of files already in storage: encoded and parsed here because the storage
 * package stores files and envelopes, not directories. The node is what Kubo and `@helia/unixfs` write for a
 * small directory (links sorted by name, `Data` = UnixFS `Type: Directory`), so any IPFS tool lists it.
 *
 * @module
 */
import type { Storage } from '@medvault/storage'
import { CID } from 'multiformats/cid'
import { sha256 } from 'multiformats/hashes/sha2'

const DAG_PB = 0x70
const RAW = 0x55
/** UnixFS `Data { Type: Directory }`. */
const DIRECTORY_DATA = Uint8Array.of(0x08, 0x01)

export interface DirectoryLink {
  name: string
  cid: CID
  /** Bytes of the whole linked DAG (its blocks), as dag-pb's `Tsize`. */
  tsize: number
}

/** Encodes a UnixFS directory node. Links are sorted by name bytes, as the dag-pb spec requires. */
export function encodeDirectory(links: readonly DirectoryLink[]): Uint8Array {
  const utf8 = new TextEncoder()
  const sorted = [...links]
    .map((l) => ({ ...l, nameBytes: utf8.encode(l.name) }))
    .sort((a, b) => compareBytes(a.nameBytes, b.nameBytes))
  const parts: number[] = []
  for (const link of sorted) {
    const body: number[] = []
    field(body, 1, link.cid.bytes)
    field(body, 2, link.nameBytes)
    body.push(0x18) // field 3, varint
    varint(body, link.tsize)
    parts.push(0x12) // PBNode.Links (2): links come before Data in canonical dag-pb
    varint(parts, body.length)
    for (const b of body) parts.push(b)
  }
  field(parts, 1, DIRECTORY_DATA)
  return Uint8Array.from(parts)
}

/**
 * Parses a UnixFS directory node.
 *
 * @throws {Error} when the bytes are not a dag-pb node holding a UnixFS directory (the caller wraps it).
 */
export function decodeDirectory(bytes: Uint8Array): DirectoryLink[] {
  const links: DirectoryLink[] = []
  let data: Uint8Array | undefined
  for (const { num, value } of fields(bytes)) {
    if (num === 2 && value instanceof Uint8Array) {
      let cid: CID | undefined
      let name: string | undefined
      let tsize = 0
      for (const f of fields(value)) {
        if (f.num === 1 && f.value instanceof Uint8Array) cid = CID.decode(f.value)
        else if (f.num === 2 && f.value instanceof Uint8Array)
          name = new TextDecoder('utf-8', { fatal: true }).decode(f.value)
        else if (f.num === 3 && typeof f.value === 'number') tsize = f.value
      }
      if (cid === undefined || name === undefined)
        throw new Error('a directory link without a hash or a name')
      links.push({ name, cid, tsize })
    } else if (num === 1 && value instanceof Uint8Array) data = value
    else throw new Error('not a dag-pb node')
  }
  // Type is field 1 of the UnixFS Data message; 1 is Directory (a HAMT shard, 5, is not written here).
  if (data === undefined || data[0] !== 0x08 || data[1] !== 0x01) throw new Error('not a UnixFS directory')
  return links
}

/** Stores a directory node (its CID checked by construction) and returns its CID. */
export async function putDirectory(
  storage: Storage,
  links: readonly DirectoryLink[],
  signal: AbortSignal | undefined,
): Promise<{ cid: CID; bytes: Uint8Array }> {
  const bytes = encodeDirectory(links)
  const cid = CID.createV1(DAG_PB, await sha256.digest(bytes))
  await storage.helia.blockstore.put(cid, bytes, signal === undefined ? {} : { signal })
  return { cid, bytes }
}

/**
 * Reads one block and checks it against its CID (sha2-256 only: what this module and the storage write).
 *
 * @throws {Error} with `code: 'MISMATCH'` when the bytes do not hash to the CID.
 */
export async function getVerifiedBlock(
  storage: Storage,
  cid: CID,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  if (cid.multihash.code !== sha256.code) {
    throw Object.assign(new Error('unsupported hash'), { code: 'UNSUPPORTED' })
  }
  const got: unknown = storage.helia.blockstore.get(cid, signal === undefined ? {} : { signal })
  const bytes = await collectBlock(got)
  const digest = await sha256.digest(bytes)
  if (compareBytes(digest.digest, cid.multihash.digest) !== 0) {
    throw Object.assign(new Error('block does not match its CID'), { code: 'MISMATCH' })
  }
  return bytes
}

/** The `Tsize` of a stored file: its root block plus its links' `Tsize` (a raw leaf: its length). */
export async function treeSize(storage: Storage, cid: CID, signal: AbortSignal | undefined): Promise<number> {
  const bytes = await getVerifiedBlock(storage, cid, signal)
  if (cid.code === RAW) return bytes.length
  let total = bytes.length
  for (const { num, value } of fields(bytes)) {
    if (num !== 2 || !(value instanceof Uint8Array)) continue
    for (const f of fields(value)) if (f.num === 3 && typeof f.value === 'number') total += f.value
  }
  return total
}

// Helia's blockstore answers a block as bytes or, in newer versions, as an async iterable of chunks.
async function collectBlock(got: unknown): Promise<Uint8Array> {
  const value = await got
  if (value instanceof Uint8Array) return value
  const chunks: Uint8Array[] = []
  let length = 0
  for await (const chunk of value as AsyncIterable<Uint8Array>) {
    chunks.push(chunk)
    length += chunk.length
  }
  const out = new Uint8Array(length)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length)
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return (a[i] as number) - (b[i] as number)
  return a.length - b.length
}

function varint(out: number[], value: number): void {
  let v = value
  while (v >= 0x80) {
    out.push((v % 0x80) | 0x80)
    v = Math.floor(v / 0x80)
  }
  out.push(v)
}

function field(out: number[], num: number, bytes: Uint8Array): void {
  out.push((num << 3) | 2)
  varint(out, bytes.length)
  for (const b of bytes) out.push(b)
}

/** The fields of a protobuf message: length-delimited ones as bytes, varints as numbers. */
function* fields(bytes: Uint8Array): Generator<{ num: number; value: Uint8Array | number }> {
  let i = 0
  const readVarint = (): number => {
    let result = 0
    let scale = 1
    for (;;) {
      if (i >= bytes.length || scale > 2 ** 49) throw new Error('truncated varint')
      const b = bytes[i++] as number
      result += (b & 0x7f) * scale
      if (b < 0x80) return result
      scale *= 0x80
    }
  }
  while (i < bytes.length) {
    const key = readVarint()
    const num = Math.floor(key / 8)
    const wire = key % 8
    if (wire === 0) yield { num, value: readVarint() }
    else if (wire === 2) {
      const length = readVarint()
      if (i + length > bytes.length) throw new Error('truncated field')
      yield { num, value: bytes.subarray(i, i + length) }
      i += length
    } else throw new Error('unsupported wire type')
  }
}
