/**
 * The identity keystore: one account's private key, encrypted under a passphrase. scrypt (N = 2^17, r = 8,
 * p = 1) turns the passphrase into a 256-bit key; XChaCha20-Poly1305 seals the private key with the file's
 * public header (version, address, KDF and cipher parameters) as associated data, so a header edited to point
 * at another address or weaker parameters fails to open like a wrong passphrase does.
 *
 * A Web3 Secret Storage v3 file — a `medvault-node` operator keystore, or one from geth or Foundry's
 * `cast wallet` — is read too (through `@medvault/node`), so one key can serve both tools; new identities are
 * always written in this module's format.
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises'
import { dirname } from 'node:path'
import { xchacha20poly1305 } from '@noble/ciphers/chacha.js'
import { scryptAsync } from '@noble/hashes/scrypt.js'
import { type Address, bytesToHex, getAddress, type Hex, hexToBytes, isHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { ExitCode, KeystoreError, WrongPassphraseError } from './errors.ts'

export const KEYSTORE_VERSION = 'medvault-keystore/1'

interface KeystoreHeader {
  version: typeof KEYSTORE_VERSION
  address: Address
  kdf: { name: 'scrypt'; N: number; r: number; p: number; salt: Hex }
  cipher: { name: 'xchacha20-poly1305'; nonce: Hex }
}
interface KeystoreFile extends KeystoreHeader {
  ciphertext: Hex
}

const SCRYPT = { N: 2 ** 17, r: 8, p: 1 }

function aad(header: KeystoreHeader): Uint8Array {
  // A fixed key order: the AAD must be the same bytes when the file is read back.
  const { version, address, kdf, cipher } = header
  return new TextEncoder().encode(
    JSON.stringify({
      version,
      address,
      kdf: { name: kdf.name, N: kdf.N, r: kdf.r, p: kdf.p, salt: kdf.salt },
      cipher: { name: cipher.name, nonce: cipher.nonce },
    }),
  )
}

async function deriveKey(passphrase: string, kdf: KeystoreHeader['kdf']): Promise<Uint8Array> {
  return scryptAsync(new TextEncoder().encode(passphrase.normalize('NFKC')), hexToBytes(kdf.salt), {
    N: kdf.N,
    r: kdf.r,
    p: kdf.p,
    dkLen: 32,
    maxmem: 2 ** 30,
  })
}

/** Encrypts `privateKey` under `passphrase` into `file` (written atomically, mode 0600). */
export async function writeKeystore(file: string, privateKey: Hex, passphrase: string): Promise<Address> {
  const address = privateKeyToAccount(privateKey).address
  const header: KeystoreHeader = {
    version: KEYSTORE_VERSION,
    address,
    kdf: { name: 'scrypt', ...SCRYPT, salt: bytesToHex(randomBytes(32)) },
    cipher: { name: 'xchacha20-poly1305', nonce: bytesToHex(randomBytes(24)) },
  }
  const key = await deriveKey(passphrase, header.kdf)
  const ciphertext = xchacha20poly1305(key, hexToBytes(header.cipher.nonce), aad(header)).encrypt(
    hexToBytes(privateKey),
  )
  key.fill(0)
  const body: KeystoreFile = { ...header, ciphertext: bytesToHex(ciphertext) }
  await mkdir(dirname(file), { recursive: true, mode: 0o700 })
  const temporary = `${file}.${process.pid}.tmp`
  await writeFile(temporary, `${JSON.stringify(body, null, 2)}\n`, { mode: 0o600, flag: 'wx' })
  await rename(temporary, file)
  return address
}

/** What a keystore says without its passphrase. */
export interface KeystoreInfo {
  address: Address
  /** `medvault-keystore/1` (this CLI's), or `web3-secret-storage/3` (a `medvault-node` operator keystore). */
  format: typeof KEYSTORE_VERSION | typeof WEB3_KEYSTORE
}

/** The Web3 Secret Storage v3 files `medvault-node` (and geth, Foundry's `cast wallet`) write. */
const WEB3_KEYSTORE = 'web3-secret-storage/3'

