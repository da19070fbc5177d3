/**
 * The de-identification engine: Microsoft's `AnonymizationVisitor` and processors, in TypeScript.
 *
 * For every resource in the input (the Bundle itself, each entry, each contained resource), outermost first,
 * the rules that apply to its type run in order. A rule's path selects elements; the method is applied to each
 * selected element and then to every element below it (not entering sub-resources), skipping elements an
 * earlier rule already processed. Emptied elements are pruned at the end, and each top-level and entry
 * resource is labelled in `meta.security` with what was done to it.
 *
 * @module
 */
import { randomBytes } from '@noble/hashes/utils.js'
import {
  addDays,
  type DateParts,
  indicatesAgeOver89,
  matchDate,
  microsoftDateShiftOffset,
  offsetFromMac,
  shiftedDateTime,
} from './dates.ts'
import {
  appendChild,
  ElementNode,
  type PrimitiveValue,
  parseElement,
  parseResource,
  removeEmpty,
  toJson,
} from './element.ts'
import { BaseError, FhirStructureError, RuleEvaluationError } from './errors.ts'
import { focusOf } from './fhirpath.ts'
import {
  encryptToBase64,
  hmacBytes,
  hmacHex,
  oidPseudonym,
  pseudonym,
  type ResolvedKeys,
  resolveKeys,
} from './keys.ts'
import { childInfo, NUMBER_TYPES } from './r4-model.ts'
import { parseReference, transformReferenceId } from './references.ts'
import { REQUIRED_ELEMENTS } from './required-elements.generated.ts'
import { type CompiledRule, type CompiledRuleSet, compileRuleSet, type RuleSet } from './rules.ts'

/** What was done, as recorded for the security labels. */
type Operation = 'REDACT' | 'ABSTRACT' | 'CRYPTOHASH' | 'ENCRYPT' | 'PERTURB' | 'SUBSTITUTE' | 'GENERALIZE'

const V3_OBSERVATION_VALUE = 'http://terminology.hl7.org/CodeSystem/v3-ObservationValue'

// Microsoft's labels, in Microsoft's order and spelling (CRYTOHASH sic).
const SECURITY_LABELS: readonly [Operation, { system?: string; code: string; display: string }][] = [
  ['REDACT', { system: V3_OBSERVATION_VALUE, code: 'REDACTED', display: 'redacted' }],
  ['ABSTRACT', { system: V3_OBSERVATION_VALUE, code: 'ABSTRED', display: 'abstracted' }],
  ['CRYPTOHASH', { system: V3_OBSERVATION_VALUE, code: 'CRYTOHASH', display: 'cryptographic hash function' }],
  ['ENCRYPT', { code: 'ENCRYPT', display: 'exact value is transformed into ciphertext' }],
  ['PERTURB', { code: 'PERTURBED', display: 'exact value is replaced with another exact value' }],
  ['SUBSTITUTE', { code: 'SUBSTITUTED', display: 'exact value is replaced with a predefined value' }],
  ['GENERALIZE', { code: 'GENERALIZED', display: 'exact value is replaced with a general value' }],
]

const QUANTITY_TYPES = new Set([
  'Age',
  'Count',
  'Duration',
  'Distance',
  'Money',
  'MoneyQuantity',
  'Quantity',
  'SimpleQuantity',
])
const INTEGER_TYPES = new Set(['integer', 'positiveInt', 'unsignedInt'])

export interface DeidentifyOptions {
  /**
   * The dataset key: one secret per dataset (at least 16 bytes), from which the cryptoHash, dateShift and
   * encrypt keys are derived. Rule sets loaded from a Microsoft configuration use the keys they carry and
   * fall back to this one.
   */
  key?: string | Uint8Array
  /** "Today" for the over-89 rule (default: now). Tests pin it to keep outputs stable over the years. */
  now?: Date
}

/** One de-identification run over one input; holds the set of processed elements, as upstream does. */
export class Run {
  private readonly visited = new Set<ElementNode>()
  private readonly microsoft: boolean
  private patientKeys: Map<ElementNode, string> | undefined
  readonly rules: CompiledRuleSet
  readonly keys: ResolvedKeys
  readonly now: Date

