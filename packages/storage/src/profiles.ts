import type { ImporterOptions } from 'ipfs-unixfs-importer'
import { fixedSize } from 'ipfs-unixfs-importer/chunker'
import { balanced } from 'ipfs-unixfs-importer/layout'

/**
 * UnixFS import profiles, named as in IPIP-499 ("UnixFS CID profiles").
 *
 * - `unixfs-v1-2025` (default): CIDv1, raw leaves, 1 MiB chunks, 1024 links per node, balanced layout.
 * - `unixfs-v0-2015`: Kubo's historical default: CIDv0, dag-pb leaves, 256 KiB chunks, 174 links per node.
 *
 * The same bytes imported with the same profile give the same CID in Kubo, Helia and every other
 * implementation that follows the profile.
 */
export type ImportProfile = 'unixfs-v1-2025' | 'unixfs-v0-2015'

export const DEFAULT_PROFILE: ImportProfile = 'unixfs-v1-2025'

export const PROFILES: readonly ImportProfile[] = ['unixfs-v1-2025', 'unixfs-v0-2015']

/** Every setting spelled out: @helia/unixfs fills in its own chunker and layout, which would override a bare `profile`. */
export function importerOptions(profile: ImportProfile): Omit<ImporterOptions, 'onProgress'> {
  switch (profile) {
    case 'unixfs-v1-2025':
      return {
        profile,
        cidVersion: 1,
        rawLeaves: true,
        reduceSingleLeafToSelf: true,
        chunker: fixedSize({ chunkSize: 1_048_576 }),
        layout: balanced({ maxChildrenPerNode: 1024 }),
      }
    case 'unixfs-v0-2015':
      return {
        profile,
        cidVersion: 0,
        rawLeaves: false,
        reduceSingleLeafToSelf: true,
        chunker: fixedSize({ chunkSize: 262_144 }),
        layout: balanced({ maxChildrenPerNode: 174 }),
      }
    default:
      throw new RangeError(`Unknown import profile "${String(profile)}"; use one of ${PROFILES.join(', ')}.`)
  }
}
