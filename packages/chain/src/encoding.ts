import { type PurposeOfUse, purposeOfUse, scopeKind } from '@medvault/contracts'
import { bytesToHex, type Hex, isHex, pad } from 'viem'

/** An HL7 v3 PurposeOfUse code such as `'TREAT'` (see `purposeOfUse` in @medvault/contracts for the table). */
export type Purpose = PurposeOfUse

/** The `uint8` of a purpose; a number is passed through (the contract rejects unknown codes). */
export function encodePurpose(purpose: Purpose | number): number {
  if (typeof purpose === 'number') return purpose
  // Own properties only: 'constructor' or '__proto__' must not resolve to Object.prototype's members.
  const code = Object.hasOwn(purposeOfUse, purpose)
    ? (purposeOfUse as Record<string, number>)[purpose]
    : undefined
  if (code === undefined) throw new TypeError(`Unknown purpose of use "${String(purpose)}".`)
  return code
}

/** The purpose name of a `uint8` code, or the number itself when the code is not assigned. */
export function decodePurpose(code: number): Purpose | number {
  const entry = Object.entries(purposeOfUse).find(([, value]) => value === code)
  return entry === undefined ? code : (entry[0] as Purpose)
}

/** A name of the contract's `ScopeKind` enum. */
export type ScopeKindName = keyof typeof scopeKind

/** The name of a `ScopeKind` value (`'none'` for anything unknown). */
export function scopeKindName(kind: number): ScopeKindName {
  const entry = Object.entries(scopeKind).find(([, value]) => value === kind)
  return entry === undefined ? 'none' : (entry[0] as ScopeKindName)
}

/**
 * What a grant covers: one record, a list of records (1 to 64), every record carrying an 8-byte tag (also
 * ones registered later), or every record of the grantor.
 */
export type Scope =
  | { kind: 'record'; recordId: Hex }
  | { kind: 'records'; recordIds: readonly Hex[] }
  | { kind: 'tag'; tag: Hex }
  | { kind: 'all' }

const ZERO32 = `0x${'0'.repeat(64)}` as const

/** The `(scopeKind, scopeTarget, records)` triple the contract takes. */
export function encodeScope(scope: Scope): { scopeKind: number; scopeTarget: Hex; records: readonly Hex[] } {
  switch (scope.kind) {
    case 'record':
      assertBytes(scope.recordId, 32, 'recordId')
      return { scopeKind: scopeKind.record, scopeTarget: scope.recordId, records: [] }
    case 'records':
      for (const id of scope.recordIds) assertBytes(id, 32, 'recordIds[]')
      return { scopeKind: scopeKind.records, scopeTarget: ZERO32, records: scope.recordIds }
    case 'tag':
      assertBytes(scope.tag, 8, 'tag')
      // The tag is left-aligned in the 32-byte target: bytes32(bytes8 tag).
      return {
        scopeKind: scopeKind.tag,
        scopeTarget: pad(scope.tag, { dir: 'right', size: 32 }),
        records: [],
      }
    case 'all':
      return { scopeKind: scopeKind.all, scopeTarget: ZERO32, records: [] }
    default:
      throw new TypeError('Unknown scope kind.')
  }
}

/** The other way round (for events and stored grants). */
export function decodeScope(kind: number, scopeTarget: Hex, records: readonly Hex[] = []): Scope | undefined {
  switch (kind) {
    case scopeKind.record:
      return { kind: 'record', recordId: scopeTarget }
    case scopeKind.records:
      return { kind: 'records', recordIds: records }
    case scopeKind.tag:
      return { kind: 'tag', tag: scopeTarget.slice(0, 18) as Hex }
    case scopeKind.all:
      return { kind: 'all' }
    default:
      return undefined
  }
}

/** Bytes as viem's `Hex`, a `Uint8Array`, or anything with a `bytes` field (a multiformats `CID`). */
export type BytesLike = Hex | Uint8Array | { readonly bytes: Uint8Array }

/** A CID (or any bytes) as `Hex`; a multiformats `CID` gives its binary form. */
export function toBytesHex(value: BytesLike, what = 'value'): Hex {
  if (typeof value === 'string') {
    if (!isHex(value, { strict: true })) throw new TypeError(`${what} must be hex, bytes or a CID.`)
    return value
  }
  if (value instanceof Uint8Array) return bytesToHex(value)
  if (value !== null && typeof value === 'object' && value.bytes instanceof Uint8Array)
    return bytesToHex(value.bytes)
  throw new TypeError(`${what} must be hex, bytes or a CID.`)
}

/** A point in time: Unix seconds (number or bigint) or a `Date`. */
export type Timestamp = number | bigint | Date

/** Unix seconds as a number; `Date`s are rounded down. */
export function toSeconds(time: Timestamp, what = 'time'): number {
  const seconds =
    time instanceof Date ? Math.floor(time.getTime() / 1000) : typeof time === 'bigint' ? Number(time) : time
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > 0xffff_ffff) {
    throw new RangeError(`${what} must be Unix seconds in 0..2^32-1.`)
  }
  return seconds
}

export function assertBytes(value: Hex, length: number, what: string): void {
  // The hex digits are counted, not viem's size(), which rounds an odd digit count up to whole bytes.
  if (!isHex(value, { strict: true }) || value.length !== 2 + 2 * length) {
    throw new TypeError(`${what} must be ${length} bytes of hex.`)
  }
}
