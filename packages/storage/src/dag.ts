import * as dagCbor from '@ipld/dag-cbor'
import * as dagPb from '@ipld/dag-pb'
import { UnixFS } from 'ipfs-unixfs'
import { base64 } from 'multiformats/bases/base64'
import { CID } from 'multiformats/cid'
import * as raw from 'multiformats/codecs/raw'
import {
  DagTooWideError,
  InlineDagTooDeepError,
  MalformedBlockError,
  UnsupportedCodecError,
} from './errors.ts'
import { bytesEqual, cidLabel, inlineBlock } from './verify.ts'

export const DAG_PB = dagPb.code
export const DAG_CBOR = dagCbor.code
export const RAW = raw.code
const IDENTITY = 0x00
/** The identity multicodec as a CID's codec: the block is plain content, with no links. */
const IDENTITY_CODEC = 0x00

/** Codecs whose links medvault can follow (what UnixFS and envelopes use). */
export function isSupportedCodec(code: number): boolean {
  return code === DAG_PB || code === DAG_CBOR || code === RAW
}

/**
 * An identity CID carries its block inside itself: nothing to store, fetch or collect. Its block can still
 * link to other blocks (a small dag-cbor node or dag-pb directory hashed with identity), so walks decode it
 * from the CID and follow those links: see {@link inlineLinks}.
 */
export function isInline(cid: CID): boolean {
  return cid.multihash.code === IDENTITY
}

/**
 * The most identity CIDs, each inside the block of the one before, that a walk follows. Each is shorter
 * than the one holding it and none is over 128 bytes, so nesting ends by itself within about 16 levels;
 * this limit holds whatever the identity length limit becomes. An inline node linking ordinary blocks (an
 * envelope, a directory of one entry) nests once; only a chain of nearly empty directories inlined one inside
 * the next (Kubo's `--inline`) goes deeper, and past 8 it is refused with a typed error rather than misread.
 */
export const MAX_INLINE_DEPTH = 8

/**
 * The depth of `link` met in the block of a node at `depth`: how many identity CIDs in a row lead to it,
 * itself included (0 for a CID with a stored block). A walk starts its root at `linkDepth(0, root)`.
 */
export function linkDepth(depth: number, link: CID): number {
  return isInline(link) ? depth + 1 : 0
}

/**
 * The links in the block an identity CID holds, decoded from the CID itself (nothing is read or fetched), for
 * a node at `depth` (see {@link linkDepth}) in the DAG of `root`. Without this a walk would stop at the
 * identity CID, and a pin over it would leave the blocks it links to unprotected from gc.
 *
 * @throws {InlineDagTooDeepError} `depth` is over {@link MAX_INLINE_DEPTH}.
 * @throws {UnverifiableCidError} the identity CID is over 128 bytes.
 * @throws {UnsupportedCodecError} its codec is one whose links medvault cannot read (dag-json…): like a stored
 *   block of that codec, it could link to blocks that gc would then delete. With `unsupported: 'none'` (for
 *   `stat`, which only counts) such a block has no links, as `linksOf` says of a stored one.
 * @throws {MalformedBlockError} its block does not decode as its codec says.
 */
export function inlineLinks(
  cid: CID,
  depth: number,
  root: CID,
  unsupported: 'throw' | 'none' = 'throw',
): CID[] {
  if (depth > MAX_INLINE_DEPTH) {
    throw new InlineDagTooDeepError({ cid: cidLabel(root), maxDepth: MAX_INLINE_DEPTH })
  }
  const bytes = inlineBlock(cid)
  // the identity codec is content as it is, like raw: no links
  if (cid.code === IDENTITY_CODEC) return []
  if (!isSupportedCodec(cid.code)) {
    if (unsupported === 'none') return []
    throw new UnsupportedCodecError({ cid: cidLabel(cid), codec: cid.code })
  }
  return linksOf(cid, bytes)
}

/** A map key for the block of `cid`: blockstores key blocks by multihash, whatever the CID's codec. */
export function multihashKey(cid: CID): string {
  // base64 of the multihash, without Node's Buffer (this module also runs in browsers)
  return base64.baseEncode(cid.multihash.bytes)
}

/**
 * Decoders of the block formats storage reads. Bytes that match their CID can still be malformed (whoever made
 * the block wrote it so): each refuses them with {@link MalformedBlockError}, never with the decoder's own
 * error, which is untyped and can quote what it read.
 */
export function decodeDagPb(cid: CID, bytes: Uint8Array): dagPb.PBNode {
  try {
    return dagPb.decode(bytes)
  } catch {
    throw new MalformedBlockError({ cid: cidLabel(cid), format: 'dag-pb' })
  }
}

export function decodeDagCbor<T = unknown>(cid: CID, bytes: Uint8Array): T {
  let value: T
  let again: Uint8Array
  try {
    value = dagCbor.decode<T>(bytes)
    again = dagCbor.encode(value)
  } catch {
    throw new MalformedBlockError({ cid: cidLabel(cid), format: 'dag-cbor' })
  }
  // DAG-CBOR has one encoding per value (map keys sorted, shortest lengths). The decoder checks the lengths
  // but not the key order, so a block with its keys reordered would decode to the value of a block with
  // another CID: that block is refused.
  if (!bytesEqual(again, bytes)) {
    throw new MalformedBlockError({
      cid: cidLabel(cid),
      format: 'dag-cbor',
      reason: 'not in its canonical form',
    })
  }
  return value
}

