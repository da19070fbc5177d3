/**
 * The EIP-712 digests of the protocol's fixed-shape messages and the recovery of their signers, on
 * `@noble/curves` and `@noble/hashes` directly.
 *
 * Every field of an access request and of a receipt is a static EIP-712 type (address, bytes32, uintN), so the
 * struct encoding is a row of 32-byte words: the digest is three Keccak-256 calls over a cached domain
 * separator, byte for byte what viem's `hashTypedData` gives (tests compare the two), at a fraction of the
 * cost. A proxy computes one for every request, and each cost it saves is one more request per second.
 *
 * Recovery: a signature whose likely signer is known (a proxy knows the grantee of the grant a request names,
 * a client knows the proxy it asked) is first checked against that signer's public key, if a recovery made
 * it known before; the check is the recovery equation itself (`R = z/s·G + r/s·Q` with the x coordinate
 * `r` and the y parity `v`), so it holds exactly when a full recovery would give that key. Otherwise, and
 * whenever it does not hold, the signer is recovered in full. Public keys are kept by the address they
 * hash to (least recently used out): a mapping of arithmetic facts, which no input can make wrong.
 *
 * @module
 */
import { secp256k1 } from '@noble/curves/secp256k1.js'
import { keccak_256 } from '@noble/hashes/sha3.js'
import { type Address, getAddress, type Hex } from 'viem'
import type { ProtocolTypedDataDomain } from './eip712.ts'

const Point = secp256k1.Point
type Point = InstanceType<typeof Point>
const Fn = Point.Fn
const utf8 = new TextEncoder()

const DOMAIN_TYPEHASH = keccak_256(
  utf8.encode('EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)'),
)

/** keccak256 of an EIP-712 type string, e.g. `AccessRequest(address proxy,…)`. */
export function typeHash(type: string): Uint8Array {
  return keccak_256(utf8.encode(type))
}

const separators = new Map<string, Uint8Array>()

/** The domain separator (`hashStruct(EIP712Domain)`), kept per chain id and contract (a handful at most). */
function domainSeparator(domain: ProtocolTypedDataDomain): Uint8Array {
  const id = `${domain.chainId}:${domain.verifyingContract.toLowerCase()}:${domain.name}:${domain.version}`
  let separator = separators.get(id)
  if (separator === undefined) {
    separator = keccak_256(
      concatWords([
        DOMAIN_TYPEHASH,
        keccak_256(utf8.encode(domain.name)),
        keccak_256(utf8.encode(domain.version)),
        uintWord(domain.chainId),
        addressWord(domain.verifyingContract),
      ]),
    )
    if (separators.size >= 64) separators.clear()
    separators.set(id, separator)
  }
  return separator
}

/**
 * The EIP-712 digest `keccak256(0x1901 ‖ domainSeparator ‖ keccak256(typeHash ‖ words))` of a struct whose
 * fields are all static types, each already encoded as its 32-byte word. The caller checks the values.
 */
export function staticTypedDataDigest(
  domain: ProtocolTypedDataDomain,
  structTypeHash: Uint8Array,
  words: readonly Uint8Array[],
): Uint8Array {
  const structHash = keccak_256(concatWords([structTypeHash, ...words]))
  const out = new Uint8Array(66)
  out[0] = 0x19
  out[1] = 0x01
  out.set(domainSeparator(domain), 2)
  out.set(structHash, 34)
  return keccak_256(out)
}

/** A checked address as its EIP-712 word (left-padded to 32 bytes). */
export function addressWord(address: Address): Uint8Array {
  const word = new Uint8Array(32)
  word.set(hexBytes(address), 12)
  return word
}

/** A checked 32-byte hex value as its word. */
export function bytes32Word(value: Hex): Uint8Array {
  return hexBytes(value)
}

/** A checked non-negative integer (below 2^256) as its word, big-endian. */
export function uintWord(value: number | bigint): Uint8Array {
  const word = new Uint8Array(32)
  let x = BigInt(value)
  for (let i = 31; i >= 0 && x > 0n; i--) {
    word[i] = Number(x & 0xffn)
    x >>= 8n
  }
  return word
}

function concatWords(words: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(32 * words.length)
  for (const [i, w] of words.entries()) out.set(w, 32 * i)
  return out
}

