/**
 * The proxy's one Umbral operation: open this proxy's sealed kfrag, verify it, and re-encrypt the capsule
 * with it. It runs inside the worker threads of {@link createWorkerPool}, so the event loop never does curve
 * arithmetic.
 *
 * Opening the sealed kfrag (an ECIES shared secret with an arbitrary point) costs several times the
 * re-encryption itself, and a grant's kfrag is the same on every request: a {@link VerifiedKfragCache} keeps
 * the opened, verified kfrag, keyed by a digest of every input that decides it (sealed bytes, AAD and the
 * three public keys), so a hit is exactly what opening and verifying again would give. The cache sits after
 * every access check (index, chain, bundle, published keys), never in front of one: it saves curve
 * arithmetic, not a decision.
 *
 * A failure is reported as a kind, never with bytes: a kfrag or capsule must not reach a message or a log.
 *
 * @module
 */
import { createHash } from 'node:crypto'
import { eciesDecrypt } from '@medvault/crypto'
import { Capsule, KeyFrag, PublicKey, reencrypt, type VerifiedKeyFrag } from '@medvault/crypto/umbral'

/** What one re-encryption needs; every value comes from the chain-registered envelope and kfrag bundle. */
export interface ReencryptJob {
  /** This proxy's ECIES-sealed kfrag from the bundle (359 bytes). */
  sealedKfrag: Uint8Array
  /** The associated data it was sealed with (`kfragAad` of its grant, scope, slot and proxy). */
  aad: Uint8Array
  /** The 98-byte capsule of the grant's scope level, from the registered envelope. */
  capsule: Uint8Array
  /** The grantor's kfrag verifying key (33 bytes). */
  verifyingKey: Uint8Array
  /** The scope's delegating public key (33 bytes). */
  delegatingKey: Uint8Array
  /** The grantee's receiving public key (33 bytes). */
  receivingKey: Uint8Array
  /** The grant the kfrag belongs to: a cached kfrag is dropped with {@link VerifiedKfragCache.forget}. */
  grantId?: string | undefined
  /** Unix seconds after which a cached kfrag of this job is dropped (the grant's expiry); 0 = no limit. */
  cacheUntil?: number | undefined
}

/** Why a job failed: the kfrag does not open, does not verify, or the capsule is not a valid capsule. */
export type ReencryptFailure = 'kfrag_sealed' | 'kfrag_unverified' | 'capsule_invalid'

export type ReencryptOutcome = { ok: true; cfrag: Uint8Array } | { ok: false; failure: ReencryptFailure }

/**
 * Opens, verifies and applies the kfrag. Verification binds the kfrag to the grantor's verifying key, the
 * scope's delegating key and the grantee's receiving key, so a fragment slipped into a bundle for another
 * key or scope is never used.
 */
export function runReencryptJob(
  eciesSecretKey: Uint8Array,
  job: ReencryptJob,
  cache?: VerifiedKfragCache,
): ReencryptOutcome {
  let capsule: Capsule
  try {
    capsule = Capsule.fromBytesSimple(job.capsule)
  } catch {
    return { ok: false, failure: 'capsule_invalid' }
  }
  const id = cache === undefined ? undefined : cacheKey(job)
  const cached = id === undefined ? undefined : cache?.get(id)
  if (cached !== undefined) {
    try {
      return { ok: true, cfrag: reencrypt(capsule, cached).toBytes() }
    } catch {
      return { ok: false, failure: 'kfrag_unverified' }
    }
  }
  let kfragBytes: Uint8Array
  try {
    kfragBytes = eciesDecrypt(eciesSecretKey, job.sealedKfrag, job.aad)
  } catch {
    return { ok: false, failure: 'kfrag_sealed' }
  }
  try {
    const verified = KeyFrag.fromBytes(kfragBytes).verify(
      PublicKey.fromCompressedBytes(job.verifyingKey),
      PublicKey.fromCompressedBytes(job.delegatingKey),
      PublicKey.fromCompressedBytes(job.receivingKey),
    )
    if (id !== undefined) cache?.set(id, verified, job.grantId, job.cacheUntil ?? 0)
    return { ok: true, cfrag: reencrypt(capsule, verified).toBytes() }
  } catch {
    return { ok: false, failure: 'kfrag_unverified' }
  } finally {
    kfragBytes.fill(0)
  }
}