  constructor(rules: CompiledRuleSet, keys: ResolvedKeys, now: Date) {
    this.rules = rules
    this.keys = keys
    this.now = now
    this.microsoft = rules.parameters.compatibility === 'microsoft'
  }

  /** De-identifies the tree in place. */
  run(root: ElementNode): void {
    if (!this.microsoft && this.rules.keyedMethods.has('dateShift')) this.patientKeys = patientKeys(root)
    this.visit(root, undefined)
    const markRequired = !this.microsoft && this.rules.parameters.markMissingRequired !== false
    const removed: [ElementNode, ElementNode][] = []
    removeEmpty(root, markRequired ? (parent, child) => removed.push([parent, child]) : undefined)
    if (markRequired) markMasked(root, removed)
  }

  /**
   * Resources are processed outermost first; what was done below a resource (its entries, its contained
   * resources) is added to its own record, as Microsoft's visitor does, before it is labelled.
   */
  private visit(node: ElementNode, outer: Set<Operation> | undefined): void {
    if (!node.isResource) {
      for (const child of node.children) this.visit(child, outer)
      return
    }
    const ops = this.processResource(node)
    for (const child of node.children) this.visit(child, ops)
    if (node.name !== 'contained' && this.rules.parameters.securityLabels !== false)
      addSecurityLabels(node, ops)
    if (outer !== undefined) for (const op of ops) outer.add(op)
  }

  private processResource(node: ElementNode): Set<Operation> {
    const ops = new Set<Operation>()
    for (const rule of this.rules.rulesFor(node.type)) {
      const matches = rule.selectsResource ? [node] : rule.selector!.select(node)
      for (const m of matches) this.processRecursive(m, rule, ops)
    }
    return ops
  }

  private processRecursive(node: ElementNode, rule: CompiledRule, ops: Set<Operation>): void {
    if (this.visited.has(node)) return
    this.apply(node, rule, ops)
    this.visited.add(node)
    // Processing a child changes that child's subtree only, never this list.
    for (const child of node.children) {
      if (child.isResource) continue
      this.processRecursive(child, rule, ops)
    }
  }

  private apply(node: ElementNode, rule: CompiledRule, ops: Set<Operation>): void {
    switch (rule.method) {
      case 'keep':
        break
      case 'redact':
        this.redact(node, ops, rule.partial !== false)
        break
      case 'dateShift':
        this.dateShift(node, ops)
        break
      case 'cryptoHash':
        this.cryptoHash(node, ops)
        break
      case 'encrypt':
        this.encrypt(node, ops)
        break
      case 'substitute':
        this.substitute(node, rule, ops)
        break
      case 'perturb':
        this.perturb(node, rule, ops)
        break
      case 'generalize':
        this.generalize(node, rule, ops)
        break
    }
  }

  // ---- redact ----

  private redact(node: ElementNode, ops: Set<Operation>, partial = true): void {
    if (isEmpty(node.value)) return
    const p = this.rules.parameters
    if (!partial) {
      node.setValue(null)
      ops.add('REDACT')
      return
    }
    if (node.type === 'date' || node.type === 'dateTime' || node.type === 'instant') {
      this.redactDate(node, node.type === 'date' ? 'date' : 'dateTime', ops)
      return
    }
    if (node.type === 'decimal' && node.parent?.type === 'Age') {
      if (p.enablePartialAgesForRedact !== true || !(Number(node.value) <= 89)) node.setValue(null)
      ops.add('REDACT')
      return
    }
    if (node.name.toLowerCase() === 'postalcode') {
      const value = String(node.value)
      if (p.enablePartialZipCodesForRedact === true) {
        const restricted = p.restrictedZipCodeTabulationAreas ?? []
        if (restricted.some((area) => value.startsWith(area))) {
          node.setValue(value.replace(/\p{Nd}/gu, '0'))
        } else if (value.length >= 3) {
          node.setValue(value.slice(0, 3) + value.slice(3).replace(/\p{Nd}/gu, '0'))
        }
        ops.add('ABSTRACT')
      } else {
        node.setValue(null)
        ops.add('REDACT')
      }
      return
    }
    node.setValue(null)
    ops.add('REDACT')
  }

