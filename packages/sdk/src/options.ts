/**
 * Pure parsing and validation of what callers pass in: durations (`'30d'`), grant terms, record ids. Every
 * refusal is an {@link InvalidOptionError} naming the option, thrown before anything is stored or sent.
 *
 * @module
 */
import { encodePurpose, type Purpose } from '@medvault/chain'
import { type Address, getAddress, type Hex, isAddress } from 'viem'
import { InvalidOptionError } from './errors.ts'

/**
 * A length of time: seconds as a number, or a string of one or more `<integer><unit>` parts with units
 * `s`, `m`, `h`, `d`, `w` (`'90s'`, `'15m'`, `'12h'`, `'30d'`, `'2w'`, `'1d12h'`).
 */
export type Duration = number | `${number}${'s' | 'm' | 'h' | 'd' | 'w'}` | (string & {})

const UNIT_SECONDS = { s: 1, m: 60, h: 3_600, d: 86_400, w: 604_800 } as const
/** The chain stores times as uint32 seconds: nothing longer than that can be asked for. */
const MAX_SECONDS = 2 ** 32 - 1

/**
 * Parses a {@link Duration} into whole seconds (> 0).
 *
 * @throws {InvalidOptionError} for anything else: zero, negative, fractional seconds, unknown units, empty
 *   strings, more than 2^32 − 1 seconds.
 * @example
 * ```ts
 * parseDuration('30d') // 2592000
 * parseDuration('1d12h') // 129600
 * ```
 */
export function parseDuration(value: Duration, option = 'duration'): number {
  const expected =
    "a positive number of seconds or a string such as '90s', '15m', '12h', '30d', '2w', '1d12h'"
  let seconds: number
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value <= 0) throw new InvalidOptionError({ option, expected })
    seconds = value
  } else if (typeof value === 'string') {
    const text = value.trim()
    if (!/^(\d+[smhdw])+$/.test(text)) throw new InvalidOptionError({ option, expected })
    seconds = 0
    for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) {
      seconds += Number(amount) * UNIT_SECONDS[unit as keyof typeof UNIT_SECONDS]
    }
    if (seconds <= 0) throw new InvalidOptionError({ option, expected })
  } else {
    throw new InvalidOptionError({ option, expected })
  }
  if (seconds > MAX_SECONDS)
    throw new InvalidOptionError({ option, expected: `${expected}, at most 2^32 − 1 seconds` })
  return seconds
}

/** A point in time: a `Date` or Unix seconds. */
export type TimeInput = Date | number

/** Unix seconds of a {@link TimeInput}. */
export function toUnixSeconds(value: TimeInput, option: string): number {
  const seconds =
    value instanceof Date
      ? Math.floor(value.getTime() / 1000)
      : typeof value === 'number'
        ? value
        : Number.NaN
  if (!Number.isSafeInteger(seconds) || seconds < 0 || seconds > MAX_SECONDS) {
    throw new InvalidOptionError({
      option,
      expected: 'a Date or Unix seconds (a whole number from 0 to 2^32 − 1)',
    })
  }
  return seconds
}

/** Checks a 32-byte record id (`0x` and 64 hex digits) and returns it in lower case. */
export function parseRecordId(value: unknown, option = 'recordId'): Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value) || /^0x0{64}$/.test(value)) {
    throw new InvalidOptionError({ option, expected: 'a record id: 0x and 64 hex digits, not all zero' })
  }
  return value.toLowerCase() as Hex
}

/** Checks an address and returns it checksummed. */
export function parseAddress(value: unknown, option: string): Address {
  if (typeof value !== 'string' || !isAddress(value, { strict: false })) {
    throw new InvalidOptionError({ option, expected: 'an Ethereum address (0x and 40 hex digits)' })
  }
  return getAddress(value)
}

/** The HL7 v3 PurposeOfUse codes the chain knows are 1 … 32. */
const MAX_PURPOSE = 32

/** Checks a purpose of use (`'TREAT'` or its code) and returns its code. */
export function parsePurpose(value: unknown, option = 'purpose'): number {
  const expected =
    "an HL7 v3 PurposeOfUse code such as 'TREAT', 'ETREAT' or 'HRESCH' (or its number, 1 to 32)"
  if (typeof value === 'number') {
    if (!Number.isInteger(value) || value < 1 || value > MAX_PURPOSE)
      throw new InvalidOptionError({ option, expected })
    return value
  }
  if (typeof value !== 'string') throw new InvalidOptionError({ option, expected })
  try {
    return encodePurpose(value as Purpose)
  } catch (cause) {
    throw new InvalidOptionError({ option, expected, cause })
  }
}

