/**
 * Pinning Service API access tokens. A token is 32 random bytes (`mvn_` + base64url); the node keeps only
 * its SHA-256, beside the name the operator gave it, so a copy of the node's files lets nobody pin. Tokens
 * are created and revoked by name (`medvault-node token create|revoke NAME`), also while the node runs: the
 * running node notices the file changed on the next request, so a revocation takes effect at once.
 *
 * The file (`tokens.json`) is replaced atomically (temporary file, fsync, rename) on every change.
 *
 * @module
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import { mkdir, open, readFile, rename, stat } from 'node:fs/promises'
import { basename, dirname } from 'node:path'
import { NodeStateCorruptError, TokenNameError } from './daemon-errors.ts'

/** A token as the node keeps it: never the token itself. */
export interface TokenEntry {
  name: string
  /** SHA-256 of the token, hex. */
  sha256: string
  created: string
  /** When it was revoked; a revoked token is refused. */
  revoked?: string | undefined
}

interface TokenFile {
  v: 1
  tokens: TokenEntry[]
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/
const TOKEN = /^mvn_[A-Za-z0-9_-]{43}$/

const sha256 = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex')

/** Creates a token store over `file` (created on the first token). */
export function createTokenStore(file: string): TokenStore {
  return new TokenStore(file)
}

export class TokenStore {
  readonly file: string
  #entries: TokenEntry[] = []
  #live = new Map<string, TokenEntry>()
  #seen: string | undefined

  constructor(file: string) {
    this.file = file
  }

  /** Creates a token named `name` and returns it: the only time it is ever shown. */
  async create(name: string): Promise<string> {
    if (!NAME.test(name)) throw new TokenNameError({ name, reason: 'malformed' })
    await this.#load(true)
    if (this.#entries.some((e) => e.name === name && e.revoked === undefined)) {
      throw new TokenNameError({ name, reason: 'exists' })
    }
    const token = `mvn_${randomBytes(32).toString('base64url')}`
    this.#entries.push({ name, sha256: sha256(token), created: new Date().toISOString() })
    await this.#save()
    return token
  }

  /** Revokes the live token named `name`. */
  async revoke(name: string): Promise<void> {
    await this.#load(true)
    const entry = this.#entries.find((e) => e.name === name && e.revoked === undefined)
    if (entry === undefined) throw new TokenNameError({ name, reason: 'unknown' })
    entry.revoked = new Date().toISOString()
    await this.#save()
  }

  /** Every token entry (hashes, names and dates). */
  async list(): Promise<readonly TokenEntry[]> {
    await this.#load(false)
    return this.#entries.map((e) => ({ ...e }))
  }

  /**
   * The name of the live token `token` is, or undefined. Re-reads the file when it changed since the last
   * call (one `stat` per call), so tokens created or revoked by another process count at once.
   */
  async verify(token: string): Promise<string | undefined> {
    if (!TOKEN.test(token)) return undefined
    await this.#load(false)
    const hash = sha256(token)
    const entry = this.#live.get(hash)
    if (entry === undefined) return undefined
    // The map lookup found it by hash; compare again in constant time so nothing depends on where it differed.
    return timingSafeEqual(Buffer.from(entry.sha256, 'hex'), Buffer.from(hash, 'hex'))
      ? entry.name
      : undefined
  }

  async #load(force: boolean): Promise<void> {
    let signature: string
    try {
      const s = await stat(this.file, { bigint: true })
      signature = `${s.ino}:${s.size}:${s.mtimeNs}`
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
      this.#set([])
      this.#seen = undefined
      return
    }
    if (!force && signature === this.#seen) return
    let parsed: Partial<TokenFile>
    try {
      parsed = JSON.parse(await readFile(this.file, 'utf8')) as Partial<TokenFile>
    } catch (err) {
      throw new NodeStateCorruptError({ file: basename(this.file), cause: err })
    }
    const valid =
      parsed.v === 1 &&
      Array.isArray(parsed.tokens) &&
      parsed.tokens.every(
        (t) =>
          typeof t === 'object' &&
          t !== null &&
          typeof t.name === 'string' &&
          typeof t.sha256 === 'string' &&
          /^[0-9a-f]{64}$/.test(t.sha256) &&
          typeof t.created === 'string' &&
          (t.revoked === undefined || typeof t.revoked === 'string'),
      )
    if (!valid) throw new NodeStateCorruptError({ file: basename(this.file) })
    this.#set(parsed.tokens!)
    this.#seen = signature
  }

  #set(entries: TokenEntry[]): void {
    this.#entries = entries
    this.#live = new Map(entries.filter((e) => e.revoked === undefined).map((e) => [e.sha256, e]))
  }

  async #save(): Promise<void> {
    await mkdir(dirname(this.file), { recursive: true })
    const temp = `${this.file}.${process.pid}.tmp`
    const handle = await open(temp, 'w', 0o600)
    try {
      await handle.write(`${JSON.stringify({ v: 1, tokens: this.#entries } satisfies TokenFile, null, 2)}\n`)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(temp, this.file)
    this.#seen = undefined
    this.#set(this.#entries)
  }
}
