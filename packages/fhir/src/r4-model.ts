/**
 * What FHIR R4 says about each element: its type, whether it repeats, which JSON property spells a choice
 * type. Read from the R4 model that ships with HL7's `fhirpath` package (generated from the R4
 * StructureDefinitions), so the engine and the FHIRPath evaluator agree on every path.
 *
 * @module
 */
import r4 from 'fhirpath/fhir-context/r4'

export const model = r4

/** The FHIR R4 primitive types: they carry a `value` and, in JSON, their extensions under `_name`. */
export const PRIMITIVE_TYPES: ReadonlySet<string> = new Set([
  'base64Binary',
  'boolean',
  'canonical',
  'code',
  'date',
  'dateTime',
  'decimal',
  'id',
  'instant',
  'integer',
  'markdown',
  'oid',
  'positiveInt',
  'string',
  'time',
  'unsignedInt',
  'uri',
  'url',
  'uuid',
  'xhtml',
])

/** Primitive types whose JSON value is a number. */
export const NUMBER_TYPES: ReadonlySet<string> = new Set(['decimal', 'integer', 'positiveInt', 'unsignedInt'])

function isResourceTypeName(name: string): boolean {
  let t: string | undefined = name
  for (let depth = 0; t !== undefined && depth < 10; depth++) {
    if (t === 'Resource') return true
    t = r4.type2Parent[t]
  }
  return false
}

/** Every R4 resource type, e.g. `Patient`, `Bundle`, `Parameters` (not the abstract `Resource`). */
export const RESOURCE_TYPES: ReadonlySet<string> = new Set(
  Object.keys(r4.type2Parent).filter(
    (t) => t !== 'Resource' && t !== 'DomainResource' && isResourceTypeName(t),
  ),
)

export function isResourceType(name: string): boolean {
  return RESOURCE_TYPES.has(name)
}

/** Where an element's children are looked up: a type name, or the path of a backbone element. */
export interface ElementInfo {
  /** The element's name as FHIRPath sees it: `value` for `valueQuantity`. */
  name: string
  /** Its FHIR type: `HumanName`, `date`, `BackboneElement`, `Resource` (a resource slot), … */
  type: string
  /** Where its own children are defined (`HumanName`, `Patient.contact`). */
  modelPath: string
  /** The JSON property repeats (always an array in JSON). */
  repeating: boolean
}

/**
 * The model path under which a child's own definition lives. Long recursive paths such as
 * `Questionnaire.item.item` are defined at `Questionnaire.item`.
 */
function normalize(path: string): string {
  return r4.pathsDefinedElsewhere[path] ?? path
}

/** R4 spells some FHIR types as FHIRPath system types; give them back their FHIR names. */
function fhirTypeOf(path: string, type: string, parentModelPath: string): string {
  if (!type.startsWith('System.')) return type
  if (path.endsWith('.url') && (parentModelPath === 'Extension' || parentModelPath.endsWith('.extension')))
    return 'uri'
  if (path.endsWith('.id'))
    return isResourceType(parentModelPath) || parentModelPath === 'Resource' ? 'id' : 'string'
  const system = type.slice('System.'.length)
  return system === 'String' ? 'string' : system.charAt(0).toLowerCase() + system.slice(1)
}

const childCache = new Map<string, Map<string, ElementInfo | null>>()

/**
 * Resolves the JSON property `key` of an element whose children are defined at `parentModelPath`.
 * Returns `null` when R4 defines no such element there.
 */
export function childInfo(parentModelPath: string, key: string): ElementInfo | null {
  let byKey = childCache.get(parentModelPath)
  if (byKey === undefined) {
    byKey = new Map()
    childCache.set(parentModelPath, byKey)
  }
  const cached = byKey.get(key)
  if (cached !== undefined) return cached
  const info = resolveChild(parentModelPath, key)
  // Unknown keys are not remembered: they come from input and would grow the cache without bound.
  if (info !== null) byKey.set(key, info)
  return info
}

function resolveChild(parentModelPath: string, key: string): ElementInfo | null {
  // Children of a primitive (`_birthDate`): its element id and extensions.
  if (PRIMITIVE_TYPES.has(parentModelPath)) {
    if (key === 'id') return { name: 'id', type: 'string', modelPath: 'string', repeating: false }
    if (key === 'extension')
      return { name: 'extension', type: 'Extension', modelPath: 'Extension', repeating: true }
    return null
  }
  const raw = `${parentModelPath}.${key}`
  // A choice type: `valueQuantity` is `value` of type Quantity.
  for (let i = 1; i < key.length; i++) {
    const c = key.charCodeAt(i)
    if (c < 65 || c > 90) continue
    const base = key.slice(0, i)
    const suffixes = r4.choiceTypePaths[`${parentModelPath}.${base}`]
    if (suffixes === undefined) continue
    const suffix = key.slice(i)
    if (!suffixes.includes(suffix)) return null
    const type = r4.path2Type[raw] ?? suffix.charAt(0).toLowerCase() + suffix.slice(1)
    const resolvedType = PRIMITIVE_TYPES.has(type) || r4.type2Parent[type] !== undefined ? type : suffix
    return {
      name: base,
      type: resolvedType,
      modelPath: resolvedType,
      repeating: false,
    }
  }
  if (r4.choiceTypePaths[raw] !== undefined) return null // `value` alone is not a JSON property
  const rawType = r4.path2Type[raw] ?? r4.path2Type[normalize(raw)]
  return rawType === undefined ? null : describe(key, raw, rawType, parentModelPath)
}

function describe(name: string, raw: string, rawType: string, parentModelPath: string): ElementInfo {
  const repeating = r4.path2Repeating[raw] === true || r4.path2Repeating[normalize(raw)] === true
  const type = fhirTypeOf(raw, rawType, parentModelPath)
  if (type === 'BackboneElement' || type === 'Element') {
    return { name, type: 'BackboneElement', modelPath: normalize(raw), repeating }
  }
  return { name, type, modelPath: type, repeating }
}

/** The JSON property for a choice element of the given type: `value` + `Quantity`. */
export function choiceJsonName(name: string, type: string): string {
  return name + type.charAt(0).toUpperCase() + type.slice(1)
}

/** Whether `name` at `parentModelPath` is a choice element (`Observation.value`). */
export function isChoice(parentModelPath: string, name: string): boolean {
  return r4.choiceTypePaths[`${parentModelPath}.${name}`] !== undefined
}
