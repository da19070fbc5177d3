/**
 * What this node accepts as a CID to pin or serve: one whose blocks it can verify and walk. Checked up
 * front so that a client gets a 400 saying why, before anything is queued or looked up (the content store
 * refuses such CIDs again on every path).
 *
 * @module
 */
import type { CID } from 'multiformats/cid'

const SUPPORTED_CODECS = new Set([0x70, 0x55, 0x71]) // dag-pb, raw, dag-cbor
const SHA2_256 = 0x12
const IDENTITY = 0x00
const MAX_IDENTITY_DIGEST = 128

/** Why this node cannot take `cid`, or undefined when it can. */
export function cidProblem(cid: CID): string | undefined {
  if (!SUPPORTED_CODECS.has(cid.code)) {
    return `codec 0x${cid.code.toString(16)} is not one this node walks (dag-pb, raw, dag-cbor)`
  }
  const { code, digest } = cid.multihash
  const verifiable =
    (code === SHA2_256 && digest.length === 32) || (code === IDENTITY && digest.length <= MAX_IDENTITY_DIGEST)
  if (!verifiable) {
    return 'it cannot be verified here: use a full-length sha2-256 hash (or a short identity hash)'
  }
  return undefined
}