function hexBytes(hex: string): Uint8Array {
  const out = new Uint8Array((hex.length - 2) / 2)
  for (let i = 0; i < out.length; i++) out[i] = Number.parseInt(hex.slice(2 + 2 * i, 4 + 2 * i), 16)
  return out
}

const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'))

function toHexString(bytes: Uint8Array): Hex {
  let out = '0x'
  for (const b of bytes) out += HEX[b]
  return out as Hex
}

/**
 * Public keys recovered before, by lowercase address; least recently used out. Each holds a 4-bit window
 * table (≈130 KB), so 256 of them stay near 32 MB: a proxy's active grantees, a client's proxies.
 */
const KEYS_CAPACITY = 256
const keys = new Map<string, Point>()

function rememberKey(address: string, key: Point): void {
  keys.delete(address)
  // The window table makes each later check of this signer's signatures about 2.5× as fast as a recovery.
  key.precompute(4)
  keys.set(address, key)
  if (keys.size > KEYS_CAPACITY) keys.delete(keys.keys().next().value as string)
}

function knownKey(address: string): Point | undefined {
  const key = keys.get(address)
  if (key !== undefined) {
    keys.delete(address)
    keys.set(address, key)
  }
  return key
}

/** The checksummed address of a public key: the last 20 bytes of keccak256 of its uncompressed x ‖ y. */
function addressOf(key: Point): Address {
  const hash = keccak_256(key.toBytes(false).subarray(1))
  return getAddress(toHexString(hash.subarray(12)))
}

/**
 * The signer of a 32-byte digest, from a signature in the protocol's one accepted form (65 bytes `r ‖ s ‖ v`,
 * `0 < r < n`, `0 < s ≤ n/2`, `v` 27 or 28 — checked by the caller with `expectSignature`). The result is
 * what viem's `recoverAddress` gives for the same inputs.
 *
 * @param candidate - an account that probably signed: checked first when its public key is known, then the
 *   signer is recovered in full if it did not sign. A wrong candidate costs time, never a wrong answer. Only
 *   the candidate's own key is kept for next time.
 * @throws {Error} when no public key can be recovered (the caller turns it into its typed error).
 */
export function recoverDigestSigner(digest: Uint8Array, signature: Hex, candidate?: Address): Address {
  const bytes = hexBytes(signature)
  const r = bytesToBigInt(bytes.subarray(0, 32))
  const s = bytesToBigInt(bytes.subarray(32, 64))
  const parity = bytes[64]! - 27
  if (candidate !== undefined) {
    const key = knownKey(candidate.toLowerCase())
    if (key !== undefined && signedBy(key, digest, r, s, parity)) return getAddress(candidate)
  }
  const sig = new secp256k1.Signature(r, s, parity)
  const key = sig.recoverPublicKey(digest)
  const address = addressOf(key)
  // Kept only when the signer is the one expected: anyone can send a request signed by a fresh key, and
  // keeping every such key would cost its table each time and push out the keys of the real signers.
  if (candidate !== undefined && address.toLowerCase() === candidate.toLowerCase()) {
    rememberKey(address.toLowerCase(), key)
  }
  return address
}

/** How many signers' public keys are kept. @internal for tests. */
export function rememberedSigners(): number {
  return keys.size
}

/**
 * Whether recovering `(r, s, parity)` over `digest` gives `key`: the point `z/s·G + r/s·key` must be the very
 * point R the recovery starts from (x = r, y of that parity). Both sides are the same equation solved in
 * opposite directions, so this holds exactly when the full recovery would return `key`.
 */
function signedBy(key: Point, digest: Uint8Array, r: bigint, s: bigint, parity: number): boolean {
  const z = Fn.create(bytesToBigInt(digest))
  const w = Fn.inv(s)
  const u1 = Fn.mul(z, w)
  const u2 = Fn.mul(r, w)
  // Two multiplications, each with its precomputed table (G's and the key's), beat one joint Strauss–Shamir
  // multiplication without a table for the key.
  const R = Point.BASE.multiplyUnsafe(u1).add(key.multiplyUnsafe(u2))
  if (R.is0()) return false
  const { x, y } = R.toAffine()
  return x === r && Number(y & 1n) === parity
}

function bytesToBigInt(bytes: Uint8Array): bigint {
  return bytes.length === 0 ? 0n : BigInt(toHexString(bytes))
}
