/**
 * The operator keystore: the node operator's Ethereum private key (its address is the proxy's identity on
 * chain; the proxy's ECIES key is derived from it), encrypted under a passphrase in the Web3 Secret Storage
 * v3 format (scrypt, AES-128-CTR, Keccak-256 MAC) that geth, Foundry's `cast wallet` and most wallets read,
 * so an operator can import or export the key with tools they already trust.
 *
 * The passphrase never comes from the command line (where `ps` and shell history would show it): from the
 * `MEDVAULT_NODE_PASSPHRASE` environment variable or a terminal prompt.
 *
 * @module
 */
import { createCipheriv, createDecipheriv, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { open as openSealed } from '@medvault/crypto'
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes, keccak256 } from 'viem'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { KeystoreError } from './daemon-errors.ts'

/** The environment variable the passphrase is read from. */
export const PASSPHRASE_ENV = 'MEDVAULT_NODE_PASSPHRASE'

/** scrypt cost used for new keystores (geth's "standard" setting). */
export const KEYSTORE_SCRYPT_N = 262_144

interface KeystoreV3 {
  version: 3
  id: string
  address: string
  crypto: {
    cipher: 'aes-128-ctr'
    cipherparams: { iv: string }
    ciphertext: string
    kdf: 'scrypt'
    kdfparams: { dklen: 32; n: number; r: number; p: number; salt: string }
    mac: string
  }
}

/**
 * scrypt from @noble/hashes rather than Node's (OpenSSL's), which refuses valid parameter sets that other
 * tools write (it requires N < 2^(16·r): the Web3 Secret Storage reference vector, with r = 1, fails there).
 */
async function scrypt(
  passphrase: string,
  salt: Uint8Array,
  n: number,
  r: number,
  p: number,
): Promise<Uint8Array> {
  return scryptAsync(new TextEncoder().encode(passphrase.normalize('NFKC')), salt, {
    N: n,
    r,
    p,
    dkLen: 32,
    maxmem: 128 * n * r * (p + 2) + 32 * 1024 * 1024,
  })
}

const mac = (derived: Uint8Array, ciphertext: Uint8Array): Uint8Array =>
  hexToBytes(keccak256(new Uint8Array([...derived.subarray(16, 32), ...ciphertext])))

/**
 * Encrypts `privateKey` (a new random one when omitted) under `passphrase` and writes the keystore to
 * `file` (mode 0600; never overwrites). Returns the address.
 *
 * @throws {KeystoreError} `exists` when `file` is already there.
 */
