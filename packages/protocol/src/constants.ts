/**
 * Lengths and limits of the formats. Every one is part of the format version: changing one is a new `v`.
 *
 * @module
 */
import { ECIES_OVERHEAD, SEAL_OVERHEAD } from '@medvault/crypto'

/** An Umbral capsule in its simple form `E(33) ‖ V(33) ‖ s(32)` (`Capsule.toBytesSimple()`): 98 bytes. */
export const CAPSULE_LENGTH = 98
/** A compressed secp256k1 public key (Umbral keys, verifying keys): 33 bytes. */
export const PUBLIC_KEY_LENGTH = 33
/**
 * A 32-byte data key under a capsule (Umbral's DEM: `nonce(24) ‖ ciphertext(32) ‖ tag(16)`,
 * the second value `encrypt(pk, dek)` returns): 72 bytes.
 */
export const WRAPPED_KEY_LENGTH = 72
/** An Umbral key fragment, `KeyFrag.toBytes()` (umbral-pre 0.10 MessagePack): 310 bytes. */
export const KFRAG_LENGTH = 310
/** A kfrag ECIES-sealed to a proxy (`eciesEncrypt`: ephemeral key 33 + kfrag + tag 16): 359 bytes. */
export const SEALED_KFRAG_LENGTH = KFRAG_LENGTH + ECIES_OVERHEAD
/** An Umbral capsule fragment with its proof, `CapsuleFrag.toBytes()` (umbral-pre 0.10): 381 bytes. */
export const CFRAG_LENGTH = 381
/** Sealed record metadata: at least a seal's overhead (40 bytes, empty plaintext). */
export const META_MIN_LENGTH = SEAL_OVERHEAD
/** Sealed record metadata: at most 64 KiB. Metadata is a few fields, not content. */
export const META_MAX_LENGTH = 65_536
/** A record's key epoch: 0 for the first key, +1 on each rotation; at most 2³² − 1. */
export const MAX_EPOCH = 0xffff_ffff
/** Proxies in a kfrag bundle: 1 to 32, as in a ConsentRegistry proxy set. */
export const MAX_PROXIES = 32
/** Scope entries in a kfrag bundle: 1 to 64, as in a ConsentRegistry records-list grant. */
export const MAX_BUNDLE_ENTRIES = 64
/** Encoded record envelope: at most 128 KiB. */
export const MAX_ENVELOPE_BYTES = 131_072
/** Encoded kfrag bundle: at most 1 MiB (one IPFS block; 32 proxies × 64 records fit). */
export const MAX_BUNDLE_BYTES = 1_048_576
/** JSON text of an access request body: at most 4 KiB. */
export const MAX_REQUEST_BODY_BYTES = 4_096
/** JSON text of an access response body: at most 8 KiB. */
export const MAX_RESPONSE_BODY_BYTES = 8_192
/** A 65-byte `r ‖ s ‖ v` secp256k1 signature. */
export const SIGNATURE_LENGTH = 65