  private redactDate(node: ElementNode, kind: 'date' | 'dateTime', ops: Set<Operation>): void {
    if (this.rules.parameters.enablePartialDatesForRedact === true) {
      const parts = matchDate(String(node.value), kind)
      if (parts !== undefined) {
        // An instant cannot be a bare year: medvault removes it; Microsoft writes the year anyway.
        const yearOnly = !this.microsoft && node.type === 'instant' ? null : parts.year
        node.setValue(indicatesAgeOver89(parts, this.now) ? null : yearOnly)
      } else if (!this.microsoft) {
        // Microsoft leaves a value its pattern does not recognise untouched; medvault removes it.
        node.setValue(null)
      }
    } else {
      node.setValue(null)
    }
    ops.add('REDACT')
  }

  // ---- dateShift ----

  private dateShift(node: ElementNode, ops: Set<Operation>): void {
    if (isEmpty(node.value)) return
    const kind =
      node.type === 'date'
        ? 'date'
        : node.type === 'dateTime' || node.type === 'instant'
          ? 'dateTime'
          : undefined
    if (kind === undefined) return
    const parts = matchDate(String(node.value), kind)
    if (parts?.day !== undefined && !indicatesAgeOver89(parts, this.now)) {
      const shifted = this.shift(node, parts, kind)
      if (shifted !== undefined) {
        node.setValue(shifted)
        ops.add('PERTURB')
        return
      }
    }
    this.redactDate(node, kind, ops)
  }

  private shift(node: ElementNode, parts: DateParts, kind: 'date' | 'dateTime'): string | undefined {
    const offset = this.dateShiftOffset(node)
    return kind === 'date' ? addDays(parts, offset) : shiftedDateTime(parts, offset)
  }

  private dateShiftOffset(node: ElementNode): number {
    const p = this.rules.parameters
    if (this.microsoft) {
      // Microsoft seeds the shift with the id of the outermost resource as it is at this moment.
      const prefix =
        p.dateShiftKeyPrefix !== undefined && p.dateShiftKeyPrefix !== ''
          ? p.dateShiftKeyPrefix
          : valueText(node.root().child('id')?.value ?? null)
      return microsoftDateShiftOffset(prefix, this.keys.dateShift as string)
    }
    const owner = this.patientKeyOf(node)
    return offsetFromMac(hmacBytes(this.keys.dateShift as Uint8Array, owner), p.dateShiftRange ?? 50)
  }

  private patientKeyOf(node: ElementNode): string {
    for (let n: ElementNode | null = node; n !== null; n = n.parent) {
      const key = this.patientKeys?.get(n)
      if (key !== undefined) return key
    }
    return 'dataset'
  }

  // ---- cryptoHash ----

  private cryptoHash(node: ElementNode, ops: Set<Operation>): void {
    if (isEmpty(node.value)) return
    const input = valueText(node.value)
    const key = this.keys.cryptoHash!
    if (this.microsoft) {
      const hash = (s: string) => hmacHex(key, s)
      node.setValue(isReferenceString(node) ? transformReferenceId(input, hash) : hash(input))
    } else if (isReferenceString(node) || isBundleLocation(node)) {
      node.setValue(pseudonymReference(key, input))
    } else {
      node.setValue(pseudonym(key, input))
    }
    ops.add('CRYPTOHASH')
  }

  // ---- encrypt ----

  private encrypt(node: ElementNode, ops: Set<Operation>): void {
    if (isEmpty(node.value)) return
    node.setValue(encryptToBase64(this.keys.encrypt!, valueText(node.value)))
    ops.add('ENCRYPT')
  }

  // ---- substitute ----

  private substitute(node: ElementNode, rule: CompiledRule, ops: Set<Operation>): void {
    const replacement = this.replacementFor(node, rule)
    const keep = new Set<ElementNode>()
    this.collectKeep(node, keep)
    this.substituteNode(node, replacement, keep, ops)
    this.markVisited(node)
  }

