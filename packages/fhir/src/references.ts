/**
 * Pseudonymising a reference without breaking it (Microsoft's `ReferenceUtility`): only the id part of
 * `Patient/123`, `http://server/fhir/Patient/123/_history/2`, `urn:uuid:…`, `urn:oid:…` and `#contained` is
 * transformed, so a reference still names a resource of the same type and still matches its target once the
 * target's id went through the same function.
 *
 * @module
 */
import { RESOURCE_TYPES } from './r4-model.ts'

// Longest names first so that an alternation never stops at a prefix (`Claim` inside `ClaimResponse`).
const TYPES = [...RESOURCE_TYPES].sort((a, b) => b.length - a.length || a.localeCompare(b)).join('|')

const LITERAL = new RegExp(
  `^(?<prefix>((http|https)://([A-Za-z0-9\\\\\\/\\.\\:\\%\\$])*)?(${TYPES})\\/)(?<id>[A-Za-z0-9\\-\\.]{1,64})(?<suffix>\\/_history\\/[A-Za-z0-9\\-\\.]{1,64})?$`,
)
const OID = /^(?<prefix>urn:oid:)(?<id>[0-2](\.(0|[1-9][0-9]*))+)(?<suffix>)$/
const UUID =
  /^(?<prefix>urn:uuid:)(?<id>[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})(?<suffix>)$/

export type ReferenceKind = 'literal' | 'oid' | 'uuid' | 'contained' | 'other'

export interface ParsedReference {
  kind: ReferenceKind
  prefix: string
  id: string
  suffix: string
  /** The resource type of a literal reference. */
  type: string | undefined
}

export function parseReference(reference: string): ParsedReference {
  if (reference.startsWith('#')) {
    return { kind: 'contained', prefix: '#', id: reference.slice(1), suffix: '', type: undefined }
  }
  const literal = LITERAL.exec(reference)
  if (literal?.groups !== undefined) {
    const prefix = literal.groups.prefix ?? ''
    const type = /([A-Za-z]+)\/$/.exec(prefix)?.[1]
    return { kind: 'literal', prefix, id: literal.groups.id ?? '', suffix: literal.groups.suffix ?? '', type }
  }
  for (const [re, kind] of [
    [OID, 'oid'],
    [UUID, 'uuid'],
  ] as const) {
    const m = re.exec(reference)
    if (m?.groups !== undefined) {
      return {
        kind,
        prefix: m.groups.prefix ?? '',
        id: m.groups.id ?? '',
        suffix: m.groups.suffix ?? '',
        type: undefined,
      }
    }
  }
  return { kind: 'other', prefix: '', id: reference, suffix: '', type: undefined }
}

/**
 * Microsoft's transformation: the id part goes through `transform`; a reference with no recognisable id is
 * transformed whole.
 */
export function transformReferenceId(reference: string, transform: (id: string) => string): string {
  if (reference === '') return reference
  const r = parseReference(reference)
  if (r.kind === 'other') return transform(reference)
  return `${r.prefix}${transform(r.id)}${r.suffix}`
}
