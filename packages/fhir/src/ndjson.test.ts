import { describe, expect, test } from 'vitest'
import { deidentify } from './engine.ts'
import { AbortError, NdjsonLineError } from './errors.ts'
import { type DeidentifyNdjsonProgressEvent, deidentifyNdjson } from './ndjson.ts'
import { safeHarbor } from './safe-harbor.ts'

const KEY = 'an ndjson test dataset key, 32 b'

function resource(i: number): Record<string, unknown> {
  return {
    resourceType: 'Observation',
    id: `obs-${i}`,
    status: 'final',
    code: { coding: [{ system: 'http://loinc.org', code: '8302-2', display: 'Body height' }] },
    subject: { reference: `Patient/p${i % 7}`, display: 'Zoë Ångström' },
    effectiveDateTime: '2019-03-04T10:00:00+01:00',
    valueQuantity: { value: 170 + (i % 10), unit: 'cm' },
  }
}

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = []
  for await (const line of it) out.push(line)
  return out
}

/** Splits bytes at every `step` bytes, cutting through multi-byte characters. */
function* chunks(text: string, step: number): Generator<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  for (let i = 0; i < bytes.length; i += step) yield bytes.subarray(i, i + step)
}

describe('deidentifyNdjson', () => {
  test('default: one de-identified line per resource, the same as deidentify, whatever the chunking', async () => {
    const lines = Array.from({ length: 20 }, (_, i) => JSON.stringify(resource(i)))
    const text = `${lines.join('\n')}\n`
    const expected = lines.map(
      (l) => `${JSON.stringify(deidentify(JSON.parse(l), safeHarbor, { key: KEY }))}\n`,
    )
    for (const step of [1, 3, 7, 64, 4096]) {
      expect(await collect(deidentifyNdjson(chunks(text, step), safeHarbor, { key: KEY }))).toEqual(expected)
    }
    // strings, CRLF line ends, blank lines and no final newline
    const crlf = ['', lines[0], '', lines[1]].join('\r\n')
    expect(await collect(deidentifyNdjson([crlf], safeHarbor, { key: KEY }))).toEqual(expected.slice(0, 2))
  })

  test('behavior: progress events carry running totals and a final event', async () => {
    const events: DeidentifyNdjsonProgressEvent[] = []
    const text = Array.from({ length: 25 }, (_, i) => JSON.stringify(resource(i))).join('\n')
    const out = await collect(
      deidentifyNdjson([text], safeHarbor, {
        key: KEY,
        progressEvery: 10,
        onProgress: (e) => events.push(e),
      }),
    )
    expect(out).toHaveLength(25)
    expect(events.map((e) => [e.resources, e.done])).toEqual([
      [10, false],
      [20, false],
      [25, true],
    ])
    expect(events.at(-1)).toMatchObject({
      type: 'fhir:deidentify:progress',
      lines: 25,
      bytes: new TextEncoder().encode(text).length,
    })
  })

  test('behavior: constant memory — the input is read at most one chunk ahead of the output', async () => {
    let produced = 0
    let consumed = 0
    let maxAhead = 0
    async function* source() {
      for (let i = 0; i < 2_000; i++) {
        produced++
        maxAhead = Math.max(maxAhead, produced - consumed)
        yield `${JSON.stringify(resource(i))}\n`
      }
    }
    for await (const _ of deidentifyNdjson(source(), safeHarbor, { key: KEY })) consumed++
    expect(consumed).toBe(2_000)
    expect(maxAhead).toBeLessThanOrEqual(2)
  })

  test('error: a line that is not JSON names its number, never its content', async () => {
    const secret = 'Bob965 Keeling57 999-12-9623'
    const text = `${JSON.stringify(resource(1))}\n\n{"resourceType":"Patient","name":[{"family":"${secret}"\n`
    let error: unknown
    try {
      await collect(deidentifyNdjson([text], safeHarbor, { key: KEY }))
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(NdjsonLineError)
    expect((error as NdjsonLineError).line).toBe(3)
    expect((error as Error).message).toBe('NDJSON line 3: not valid JSON.')
    expect(String((error as Error).stack)).not.toContain('Keeling57')
  })

  test('error: a resource de-identification refuses, with the typed cause', async () => {
    const text = `{"resourceType":"Patient","nickname":"Bob965"}\n`
    const error = await collect(deidentifyNdjson([text], safeHarbor, { key: KEY })).catch((e: unknown) => e)
    expect(error).toBeInstanceOf(NdjsonLineError)
    expect((error as NdjsonLineError).line).toBe(1)
    expect((error as NdjsonLineError).cause).toMatchObject({
      name: 'FhirStructureError',
      path: 'Patient.nickname',
    })
    expect((error as Error).message).not.toContain('Bob965')
  })

  test('error: bytes that are not UTF-8; a line longer than the limit', async () => {
    const bad = await collect(
      deidentifyNdjson([new Uint8Array([0x7b, 0xff, 0xfe])], safeHarbor, { key: KEY }),
    ).catch((e: unknown) => e)
    expect(bad).toBeInstanceOf(NdjsonLineError)
    expect((bad as Error).message).toBe('NDJSON line 1: not valid UTF-8.')
    const long = await collect(
      deidentifyNdjson([`${'x'.repeat(200)}`], safeHarbor, { key: KEY, maxLineLength: 100 }),
    ).catch((e: unknown) => e)
    expect(long).toBeInstanceOf(NdjsonLineError)
    expect((long as Error).message).toBe('NDJSON line 1: longer than 100 characters.')
  })

  test('error: aborted through the signal, before or during the stream', async () => {
    const controller = new AbortController()
    controller.abort()
    const early = await collect(
      deidentifyNdjson(['{}'], safeHarbor, { key: KEY, signal: controller.signal }),
    ).catch((e: unknown) => e)
    expect(early).toBeInstanceOf(AbortError)
    const late = new AbortController()
    let seen = 0
    const error = await (async () => {
      const text = Array.from({ length: 50 }, (_, i) => JSON.stringify(resource(i))).join('\n')
      for await (const _ of deidentifyNdjson([text], safeHarbor, { key: KEY, signal: late.signal })) {
        if (++seen === 5) late.abort()
      }
    })().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AbortError)
    expect(seen).toBe(5)
  })

  test('error: rule and key problems are thrown before the first line is read', async () => {
    let read = false
    async function* source() {
      read = true
      yield '{}'
    }
    await expect(collect(deidentifyNdjson(source(), safeHarbor))).rejects.toMatchObject({
      name: 'MissingKeyError',
    })
    expect(read).toBe(false)
  })
})