/**
 * The digest a verified kfrag is cached under: every input of opening and verifying it, each length-prefixed
 * so that no two different jobs share one. A job that differs in any key (another grantee's receiving key,
 * another grantor's verifying key, another scope) or in the sealed bytes or AAD misses, and is opened and
 * verified — and refused — as without a cache.
 */
function cacheKey(job: ReencryptJob): string {
  const hash = createHash('sha256').update('medvault/proxy/kfrag-cache/v1')
  for (const part of [job.sealedKfrag, job.aad, job.verifyingKey, job.delegatingKey, job.receivingKey]) {
    const length = Buffer.alloc(4)
    length.writeUInt32BE(part.length)
    hash.update(length).update(part)
  }
  return hash.digest('base64')
}

interface CachedKfrag {
  kfrag: VerifiedKeyFrag
  grantId: string | undefined
  /** Milliseconds since the epoch; Infinity = no limit. */
  until: number
}

/**
 * Opened and verified kfrags of one worker thread, least recently used first out. Entries leave when their
 * grant is revoked ({@link forget}), when the grant expires, and when the cache is full. The kfrags are the
 * secret this proxy holds anyway (sealed in each bundle); they never leave the worker thread.
 */
export class VerifiedKfragCache {
  readonly #entries = new Map<string, CachedKfrag>()
  readonly #byGrant = new Map<string, Set<string>>()
  /**
   * Grants already forgotten (revocation is final): a request that passed its checks just before the revocation
   * and reaches this thread after the `forget` must not cache the kfrag again. Oldest out past 65,536.
   */
  readonly #forgotten = new Set<string>()
  readonly #capacity: number
  readonly #now: () => number

  constructor(capacity = 4096, now: () => number = Date.now) {
    this.#capacity = capacity
    this.#now = now
  }

  get size(): number {
    return this.#entries.size
  }

  get(id: string): VerifiedKeyFrag | undefined {
    const entry = this.#entries.get(id)
    if (entry === undefined) return undefined
    if (entry.until <= this.#now()) {
      this.#delete(id)
      return undefined
    }
    this.#entries.delete(id)
    this.#entries.set(id, entry)
    return entry.kfrag
  }

  set(id: string, kfrag: VerifiedKeyFrag, grantId: string | undefined, untilSeconds: number): void {
    this.#delete(id)
    const until = untilSeconds > 0 ? untilSeconds * 1000 : Number.POSITIVE_INFINITY
    if (until <= this.#now()) return
    const grant = grantId?.toLowerCase()
    if (grant !== undefined && this.#forgotten.has(grant)) return
    this.#entries.set(id, { kfrag, grantId: grant, until })
    if (grant !== undefined) {
      let ids = this.#byGrant.get(grant)
      if (ids === undefined) {
        ids = new Set()
        this.#byGrant.set(grant, ids)
      }
      ids.add(id)
    }
    if (this.#entries.size > this.#capacity) this.#delete(this.#entries.keys().next().value as string)
  }

  /** Drops every kfrag of the grant (it was revoked). */
  forget(grantId: string): void {
    const grant = grantId.toLowerCase()
    for (const id of this.#byGrant.get(grant) ?? []) this.#entries.delete(id)
    this.#byGrant.delete(grant)
    this.#forgotten.add(grant)
    if (this.#forgotten.size > 65_536) this.#forgotten.delete(this.#forgotten.values().next().value as string)
  }

  #delete(id: string): void {
    const entry = this.#entries.get(id)
    if (entry === undefined) return
    this.#entries.delete(id)
    if (entry.grantId === undefined) return
    const ids = this.#byGrant.get(entry.grantId)
    ids?.delete(id)
    if (ids?.size === 0) this.#byGrant.delete(entry.grantId)
  }
}
