// Helpers for the de-identification tests on the Synthea fixtures (fixtures/synthea, provenance in its README): loading them, collecting the
// identifiers of an input by walking its raw JSON (independently of the rules), and searching an output for
// them, Base64 decoded.
import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'

export const SYNTHEA = join(import.meta.dirname, 'fixtures', 'synthea')

export type Json = Record<string, unknown>
export interface Fixture {
  name: string
  dir: string
  bundle: Json
}

export function load(dir: string, filter: (f: string) => boolean): Fixture[] {
  return readdirSync(join(SYNTHEA, dir))
    .filter((f) => f.endsWith('.json') && filter(f))
    .sort()
    .map((f) => ({ name: f, dir, bundle: JSON.parse(readFileSync(join(SYNTHEA, dir, f), 'utf8')) as Json }))
}

export const isSupport = (f: string) => /^(hospital|practitioner)Information/.test(f)
export const patients = [
  ...load('fhir-r4-synthea', (f) => !isSupport(f)),
  ...load('fhir-r4-synthea-hiv', () => true),
]
export const support = load('fhir-r4-synthea', isSupport)

export const entries = (b: Json) => (b.entry as { fullUrl?: string; resource: Json }[]) ?? []

/** Every string of the input that identifies someone, found by walking the raw JSON. */
export function identifiersIn(bundle: Json): Set<string> {
  const found = new Set<string>()
  const add = (v: unknown) => {
    if (typeof v === 'string' && v.trim().length >= 3) found.add(v.trim())
  }
  const walk = (node: unknown, key: string, parentKey: string) => {
    if (Array.isArray(node)) {
      for (const item of node) walk(item, key, parentKey)
      return
    }
    if (typeof node === 'string') {
      // names of organizations and locations
      if (key === 'name') add(node)
      // dates other than year: the YYYY-MM-DD part of any date, dateTime or instant
      const day = /^(\d{4}-\d{2}-\d{2})/.exec(node)?.[1]
      if (day !== undefined) found.add(day)
      return
    }
    if (node === null || typeof node !== 'object') return
    const o = node as Json
    // names (patients, relatives, practitioners), addresses below state, telecom, identifier values of every
    // system, reference displays, free text in extensions (mother's maiden name, birth place)
    if (key === 'name' || parentKey === 'name') {
      for (const g of [o.given, o.family, o.text].flat()) add(g)
    }
    if ('line' in o || 'city' in o || 'postalCode' in o || 'district' in o) {
      for (const v of [o.line, o.city, o.postalCode, o.district, o.text].flat()) add(v)
    }
    if (key === 'telecom') add(o.value)
    if (key === 'identifier') add(o.value)
    if ('reference' in o || key === 'subject' || key === 'coverage') add(o.display)
    if (key === 'extension' && typeof o.url === 'string' && !/us-core-(race|ethnicity)/.test(o.url))
      add(o.valueString)
    if (key === 'resource') add(o.id)
    for (const [k, v] of Object.entries(o)) walk(v, k, key)
  }
  walk(bundle, '', '')
  for (const e of entries(bundle)) {
    if (e.fullUrl !== undefined) add(e.fullUrl.replace(/^urn:uuid:/, ''))
  }
  // A reference display that repeats a coding's display ("Total Cholesterol") names a test, not a person.
  for (const term of vocabulary(bundle)) found.delete(term)
  return found
}

/** Terminology displays: the text of codes, not about anyone. */
export function vocabulary(bundle: Json): Set<string> {
  const terms = new Set<string>()
  const walk = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(walk)
    else if (v !== null && typeof v === 'object') {
      const o = v as Json
      if (typeof o.code === 'string' && typeof o.display === 'string') terms.add(o.display)
      Object.values(o).forEach(walk)
    }
  }
  walk(bundle)
  return terms
}

/**
 * The identifiers found in the output text. A match must stand alone (not inside a longer word, number or
 * hash); numbers of fewer than 5 digits (a 3-digit NPI) cannot be told from clinical values in text, so
 * identifier values are also checked structurally ({@link identifierValues}).
 */
export function leftIn(text: string, identifiers: Iterable<string>): string[] {
  const quote = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')
  return [...identifiers].filter((id) => {
    if (/^\d{1,4}$/.test(id)) return false
    return new RegExp(`(?<![A-Za-z0-9])${quote(id)}(?![A-Za-z0-9])`).test(text)
  })
}

/** Every `identifier[].value` left in a resource tree. */
export function identifierValues(v: unknown, key = '', out: unknown[] = []): unknown[] {
  if (Array.isArray(v)) for (const x of v) identifierValues(x, key, out)
  else if (v !== null && typeof v === 'object') {
    const o = v as Json
    if (key === 'identifier' && 'value' in o) out.push(o.value)
    for (const [k, x] of Object.entries(o)) identifierValues(x, k, out)
  }
  return out
}

export const BASE64 = /^[A-Za-z0-9+/]{16,}={0,2}$/

/** The output as text, with every Base64 string in it decoded and appended. */
export function searchable(out: Json): string {
  const decoded: string[] = []
  const walk = (v: unknown) => {
    if (typeof v === 'string') {
      if (BASE64.test(v) && v.length % 4 === 0) decoded.push(Buffer.from(v, 'base64').toString('utf8'))
    } else if (Array.isArray(v)) v.forEach(walk)
    else if (v !== null && typeof v === 'object') Object.values(v).forEach(walk)
  }
  walk(out)
  return `${JSON.stringify(out)}\n${decoded.join('\n')}`
}

export function countTypes(bundle: Json): Record<string, number> {
  const counts: Record<string, number> = {}
  for (const e of entries(bundle)) {
    const t = e.resource.resourceType as string
    counts[t] = (counts[t] ?? 0) + 1
    for (const c of (e.resource.contained as Json[] | undefined) ?? []) {
      const ct = `contained ${c.resourceType as string}`
      counts[ct] = (counts[ct] ?? 0) + 1
    }
  }
  return counts
}

/** For each entry, the entries its references point to (by index), as a sorted list. */
export function referenceTargets(bundle: Json): number[][] {
  const index = new Map<string, number>()
  entries(bundle).forEach((e, i) => {
    if (e.fullUrl !== undefined) index.set(e.fullUrl, i)
  })
  return entries(bundle).map((e) => {
    const targets: number[] = []
    const walk = (v: unknown, key: string) => {
      if (typeof v === 'string' && key === 'reference' && index.has(v)) targets.push(index.get(v)!)
      else if (Array.isArray(v)) for (const x of v) walk(x, key)
      else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k)
    }
    walk(e.resource, '')
    return targets.sort((a, b) => a - b)
  })
}

export function datesIn(v: unknown, out: string[] = []): string[] {
  if (typeof v === 'string') {
    const day = /^(\d{4}-\d{2}-\d{2})(T|$)/.exec(v)?.[1]
    if (day !== undefined) out.push(day)
  } else if (Array.isArray(v)) for (const x of v) datesIn(x, out)
  else if (v !== null && typeof v === 'object') for (const x of Object.values(v)) datesIn(x, out)
  return out
}

export const days = (from: string, to: string) => Math.round((Date.parse(to) - Date.parse(from)) / 864e5)
