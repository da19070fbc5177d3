/**
 * The proxy's one Umbral operation, as a pure function: open this proxy's sealed kfrag, verify it, and
 * re-encrypt the capsule with it. It runs inside the worker threads of {@link createWorkerPool}, so the event
 * loop never does curve arithmetic.
 *
 * A failure is reported as a kind, never with bytes: a kfrag or capsule must not reach a message or a log.
 *
 * @module
 */
import { eciesDecrypt } from '@medvault/crypto'
import { Capsule, KeyFrag, PublicKey, reencrypt } from '@medvault/crypto/umbral'

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
}

/** Why a job failed: the kfrag does not open, does not verify, or the capsule is not a valid capsule. */
export type ReencryptFailure = 'kfrag_sealed' | 'kfrag_unverified' | 'capsule_invalid'

export type ReencryptOutcome = { ok: true; cfrag: Uint8Array } | { ok: false; failure: ReencryptFailure }

/**
 * Opens, verifies and applies the kfrag. Verification binds the kfrag to the grantor's verifying key, the
 * scope's delegating key and the grantee's receiving key, so a fragment slipped into a bundle for another
 * key or scope is never used.
 */
export function runReencryptJob(eciesSecretKey: Uint8Array, job: ReencryptJob): ReencryptOutcome {
  let capsule: Capsule
  try {
    capsule = Capsule.fromBytesSimple(job.capsule)
  } catch {
    return { ok: false, failure: 'capsule_invalid' }
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
    return { ok: true, cfrag: reencrypt(capsule, verified).toBytes() }
  } catch {
    return { ok: false, failure: 'kfrag_unverified' }
  } finally {
    kfragBytes.fill(0)
  }
}
