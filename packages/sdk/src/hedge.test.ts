/**
 * Hedging against real local HTTP servers: fast, slow, failing, refusing and lying ones on 127.0.0.1.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterEach, describe, expect, test } from 'vitest'
import { AttemptTimeoutError, hedge } from './hedge.ts'

type Behaviour = 'ok' | 'fail' | 'hang' | 'lie'

interface TestServer {
  url: string
  hits: number
  aborted: number
  server: Server
}

const servers: TestServer[] = []

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.server.closeAllConnections()
    await new Promise((resolve) => s.server.close(resolve))
  }
})

async function serve(behaviour: Behaviour, name: string): Promise<TestServer> {
  const state = { hits: 0, aborted: 0 } as TestServer
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    state.hits++
    req.on('close', () => {
      if (!res.writableEnded) state.aborted++
    })
    if (behaviour === 'ok') res.end(name)
    else if (behaviour === 'lie') res.end('not what was asked')
    else if (behaviour === 'fail') {
      res.statusCode = 500
      res.end('{"error":{"code":"internal"}}')
    }
    // 'hang': never answers
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  state.server = server
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  servers.push(state)
  return state
}

/** A port nothing listens on: connections are refused. */
async function refusedUrl(): Promise<string> {
  const s = await serve('ok', 'gone')
  servers.pop()
  await new Promise((resolve) => s.server.close(resolve))
  return s.url
}

/** One attempt: GET the server and accept only its own name back (a checked answer). */
const attempt = async (c: { url: string; name: string }, signal: AbortSignal) => {
  const response = await fetch(c.url, { signal })
  const text = await response.text()
  if (!response.ok) throw new Error(`HTTP ${response.status}`)
  if (text !== c.name) throw new Error('answer fails its check')
  return text
}

describe('hedge', () => {
  test('default: asks exactly `needed` when they answer; the others are never asked', async () => {
    const [a, b, c] = [await serve('ok', 'a'), await serve('ok', 'b'), await serve('ok', 'c')]
    const result = await hedge({
      candidates: [a, b, c].map((s, i) => ({ url: s.url, name: 'abc'[i]! })),
      needed: 2,
      delayMs: 60_000,
      attempt,
    })
    expect(result.ok).toBe(true)
    expect(result.successes.map((s) => s.value).sort()).toEqual(['a', 'b'])
    expect([a.hits, b.hits, c.hits]).toEqual([1, 1, 0])
  })

  test('behavior: a failing, a refusing and a lying candidate are each replaced at once (no delay needed)', async () => {
    const failing = await serve('fail', 'x')
    const lying = await serve('lie', 'y')
    const good1 = await serve('ok', 'g1')
    const good2 = await serve('ok', 'g2')
    const result = await hedge({
      candidates: [
        { url: failing.url, name: 'x' },
        { url: await refusedUrl(), name: 'z' },
        { url: lying.url, name: 'y' },
        { url: good1.url, name: 'g1' },
        { url: good2.url, name: 'g2' },
      ],
      needed: 2,
      // A delay longer than the test timeout: only failures can have started the later candidates.
      delayMs: 600_000,
      attempt,
    })
    expect(result.ok).toBe(true)
    expect(result.successes.map((s) => s.value).sort()).toEqual(['g1', 'g2'])
    expect(result.failures.map((f) => f.candidate.name).sort()).toEqual(['x', 'y', 'z'])
    expect(result.failures.map((f) => (f.error as Error).message).sort()).toEqual([
      'HTTP 500',
      'answer fails its check',
      'fetch failed',
    ])
  })

  test('behavior: a candidate that hangs is hedged after the delay and aborted once enough answered', async () => {
    const slow = await serve('hang', 's')
    const fast = await serve('ok', 'f')
    const spare = await serve('ok', 'spare')
    const starts: string[] = []
    const result = await hedge({
      candidates: [
        { url: slow.url, name: 's' },
        { url: fast.url, name: 'f' },
        { url: spare.url, name: 'spare' },
      ],
      needed: 2,
      delayMs: 50,
      attemptTimeoutMs: 600_000,
      attempt,
      onStart: (c, reason) => starts.push(`${c.name}:${reason}`),
    })
    expect(result.ok).toBe(true)
    expect(result.successes.map((s) => s.value).sort()).toEqual(['f', 'spare'])
    expect(starts).toEqual(['s:initial', 'f:initial', 'spare:delay'])
    // The hanging request was cancelled, not left open.
    await expect.poll(() => slow.aborted).toBe(1)
  })

  test('behavior: an attempt past its timeout fails as a timeout and is replaced', async () => {
    const slow = await serve('hang', 's')
    const fast = await serve('ok', 'f')
    const result = await hedge({
      candidates: [
        { url: slow.url, name: 's' },
        { url: fast.url, name: 'f' },
      ],
      needed: 1,
      delayMs: 600_000,
      attemptTimeoutMs: 100,
      attempt,
    })
    expect(result.ok).toBe(true)
    expect(result.failures[0]?.error).toBeInstanceOf(AttemptTimeoutError)
    expect(result.successes[0]?.value).toBe('f')
  })

  test('error: not enough good candidates: ok is false and every failure is listed', async () => {
    const good = await serve('ok', 'g')
    const bad = await serve('fail', 'b')
    const result = await hedge({
      candidates: [
        { url: good.url, name: 'g' },
        { url: bad.url, name: 'b' },
        { url: await refusedUrl(), name: 'r' },
      ],
      needed: 2,
      delayMs: 10,
      attempt,
    })
    expect(result.ok).toBe(false)
    expect(result.successes.map((s) => s.value)).toEqual(['g'])
    expect(result.failures.map((f) => f.candidate.name).sort()).toEqual(['b', 'r'])
    expect(await hedge({ candidates: [], needed: 1, attempt })).toEqual({
      successes: [],
      failures: [],
      ok: false,
    })
  })

  test('error: the caller aborts: rejects with its reason and cancels the requests in flight', async () => {
    const slow = await serve('hang', 's')
    const controller = new AbortController()
    const pending = hedge({
      candidates: [{ url: slow.url, name: 's' }],
      needed: 1,
      signal: controller.signal,
      attempt,
    })
    await expect.poll(() => slow.hits).toBe(1)
    controller.abort(new Error('stop'))
    await expect(pending).rejects.toThrow('stop')
    await expect.poll(() => slow.aborted).toBe(1)
    expect(() => hedge({ candidates: [], needed: 0, attempt })).toThrow(RangeError)
  })
})