/** What a grant covers, as the caller says it. */
export type GrantScopeInput = { records: readonly Hex[] } | { tag: string } | { all: true }

/** The normalised scope of a grant. */
export type GrantScope = { kind: 'records'; records: Hex[] } | { kind: 'tag'; tag: string } | { kind: 'all' }

/** A grant may list at most this many records (the kfrag bundle's and the contract's limit). */
export const MAX_GRANT_RECORDS = 64

/** Terms of a new grant, before validation. */
export interface GrantTermsInput {
  to: unknown
  records?: unknown
  tag?: unknown
  all?: unknown
  purpose: unknown
  expiresIn?: unknown
  expiresAt?: unknown
  notBefore?: unknown
  threshold?: unknown
}

/** Terms of a new grant, validated. Times are resolved against `now` (chain time, Unix seconds). */
export interface GrantTerms {
  to: Address
  scope: GrantScope
  purpose: number
  notBefore: number
  expiry: number
  threshold: number
}

/**
 * Validates grant terms: a grantee address; exactly one of `records` (1 to 64 distinct ids), `tag` (a
 * non-empty category) and `all: true`; a purpose; exactly one of `expiresIn` and `expiresAt`, ending after
 * `now` and after `notBefore`; a threshold from 1 to `proxies`.
 *
 * @param now - the chain's current time, Unix seconds (durations count from it).
 * @param proxies - the size of the proxy set the grant goes through.
 * @throws {InvalidOptionError}
 */
export function parseGrantTerms(input: GrantTermsInput, now: number, proxies: number): GrantTerms {
  if (input === null || typeof input !== 'object') {
    throw new InvalidOptionError({ option: 'options', expected: 'an object with the grant terms' })
  }
  const to = parseAddress(input.to, 'to')
  const given = (['records', 'tag', 'all'] as const).filter((k) => input[k] !== undefined)
  if (given.length !== 1) {
    throw new InvalidOptionError({
      option: 'records | tag | all',
      expected: 'exactly one of `records` (record ids), `tag` (a category) or `all: true`',
    })
  }
  let scope: GrantScope
  if (input.records !== undefined) {
    if (
      !Array.isArray(input.records) ||
      input.records.length === 0 ||
      input.records.length > MAX_GRANT_RECORDS
    ) {
      throw new InvalidOptionError({ option: 'records', expected: `1 to ${MAX_GRANT_RECORDS} record ids` })
    }
    const records = input.records.map((id, i) => parseRecordId(id, `records[${i}]`))
    if (new Set(records).size !== records.length) {
      throw new InvalidOptionError({ option: 'records', expected: 'distinct record ids' })
    }
    scope = { kind: 'records', records }
  } else if (input.tag !== undefined) {
    if (typeof input.tag !== 'string' || input.tag.length === 0) {
      throw new InvalidOptionError({ option: 'tag', expected: 'a non-empty category name' })
    }
    scope = { kind: 'tag', tag: input.tag }
  } else {
    if (input.all !== true) throw new InvalidOptionError({ option: 'all', expected: 'true' })
    scope = { kind: 'all' }
  }
  const purpose = parsePurpose(input.purpose)
  const notBefore =
    input.notBefore === undefined ? 0 : toUnixSeconds(input.notBefore as TimeInput, 'notBefore')
  if ((input.expiresIn === undefined) === (input.expiresAt === undefined)) {
    throw new InvalidOptionError({
      option: 'expiresIn | expiresAt',
      expected: "exactly one of `expiresIn` (a duration such as '30d') or `expiresAt` (a Date)",
    })
  }
  const expiry =
    input.expiresIn !== undefined
      ? Math.max(now, notBefore) + parseDuration(input.expiresIn as Duration, 'expiresIn')
      : toUnixSeconds(input.expiresAt as TimeInput, 'expiresAt')
  if (expiry <= now || expiry <= notBefore || expiry > MAX_SECONDS) {
    throw new InvalidOptionError({
      option: input.expiresIn !== undefined ? 'expiresIn' : 'expiresAt',
      expected: 'an expiry after the current chain time and after `notBefore`, before 2106',
    })
  }
  const threshold = input.threshold ?? 1
  if (typeof threshold !== 'number' || !Number.isInteger(threshold) || threshold < 1 || threshold > proxies) {
    throw new InvalidOptionError({
      option: 'threshold',
      expected: `a whole number from 1 to ${proxies} (the size of the proxy set)`,
    })
  }
  return { to, scope, purpose, notBefore, expiry, threshold }
}
