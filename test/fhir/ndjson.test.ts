// A research export as FHIR Bulk Data: the 16 Synthea patients of the fixtures written as one NDJSON
// file per resource type with server-style references (`Patient/<id>`), each file streamed through
// deidentifyNdjson on its own. Pseudonyms and date shifts must agree across files: a reference still finds its
// target in another file, and every date of a patient moves by that patient's one offset.
import { createSafeHarbor, deidentifyNdjson, safeHarbor } from '@medvault/fhir'
import { describe, expect, test } from 'vitest'
import {
  datesIn,
  days,
  entries,
  identifiersIn,
  identifierValues,
  type Json,
  leftIn,
  patients,
  searchable,
} from './helpers.ts'

const KEY = 'bulk data export key, 32 bytes.!'

/** One NDJSON text per resource type, references rewritten from `urn:uuid:` to `Type/id`. */
function toBulkData(): Map<string, string[]> {
  const files = new Map<string, string[]>()
  for (const { bundle } of patients) {
    const byFullUrl = new Map<string, string>()
    for (const e of entries(bundle)) {
      if (e.fullUrl !== undefined) byFullUrl.set(e.fullUrl, `${e.resource.resourceType}/${e.resource.id}`)
    }
    const rewrite = (v: unknown, key: string): unknown => {
      if (typeof v === 'string') return key === 'reference' ? (byFullUrl.get(v) ?? v) : v
      if (Array.isArray(v)) return v.map((x) => rewrite(x, key))
      if (v !== null && typeof v === 'object') {
        return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, rewrite(x, k)]))
      }
      return v
    }
    for (const e of entries(bundle)) {
      const type = e.resource.resourceType as string
      const list = files.get(type) ?? []
      list.push(JSON.stringify(rewrite(e.resource, '')))
      files.set(type, list)
    }
  }
  return files
}

async function* inChunks(text: string): AsyncGenerator<Uint8Array> {
  const bytes = new TextEncoder().encode(text)
  for (let i = 0; i < bytes.length; i += 65_536) yield bytes.subarray(i, i + 65_536)
}

async function run(files: Map<string, string[]>, rules = safeHarbor): Promise<Map<string, Json[]>> {
  const out = new Map<string, Json[]>()
  for (const [type, lines] of files) {
    const resources: Json[] = []
    for await (const line of deidentifyNdjson(inChunks(`${lines.join('\n')}\n`), rules, { key: KEY })) {
      expect(line.endsWith('\n')).toBe(true)
      resources.push(JSON.parse(line) as Json)
    }
    out.set(type, resources)
  }
  return out
}

describe('Bulk Data NDJSON export of the Synthea patients', () => {
  const files = toBulkData()

  test('behavior: counts per type kept, no identifier left, references resolve across files', async () => {
    const out = await run(files)
    expect([...out].map(([t, r]) => [t, r.length])).toEqual([...files].map(([t, l]) => [t, l.length]))
    const ids = new Set<string>()
    for (const [type, resources] of out) for (const r of resources) ids.add(`${type}/${r.id as string}`)
    let resolved = 0
    const references: string[] = []
    const collect = (v: unknown, key: string) => {
      if (typeof v === 'string' && key === 'reference') references.push(v)
      else if (Array.isArray(v)) for (const x of v) collect(x, key)
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) collect(x, k)
    }
    for (const resources of out.values()) collect(resources, '')
    for (const ref of references) {
      // conditional references (`Practitioner?identifier=…`) had no target in the input either
      if (/^[A-Z][A-Za-z]+\/[0-9a-f-]+$/.test(ref)) {
        expect(ids.has(ref)).toBe(true)
        resolved++
      }
    }
    expect(resolved).toBeGreaterThan(5_000)
    const all = [...out.values()].flat()
    const text = searchable({ all })
    for (const { bundle } of patients) expect(leftIn(text, identifiersIn(bundle))).toEqual([])
    expect(identifierValues(all)).toEqual([])
  })

  test('behavior: with dates: shift, each patient keeps one offset across every file', async () => {
    const out = await run(files, createSafeHarbor({ dates: 'shift' }))
    const input = new Map<string, Json>()
    for (const [type, lines] of files)
      for (const l of lines) input.set(`${type}/${(JSON.parse(l) as Json).id}`, JSON.parse(l))
    const patientsIn = [...input.values()].filter((r) => r.resourceType === 'Patient')
    const patientsOut = out.get('Patient')!
    // Offsets by pseudonymised patient id.
    const offsets = new Map<string, number>()
    patientsIn.forEach((p, i) => {
      offsets.set(
        `Patient/${patientsOut[i]!.id as string}`,
        days(p.birthDate as string, patientsOut[i]!.birthDate as string),
      )
    })
    expect(new Set(offsets.values()).size).toBeGreaterThan(3)
    let checked = 0
    for (const [type, resources] of out) {
      if (type === 'Patient') continue
      const lines = files.get(type)!
      resources.forEach((r, i) => {
        const subject = JSON.stringify(r).match(/"reference":"(Patient\/[0-9a-f-]+)"/)?.[1]
        if (subject === undefined) return
        const offset = offsets.get(subject)!
        const before = new Set(datesIn(JSON.parse(lines[i]!)))
        for (const d of datesIn(r)) {
          expect(before.has(new Date(Date.parse(d) - offset * 864e5).toISOString().slice(0, 10))).toBe(true)
          checked++
        }
      })
    }
    expect(checked).toBeGreaterThan(5_000)
  })
})
