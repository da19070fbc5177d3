/**
 * Fuzzing (fast-check) of the Pinning Service API's request decoders, which read what any HTTP client sends:
 * `parsePinBody` (the JSON `Pin` of `POST /pins`) and `parseListQuery` (the query of `GET /pins`). Random and
 * mutated-valid inputs must either parse to a value that matches the input or be refused with
 * `PinningBadRequestError` (a 400 with the spec's failure body): never a raw error, never a hang.
 */
import fc from 'fast-check'
import { afterAll, describe, expect, test } from 'vitest'
import { PinningBadRequestError } from './daemon-errors.ts'
import { parseListQuery, parsePinBody } from './pinning-service.ts'

const RUNS = 1_000
const CID_V1 = 'bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e'
const CID_V0 = 'QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u'
const PEER = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA'

const stats = new Map<string, { accepted: number; refused: number }>()
function attempt<T>(name: string, parse: () => T): T | undefined {
  const s = stats.get(name) ?? { accepted: 0, refused: 0 }
  stats.set(name, s)
  try {
    const value = parse()
    s.accepted++
    return value
  } catch (err) {
    if (err instanceof PinningBadRequestError) {
      s.refused++
      return undefined
    }
    throw err
  }
}
afterAll(() => {
  console.log(`node pinning-service fuzz counts: ${JSON.stringify(Object.fromEntries(stats))}`)
})

/** A valid string with characters replaced, deleted, inserted or cut off; or any string. */
const mutatedString = (valid: fc.Arbitrary<string>, alphabet: string, maxLength: number) =>
  fc.oneof(
    fc
      .tuple(
        valid,
        fc.array(
          fc.record({
            kind: fc.constantFrom('set', 'delete', 'insert', 'truncate'),
            at: fc.nat(),
            char: fc.oneof(fc.constantFrom(...alphabet), fc.string({ minLength: 1, maxLength: 1 })),
          }),
          { minLength: 1, maxLength: 3 },
        ),
      )
      .map(([start, ms]) => {
        let s = start
        for (const { kind, at, char } of ms) {
          const i = at % (s.length + 1)
          if (kind === 'set') s = s.slice(0, i) + char + s.slice(i + 1)
          else if (kind === 'delete') s = s.slice(0, i) + s.slice(i + 1)
          else if (kind === 'insert') s = s.slice(0, i) + char + s.slice(i)
          else s = s.slice(0, i)
        }
        return s
      }),
    fc.string({ maxLength }),
  )

describe('parsePinBody', () => {
  const pin = { cid: CID_V1, name: 'record', origins: [PEER], meta: { app: 'medvault' } }
  const bodies = fc.oneof(
    mutatedString(fc.constant(JSON.stringify(pin)), '{}[]":,abcdefQm0189/ ', 400),
    // one field replaced, removed or added with any JSON value
    fc
      .tuple(fc.constantFrom('cid', 'name', 'origins', 'meta', 'extra'), fc.option(fc.jsonValue()))
      .map(([key, value]) => {
        const copy: Record<string, unknown> = { ...pin }
        if (value === null) delete copy[key]
        else copy[key] = value
        return JSON.stringify(copy)
      }),
    fc
      .record({
        cid: fc.oneof(
          fc.constantFrom(CID_V1, CID_V0),
          mutatedString(fc.constant(CID_V1), 'abcdefghijklmnopqrstuvwxyz234567', 70),
        ),
        name: fc.option(fc.string({ maxLength: 300 }), { nil: undefined }),
        origins: fc.option(
          fc.array(mutatedString(fc.constant(PEER), '/ip4tcp0123456789', 100), { maxLength: 3 }),
          {
            nil: undefined,
          },
        ),
        meta: fc.option(
          fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string({ maxLength: 10 }), fc.jsonValue())),
          {
            nil: undefined,
          },
        ),
      })
      .map((p) => JSON.stringify(p)),
    fc.jsonValue().map((v) => JSON.stringify(v) ?? ''),
  )

  test('error: a body parses to the Pin it holds, or PinningBadRequestError', () => {
    fc.assert(
      fc.property(bodies, (body) => {
        const parsed = attempt('parsePinBody', () => parsePinBody(body))
        if (parsed === undefined) return
        const input = JSON.parse(body) as Record<string, unknown>
        expect(parsed.cid).toBe(input.cid)
        expect(parsed.name).toBe(input.name)
        expect(parsed.origins).toEqual(input.origins)
        expect(parsed.meta).toEqual(input.meta)
      }),
      { numRuns: 3 * RUNS },
    )
  })
})

describe('parseListQuery', () => {
  const valid = `cid=${CID_V1},${CID_V0}&name=rec&match=ipartial&status=pinned,queued&before=2030-01-01T00:00:00Z&after=2020-01-01T00:00:00Z&limit=50&meta=${encodeURIComponent('{"app":"medvault"}')}`
  const queries = fc.oneof(
    mutatedString(fc.constant(valid), '&=,%[]{}"abcdefghijklmnopqrstuvwxyz0123456789:TZ-', 600),
    fc
      .array(
        fc.tuple(
          fc.constantFrom(
            'cid',
            'name',
            'match',
            'status',
            'before',
            'after',
            'limit',
            'meta',
            'meta[app]',
            'x',
          ),
          fc.oneof(
            fc.string({ maxLength: 30 }),
            fc.constantFrom(CID_V1, 'pinned', 'exact', '10', '2024-02-30T25:00:00Z', '{}', '[]', 'null'),
          ),
        ),
        { maxLength: 6 },
      )
      .map((pairs) => new URLSearchParams(pairs).toString()),
  )

  test('error: a query parses to sane bounds, or PinningBadRequestError', () => {
    fc.assert(
      fc.property(queries, (query) => {
        const q = attempt('parseListQuery', () => parseListQuery(`/pins?${query}`))
        if (q === undefined) return
        expect(Number.isSafeInteger(q.limit) && q.limit >= 1 && q.limit <= 1000).toBe(true)
        for (const s of q.status) expect(['queued', 'pinning', 'pinned', 'failed']).toContain(s)
        expect(['exact', 'iexact', 'partial', 'ipartial']).toContain(q.match)
        for (const t of [q.before, q.after]) if (t !== undefined) expect(Number.isFinite(t)).toBe(true)
        if (q.meta !== undefined) for (const v of Object.values(q.meta)) expect(typeof v).toBe('string')
      }),
      { numRuns: 3 * RUNS },
    )
  })
})
