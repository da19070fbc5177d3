/**
 * A typed tree over FHIR JSON: one node per element, with its FHIR type, as in the .NET FHIR SDK's
 * `ElementNode` that Microsoft's anonymizer works on. Primitive values and their `_name` extensions form one
 * node; a choice element is named by its base name (`value`) and typed by its suffix (`Quantity`); repeating
 * elements are one node per item. Rules mutate the tree; {@link toJson} writes FHIR JSON back.
 *
 * FHIRPath runs on a JSON projection of the tree ({@link project}), cached per node and rebuilt only below
 * nodes that changed, so that each rule sees the resource as the previous rules left it.
 *
 * @module
 */
import { FhirStructureError } from './errors.ts'
import {
  childInfo,
  choiceJsonName,
  type ElementInfo,
  isChoice,
  isResourceType,
  NUMBER_TYPES,
  PRIMITIVE_TYPES,
} from './r4-model.ts'

export type PrimitiveValue = string | number | boolean

const NO_CHILDREN: ElementNode[] = Object.freeze([]) as unknown as ElementNode[]

/** Adds a child at the end while a tree is being built (no change tracking needed yet). */
export function appendChild(node: ElementNode, child: ElementNode): void {
  child.parent = node
  if (node.children === NO_CHILDREN) node.children = [child]
  else node.children.push(child)
}

export class ElementNode {
  /** The element's name as FHIRPath sees it (`value` for `valueQuantity`); `''` for a root. */
  readonly name: string
  /** The JSON property it is written under. */
  readonly jsonName: string
  /** Its FHIR type: a resource type, a data type, a primitive type or `BackboneElement`. */
  readonly type: string
  /** Where its children are defined in the R4 model. */
  readonly modelPath: string
  readonly repeating: boolean
  readonly isResource: boolean
  readonly isPrimitive: boolean
  value: PrimitiveValue | null
  /** Shared empty list until the first child arrives: most elements are primitives without children. */
  children: ElementNode[] = NO_CHILDREN
  parent: ElementNode | null = null
  /** Cached JSON projection for FHIRPath; `undefined` when this node or one below it changed. */
  projection: Record<string, unknown> | undefined = undefined

  constructor(info: {
    name: string
    jsonName: string
    type: string
    modelPath: string
    repeating: boolean
    isResource: boolean
    value?: PrimitiveValue | null
  }) {
    this.name = info.name
    this.jsonName = info.jsonName
    this.type = info.type
    this.modelPath = info.modelPath
    this.repeating = info.repeating
    this.isResource = info.isResource
    this.isPrimitive = PRIMITIVE_TYPES.has(info.type)
    this.value = info.value ?? null
  }

  /** A non-resource element of the given R4 element description. */
  static of(info: ElementInfo, jsonName: string): ElementNode {
    return new ElementNode({
      name: info.name,
      jsonName,
      type: info.type,
      modelPath: info.modelPath,
      repeating: info.repeating,
      isResource: false,
    })
  }

  /** Marks this node and its ancestors as changed, so their projections are rebuilt. */
  touch(): void {
    // All the way up: a primitive has no projection of its own, but its parent's embeds it.
    for (let n: ElementNode | null = this; n !== null; n = n.parent) n.projection = undefined
  }

  setValue(value: PrimitiveValue | null): void {
    this.value = value
    this.touch()
  }

  childrenNamed(name: string): ElementNode[] {
    return this.children.filter((c) => c.name === name)
  }

  child(name: string): ElementNode | undefined {
    return this.children.find((c) => c.name === name)
  }

  add(child: ElementNode, index = this.children.length): void {
    child.parent = this
    if (this.children === NO_CHILDREN) this.children = []
    this.children.splice(index, 0, child)
    this.touch()
    bumpStructure()
  }

  remove(child: ElementNode): void {
    const i = this.children.indexOf(child)
    if (i < 0) return
    this.children.splice(i, 1)
    child.parent = null
    this.touch()
    bumpStructure()
  }

  replace(old: ElementNode, replacement: ElementNode): void {
    const i = this.children.indexOf(old)
    if (i < 0) return
    old.parent = null
    replacement.parent = this
    this.children[i] = replacement
    this.touch()
    bumpStructure()
  }

