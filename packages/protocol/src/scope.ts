/**
 * Scopes as the formats carry them. A record's data key is encapsulated once per scope level
 * (`record`, `tag`, `all`); a grant's kfrags are made from the delegating key of its scope, and a proxy
 * re-encrypts only the capsule of that level.
 *
 * @module
 */
import type { Hex } from 'viem'

/** The levels a record's data key is encapsulated at, one capsule each. */
export type ScopeLevel = 'record' | 'tag' | 'all'

/** The scope levels, in the order the formats list them. */
export const SCOPE_LEVELS: readonly ScopeLevel[] = ['record', 'tag', 'all']

/**
 * The scope of one kfrag bundle entry: one record (a record grant, or one record of a records-list grant),
 * one category tag (8 bytes, as registered on chain), or all the grantor's records.
 */
export type BundleScope = { kind: 'record'; recordId: Hex } | { kind: 'tag'; tag: Hex } | { kind: 'all' }

/** The capsule level a bundle entry's kfrags re-encrypt: the entry's kind. */
export function scopeLevelOf(scope: BundleScope): ScopeLevel {
  return scope.kind
}

/**
 * The scope as text, as bound into {@link kfragAad}: `record:0x<64 hex>`, `tag:0x<16 hex>` or `all`,
 * hex lowercase.
 */
export function formatScope(scope: BundleScope): string {
  switch (scope.kind) {
    case 'record':
      return `record:${scope.recordId.toLowerCase()}`
    case 'tag':
      return `tag:${scope.tag.toLowerCase()}`
    case 'all':
      return 'all'
  }
}
