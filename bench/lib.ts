/**
 * Tiny benchmark harness: every figure is measured in the same process as its baseline, so the ratio is
 * what matters, not the absolute number on this machine.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

export interface Sample {
  /** mean milliseconds per operation */
  ms: number
  /** operations measured */
  n: number
}

export interface MeasureOptions {
  /** stop after this many milliseconds of measuring (default 1000) */
  budgetMs?: number
  /** at least this many iterations (default 5) */
  minIterations?: number
  /** warm-up iterations, not measured (default 3) */
  warmup?: number
}

/** Runs `fn` repeatedly and returns the mean time per call. */
export async function measure(fn: () => unknown, options: MeasureOptions = {}): Promise<Sample> {
  const { budgetMs = 1000, minIterations = 5, warmup = 3 } = options
  for (let i = 0; i < warmup; i++) await fn()
  let n = 0
  const start = performance.now()
  let elapsed = 0
  while (n < minIterations || elapsed < budgetMs) {
    await fn()
    n++
    elapsed = performance.now() - start
  }
  return { ms: elapsed / n, n }
}

export type Row = Record<string, string | number>

export interface Table {
  title: string
  rows: Row[]
  notes?: string[]
}

/** Prints a table to stdout with aligned columns. */
export function printTable(table: Table): void {
  const columns = [...new Set(table.rows.flatMap((r) => Object.keys(r)))]
  const cell = (v: string | number | undefined) =>
    v === undefined ? '' : typeof v === 'number' ? formatNumber(v) : v
  const widths = columns.map((c) => Math.max(c.length, ...table.rows.map((r) => cell(r[c]).length)))
  const line = (vals: string[]) => `| ${vals.map((v, i) => v.padEnd(widths[i] ?? 0)).join(' | ')} |`
  console.log(`\n## ${table.title}\n`)
  console.log(line(columns))
  console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`)
  for (const r of table.rows) console.log(line(columns.map((c) => cell(r[c]))))
  for (const note of table.notes ?? []) console.log(`\n${note}`)
}

function formatNumber(v: number): string {
  if (Number.isInteger(v)) return String(v)
  if (Math.abs(v) >= 100) return v.toFixed(0)
  if (Math.abs(v) >= 1) return v.toFixed(2)
  return v.toFixed(3)
}

/** Writes the tables of one bench as JSON under bench/results/. */
export function writeResults(name: string, tables: Table[]): string {
  const dir = join(import.meta.dirname, 'results')
  mkdirSync(dir, { recursive: true })
  const file = join(dir, `${name}.json`)
  writeFileSync(
    file,
    `${JSON.stringify({ name, date: new Date().toISOString(), node: process.version, tables }, null, 2)}\n`,
  )
  return file
}

/**
 * Peak resident set size of this process so far, in MiB. Reads the kernel's high-water mark (`VmHWM`)
 * where there is one: `getrusage`'s `maxrss` survives `exec`, so a child spawned by a big parent would
 * report the parent's peak.
 */
export function peakRssMiB(): number {
  try {
    const status = readFileSync('/proc/self/status', 'utf8')
    const kb = /^VmHWM:\s+(\d+) kB/m.exec(status)?.[1]
    if (kb !== undefined) return Number(kb) / 1024
  } catch {
    // not Linux: fall through
  }
  return process.resourceUsage().maxRSS / 1024
}