/**
 * Reads the keystore's address without a passphrase: a `medvault-keystore/1` file, or a Web3 Secret Storage v3
 * file such as a `medvault-node` operator keystore (read by `@medvault/node`, loaded only then).
 */
export async function readKeystore(file: string): Promise<KeystoreInfo> {
  if (await isWeb3Keystore(file)) {
    const node = await import('@medvault/node')
    try {
      return { address: await node.keystoreAddress(file), format: WEB3_KEYSTORE }
    } catch (cause) {
      throw new KeystoreError(`${file} is not a readable keystore (Web3 Secret Storage v3).`, { cause })
    }
  }
  const k = await readOwnKeystore(file)
  return { address: k.address, format: KEYSTORE_VERSION }
}

/** Whether the file is JSON with `"version": 3` (a Web3 Secret Storage keystore); false when unreadable. */
async function isWeb3Keystore(file: string): Promise<boolean> {
  try {
    return (JSON.parse(await readFile(file, 'utf8')) as { version?: unknown } | null)?.version === 3
  } catch {
    return false
  }
}

async function readOwnKeystore(file: string): Promise<KeystoreFile> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (cause) {
    if ((cause as { code?: string }).code === 'ENOENT') {
      throw new KeystoreError(`No keystore at ${file}: create one with \`medvault identity new\`.`, {
        exitCode: ExitCode.notFound,
      })
    }
    throw new KeystoreError(`Cannot read the keystore ${file}.`, { cause })
  }
  let parsed: unknown
  try {
    parsed = JSON.parse(text)
  } catch {
    throw new KeystoreError(`${file} is not a medvault keystore (not JSON).`)
  }
  const k = parsed as Partial<KeystoreFile>
  const valid =
    k.version === KEYSTORE_VERSION &&
    typeof k.address === 'string' &&
    k.kdf?.name === 'scrypt' &&
    Number.isInteger(k.kdf.N) &&
    k.kdf.N >= 2 ** 14 &&
    k.kdf.N <= 2 ** 20 &&
    Number.isInteger(k.kdf.r) &&
    Number.isInteger(k.kdf.p) &&
    isHex(k.kdf.salt) &&
    k.cipher?.name === 'xchacha20-poly1305' &&
    isHex(k.cipher.nonce) &&
    hexToBytes(k.cipher.nonce).length === 24 &&
    isHex(k.ciphertext)
  if (!valid) throw new KeystoreError(`${file} is not a medvault keystore (unknown version or fields).`)
  return { ...(k as KeystoreFile), address: getAddress(k.address as string) }
}

/** Opens the keystore: its private key, or {@link WrongPassphraseError}. */
export async function openKeystore(
  file: string,
  passphrase: string,
): Promise<{ address: Address; privateKey: Hex }> {
  if (await isWeb3Keystore(file)) {
    const node = await import('@medvault/node')
    let privateKey: Hex
    try {
      privateKey = await node.openKeystore(file, passphrase)
    } catch (cause) {
      if (cause instanceof node.KeystoreError && cause.reason === 'wrong_passphrase')
        throw new WrongPassphraseError(file)
      throw new KeystoreError(`${file} is not a readable keystore (Web3 Secret Storage v3).`, { cause })
    }
    return { address: privateKeyToAccount(privateKey).address, privateKey }
  }
  const k = await readOwnKeystore(file)
  const key = await deriveKey(passphrase, k.kdf)
  let plain: Uint8Array
  try {
    plain = xchacha20poly1305(key, hexToBytes(k.cipher.nonce), aad(k)).decrypt(hexToBytes(k.ciphertext))
  } catch {
    throw new WrongPassphraseError(file)
  } finally {
    key.fill(0)
  }
  const privateKey = bytesToHex(plain)
  plain.fill(0)
  if (privateKeyToAccount(privateKey).address !== k.address) throw new WrongPassphraseError(file)
  return { address: k.address, privateKey }
}