  private replacementFor(node: ElementNode, rule: CompiledRule): ElementNode {
    const raw = rule.replaceWith
    if (node.isPrimitive) {
      const value: PrimitiveValue | null =
        raw === null || raw === undefined
          ? null
          : typeof raw === 'string' || typeof raw === 'number' || typeof raw === 'boolean'
            ? raw
            : JSON.stringify(raw)
      return primitive(value)
    }
    let json: unknown = raw ?? {}
    if (typeof json === 'string') {
      try {
        json = JSON.parse(json)
      } catch {
        throw new RuleEvaluationError({
          rule: rule.path,
          path: node.location(),
          reason: `replaceWith is not JSON of type ${node.type}`,
        })
      }
    }
    if (node.isResource && typeof json === 'object' && json !== null && !Array.isArray(json)) {
      json = { resourceType: node.type, ...(json as Record<string, unknown>) }
    }
    try {
      return parseElement(
        json,
        { name: node.name, type: node.type, modelPath: node.modelPath, repeating: node.repeating },
        node.location(),
      )
    } catch (e) {
      throw new RuleEvaluationError({
        rule: rule.path,
        path: node.location(),
        reason: `replaceWith does not fit type ${node.type}`,
        cause: e,
      })
    }
  }

  /** Elements that an earlier rule processed, and their ancestors, survive a substitution. */
  private collectKeep(node: ElementNode, keep: Set<ElementNode>): boolean {
    let shouldKeep = false
    for (const child of node.children) shouldKeep = this.collectKeep(child, keep) || shouldKeep
    if (shouldKeep || this.visited.has(node)) {
      keep.add(node)
      return true
    }
    return false
  }

  private substituteNode(
    node: ElementNode,
    replacement: ElementNode,
    keep: Set<ElementNode>,
    ops: Set<Operation>,
  ): void {
    if (this.visited.has(node)) return
    const names = new Set(replacement.children.map((c) => c.name))
    for (const name of names) {
      const children = node.childrenNamed(name)
      const targets = replacement.childrenNamed(name)
      let i = 0
      for (const child of children) {
        if (this.visited.has(child)) {
          i++
        } else if (i < targets.length) {
          this.substituteNode(child, targets[i++]!, keep, ops)
        } else if (keep.has(child)) {
          this.substituteNode(child, primitive(null), keep, ops)
        } else {
          node.remove(child)
        }
      }
      while (i < targets.length) node.add(clone(targets[i++]!))
    }
    for (const child of node.children.filter((c) => !names.has(c.name))) {
      if (this.visited.has(child)) continue
      if (keep.has(child)) this.substituteNode(child, primitive(null), keep, ops)
      else node.remove(child)
    }
    node.setValue(replacement.value)
    ops.add('SUBSTITUTE')
  }

  private markVisited(node: ElementNode): void {
    this.visited.add(node)
    for (const child of node.children) this.markVisited(child)
  }

  // ---- perturb ----

  private perturb(node: ElementNode, rule: CompiledRule, ops: Set<Operation>): void {
    const settings = rule.perturb!
    const valueNode = NUMBER_TYPES.has(node.type)
      ? node
      : QUANTITY_TYPES.has(node.type)
        ? node.child('value')
        : undefined
    if (valueNode === undefined || valueNode.value === null || this.visited.has(valueNode)) return
    const origin = Number(valueNode.value)
    if (!Number.isFinite(origin)) return
    const roundTo = INTEGER_TYPES.has(valueNode.type) ? 0 : settings.roundTo
    const span = settings.rangeType === 'proportional' ? Math.abs(origin * settings.span) : settings.span
    const noise = (uniform() - 0.5) * span
    let perturbed = roundHalfEven(origin + noise, roundTo)
    if (valueNode.type === 'positiveInt' && perturbed <= 0) perturbed = 1
    if (valueNode.type === 'unsignedInt' && perturbed < 0) perturbed = 0
    valueNode.setValue(perturbed)
    for (const d of node.descendantsWithoutSubResources()) this.visited.add(d)
    ops.add('PERTURB')
  }

  // ---- generalize ----

  private generalize(node: ElementNode, rule: CompiledRule, ops: Set<Operation>): void {
    if (!node.isPrimitive || node.value === null) return
    const { cases, otherValues } = rule.generalize!
    const focus = focusOf(node)
    for (const c of cases) {
      const when = this.evaluate(c.when.expression, () => c.when.evaluate(focus), node, rule)
      if (booleanEval(when, node, rule)) {
        const value = this.evaluate(c.value.expression, () => c.value.evaluate(focus), node, rule)
        node.setValue(scalar(value, node, rule))
        ops.add('GENERALIZE')
        return
      }
    }
    if (otherValues === 'redact') node.setValue(null)
    ops.add('GENERALIZE')
  }

