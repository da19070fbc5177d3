/**
 * Hand-made CAR bytes for the CAR import tests: every length is the test's to choose, as it is a sender's.
 */
import { createHash } from 'node:crypto'
import { CID } from '@medvault/storage'

export const RAW = 0x55

export function varint(n: number): number[] {
  const out: number[] = []
  while (n >= 0x80) {
    out.push((n % 0x80) | 0x80)
    n = Math.floor(n / 0x80)
  }
  out.push(n)
  return out
}

export function rawCid(bytes: Uint8Array): CID {
  const digest = createHash('sha256').update(bytes).digest()
  return CID.decode(Uint8Array.from([0x01, RAW, 0x12, 0x20, ...digest]))
}

/** A CARv1 header `{ roots, version: 1 }` (hand-written dag-cbor). */
export function header(roots: CID[]): Uint8Array {
  const h: number[] = [0xa2, 0x65, ...Buffer.from('roots'), ...arrayHead(roots.length)]
  for (const root of roots) {
    const link = [0x00, ...root.bytes]
    // a byte string's length, minimal as dag-cbor requires (an identity CID can be under 24 bytes)
    h.push(0xd8, 0x2a, ...(link.length < 24 ? [0x40 + link.length] : [0x58, link.length]), ...link)
  }
  h.push(0x67, ...Buffer.from('version'), 0x01)
  return Uint8Array.from([...varint(h.length), ...h])
}

/** A CAR section: its length (which the sender chooses), the CID, then the bytes. */
export function section(
  cid: CID,
  bytes: Uint8Array,
  declared = cid.bytes.length + bytes.length,
): Uint8Array[] {
  return [Uint8Array.from([...varint(declared), ...cid.bytes]), bytes]
}

/** A dag-cbor array's head for `length` items (up to 65,535). */
function arrayHead(length: number): number[] {
  if (length < 24) return [0x80 + length]
  if (length < 256) return [0x98, length]
  return [0x99, length >> 8, length & 0xff]
}