/** The UnixFS metadata of a dag-pb node (`undefined` when it has none). */
export function unixfsOf(cid: CID, node: dagPb.PBNode): UnixFS | undefined {
  if (node.Data === undefined) return undefined
  try {
    return UnixFS.unmarshal(node.Data)
  } catch {
    throw new MalformedBlockError({ cid: cidLabel(cid), format: 'UnixFS' })
  }
}

/** The CIDs a block links to, in order. Raw blocks have none. */
export function linksOf(cid: CID, bytes: Uint8Array): CID[] {
  if (cid.code === DAG_PB) return decodeDagPb(cid, bytes).Links.map((l) => l.Hash)
  if (cid.code === DAG_CBOR) {
    const out: CID[] = []
    collectCids(decodeDagCbor(cid, bytes), out)
    return out
  }
  return []
}

function collectCids(value: unknown, out: CID[]): void {
  const cid = CID.asCID(value)
  if (cid !== null) {
    out.push(cid)
    return
  }
  if (Array.isArray(value)) {
    for (const v of value) collectCids(v, out)
  } else if (value !== null && typeof value === 'object' && !(value instanceof Uint8Array)) {
    for (const v of Object.values(value)) collectCids(v, out)
  }
}

export interface WalkedBlock {
  cid: CID
  /** the block bytes, when they were read (always for dag-pb and dag-cbor; for raw leaves only if asked) */
  bytes: Uint8Array | undefined
}

export interface WalkSource {
  /** read a block (may fetch it) */
  get(cid: CID): Promise<Uint8Array>
  /** whether a raw leaf needs no read: return true when it is known to be present */
  skipLeaf?(cid: CID): Promise<boolean>
}

/**
 * The most links a walk keeps waiting at once. A UnixFS DAG keeps at most its fan-out (1,024 at most, 256 in a
 * sharded directory) per level of depth; a DAG made to exhaust memory (nested blocks of thousands of links
 * each, which a byte bound does not stop: each waiting link costs far more memory than its bytes) is refused.
 */
export const MAX_PENDING_LINKS = 262_144

const walkKey = (cid: CID): string => `${cid.code}:${multihashKey(cid)}`

/**
 * Depth-first, pre-order walk of a DAG (the order CAR files and Kubo's `dag export` use), each block once.
 * Raw leaves are read only when `skipLeaf` says so is needed: gc and pin never need their bytes.
 *
 * Identity CIDs are not yielded (no block is stored, fetched or exported for them: the CID is the block) but
 * are walked through: their blocks are decoded from the CID and their links followed (see {@link inlineLinks}).
 *
 * @throws {DagTooWideError} more than {@link MAX_PENDING_LINKS} links wait at once.
 * @throws {InlineDagTooDeepError} identity CIDs nested more than {@link MAX_INLINE_DEPTH} deep.
 */
export async function* walkDag(
  root: CID,
  source: WalkSource,
  signal?: AbortSignal,
): AsyncGenerator<WalkedBlock> {
  const seen = new Set<string>()
  const stack: CID[] = [root]
  // the depth of each waiting CID (see linkDepth), kept beside the stack rather than in an object per link
  const depths: number[] = [linkDepth(0, root)]
  let blocks = 0
  while (stack.length > 0) {
    signal?.throwIfAborted()
    const cid = stack.pop()!
    const depth = depths.pop()!
    const key = walkKey(cid)
    if (seen.has(key)) continue
    seen.add(key)
    let links: CID[]
    if (isInline(cid)) {
      links = inlineLinks(cid, depth, root)
    } else {
      // A block whose links cannot be read would end the walk early without a word: a pin over it would
      // leave what it links to unprotected from gc, an export would be incomplete.
      if (!isSupportedCodec(cid.code))
        throw new UnsupportedCodecError({ cid: cid.toString(), codec: cid.code })
      if (cid.code === RAW && source.skipLeaf !== undefined && (await source.skipLeaf(cid))) {
        yield { cid, bytes: undefined }
        continue
      }
      const bytes = await source.get(cid)
      blocks++
      yield { cid, bytes }
      links = linksOf(cid, bytes)
    }
    // Only links that will be walked wait: blocks already walked are dropped here, and a link repeated within
    // the block waits once (its first place, so the pre-order is unchanged). Each waiting link is a copy, so it
    // does not keep its whole block in memory while it waits.
    const fresh: CID[] = []
    const inBlock = new Set<string>()
    for (const link of links) {
      const linkKey = walkKey(link)
      if (seen.has(linkKey) || inBlock.has(linkKey)) continue
      inBlock.add(linkKey)
      fresh.push(CID.decode(link.bytes.slice()))
    }
    if (stack.length + fresh.length > MAX_PENDING_LINKS) {
      throw new DagTooWideError({ cid: cidLabel(root), maxPendingLinks: MAX_PENDING_LINKS, blocks })
    }
    for (let i = fresh.length - 1; i >= 0; i--) {
      stack.push(fresh[i]!)
      depths.push(linkDepth(depth, fresh[i]!))
    }
  }
}