  private evaluate(
    expression: string,
    fn: () => unknown[],
    node: ElementNode,
    rule: CompiledRule,
  ): unknown[] {
    try {
      return fn()
    } catch (e) {
      if (e instanceof BaseError) throw e
      throw new RuleEvaluationError({
        rule: rule.path,
        path: node.location(),
        reason: `the case \`${expression}\` cannot be evaluated on a ${node.type}`,
      })
    }
  }
}

function isEmpty(v: PrimitiveValue | null): boolean {
  return v === null || v === ''
}

/** A value as .NET's `ToString()` writes it (what Microsoft hashes and encrypts). */
function valueText(v: PrimitiveValue | null): string {
  if (v === null) return ''
  if (typeof v === 'boolean') return v ? 'True' : 'False'
  return String(v)
}

function isReferenceString(node: ElementNode): boolean {
  return node.name === 'reference' && node.parent?.type === 'Reference'
}

/** `Bundle.entry.fullUrl`, `.request.url`, `.response.location`: references in all but name. */
function isBundleLocation(node: ElementNode): boolean {
  const parent = node.parent
  if (parent === null) return false
  if (node.name === 'fullUrl') return parent.modelPath === 'Bundle.entry'
  if (node.name === 'url') return parent.modelPath === 'Bundle.entry.request'
  if (node.name === 'location') return parent.modelPath === 'Bundle.entry.response'
  return false
}

/**
 * medvault's reference pseudonym: ids become HMAC pseudonyms in place, UUIDs stay UUIDs, OIDs stay OIDs, a bare
 * resource type (a transaction's `POST Patient`) is not an identifier and stays.
 */
function pseudonymReference(key: Uint8Array, reference: string): string {
  const r = parseReference(reference)
  switch (r.kind) {
    case 'literal':
    case 'uuid':
    case 'contained':
      return `${r.prefix}${pseudonym(key, r.id)}${r.suffix}`
    case 'oid':
      return `${r.prefix}${oidPseudonym(key, r.id)}${r.suffix}`
    default:
      return /^[A-Z][A-Za-z]+$/.test(reference) ? reference : pseudonym(key, reference)
  }
}

function primitive(value: PrimitiveValue | null): ElementNode {
  return new ElementNode({
    name: '',
    jsonName: '',
    type: 'string',
    modelPath: 'string',
    repeating: false,
    isResource: false,
    value,
  })
}

function clone(node: ElementNode): ElementNode {
  const copy = new ElementNode({
    name: node.name,
    jsonName: node.jsonName,
    type: node.type,
    modelPath: node.modelPath,
    repeating: node.repeating,
    isResource: node.isResource,
    value: node.value,
  })
  for (const c of node.children) {
    appendChild(copy, clone(c))
  }
  return copy
}

/** Uniform in [0, 1) from the platform CSPRNG. */
function uniform(): number {
  const b = randomBytes(8)
  const hi = ((b[0]! << 13) | (b[1]! << 5) | (b[2]! >>> 3)) >>> 0 // 21 bits
  const lo = ((b[3]! << 24) | (b[4]! << 16) | (b[5]! << 8) | b[6]!) >>> 0 // 32 bits
  return (hi * 2 ** 32 + lo) / 2 ** 53
}

/** .NET's `decimal.Round(x, digits)`: half to even. */
export function roundHalfEven(x: number, digits: number): number {
  if (digits > 15) return x
  const factor = 10 ** digits
  const scaled = x * factor
  const floor = Math.floor(scaled)
  const diff = scaled - floor
  const eps = 1e-9 * Math.max(1, Math.abs(scaled))
  let r: number
  if (diff > 0.5 + eps) r = floor + 1
  else if (diff < 0.5 - eps) r = floor
  else r = floor % 2 === 0 ? floor : floor + 1
  return Number((r / factor).toFixed(digits))
}

