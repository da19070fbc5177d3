import { type Hex, keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'

/** A deterministic 32-byte id from a label (tests only; the SDK uses random ids). */
export const id = (label: string): Hex => keccak256(toHex(`id:${label}`))

/** A CIDv1 (raw, sha2-256) in binary form for a label: the shape the chain stores. */
export const cid = (label: string): Hex => `0x01551220${keccak256(toHex(`cid:${label}`)).slice(2)}`

/** A real 33-byte compressed secp256k1 public key. */
export function compressedKey(privateKey: Hex): Hex {
  const uncompressed = privateKeyToAccount(privateKey).publicKey // 0x04 ‖ x ‖ y
  const x = uncompressed.slice(4, 68)
  const yOdd = (Number.parseInt(uncompressed.slice(-2), 16) & 1) === 1
  return `0x${yOdd ? '03' : '02'}${x}`
}

/** Key material for tests: 32 bytes from a label. */
export const testKey = (label: string): Hex => keccak256(toHex(`key:${label}`))
