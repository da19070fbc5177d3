/**
 * De-identification throughput, against a plain JSON parse + stringify of the same resources measured in the
 * same run as the floor (what any NDJSON pipeline pays anyway).
 *
 * - Resources/s, one resource at a time (as NDJSON lines), on the Synthea patients of ../shared/fixtures
 *   (~4,000 resources of 16 patients): the Safe Harbor rule set (dates to year, and shifted dates), Microsoft's
 *   own Safe Harbor sample configuration and its R4 test configuration (Microsoft compatibility), and the
 *   floor. Also whole Bundles through `deidentify`.
 * - Streaming: `deidentifyNdjson` over 5k … 50k resources generated on the fly, peak RSS per size, each in
 *   its own process: must stay flat (constant memory).
 *
 * Run: npx -y pnpm@10 exec node bench/fhir.bench.ts   (after `pnpm build`; needs ../shared beside the repo)
 */
import { spawnSync } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  createSafeHarbor,
  deidentify,
  deidentifyNdjson,
  loadAnonymizerConfig,
  type RuleSet,
  safeHarbor,
} from '@medvault/fhir'
import { peakRssMiB, printTable, type Row, type Table, writeResults } from './lib.ts'

const SHARED = join(import.meta.dirname, '..', '..', 'shared', 'fixtures')
const FIXTURES = join(import.meta.dirname, '..', 'test', 'fhir', 'fixtures', 'fhir-anonymizer')
const KEY = 'benchmark dataset key, 32 bytes!'

type Json = Record<string, unknown>

function bundles(): Json[] {
  const out: Json[] = []
  for (const dir of ['fhir-r4-synthea', 'fhir-r4-synthea-hiv']) {
    for (const f of readdirSync(join(SHARED, dir)).sort()) {
      if (f.endsWith('.json')) out.push(JSON.parse(readFileSync(join(SHARED, dir, f), 'utf8')) as Json)
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

printTable(throughput)
printTable(memory)
console.log(`\nresults: ${writeResults('fhir', [throughput, memory])}`)
