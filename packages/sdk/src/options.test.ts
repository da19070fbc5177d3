import { describe, expect, test } from 'vitest'
import { InvalidOptionError } from './errors.ts'
import { parseDuration, parseGrantTerms, parsePurpose, parseRecordId, toUnixSeconds } from './options.ts'

const id = (n: number) => `0x${n.toString(16).padStart(64, '0')}` as const
const to = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8'
const now = 1_700_000_000

describe('parseDuration', () => {
  test('default: units and combinations', () => {
    expect(parseDuration('90s')).toBe(90)
    expect(parseDuration('15m')).toBe(900)
    expect(parseDuration('12h')).toBe(43_200)
    expect(parseDuration('30d')).toBe(2_592_000)
    expect(parseDuration('2w')).toBe(1_209_600)
    expect(parseDuration('1d12h')).toBe(129_600)
    expect(parseDuration(' 1h30m ')).toBe(5_400)
    expect(parseDuration(3600)).toBe(3600)
  })

  test('error: anything else is refused by name', () => {
    for (const bad of [
      '',
      '30',
      'd',
      '30 d',
      '1.5h',
      '-1d',
      '0d',
      '0s0m',
      '3y',
      '30D',
      '1h 30m',
      0,
      -5,
      1.5,
      Number.NaN,
      null,
      {},
    ]) {
      expect(() => parseDuration(bad as never, 'expiresIn'), String(bad)).toThrow(InvalidOptionError)
    }
    expect(() => parseDuration('100000w')).toThrow(/at most 2\^32/)
    const err = (() => {
      try {
        parseDuration('soon', 'expiresIn')
      } catch (e) {
        return e as InvalidOptionError
      }
    })()
    expect(err?.option).toBe('expiresIn')
    expect(err?.message).toMatchInlineSnapshot(
      `"Invalid option \`expiresIn\`: expected a positive number of seconds or a string such as '90s', '15m', '12h', '30d', '2w', '1d12h'."`,
    )
  })
})

describe('other values', () => {
  test('default: purposes, record ids, times', () => {
    expect(parsePurpose('TREAT')).toBe(1)
    expect(parsePurpose('HRESCH')).toBe(4)
    expect(parsePurpose(32)).toBe(32)
    expect(parseRecordId(id(0xabc).toUpperCase().replace('0X', '0x'))).toBe(id(0xabc))
    expect(toUnixSeconds(new Date(1_000_500), 't')).toBe(1000)
    expect(toUnixSeconds(42, 't')).toBe(42)
  })

  test('error: unknown purposes, malformed ids and times', () => {
    for (const bad of ['treat', 'NOPE', 0, 33, 1.5, null])
      expect(() => parsePurpose(bad)).toThrow(InvalidOptionError)
    for (const bad of [id(0), '0x1234', `${id(1)}00`, 'hello', 5])
      expect(() => parseRecordId(bad)).toThrow(InvalidOptionError)
    for (const bad of [new Date(Number.NaN), -1, 2 ** 32, 1.5, '2030-01-01']) {
      expect(() => toUnixSeconds(bad as never, 't')).toThrow(InvalidOptionError)
    }
  })
})

describe('parseGrantTerms', () => {
  test('default: a records grant for 30 days, 2 of 3', () => {
    const terms = parseGrantTerms(
      { to, records: [id(1), id(2)], purpose: 'TREAT', expiresIn: '30d', threshold: 2 },
      now,
      3,
    )
    expect(terms).toEqual({
      to,
      scope: { kind: 'records', records: [id(1), id(2)] },
      purpose: 1,
      notBefore: 0,
      expiry: now + 2_592_000,
      threshold: 2,
    })
  })

  test('behavior: tag and all scopes, expiresAt, notBefore counts the duration from the start, threshold default 1', () => {
    expect(
      parseGrantTerms({ to, tag: 'labs', purpose: 'HRESCH', expiresAt: new Date((now + 60) * 1000) }, now, 1),
    ).toMatchObject({
      scope: { kind: 'tag', tag: 'labs' },
      expiry: now + 60,
      threshold: 1,
    })
    expect(
      parseGrantTerms({ to, all: true, purpose: 2, notBefore: now + 100, expiresIn: '1h' }, now, 5),
    ).toMatchObject({
      scope: { kind: 'all' },
      notBefore: now + 100,
      expiry: now + 100 + 3600,
    })
  })

  test('error: each bad term is named', () => {
    const base = { to, records: [id(1)], purpose: 'TREAT', expiresIn: '1d' }
    const option = (input: object, proxies = 3) => {
      try {
        parseGrantTerms(input as never, now, proxies)
      } catch (e) {
        expect(e).toBeInstanceOf(InvalidOptionError)
        return (e as InvalidOptionError).option
      }
      throw new Error('accepted')
    }
    expect(option({ ...base, to: '0x1234' })).toBe('to')
    expect(option({ ...base, tag: 'labs' })).toBe('records | tag | all')
    expect(option({ to, purpose: 'TREAT', expiresIn: '1d' })).toBe('records | tag | all')
    expect(option({ ...base, records: [] })).toBe('records')
    expect(option({ ...base, records: Array.from({ length: 65 }, (_, i) => id(i + 1)) })).toBe('records')
    expect(option({ ...base, records: [id(1), id(1)] })).toBe('records')
    expect(option({ ...base, records: ['0x12'] })).toBe('records[0]')
    expect(option({ to, tag: '', purpose: 'TREAT', expiresIn: '1d' })).toBe('tag')
    expect(option({ to, all: false, purpose: 'TREAT', expiresIn: '1d' })).toBe('all')
    expect(option({ ...base, purpose: 'CURIOUS' })).toBe('purpose')
    expect(option({ ...base, expiresIn: undefined })).toBe('expiresIn | expiresAt')
    expect(option({ ...base, expiresAt: new Date() })).toBe('expiresIn | expiresAt')
    expect(option({ ...base, expiresIn: 'forever' })).toBe('expiresIn')
    expect(option({ ...base, expiresIn: undefined, expiresAt: now })).toBe('expiresAt')
    expect(option({ ...base, expiresIn: undefined, expiresAt: now + 10, notBefore: now + 20 })).toBe(
      'expiresAt',
    )
    expect(option({ ...base, threshold: 0 })).toBe('threshold')
    expect(option({ ...base, threshold: 4 })).toBe('threshold')
    expect(option({ ...base, threshold: 1.5 })).toBe('threshold')
    expect(option({ ...base, threshold: 2 }, 1)).toBe('threshold')
  })
})
