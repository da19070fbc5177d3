/**
 * The demo's on-IPFS formats. They follow docs/ and ARCHITECTURE.md ("A record"); the SDK will own and
 * version them — until then they live here, next to the one program that writes and reads them.
 */
import type { CID } from '@medvault/storage'
import type { Hex } from 'viem'

/** dag-cbor envelope of one record version: everything a reader needs besides the data key. */
export interface RecordEnvelope {
  v: 1
  /** UnixFS file of the encrypted content stream. */
  content: CID
  /** Plaintext size in bytes. */
  size: number
  /** The stream's segment size. */
  segment: number
  /** Umbral capsule (`toBytes()`) of the data key. */
  capsule: Uint8Array
  /** The data key, encrypted under the capsule's key (Umbral's DEM). */
  wrappedKey: Uint8Array
  /** Metadata that could itself reveal health information (media type, FHIR resource type), sealed under the data key. */
  meta: Uint8Array
}

/** dag-cbor bundle of a grant's kfrags; kfrag i is ECIES-encrypted to member i of the grant's proxy set. */
export interface KfragBundle {
  v: 1
  /** The grantor's Umbral verifying key (signer), compressed. */
  verifyingKey: Uint8Array
  /** The public delegating key of the grant's scope (here: the record's own), compressed; the kfrags are made from it. */
  delegatingKey: Uint8Array
  kfrags: Uint8Array[]
}

const utf8 = new TextEncoder()

/** Binds each encrypted kfrag to its grant and slot, so a proxy cannot be handed another grant's kfrag. */
export function kfragAad(grantId: Hex, index: number): Uint8Array {
  return utf8.encode(`medvault/kfrag/v1/${grantId.toLowerCase()}/${index}`)
}

/** What a grantee signs (EIP-191) to ask a proxy for a capsule fragment. */
export function accessRequestMessage(request: {
  grantId: Hex
  recordId: Hex
  purpose: string
  issuedAt: number
}): string {
  return [
    'medvault access request v1',
    `grant: ${request.grantId.toLowerCase()}`,
    `record: ${request.recordId.toLowerCase()}`,
    `purpose: ${request.purpose}`,
    `issued: ${request.issuedAt}`,
  ].join('\n')
}
