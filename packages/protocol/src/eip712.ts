/**
 * The EIP-712 domain shared by access requests and receipts, and signature checks.
 *
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem'
import { SIGNATURE_LENGTH } from './constants.ts'
import { type FormatName, InvalidFieldError } from './errors.ts'
import { expectAddress, expectHexRange } from './fields.ts'

/** The EIP-712 domain `name` of access requests and receipts. */
export const PROTOCOL_DOMAIN_NAME = 'medvault'
/** The EIP-712 domain `version` of access requests and receipts. */
export const PROTOCOL_DOMAIN_VERSION = '1'

/**
 * Where a request or receipt is valid: the chain and its ConsentRegistry. A signature made for one
 * deployment recovers to another address under any other.
 */
export interface ProtocolDomain {
  /** EIP-155 chain id. */
  chainId: number
  /** The ConsentRegistry contract address. */
  verifyingContract: Address
}

/** The full EIP-712 domain, as passed to viem's `signTypedData`. */
export interface ProtocolTypedDataDomain {
  name: typeof PROTOCOL_DOMAIN_NAME
  version: typeof PROTOCOL_DOMAIN_VERSION
  chainId: number
  verifyingContract: Address
}

/** `{ name: 'medvault', version: '1', chainId, verifyingContract }`, checked. */
export function protocolDomain(format: FormatName, domain: ProtocolDomain): ProtocolTypedDataDomain {
  if (domain === null || typeof domain !== 'object') {
    throw new InvalidFieldError({ format, field: 'domain', expected: '{ chainId, verifyingContract }' })
  }
  const { chainId } = domain
  if (typeof chainId !== 'number' || !Number.isSafeInteger(chainId) || chainId < 1) {
    throw new InvalidFieldError({ format, field: 'domain.chainId', expected: 'a positive integer' })
  }
  return {
    name: PROTOCOL_DOMAIN_NAME,
    version: PROTOCOL_DOMAIN_VERSION,
    chainId,
    verifyingContract: expectAddress(format, domain.verifyingContract, 'domain.verifyingContract'),
  }
}

const N = secp256k1.Point.Fn.ORDER
const HALF_N = N >> 1n

/**
 * A signature in its one accepted form: 65 bytes `r ‖ s ‖ v`, `0 < r < n`, `0 < s ≤ n/2` (low s, EIP-2),
 * `v` 27 or 28. Refusing the other three encodings of the same signature keeps signatures unique.
 */
export function expectSignature(format: FormatName, value: unknown, field = 'signature'): Hex {
  const hex = expectHexRange(format, value, field, SIGNATURE_LENGTH, SIGNATURE_LENGTH)
  const bytes = hexToBytes(hex)
  const r = toBigInt(bytes.subarray(0, 32))
  const s = toBigInt(bytes.subarray(32, 64))
  const v = bytes[64]!
  if (r === 0n || r >= N || s === 0n || s > HALF_N || (v !== 27 && v !== 28)) {
    throw new InvalidFieldError({
      format,
      field,
      expected: 'a 65-byte secp256k1 signature r ‖ s ‖ v with low s and v 27 or 28 (see normalizeSignature)',
    })
  }
  return hex
}

/**
 * The accepted form of any 65-byte secp256k1 signature (`v` 0, 1, 27 or 28, any `s`): low `s`, `v` 27 or 28.
 * Some wallets return `v` 0/1 or a high `s`; both verify the same, but the formats accept one form only.
 *
 * @throws {InvalidFieldError} when the input is not 65 bytes with such a `v`, or `r`/`s` are out of range.
 */
export function normalizeSignature(signature: Hex): Hex {
  const format = 'access request'
  const expected = 'a 65-byte secp256k1 signature r ‖ s ‖ v (v 0, 1, 27 or 28)'
  const bytes = hexToBytes(expectHexRange(format, signature, 'signature', SIGNATURE_LENGTH, SIGNATURE_LENGTH))
  const r = toBigInt(bytes.subarray(0, 32))
  let s = toBigInt(bytes.subarray(32, 64))
  let v = bytes[64]!
  if (v === 0 || v === 1) v += 27
  if ((v !== 27 && v !== 28) || r === 0n || r >= N || s === 0n || s >= N) {
    throw new InvalidFieldError({ format, field: 'signature', expected })
  }
  if (s > HALF_N) {
    s = N - s
    v = v === 27 ? 28 : 27
  }
  const out = new Uint8Array(SIGNATURE_LENGTH)
  out.set(bytes.subarray(0, 32))
  out.set(fromBigInt(s), 32)
  out[64] = v
  return bytesToHex(out)
}

function toBigInt(bytes: Uint8Array): bigint {
  let x = 0n
  for (const b of bytes) x = (x << 8n) | BigInt(b)
  return x
}

function fromBigInt(x: bigint): Uint8Array {
  const out = new Uint8Array(32)
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn)
    x >>= 8n
  }
  return out
}