  /** The outermost node of the tree (the resource or Bundle that was passed in). */
  root(): ElementNode {
    let n: ElementNode = this
    while (n.parent !== null) n = n.parent
    return n
  }

  /** The nearest resource at or above this node. */
  resource(): ElementNode | undefined {
    for (let n: ElementNode | null = this; n !== null; n = n.parent) if (n.isResource) return n
    return undefined
  }

  /** A FHIRPath-style location such as `Patient.name[1].given[0]`, for messages. Never a value. */
  location(): string {
    if (this.parent === null) return this.type
    const siblings = this.parent.children.filter((c) => c.jsonName === this.jsonName)
    const index = this.repeating ? `[${siblings.indexOf(this)}]` : ''
    return `${this.parent.location()}.${this.name}${index}`
  }

  /** Self and descendants in document order, not entering resources below this node (entries, contained). */
  selfAndDescendantsWithoutSubResources(): ElementNode[] {
    const out: ElementNode[] = [this]
    collectDescendants(this, out)
    return out
  }

  descendantsWithoutSubResources(): ElementNode[] {
    const out: ElementNode[] = []
    collectDescendants(this, out)
    return out
  }
}

function collectDescendants(node: ElementNode, out: ElementNode[]): void {
  for (const child of node.children) {
    if (child.isResource) continue
    out.push(child)
    if (child.children.length > 0) collectDescendants(child, out)
  }
}

/**
 * Counts structural changes (elements added, removed, replaced) so that indexes over the tree know when they
 * are stale. Value changes do not count: they never move an element.
 */
export let structureVersion = 0

function bumpStructure(): void {
  structureVersion++
}

/**
 * Whether FHIRPath (fhirpath.js) sees this element: a single primitive left without value or extensions is
 * absent from JSON, so navigation does not return it; array items stay at their index.
 */
export function visibleToFhirpath(n: ElementNode): boolean {
  return !(n.isPrimitive && n.value === null && n.children.length === 0 && !n.repeating)
}

/** Printable form of a JSON property name for messages: structure, but attacker-controlled, so bounded. */
export function printableKey(key: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key) ? key : '(unprintable property)'
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Reads a resource (or Bundle) from parsed FHIR JSON. Throws {@link FhirStructureError} for non-R4 input. */
export function parseResource(json: unknown, location = ''): ElementNode {
  return readResource(json, location === '' ? undefined : () => location)
}

function readResource(json: unknown, location: Loc | undefined): ElementNode {
  if (!isPlainObject(json)) {
    throw new FhirStructureError({ path: location?.() ?? '(root)', reason: 'expected a JSON object' })
  }
  const rt = json.resourceType
  if (typeof rt !== 'string' || !isResourceType(rt)) {
    throw new FhirStructureError({
      path: location?.() ?? '(root)',
      reason: typeof rt === 'string' ? 'resourceType is not an R4 resource type' : 'resourceType is missing',
    })
  }
  const node = new ElementNode({
    name: '',
    jsonName: '',
    type: rt,
    modelPath: rt,
    repeating: false,
    isResource: true,
  })
  readChildren(node, json, location ?? (() => rt), true)
  return node
}

/** Reads a data type or backbone element of the given model path (used for substitute replacements). */
export function parseElement(json: unknown, info: ElementInfo, location: string): ElementNode {
  if (info.type === 'Resource' || isResourceType(info.type)) return parseResource(json, location)
  const loc = () => location
  if (PRIMITIVE_TYPES.has(info.type)) {
    const node = ElementNode.of(info, info.name)
    node.value = readPrimitive(json, info.type, loc)
    return node
  }
  if (!isPlainObject(json)) throw new FhirStructureError({ path: location, reason: 'expected a JSON object' })
  const node = ElementNode.of(info, info.name)
  readChildren(node, json, loc, false)
  return node
}

function readPrimitive(v: unknown, type: string, location: Loc): PrimitiveValue | null {
  if (v === null || v === undefined) return null
  if (NUMBER_TYPES.has(type)) {
    if (typeof v === 'number' && Number.isFinite(v)) return v
    throw new FhirStructureError({ path: location(), reason: `expected a JSON number for ${type}` })
  }
  if (type === 'boolean') {
    if (typeof v === 'boolean') return v
    throw new FhirStructureError({ path: location(), reason: 'expected a JSON boolean' })
  }
  if (typeof v === 'string') return v
  throw new FhirStructureError({ path: location(), reason: `expected a JSON string for ${type}` })
}

