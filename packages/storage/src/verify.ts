import type { CID } from 'multiformats/cid'
import type { MultihashHasher } from 'multiformats/hashes/interface'
import { sha256 } from 'multiformats/hashes/sha2'
import { UnverifiableCidError } from './errors.ts'

const SHA2_256 = 0x12
const SHA2_256_LENGTH = 32
const IDENTITY = 0x00

/** Largest identity CID accepted: the limit of Kubo (go-verifcid) and of Helia's identity blockstore. */
export const MAX_IDENTITY_DIGEST_LENGTH = 128

/**
 * The largest block this storage makes, stores or serves: 2 MiB, the block size bitswap peers must accept (and
 * Kubo's limit). Its own blocks are far smaller (1 MiB leaves at most). A larger block in a CAR is refused before
 * its bytes are read, and a larger file under a CID in the local store is not read.
 */
export const MAX_BLOCK_SIZE = 2 * 1024 * 1024

export type HasherLookup = (code: number) => MultihashHasher | Promise<MultihashHasher>

type Verifier = { kind: 'sha2-256' } | { kind: 'identity' } | { kind: 'hasher'; hasher: MultihashHasher }

const SHA: Verifier = { kind: 'sha2-256' }
const INLINE: Verifier = { kind: 'identity' }

/** Full digest length of each hasher met so far, measured once (a hasher does not state it). */
const fullLengths = new WeakMap<MultihashHasher, number>()

/**
 * How a block under `cid` is checked. Throws {@link UnverifiableCidError} when no block could ever be proven to
 * match it: a digest shorter or longer than its hash function gives (the multihash spec allows truncation,
 * but a 0-byte sha2-256 digest matches any bytes, and a 16-byte one is far weaker than what the patient
 * registered), a hash function with no hasher here, or an identity CID over {@link MAX_IDENTITY_DIGEST_LENGTH}.
 */
async function verifierFor(cid: CID, getHasher: HasherLookup): Promise<Verifier> {
  const { code, digest } = cid.multihash
  if (code === SHA2_256) {
    if (digest.byteLength !== SHA2_256_LENGTH) {
      throw new UnverifiableCidError({
        cid: cid.toString(),
        reason: 'digest-length',
        hash: 'sha2-256',
        digestLength: digest.byteLength,
        expectedLength: SHA2_256_LENGTH,
      })
    }
    return SHA
  }
  if (code === IDENTITY) {
    inlineBlock(cid)
    return INLINE
  }
  let hasher: MultihashHasher
  try {
    hasher = await getHasher(code)
  } catch (err) {
    throw new UnverifiableCidError({
      cid: cid.toString(),
      reason: 'unknown-hash',
      hash: `0x${code.toString(16)}`,
      digestLength: digest.byteLength,
      cause: err,
    })
  }
  let length = fullLengths.get(hasher)
  if (length === undefined) {
    length = (await hasher.digest(new Uint8Array(0))).digest.byteLength
    fullLengths.set(hasher, length)
  }
  if (digest.byteLength !== length) {
    throw new UnverifiableCidError({
      cid: cid.toString(),
      reason: 'digest-length',
      hash: hasher.name,
      digestLength: digest.byteLength,
      expectedLength: length,
    })
  }
  return { kind: 'hasher', hasher }
}

/**
 * The block an identity CID holds: its digest, which is the content itself. Throws
 * {@link UnverifiableCidError} for one over {@link MAX_IDENTITY_DIGEST_LENGTH}, as every other path does, so a
 * DAG walk never decodes more than that from a CID.
 */
export function inlineBlock(cid: CID): Uint8Array {
  const { code, digest } = cid.multihash
  if (code !== IDENTITY) throw new TypeError('inlineBlock: not an identity CID.')
  if (digest.byteLength > MAX_IDENTITY_DIGEST_LENGTH) {
    throw new UnverifiableCidError({
      cid: cidLabel(cid),
      reason: 'identity-too-long',
      hash: 'identity',
      digestLength: digest.byteLength,
      expectedLength: MAX_IDENTITY_DIGEST_LENGTH,
    })
  }
  return digest
}

/**
 * Throws {@link UnverifiableCidError} unless a block could be proven to match `cid`. Called before anything is
 * looked up, fetched or stored under a CID, so that a CID no block can be checked against never reaches a peer,
 * a gateway or the blockstore.
 */
export async function assertVerifiableCid(cid: CID, getHasher: HasherLookup): Promise<void> {
  await verifierFor(cid, getHasher)
}

/**
 * True when `bytes` hash to exactly the digest in `cid` (identity: are exactly that digest). Throws
 * {@link UnverifiableCidError} for a CID no block can match (see {@link assertVerifiableCid}). sha2-256 goes
 * through multiformats' hasher: node:crypto in Node, WebCrypto (`crypto.subtle`) in browsers.
 */
export async function blockMatchesCid(
  cid: CID,
  bytes: Uint8Array,
  getHasher: HasherLookup,
): Promise<boolean> {
  const verifier = await verifierFor(cid, getHasher)
  const expected = cid.multihash.digest
  const actual =
    verifier.kind === 'sha2-256'
      ? (await sha256.digest(bytes)).digest
      : verifier.kind === 'identity'
        ? bytes
        : (await verifier.hasher.digest(bytes)).digest
  return bytesEqual(expected, actual)
}

/** Byte equality without Node's Buffer (this module also runs in browsers). */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.byteLength !== b.byteLength) return false
  for (let i = 0; i < a.byteLength; i++) if (a[i] !== b[i]) return false
  return true
}

/**
 * How a CID is named in an error. An identity CID is its content, so it is described instead of spelled out:
 * errors never repeat a block.
 */
export function cidLabel(cid: CID): string {
  return cid.multihash.code === IDENTITY
    ? `identity CID of ${cid.multihash.digest.byteLength} bytes (codec 0x${cid.code.toString(16)})`
    : cid.toString()
}

/**
 * sha2-256 for Helia's own block checks, held to the full digest. Helia checks a block from a peer or a gateway
 * with `digest(block, { truncate: <the CID's digest length> })` and so accepts a digest cut to 20 bytes; this
 * hasher refuses any truncation, so `storage.helia.blockstore` (what a gateway or bitswap server built on this
 * storage reads) takes only full digests too.
 */
export const fullDigestSha256: MultihashHasher<typeof SHA2_256> = {
  name: sha256.name,
  code: SHA2_256,
  encode: (input) => sha256.encode(input),
  digest(input, options) {
    if (options?.truncate !== undefined && options.truncate !== SHA2_256_LENGTH) {
      throw new UnverifiableCidError({
        cid: undefined,
        reason: 'digest-length',
        hash: 'sha2-256',
        digestLength: options.truncate,
        expectedLength: SHA2_256_LENGTH,
      })
    }
    return sha256.digest(input)
  },
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
