/**
 * Internal argument checks and byte helpers shared by the primitives. Not exported from the package.
 *
 * @module
 */
import { InvalidBytesError, InvalidKeyLengthError } from './errors.ts'

const encoder = new TextEncoder()

/** Throws {@link InvalidBytesError} unless `value` is a Uint8Array (Node's Buffer is one). */
export function assertBytes(value: unknown, argument: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new InvalidBytesError({ argument })
}

/** Throws unless `value` is a Uint8Array of exactly `length` bytes. */
export function assertLength(value: unknown, length: number, argument: string): asserts value is Uint8Array {
  assertBytes(value, argument)
  if (value.length !== length) {
    throw new InvalidKeyLengthError({ argument, expected: length, received: value.length })
  }
}

/** Optional associated data: absent means empty. */
export function optionalBytes(value: Uint8Array | undefined, argument: string): Uint8Array {
  if (value === undefined) return new Uint8Array(0)
  assertBytes(value, argument)
  return value
}

export function utf8(text: string): Uint8Array {
  return encoder.encode(text)
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  let length = 0
  for (const p of parts) length += p.length
  const out = new Uint8Array(length)
  let offset = 0
  for (const p of parts) {
    out.set(p, offset)
    offset += p.length
  }
  return out
}

/** Cryptographically secure random bytes from `crypto.getRandomValues` (browsers and Node 22+). */
export function randomBytes(length: number): Uint8Array {
  const out = new Uint8Array(length)
  // getRandomValues refuses more than 65536 bytes per call; every caller here asks for far less.
  globalThis.crypto.getRandomValues(out)
  return out
}

export function toHex(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += b.toString(16).padStart(2, '0')
  return s
}

export function fromHex(hex: string): Uint8Array {
  const clean = hex.startsWith('0x') ? hex.slice(2) : hex
  if (clean.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(clean)) throw new TypeError('invalid hex string')
  const out = new Uint8Array(clean.length / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(clean.slice(2 * i, 2 * i + 2), 16)
  return out
}