/** A location built only when a message needs it: most elements are read without ever being named. */
type Loc = () => string

const EMPTY: unknown[] = []

function readChildren(
  node: ElementNode,
  json: Record<string, unknown>,
  location: Loc,
  isResource: boolean,
): void {
  let seen: Set<string> | undefined
  for (const rawKey in json) {
    if (isResource && rawKey === 'resourceType') continue
    const companionKey = rawKey.charCodeAt(0) === 95 // '_'
    const key = companionKey ? rawKey.slice(1) : rawKey
    if (companionKey || `_${key}` in json) {
      // Only a primitive and its companion share a name; read them once, together.
      seen ??= new Set()
      if (seen.has(key)) continue
      seen.add(key)
    }
    const info = childInfo(node.modelPath, key)
    const where: Loc = () => `${location()}.${printableKey(key)}`
    if (info === null) {
      throw new FhirStructureError({ path: where(), reason: 'R4 defines no such element here' })
    }
    if (info.name !== key && isChoice(node.modelPath, info.name)) {
      for (const c of node.children) {
        if (c.name === info.name) {
          throw new FhirStructureError({
            path: where(),
            reason: `more than one type given for ${info.name}[x]`,
          })
        }
      }
    }
    const primitive = PRIMITIVE_TYPES.has(info.type)
    const value = json[key]
    const companion = json[`_${key}`]
    if (!primitive && companion !== undefined) {
      throw new FhirStructureError({ path: where(), reason: 'only primitive elements have a `_` companion' })
    }
    const values = toList(value, info, where)
    const companions = primitive
      ? toList(companion, info, () => `${location()}._${printableKey(key)}`)
      : EMPTY
    const count = Math.max(values.length, companions.length)
    for (let i = 0; i < count; i++) {
      const itemWhere: Loc = info.repeating ? () => `${where()}[${i}]` : where
      const v = values[i]
      const ext = companions[i]
      if (primitive) {
        if ((v === null || v === undefined) && (ext === null || ext === undefined)) continue
        const child = ElementNode.of(info, key)
        child.value = readPrimitive(v, info.type, itemWhere)
        if (ext !== null && ext !== undefined) {
          if (!isPlainObject(ext)) {
            throw new FhirStructureError({
              path: itemWhere(),
              reason: 'expected a JSON object in the `_` companion',
            })
          }
          readChildren(child, ext, itemWhere, false)
        }
        appendChild(node, child)
        continue
      }
      if (v === null || v === undefined) continue
      let child: ElementNode
      if (info.type === 'Resource') {
        child = readResource(v, itemWhere)
        // Keep the slot's name (`resource`, `contained`) on the resource node.
        child = renameResource(child, info, key)
      } else {
        if (!isPlainObject(v))
          throw new FhirStructureError({ path: itemWhere(), reason: 'expected a JSON object' })
        child = ElementNode.of(info, key)
        readChildren(child, v, itemWhere, false)
      }
      appendChild(node, child)
    }
  }
}

function renameResource(resource: ElementNode, info: ElementInfo, jsonName: string): ElementNode {
  const named = new ElementNode({
    name: info.name,
    jsonName,
    type: resource.type,
    modelPath: resource.modelPath,
    repeating: info.repeating,
    isResource: true,
  })
  named.children = resource.children
  for (const c of named.children) c.parent = named
  return named
}

function toList(value: unknown, info: ElementInfo, where: Loc): unknown[] {
  if (value === undefined || value === null) return EMPTY
  if (Array.isArray(value)) {
    if (!info.repeating) {
      throw new FhirStructureError({ path: where(), reason: 'expected a single value, found an array' })
    }
    return value
  }
  // Microsoft's anonymizer (through the .NET FHIR parser) accepts a single item where an array belongs, and
  // so do we; the output always has the array.
  return [value]
}

