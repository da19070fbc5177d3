/**
 * De-identification of NDJSON (FHIR Bulk Data: one resource per line) as a stream: chunks in, lines out, in
 * constant memory — one line is held at a time, never the file.
 *
 * @module
 */
import { type DeidentifyOptions, deidentifyCompiled } from './engine.ts'
import { AbortError, BaseError, NdjsonLineError } from './errors.ts'
import { resolveKeys } from './keys.ts'
import { compileRuleSet, type RuleSet } from './rules.ts'

/** Running totals, reported every `progressEvery` resources and once at the end. */
export type DeidentifyNdjsonProgressEvent = {
  type: 'fhir:deidentify:progress'
  /** Resources de-identified so far. */
  resources: number
  /** Input lines read (blank lines included). */
  lines: number
  /** Input bytes consumed (UTF-8). */
  bytes: number
  /** The stream is finished. */
  done: boolean
}

export interface DeidentifyNdjsonOptions extends DeidentifyOptions {
  signal?: AbortSignal
  onProgress?: (event: DeidentifyNdjsonProgressEvent) => void
  /** Report progress every this many resources (default 1,000). */
  progressEvery?: number
  /** Longest line accepted, in UTF-16 code units (default 64 Mi): a bound on memory for one resource. */
  maxLineLength?: number
}

const DEFAULT_MAX_LINE = 64 * 1024 * 1024

/**
 * De-identifies an NDJSON stream line by line. Yields one output line per input resource, each ending in
 * `\n`, so the output can be written straight to a file. Blank lines are skipped.
 *
 * @param source - the NDJSON bytes (UTF-8) or text, in chunks of any size.
 * @throws {@link NdjsonLineError} naming the line number (never its content) for a line that is not one JSON
 *  resource or that de-identification refused; its `cause` is the typed error. {@link AbortError} when `signal`
 *  fires. Rule and key errors are thrown before the first line is read.
 *
 * @example
 * ```ts
 * for await (const line of deidentifyNdjson(createReadStream('Patient.ndjson'), safeHarbor, { key, onProgress })) {
 *   out.write(line)
 * }
 * ```
 */
export async function* deidentifyNdjson(
  source: AsyncIterable<Uint8Array | string> | Iterable<Uint8Array | string>,
  rules: RuleSet,
  options: DeidentifyNdjsonOptions = {},
): AsyncGenerator<string, void, undefined> {
  const compiled = compileRuleSet(rules)
  const keys = resolveKeys(compiled, options.key)
  const now = options.now ?? new Date()
  const every = Math.max(1, Math.floor(options.progressEvery ?? 1000))
  const maxLine = options.maxLineLength ?? DEFAULT_MAX_LINE
  const { signal, onProgress } = options
  const decoder = new TextDecoder('utf-8', { fatal: true })
  const encoder = new TextEncoder()
  let buffer = ''
  let lines = 0
  let resources = 0
  let bytes = 0

  const checkAbort = () => {
    if (signal?.aborted === true) throw new AbortError({ cause: signal.reason })
  }
  const report = (done: boolean) =>
    onProgress?.({ type: 'fhir:deidentify:progress', resources, lines, bytes, done })

  const processLine = (text: string): string | undefined => {
    lines++
    const line = text.endsWith('\r') ? text.slice(0, -1) : text
    if (line.trim() === '') return undefined
    let json: unknown
    try {
      json = JSON.parse(line)
    } catch {
      // JSON.parse quotes the text it choked on; only the line number is reported.
      throw new NdjsonLineError({ line: lines, reason: 'not valid JSON' })
    }
    let out: Record<string, unknown>
    try {
      out = deidentifyCompiled(json, compiled, keys, now)
    } catch (e) {
      if (e instanceof BaseError) {
        throw new NdjsonLineError({ line: lines, reason: e.shortMessage, cause: e })
      }
      throw new NdjsonLineError({ line: lines, reason: 'de-identification failed' })
    }
    resources++
    if (resources % every === 0) report(false)
    return `${JSON.stringify(out)}\n`
  }

  checkAbort()
  for await (const chunk of source as AsyncIterable<Uint8Array | string>) {
    checkAbort()
    let text: string
    if (typeof chunk === 'string') {
      text = chunk
      bytes += encoder.encode(chunk).length
    } else {
      try {
        text = decoder.decode(chunk, { stream: true })
      } catch {
        throw new NdjsonLineError({ line: lines + 1, reason: 'not valid UTF-8' })
      }
      bytes += chunk.length
    }
    buffer += text
    let start = 0
    for (let nl = buffer.indexOf('\n', start); nl >= 0; nl = buffer.indexOf('\n', start)) {
      const out = processLine(buffer.slice(start, nl))
      start = nl + 1
      if (out !== undefined) {
        yield out
        checkAbort()
      }
    }
    buffer = buffer.slice(start)
    if (buffer.length > maxLine) {
      throw new NdjsonLineError({ line: lines + 1, reason: `longer than ${maxLine} characters` })
    }
  }
  try {
    buffer += decoder.decode()
  } catch {
    throw new NdjsonLineError({ line: lines + 1, reason: 'not valid UTF-8' })
  }
  if (buffer !== '') {
    const out = processLine(buffer)
    if (out !== undefined) yield out
  }
  report(true)
}
