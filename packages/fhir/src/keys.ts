/**
 * The keyed functions behind cryptoHash, dateShift and encrypt, and where their keys come from.
 *
 * - `medvault` rule sets derive one key per purpose from the dataset key with HKDF-SHA256, so a pseudonym
 *   and a date shift never share key material.
 * - `microsoft` rule sets use the keys written in the configuration, as UTF-8 bytes, exactly as Microsoft's
 *   anonymizer does, so its outputs are reproduced bit for bit.
 *
 * @module
 */
import { cbc } from '@noble/ciphers/aes.js'
import { hkdf } from '@noble/hashes/hkdf.js'
import { hmac } from '@noble/hashes/hmac.js'
import { sha256 } from '@noble/hashes/sha2.js'
import { bytesToHex, hexToBytes, randomBytes } from '@noble/hashes/utils.js'
import { InvalidKeyError, MissingKeyError } from './errors.ts'
import type { CompiledRuleSet } from './rules.ts'

const utf8 = new TextEncoder()

/** Shortest dataset key accepted in medvault mode: shorter secrets make pseudonyms guessable offline. */
export const MIN_KEY_BYTES = 16

export interface ResolvedKeys {
  cryptoHash: Uint8Array | undefined
  /** Microsoft mode: the configured string; medvault mode: derived bytes. */
  dateShift: Uint8Array | string | undefined
  encrypt: Uint8Array | undefined
}

function keyBytes(key: string | Uint8Array): Uint8Array {
  if (typeof key === 'string') return utf8.encode(key)
  if (key instanceof Uint8Array) return key
  throw new InvalidKeyError({ reason: 'expected a string or a Uint8Array' })
}

function derive(ikm: Uint8Array, purpose: string): Uint8Array {
  return hkdf(sha256, ikm, new Uint8Array(0), utf8.encode(`medvault/fhir/v1/${purpose}`), 32)
}

const resolvedCache = new WeakMap<CompiledRuleSet, Map<string, ResolvedKeys>>()

/**
 * The keys a run needs; throws {@link MissingKeyError} for a keyed method without one. Remembered per rule set
 * and key, so that a stream of small resources derives them once (and the pseudonym memo stays warm).
 */
export function resolveKeys(rules: CompiledRuleSet, key: string | Uint8Array | undefined): ResolvedKeys {
  const id =
    key === undefined
      ? ''
      : typeof key === 'string'
        ? `s${key}`
        : key instanceof Uint8Array
          ? `b${bytesToHex(key)}`
          : undefined
  if (id === undefined) throw new InvalidKeyError({ reason: 'expected a string or a Uint8Array' })
  let cache = resolvedCache.get(rules)
  const hit = cache?.get(id)
  if (hit !== undefined) return hit
  const keys = deriveKeys(rules, key)
  if (cache === undefined) {
    cache = new Map()
    resolvedCache.set(rules, cache)
  }
  if (cache.size >= 8) cache.clear()
  cache.set(id, keys)
  return keys
}

function deriveKeys(rules: CompiledRuleSet, key: string | Uint8Array | undefined): ResolvedKeys {
  const p = rules.parameters
  const keys: ResolvedKeys = { cryptoHash: undefined, dateShift: undefined, encrypt: undefined }
  if (key !== undefined && typeof key !== 'string' && !(key instanceof Uint8Array)) {
    throw new InvalidKeyError({ reason: 'expected a string or a Uint8Array' })
  }
  if (p.compatibility === 'microsoft') {
    const fallback = key === undefined ? undefined : typeof key === 'string' ? key : bytesToHex(key)
    const pick = (configured: string | undefined) =>
      configured !== undefined && configured !== '' ? configured : fallback
    const hashKey = pick(p.cryptoHashKey)
    const shiftKey = pick(p.dateShiftKey)
    const encKey = pick(p.encryptKey)
    keys.cryptoHash = hashKey === undefined ? undefined : utf8.encode(hashKey)
    keys.dateShift = shiftKey
    if (encKey !== undefined) {
      const bytes = utf8.encode(encKey)
      if (bytes.length !== 16 && bytes.length !== 24 && bytes.length !== 32) {
        throw new InvalidKeyError({
          reason: `an AES key must be 16, 24 or 32 bytes, this one is ${bytes.length} bytes`,
        })
      }
      keys.encrypt = bytes
    }
  } else if (key !== undefined) {
    const ikm = keyBytes(key)
    if (ikm.length < MIN_KEY_BYTES) {
      throw new InvalidKeyError({ reason: `it is ${ikm.length} bytes; give at least ${MIN_KEY_BYTES}` })
    }
    keys.cryptoHash = derive(ikm, 'cryptoHash')
    keys.dateShift = derive(ikm, 'dateShift')
    keys.encrypt = derive(ikm, 'encrypt')
  }
  for (const method of rules.keyedMethods) {
    const have =
      method === 'cryptoHash' ? keys.cryptoHash : method === 'dateShift' ? keys.dateShift : keys.encrypt
    if (have === undefined) throw new MissingKeyError({ method })
  }
  return keys
}