function booleanEval(result: unknown[], node: ElementNode, rule: CompiledRule): boolean {
  if (result.length === 0) return false
  if (result.length > 1) {
    throw new RuleEvaluationError({
      rule: rule.path,
      path: node.location(),
      reason: 'a generalize case must evaluate to a single boolean',
    })
  }
  const v = result[0]
  return typeof v === 'boolean' ? v : true
}

function scalar(result: unknown[], node: ElementNode, rule: CompiledRule): PrimitiveValue | null {
  if (result.length === 0) return null
  const v = result[0]
  if (result.length > 1 || (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')) {
    throw new RuleEvaluationError({
      rule: rule.path,
      path: node.location(),
      reason: 'a generalize value must evaluate to a single primitive value',
    })
  }
  return v
}

const DATA_ABSENT_REASON = 'http://hl7.org/fhir/StructureDefinition/data-absent-reason'

/**
 * A required element (min ≥ 1) that de-identification emptied is put back as a data-absent-reason `masked`
 * extension and no value, so the resource stays valid FHIR and says why the value is missing.
 */
function markMasked(root: ElementNode, removed: [ElementNode, ElementNode][]): void {
  const removedFrom = new Map<ElementNode, ElementNode[]>()
  for (const [parent, child] of removed) {
    const list = removedFrom.get(parent)
    if (list === undefined) removedFrom.set(parent, [child])
    else list.push(child)
  }
  const required = (parent: ElementNode, child: ElementNode) =>
    REQUIRED_ELEMENTS.has(`${parent.modelPath}.${child.name}`)
  // The placeholder of a removed element, with placeholders for its own required children that went with it.
  const placeholder = (child: ElementNode, where: string): ElementNode | undefined => {
    const extension = childInfo(child.isPrimitive ? 'string' : child.modelPath, 'extension')
    if (extension === null) return undefined
    const node = new ElementNode({
      name: child.name,
      jsonName: child.jsonName,
      type: child.type,
      modelPath: child.modelPath,
      repeating: child.repeating,
      isResource: false,
    })
    node.add(parseElement({ url: DATA_ABSENT_REASON, valueCode: 'masked' }, extension, where))
    const seen = new Set<string>()
    for (const grandchild of removedFrom.get(child) ?? []) {
      if (!required(child, grandchild) || seen.has(grandchild.name)) continue
      seen.add(grandchild.name)
      const inner = placeholder(grandchild, `${where}.${grandchild.name}`)
      if (inner !== undefined) node.add(inner)
    }
    return node
  }
  const attached = (n: ElementNode) => {
    let top = n
    while (top.parent !== null) top = top.parent
    return top === root
  }
  for (const [parent, children] of removedFrom) {
    if (!attached(parent)) continue
    for (const child of children) {
      if (!required(parent, child) || parent.children.some((c) => c.name === child.name)) continue
      const node = placeholder(child, `${parent.location()}.${child.name}`)
      if (node !== undefined) parent.add(node)
    }
  }
}

function addSecurityLabels(resource: ElementNode, ops: Set<Operation>): void {
  if (ops.size === 0) return
  let meta = resource.child('meta')
  const present = new Set(
    (meta?.childrenNamed('security') ?? []).map((s) =>
      valueText(s.child('code')?.value ?? null).toLowerCase(),
    ),
  )
  const add = SECURITY_LABELS.filter(([op, label]) => ops.has(op) && !present.has(label.code.toLowerCase()))
  if (add.length === 0) return
  if (meta === undefined) {
    const info = childInfo(resource.modelPath, 'meta')!
    meta = parseElement({}, info, `${resource.type}.meta`)
    const idIndex = resource.children.findIndex((c) => c.name === 'id')
    resource.add(meta, idIndex + 1)
  }
  const securityInfo = childInfo('Meta', 'security')!
  for (const [, label] of add) meta.add(parseElement(label, securityInfo, 'Meta.security'))
}

/**
 * Whose dates these are: every resource is mapped to the patient it belongs to — a Patient to itself, other
 * resources to the first reference to a Patient found in them (top-level elements first: `subject`,
 * `patient`, `beneficiary`, …), contained resources to their container — by the patient's original id, so the
 * same patient gets the same shift in every Bundle and every NDJSON file of a dataset. A resource with no
 * patient is its own owner.
 */
function patientKeys(root: ElementNode): Map<ElementNode, string> {
  const fullUrls = new Map<string, { type: string; id: string }>()
  const resources: ElementNode[] = []
  const collect = (n: ElementNode) => {
    if (n.isResource) resources.push(n)
    for (const c of n.children) collect(c)
  }
  collect(root)
  const entryFullUrl = (r: ElementNode): string | undefined => {
    if (r.name !== 'resource' || r.parent === null) return undefined
    const fullUrl = r.parent.child('fullUrl')?.value
    return typeof fullUrl === 'string' ? fullUrl : undefined
  }
  // A resource without an id is known by the id part of its entry's fullUrl.
  const idOrFullUrl = (r: ElementNode): string | undefined => {
    const own = idOf(r)
    if (own !== undefined) return own
    const fullUrl = entryFullUrl(r)
    return fullUrl === undefined ? undefined : parseReference(fullUrl).id
  }
  for (const r of resources) {
    const fullUrl = entryFullUrl(r)
    if (fullUrl !== undefined) fullUrls.set(fullUrl, { type: r.type, id: idOrFullUrl(r) ?? '' })
  }
  const keys = new Map<ElementNode, string>()
  for (const r of resources) {
    if (r.name === 'contained') continue
    const own = idOrFullUrl(r)
    if (r.type === 'Patient') {
      keys.set(r, `Patient/${own ?? ''}`)
      continue
    }
    const patient = firstPatientReference(r, fullUrls)
    keys.set(r, patient ?? `${r.type}/${own ?? ''}`)
  }
  return keys
}

function idOf(r: ElementNode): string | undefined {
  const id = r.child('id')?.value
  return typeof id === 'string' && id !== '' ? id : undefined
}

function firstPatientReference(
  resource: ElementNode,
  fullUrls: Map<string, { type: string; id: string }>,
): string | undefined {
  // Breadth first, so `subject` and `patient` win over references deep inside.
  const queue: ElementNode[] = [...resource.children]
  for (let i = 0; i < queue.length; i++) {
    const n = queue[i]!
    if (n.isResource) continue
    if (n.type === 'Reference') {
      const ref = n.child('reference')?.value
      if (typeof ref === 'string') {
        const target = fullUrls.get(ref)
        if (target !== undefined) {
          if (target.type === 'Patient') return `Patient/${target.id}`
        } else {
          const parsed = parseReference(ref)
          if (parsed.kind === 'literal' && parsed.type === 'Patient') return `Patient/${parsed.id}`
        }
      }
    }
    queue.push(...n.children)
  }
  return undefined
}

/**
 * Returns a de-identified copy of a FHIR R4 resource or Bundle; the input is not modified.
 *
 * @param input - a resource or Bundle as parsed JSON.
 * @param rules - a rule set: {@link safeHarbor}, your own, or one from {@link loadAnonymizerConfig}.
 * @param options - `key`: the dataset secret (needed by cryptoHash, dateShift and encrypt); `now`: "today" for
 *  the over-89 rule.
 * @throws {@link FhirStructureError} when the input is not FHIR R4 JSON; {@link InvalidRuleSetError} for
 *  rules that cannot be used; {@link MissingKeyError} / {@link InvalidKeyError}; {@link RuleEvaluationError}
 *  when a rule fails on this input. No message contains a value from the input.
 *
 * @example
 * ```ts
 * const out = deidentify(bundle, safeHarbor, { key: datasetKey })
 * ```
 */
export function deidentify<T>(input: T, rules: RuleSet, options: DeidentifyOptions = {}): T {
  const compiled = compileRuleSet(rules)
  const keys = resolveKeys(compiled, options.key)
  return deidentifyCompiled(input, compiled, keys, options.now ?? new Date()) as T
}

export function deidentifyCompiled(
  input: unknown,
  rules: CompiledRuleSet,
  keys: ResolvedKeys,
  now: Date,
): Record<string, unknown> {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) {
    throw new FhirStructureError({ path: '(root)', reason: 'expected a FHIR resource as a JSON object' })
  }
  const root = parseResource(input)
  new Run(rules, keys, now).run(root)
  return toJson(root)
}