/** A new element node for a child of `parent` named `name` (choice elements take the type suffix). */
export function newChild(parent: ElementNode, jsonName: string): ElementNode {
  const info = childInfo(parent.modelPath, jsonName)
  if (info === null) {
    throw new FhirStructureError({
      path: `${parent.location()}.${printableKey(jsonName)}`,
      reason: 'R4 defines no such element here',
    })
  }
  return new ElementNode({ ...info, jsonName, isResource: false })
}

function jsonValue(node: ElementNode): PrimitiveValue | null {
  const v = node.value
  if (v === null) return null
  if (NUMBER_TYPES.has(node.type) && typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) {
    return Number(v)
  }
  if (node.type === 'boolean' && (v === 'true' || v === 'false')) return v === 'true'
  return v
}

/**
 * Writes the tree as FHIR JSON. `keepEmpty` keeps null placeholders (the FHIRPath projection needs every node,
 * even an emptied one, at its index); output mode drops them.
 */
function writeObject(
  node: ElementNode,
  keepEmpty: boolean,
  register?: (obj: Record<string, unknown>, node: ElementNode) => void,
): Record<string, unknown> {
  const out: Record<string, unknown> = {}
  if (node.isResource) out.resourceType = node.type
  const groups = new Map<string, ElementNode[]>()
  for (const c of node.children) {
    const g = groups.get(c.jsonName)
    if (g === undefined) groups.set(c.jsonName, [c])
    else g.push(c)
  }
  for (const [jsonName, nodes] of groups) {
    const first = nodes[0]!
    if (first.isPrimitive) {
      const values = nodes.map(jsonValue)
      const companions = nodes.map((n) =>
        n.children.length > 0 ? childObject(n, keepEmpty, register) : null,
      )
      const anyValue = values.some((v) => v !== null)
      const anyCompanion = companions.some((c) => c !== null)
      if (first.repeating) {
        if (anyValue || keepEmpty) out[jsonName] = values
        if (anyCompanion) out[`_${jsonName}`] = companions
      } else {
        if (anyValue || keepEmpty) out[jsonName] = values[0] ?? null
        if (anyCompanion) out[`_${jsonName}`] = companions[0]
      }
    } else {
      const objects = nodes.map((n) =>
        keepEmpty && register !== undefined ? project(n, register) : writeObject(n, keepEmpty, register),
      )
      out[jsonName] = first.repeating ? objects : objects[0]
    }
  }
  return out
}

function childObject(
  node: ElementNode,
  keepEmpty: boolean,
  register?: (obj: Record<string, unknown>, node: ElementNode) => void,
): Record<string, unknown> {
  // The `_name` companion of a primitive: its id and extensions, written like a complex element.
  const holder = new ElementNode({
    name: node.name,
    jsonName: node.jsonName,
    type: 'Element',
    modelPath: node.type,
    repeating: false,
    isResource: false,
  })
  holder.children = node.children
  return writeObject(holder, keepEmpty, register)
}

/** FHIR JSON for a tree, as written to output (empty elements were removed beforehand). */
export function toJson(node: ElementNode): Record<string, unknown> {
  return writeObject(node, false)
}

/**
 * The JSON projection FHIRPath evaluates, cached on each complex node; `register` records which object
 * stands for which node so results can be mapped back.
 */
export function project(
  node: ElementNode,
  register: (obj: Record<string, unknown>, node: ElementNode) => void,
): Record<string, unknown> {
  if (node.projection !== undefined) return node.projection
  const obj = writeObject(node, true, register)
  node.projection = obj
  register(obj, node)
  return obj
}

/** Removes elements left without value and children (what redaction emptied), except resources. */
export function removeEmpty(
  node: ElementNode,
  onRemove?: (parent: ElementNode, child: ElementNode) => void,
): boolean {
  const kept = node.children.filter((child) => {
    if (!removeEmpty(child, onRemove)) return true
    child.parent = null
    onRemove?.(node, child)
    return false
  })
  if (kept.length !== node.children.length) {
    node.children = kept
    node.touch()
    bumpStructure()
  }
  return node.children.length === 0 && node.value === null && !node.isResource
}

/** JSON name of a choice child of the given type, or the plain name. */
export function jsonNameFor(parent: ElementNode, name: string, type: string): string {
  return isChoice(parent.modelPath, name) ? choiceJsonName(name, type) : name
}
