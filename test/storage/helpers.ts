import { createCipheriv, createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

const PIECE = 1 << 20

/**
 * Kubo's deterministic test input `det(size, seed)`: the ChaCha20 (RFC 8439) keystream with key = SHA-256(seed),
 * a 12-byte zero nonce and counter 0 (see fixtures/cid_known_answers.json). Yields `piece`-sized chunks so
 * any size streams in constant memory. Node's `chacha20` takes a 16-byte IV: 4-byte LE counter, then nonce.
 */
export async function* det(size: number, seed: string, piece = PIECE): AsyncGenerator<Uint8Array> {
  const key = createHash('sha256').update(seed, 'utf8').digest()
  const cipher = createCipheriv('chacha20', key, Buffer.alloc(16))
  const zeros = new Uint8Array(piece)
  let left = size
  while (left > 0) {
    const n = Math.min(piece, left)
    yield new Uint8Array(cipher.update(n === piece ? zeros : zeros.subarray(0, n)))
    left -= n
  }
}

/** Collects an iterable of chunks (only for small contents). */
export async function concat(source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of source) parts.push(p)
  return new Uint8Array(Buffer.concat(parts))
}

/** SHA-256 of a stream, hex, in constant memory. */
export async function sha256Hex(source: AsyncIterable<Uint8Array>): Promise<{ hex: string; bytes: number }> {
  const h = createHash('sha256')
  let bytes = 0
  for await (const p of source) {
    h.update(p)
    bytes += p.byteLength
  }
  return { hex: h.digest('hex'), bytes }
}

export async function tempDir(
  prefix = 'medvault-storage-',
): Promise<{ path: string; remove: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), prefix))
  return { path, remove: () => rm(path, { recursive: true, force: true }) }
}
