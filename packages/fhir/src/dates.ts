/**
 * Date arithmetic of Microsoft's anonymizer (`DateTimeUtility`), ported: the FHIR date and dateTime
 * patterns (unanchored, as upstream), the "age over 89" test, year-only partial redaction, and date shifting
 * that moves the calendar date and zeroes the time of day while keeping the time-zone offset.
 *
 * @module
 */

// https://www.hl7.org/fhir/datatypes.html#date and #datetime, as Microsoft wrote them. Group 1 is the year,
// 5 the month, 7 the day, 8 the time with its zone.
const DATE_RE =
  /([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?/
const DATE_TIME_RE =
  /([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?/
const TIME_RE = /([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?/

const AGE_THRESHOLD = 89

export interface DateParts {
  year: string
  month: string | undefined
  day: string | undefined
  /** `T…` with its zone (dateTime and instant only). */
  time: string | undefined
}

export function matchDate(value: string, kind: 'date' | 'dateTime'): DateParts | undefined {
  const m = (kind === 'date' ? DATE_RE : DATE_TIME_RE).exec(value)
  if (m === null || m[1] === undefined) return undefined
  return { year: m[1], month: m[5], day: m[7], time: kind === 'dateTime' ? m[8] : undefined }
}

/**
 * Microsoft's test: the age someone born on this date would have today is over 89. Such dates are removed
 * whole, year included (HIPAA: ages over 89 and dates that show them).
 */
export function indicatesAgeOver89(parts: DateParts, now: Date): boolean {
  const year = Number.parseInt(parts.year, 10)
  const month = parts.month === undefined ? 1 : Number.parseInt(parts.month, 10)
  const day = parts.day === undefined ? 1 : Number.parseInt(parts.day, 10)
  const nowYear = now.getUTCFullYear()
  const nowMonth = now.getUTCMonth() + 1
  const nowDay = now.getUTCDate()
  const age = nowYear - year - (nowMonth < month || (nowMonth === month && nowDay < day) ? 1 : 0)
  return age > AGE_THRESHOLD
}

/** Adds days to a calendar date; `undefined` when the date does not exist (Feb 30) or leaves years 1–9999. */
export function addDays(parts: DateParts, days: number): string | undefined {
  const y = Number.parseInt(parts.year, 10)
  const m = Number.parseInt(parts.month ?? '1', 10)
  const d = Number.parseInt(parts.day ?? '1', 10)
  const date = new Date(0)
  date.setUTCFullYear(y, m - 1, d)
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return undefined
  date.setUTCDate(date.getUTCDate() + days)
  const ny = date.getUTCFullYear()
  if (ny < 1 || ny > 9999) return undefined
  return `${String(ny).padStart(4, '0')}-${String(date.getUTCMonth() + 1).padStart(2, '0')}-${String(date.getUTCDate()).padStart(2, '0')}`
}

/**
 * The shifted dateTime: the date moved, every digit of the time of day set to 0, fraction and zone kept
 * (`2000-01-01T01:01:01-01:00` + 41 days → `2000-02-11T00:00:00-01:00`).
 */
export function shiftedDateTime(parts: DateParts, days: number): string | undefined {
  const date = addDays(parts, days)
  if (date === undefined) return undefined
  if (parts.time === undefined) return date
  let timestamp = parts.time
  const t = TIME_RE.exec(timestamp)
  if (t !== null) timestamp = timestamp.split(t[0]).join(t[0].replace(/\d/g, '0'))
  return `${date}${timestamp}`
}

/**
 * Microsoft's date-shift offset: a polynomial hash (seed 131) of the UTF-8 bytes of `prefix + key`, modulo
 * 101, minus 50 — a shift from −50 to +50 days.
 */
export function microsoftDateShiftOffset(prefix: string, key: string): number {
  let offset = 0
  for (const b of new TextEncoder().encode(prefix + key)) offset = (offset * 131 + b) % 101
  return offset - 50
}

/** medvault's offset from an HMAC: uniform over −range…−1 and 1…range, never 0. */
export function offsetFromMac(mac: Uint8Array, range: number): number {
  const u = ((mac[0]! << 24) | (mac[1]! << 16) | (mac[2]! << 8) | mac[3]!) >>> 0
  const o = u % (2 * range)
  return o < range ? -(o + 1) : o - range + 1
}