/** HMAC-SHA256 of the UTF-8 text, as lowercase hex (Microsoft's `ComputeHmacSHA256Hash`). */
export function hmacHex(key: Uint8Array, input: string): string {
  return bytesToHex(hmac(sha256, key, utf8.encode(input)))
}

export function hmacBytes(key: Uint8Array, input: string): Uint8Array {
  return hmac(sha256, key, utf8.encode(input))
}

const UUID_RE = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/**
 * medvault pseudonym: HMAC-SHA256 of the value. A UUID stays a UUID (the first 16 bytes, as an RFC 9562
 * version-8 UUID) so `urn:uuid:` references and ids remain valid; anything else becomes 64 hex digits, a valid
 * FHIR id.
 */
export function pseudonym(key: Uint8Array, value: string): string {
  // The same ids come back in every reference to them: remember recent answers per key.
  let memo = pseudonymMemo.get(key)
  if (memo === undefined) {
    memo = new Map()
    pseudonymMemo.set(key, memo)
  }
  const hit = memo.get(value)
  if (hit !== undefined) return hit
  const out = computePseudonym(key, value)
  if (memo.size >= MEMO_LIMIT) memo.clear()
  memo.set(value, out)
  return out
}

const MEMO_LIMIT = 10_000
const pseudonymMemo = new WeakMap<Uint8Array, Map<string, string>>()

function computePseudonym(key: Uint8Array, value: string): string {
  const mac = hmacBytes(key, value)
  if (!UUID_RE.test(value)) return bytesToHex(mac)
  const b = mac.slice(0, 16)
  b[6] = (b[6]! & 0x0f) | 0x80
  b[8] = (b[8]! & 0x3f) | 0x80
  const h = bytesToHex(b)
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/** medvault pseudonym for an OID: under the UUID arc `2.25`, so it is still an OID. */
export function oidPseudonym(key: Uint8Array, value: string): string {
  const b = hmacBytes(key, value).slice(0, 16)
  return `2.25.${BigInt(`0x${bytesToHex(b)}`).toString()}`
}

/**
 * AES-CBC with PKCS#7 padding and a random 16-byte IV, returned as Base64(IV ‖ ciphertext): Microsoft's
 * `EncryptTextToBase64WithAes`. Random IVs make the output differ on every run.
 */
export function encryptToBase64(key: Uint8Array, plaintext: string): string {
  const iv = randomBytes(16)
  const ct = cbc(key, iv).encrypt(utf8.encode(plaintext))
  const out = new Uint8Array(16 + ct.length)
  out.set(iv, 0)
  out.set(ct, 16)
  return toBase64(out)
}

/**
 * Opens a value that the `encrypt` method replaced: Base64(IV ‖ AES-CBC ciphertext, PKCS#7 padding) under the
 * rule set's encryption key, as Microsoft's `EncryptTextToBase64WithAes` writes it.
 */
export function decryptFromBase64(key: Uint8Array, base64: string): string {
  const bytes = fromBase64(base64)
  if (bytes.length < 32 || bytes.length % 16 !== 0) {
    throw new InvalidKeyError({ reason: 'the ciphertext is not IV ‖ AES-CBC blocks' })
  }
  const pt = cbc(key, bytes.slice(0, 16)).decrypt(bytes.slice(16))
  return new TextDecoder().decode(pt)
}

export function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000))
  return btoa(s)
}

export function fromBase64(text: string): Uint8Array {
  const s = atob(text)
  const out = new Uint8Array(s.length)
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i)
  return out
}

export { bytesToHex, hexToBytes }