export async function createKeystore(
  file: string,
  passphrase: string,
  options: { privateKey?: Hex; scryptN?: number } = {},
): Promise<Address> {
  if (passphrase.length < 8) throw new RangeError('the keystore passphrase must have at least 8 characters')
  const privateKey = options.privateKey ?? generatePrivateKey()
  const n = options.scryptN ?? KEYSTORE_SCRYPT_N
  const salt = randomBytes(32)
  const iv = randomBytes(16)
  const derived = await scrypt(passphrase, salt, n, 8, 1)
  const cipher = createCipheriv('aes-128-ctr', derived.subarray(0, 16), iv)
  const ciphertext = Buffer.concat([cipher.update(hexToBytes(privateKey)), cipher.final()])
  const address = privateKeyToAddress(privateKey)
  const keystore: KeystoreV3 = {
    version: 3,
    id: randomUUID(),
    address: address.slice(2).toLowerCase(),
    crypto: {
      cipher: 'aes-128-ctr',
      cipherparams: { iv: iv.toString('hex') },
      ciphertext: ciphertext.toString('hex'),
      kdf: 'scrypt',
      kdfparams: { dklen: 32, n, r: 8, p: 1, salt: salt.toString('hex') },
      mac: bytesToHex(mac(derived, ciphertext)).slice(2),
    },
  }
  try {
    await writeFile(file, `${JSON.stringify(keystore, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST')
      throw new KeystoreError({ reason: 'exists', file: basename(file) })
    throw err
  }
  return address
}

/** The address a keystore is for, read without the passphrase (either format). */
export async function keystoreAddress(file: string): Promise<Address> {
  const keystore = await readAnyKeystore(file)
  return keystore.version === MEDVAULT_KEYSTORE ? keystore.address : getAddress(`0x${keystore.address}`)
}

/**
 * Opens the keystore and returns the private key. Reads the node's Web3 Secret Storage v3 files and the
 * `medvault` command line's `medvault-keystore/1` identity files (scrypt, XChaCha20-Poly1305), so one key can
 * serve both tools.
 *
 * @throws {KeystoreError} `wrong_passphrase` (the MAC does not match), `malformed` or `missing`.
 */
export async function openKeystore(file: string, passphrase: string): Promise<Hex> {
  const keystore = await readAnyKeystore(file)
  if (keystore.version === MEDVAULT_KEYSTORE)
    return openMedvaultKeystore(keystore, passphrase, basename(file))
  const { kdfparams, cipherparams } = keystore.crypto
  const ciphertext = hexToBytes(`0x${keystore.crypto.ciphertext}`)
  const derived = await scrypt(
    passphrase,
    hexToBytes(`0x${kdfparams.salt}`),
    kdfparams.n,
    kdfparams.r,
    kdfparams.p,
  )
  const expected = hexToBytes(`0x${keystore.crypto.mac}`)
  const actual = mac(derived, ciphertext)
  if (expected.length !== actual.length || !timingSafeEqual(expected, actual)) {
    throw new KeystoreError({ reason: 'wrong_passphrase', file: basename(file) })
  }
  const decipher = createDecipheriv(
    'aes-128-ctr',
    derived.subarray(0, 16),
    hexToBytes(`0x${cipherparams.iv}`),
  )
  const key = bytesToHex(Buffer.concat([decipher.update(ciphertext), decipher.final()]))
  if (privateKeyToAddress(key).slice(2).toLowerCase() !== keystore.address.toLowerCase()) {
    throw new KeystoreError({ reason: 'malformed', file: basename(file) })
  }
  return key
}

/** The `medvault` CLI's identity keystore format. */
const MEDVAULT_KEYSTORE = 'medvault-keystore/1'

/** A `medvault-keystore/1` file: its header is bound to the ciphertext as associated data. */
interface MedvaultKeystore {
  version: typeof MEDVAULT_KEYSTORE
  address: Address
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: Hex }
  cipher: { name: 'xchacha20-poly1305'; nonce: Hex }
  ciphertext: Hex
}

async function readAnyKeystore(file: string): Promise<KeystoreV3 | MedvaultKeystore> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT')
      throw new KeystoreError({ reason: 'missing', file: basename(file) })
    throw err
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    throw new KeystoreError({ reason: 'malformed', file: basename(file) })
  }
  if ((value as { version?: unknown } | null)?.version === MEDVAULT_KEYSTORE) {
    return checkMedvaultKeystore(value as Partial<MedvaultKeystore>, basename(file))
  }
  return checkKeystoreV3(value as Partial<KeystoreV3>, basename(file))
}

function checkMedvaultKeystore(k: Partial<MedvaultKeystore>, file: string): MedvaultKeystore {
  const hex = (v: unknown, bytes?: number) =>
    typeof v === 'string' &&
    /^0x([0-9a-f]{2})*$/i.test(v) &&
    (bytes === undefined || v.length === 2 + bytes * 2)
  const ok =
    typeof k.address === 'string' &&
    /^0x[0-9a-fA-F]{40}$/.test(k.address) &&
    k.kdf?.name === 'scrypt' &&
    Number.isSafeInteger(k.kdf.N) &&
    k.kdf.N >= 2 ** 14 &&
    k.kdf.N <= 2 ** 20 &&
    (k.kdf.N & (k.kdf.N - 1)) === 0 &&
    Number.isSafeInteger(k.kdf.r) &&
    k.kdf.r >= 1 &&
    k.kdf.r <= 32 &&
    Number.isSafeInteger(k.kdf.p) &&
    k.kdf.p >= 1 &&
    k.kdf.p <= 16 &&
    128 * k.kdf.N * k.kdf.r * k.kdf.p <= 2 * 1024 ** 3 &&
    hex(k.kdf.salt) &&
    k.cipher?.name === 'xchacha20-poly1305' &&
    hex(k.cipher.nonce, 24) &&
    hex(k.ciphertext, 48)
  if (!ok) throw new KeystoreError({ reason: 'malformed', file })
  return { ...(k as MedvaultKeystore), address: getAddress(k.address as string) }
}

async function openMedvaultKeystore(k: MedvaultKeystore, passphrase: string, file: string): Promise<Hex> {
  const key = await scryptAsync(
    new TextEncoder().encode(passphrase.normalize('NFKC')),
    hexToBytes(k.kdf.salt),
    {
      N: k.kdf.N,
      r: k.kdf.r,
      p: k.kdf.p,
      dkLen: 32,
      maxmem: 2 ** 31,
    },
  )
  // The associated data is the header as the CLI wrote it, in this key order (see @medvault/cli's keystore).
  const aad = new TextEncoder().encode(
    JSON.stringify({
      version: k.version,
      address: k.address,
      kdf: { name: k.kdf.name, N: k.kdf.N, r: k.kdf.r, p: k.kdf.p, salt: k.kdf.salt },
      cipher: { name: k.cipher.name, nonce: k.cipher.nonce },
    }),
  )
  let plain: Uint8Array
  try {
    plain = openSealed(key, new Uint8Array([...hexToBytes(k.cipher.nonce), ...hexToBytes(k.ciphertext)]), aad)
  } catch {
    throw new KeystoreError({ reason: 'wrong_passphrase', file })
  } finally {
    key.fill(0)
  }
  const privateKey = bytesToHex(plain)
  plain.fill(0)
  if (privateKeyToAddress(privateKey) !== k.address)
    throw new KeystoreError({ reason: 'wrong_passphrase', file })
  return privateKey
}

function checkKeystoreV3(value: Partial<KeystoreV3>, file: string): KeystoreV3 {
  const c = value.crypto
  const hex = (s: unknown, bytes?: number): boolean =>
    typeof s === 'string' &&
    /^[0-9a-f]*$/i.test(s) &&
    s.length % 2 === 0 &&
    (bytes === undefined || s.length === bytes * 2)
  const ok =
    value.version === 3 &&
    hex(value.address, 20) &&
    c !== undefined &&
    c.cipher === 'aes-128-ctr' &&
    c.kdf === 'scrypt' &&
    hex(c.cipherparams?.iv, 16) &&
    hex(c.ciphertext, 32) &&
    hex(c.mac, 32) &&
    hex(c.kdfparams?.salt) &&
    Number.isSafeInteger(c.kdfparams?.n) &&
    c.kdfparams!.n >= 2 &&
    c.kdfparams!.n <= 2 ** 20 &&
    (c.kdfparams!.n & (c.kdfparams!.n - 1)) === 0 &&
    Number.isSafeInteger(c.kdfparams?.r) &&
    c.kdfparams!.r >= 1 &&
    c.kdfparams!.r <= 32 &&
    Number.isSafeInteger(c.kdfparams?.p) &&
    c.kdfparams!.p >= 1 &&
    c.kdfparams!.p <= 16 &&
    // Bounds the memory scrypt may take for a keystore file (geth's standard setting needs 256 MiB).
    128 * c.kdfparams!.n * c.kdfparams!.r * c.kdfparams!.p <= 2 * 1024 ** 3
  if (!ok) throw new KeystoreError({ reason: 'malformed', file })
  return value as KeystoreV3
}
