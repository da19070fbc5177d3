/**
 * Fuzzing (fast-check) of the trustless gateway's request decoding over real HTTP on 127.0.0.1: the CID in
 * the path, the path below it, `format`/`dag-scope`/other query parameters and the Accept header, random and
 * mutated from valid requests. Every answer must be a success whose bytes verify against the CID, or a 4xx
 * refusal: never a 5xx (an unexpected error inside), never a hang.
 */
import { createHash } from 'node:crypto'
import { createStorage, type Storage } from '@medvault/storage'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createGateway } from './gateway.ts'
import { createHttpServer, type HttpServer } from './http-server.ts'

const RUNS = 1_000
let storage: Storage
let http: HttpServer
const cids: string[] = []
const counts = { ok: 0, refused: 0 }

beforeAll(async () => {
  storage = await createStorage()
  const raw = await storage.putBytes(new TextEncoder().encode('one raw block'))
  const env = await storage.putEnvelope({ v: 1, raw })
  cids.push(raw.toString(), env.toString(), 'QmWATWQ7fVPP2EFGu71UkfnqhYXDYH566qy47CnJDgvs8u')
  http = createHttpServer()
  // No per-IP limit nor export bound: every generated request must reach the code under test, not be refused
  // with 429.
  await createGateway(
    { rateLimit: false, maxCarExportsPerClient: false, maxCarExports: false },
    { http, storage },
  ).start()
  await http.start()
})

afterAll(async () => {
  await http?.stop()
  await storage?.stop()
  console.log(`node gateway fuzz counts: ${JSON.stringify(counts)}`)
})

const edit = (valid: string, alphabet: string) =>
  fc
    .array(
      fc.record({
        kind: fc.constantFrom('set', 'delete', 'insert', 'truncate'),
        at: fc.nat(),
        char: fc.oneof(fc.constantFrom(...alphabet), fc.string({ minLength: 1, maxLength: 1 })),
      }),
      { maxLength: 3 },
    )
    .map((ms) => {
      let s = valid
      for (const { kind, at, char } of ms) {
        const i = at % (s.length + 1)
        if (kind === 'set') s = s.slice(0, i) + char + s.slice(i + 1)
        else if (kind === 'delete') s = s.slice(0, i) + s.slice(i + 1)
        else if (kind === 'insert') s = s.slice(0, i) + char + s.slice(i)
        else s = s.slice(0, i)
      }
      return s
    })

const requests = fc.record({
  cid: fc.oneof(
    fc.constantFrom(0, 1, 2).chain((i) => edit(cids[i]!, 'abcdefghijklmnopqrstuvwxyz234567%/?#')),
    fc.string({ maxLength: 70 }),
  ),
  below: fc.oneof(fc.constant(''), fc.constantFrom('/', '/a', '//', '/..'), fc.string({ maxLength: 10 })),
  query: fc.oneof(
    fc.constantFrom(
      '',
      '?format=raw',
      '?format=car',
      '?format=car&dag-scope=block',
      '?format=car&dag-scope=entity',
    ),
    edit('?format=car&dag-scope=all&car-dups=n&car-order=dfs', '?&=abcdefgrstuvwxyz-'),
    fc.string({ maxLength: 40 }).map((s) => `?${s}`),
  ),
  accept: fc.oneof(
    fc.constantFrom(
      undefined,
      'application/vnd.ipld.raw',
      'application/vnd.ipld.car',
      'application/vnd.ipld.car; version=1; order=dfs; dups=n',
      'application/vnd.ipld.car; version=2',
      '*/*',
      'text/html',
    ),
    edit(
      'application/vnd.ipld.car; version=1; order=dfs; dups=y, application/vnd.ipld.raw;q=0.5',
      ';=,.q0123456789',
    ),
  ),
})

test('error: every request is answered with verified bytes, a 4xx or a deliberate 501, never another 5xx', async () => {
  await fc.assert(
    fc.asyncProperty(requests, async ({ cid, below, query, accept }) => {
      let url: string
      try {
        url = new URL(`/ipfs/${cid}${below}${query}`, http.url).toString()
      } catch {
        return // not a request a client could send
      }
      const headers: Record<string, string> = {}
      // header values must be ByteStrings without CR/LF to be sent at all
      if (accept !== undefined && /^[\x20-\x7e]*$/.test(accept)) headers.accept = accept
      const res = await fetch(url, { headers, signal: AbortSignal.timeout(10_000) })
      const body = new Uint8Array(await res.arrayBuffer())
      // 501 is a deliberate answer (a path below a CAR's root, a byte range in a file: not resolved here).
      expect(
        res.status === 501 ? 499 : res.status,
        `${url} (${accept}) answered ${res.status}: ${new TextDecoder().decode(body)}`,
      ).toBeLessThan(500)
      if (res.status === 200) {
        counts.ok++
        if (res.headers.get('content-type') === 'application/vnd.ipld.raw') {
          // the block is the one its CID names
          const root = CID.parse(res.headers.get('x-ipfs-roots')!)
          const digest = createHash('sha256').update(body).digest()
          expect(digest.equals(root.multihash.digest)).toBe(true)
        }
      } else {
        counts.refused++
      }
    }),
    { numRuns: RUNS },
  )
})
