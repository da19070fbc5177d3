/**
 * FHIRPath over the element tree, evaluated by HL7's `fhirpath` package with its R4 model.
 *
 * Expressions run on the JSON projection of a resource ({@link project}); each result (a fhirpath
 * `ResourceNode`, which knows its parent, property and index) is mapped back to the tree node it stands for.
 * Microsoft's anonymizer adds two functions, `nodesByType('HumanName')` and `nodesByName('postalCode')`:
 * self and descendants of the given type or name, not entering sub-resources. They are provided here the
 * same way, as fhirpath user functions.
 *
 * @module
 */
import fhirpath from 'fhirpath'
import { type ElementNode, project, structureVersion, visibleToFhirpath } from './element.ts'
import { InvalidRuleSetError, RuleEvaluationError } from './errors.ts'
import { model } from './r4-model.ts'

/** The subset of fhirpath's `ResourceNode` this module relies on. */
interface ResNode {
  data: unknown
  parentResNode: ResNode | null
  propName?: string | null
  index?: number | null
  ctx: unknown
}

function isResNode(v: unknown): v is ResNode {
  return typeof v === 'object' && v !== null && 'parentResNode' in v && 'data' in v && 'ctx' in v
}

/**
 * Which tree node a projection object stands for, stored on the object under a symbol: invisible to
 * `Object.keys`, `JSON.stringify` and FHIRPath, and cheaper than a WeakMap. Each object belongs to one node.
 */
const NODE: unique symbol = Symbol('medvault.fhir.node')

function register(obj: Record<string, unknown>, node: ElementNode): void {
  ;(obj as { [NODE]?: ElementNode })[NODE] = node
}

/** The tree node a fhirpath result stands for, or `undefined` for a computed value. */
function toElement(rn: ResNode): ElementNode | undefined {
  if (typeof rn.data === 'object' && rn.data !== null) {
    const n = (rn.data as { [NODE]?: ElementNode })[NODE]
    if (n !== undefined) return n
  }
  if (rn.parentResNode === null || !isResNode(rn.parentResNode)) return undefined
  const parent = toElement(rn.parentResNode)
  if (parent === undefined || typeof rn.propName !== 'string') return undefined
  const name = rn.propName
  let i = 0
  const want = rn.index ?? 0
  for (const c of parent.children) {
    if (c.name !== name && c.jsonName !== name) continue
    if (i === want) return c
    i++
  }
  return undefined
}

/** The fhirpath `ResourceNode` for `target`, reached from `from` (which stands for `fromNode`). */
function navigate(from: ResNode, fromNode: ElementNode, target: ElementNode): ResNode | undefined {
  const chain: ElementNode[] = []
  for (let n: ElementNode | null = target; n !== fromNode; n = n.parent) {
    if (n === null) return undefined
    chain.push(n)
  }
  let cur = from
  for (let k = chain.length - 1; k >= 0; k--) {
    const c = chain[k]!
    const parent = c.parent!
    let idx = 0
    for (const s of parent.children) {
      if (s === c) break
      if (s.jsonName === c.jsonName) idx++
    }
    const kids = fhirpath.util.makeChildResNodes(cur.ctx, cur, c.name, model) as ResNode[]
    const next = kids[c.repeating ? idx : 0]
    if (next === undefined) return undefined
    cur = next
  }
  return cur
}

function nodesMatching(inputs: unknown[], test: (n: ElementNode) => boolean): ResNode[] {
  const out: ResNode[] = []
  for (const rn of inputs) {
    if (!isResNode(rn)) continue
    const node = toElement(rn)
    if (node === undefined) continue
    for (const d of node.selfAndDescendantsWithoutSubResources()) {
      if (!test(d)) continue
      const r = d === node ? rn : navigate(rn, node, d)
      if (r !== undefined) out.push(r)
    }
  }
  return out
}

const userInvocationTable = {
  nodesByType: {
    fn: (inputs: unknown[], typeName: string) => nodesMatching(inputs, (n) => n.type === typeName),
    arity: { 1: ['String' as const] },
    internalStructures: true,
  },
  nodesByName: {
    fn: (inputs: unknown[], name: string) => nodesMatching(inputs, (n) => n.name === name),
    arity: { 1: ['String' as const] },
    internalStructures: true,
  },
}

/**
 * Functions fhirpath.js implements (its invocation table), checked when rules are loaded so that a typo fails
 * at once, as it does in the .NET FHIRPath compiler, and not on the first resource it happens to reach. A test
 * keeps this list in step with the installed fhirpath.
 */
export const FHIRPATH_FUNCTIONS: ReadonlySet<string> = new Set([
  'resolve',
  'memberOf',
  'empty',
  'not',
  'exists',
  'all',
  'allTrue',
  'anyTrue',
  'allFalse',
  'anyFalse',
  'subsetOf',
  'supersetOf',
  'isDistinct',
  'distinct',
  'count',
  'where',
  'extension',
  'select',
  'coalesce',
  'sort',
  'aggregate',
  'sum',
  'min',
  'max',
  'avg',
  'weight',
  'ordinal',
  'single',
  'first',
  'last',
  'type',
  'ofType',
  'is',
  'as',
  'tail',
  'take',
  'skip',
  'combine',
  'union',
  'intersect',
  'exclude',
  'iif',
  'trace',
  'defineVariable',
  'toInteger',
  'toLong',
  'toDecimal',
  'toString',
  'toDate',
  'toDateTime',
  'toTime',
  'toBoolean',
  'toQuantity',
  'hasValue',
  'getValue',
  'htmlChecks',
  'htmlchecks',
  'pathname',
  'convertsToBoolean',
  'convertsToInteger',
  'convertsToLong',
  'convertsToDecimal',
  'convertsToString',
  'convertsToDate',
  'convertsToDateTime',
  'convertsToTime',
  'convertsToQuantity',
  'indexOf',
  'lastIndexOf',
  'substring',
  'startsWith',
  'endsWith',
  'contains',
  'upper',
  'lower',
  'replace',
  'matches',
  'matchesFull',
  'replaceMatches',
  'length',
  'toChars',
  'join',
  'split',
  'trim',
  'encode',
  'decode',
  'escape',
  'unescape',
  'abs',
  'ceiling',
  'exp',
  'floor',
  'ln',
  'log',
  'power',
  'round',
  'sqrt',
  'truncate',
  'lowBoundary',
  'highBoundary',
  'now',
  'today',
  'timeOfDay',
  'yearOf',
  'monthOf',
  'dayOf',
  'hourOf',
  'minuteOf',
  'secondOf',
  'millisecondOf',
  'timezoneOffsetOf',
  'dateOf',
  'timeOf',
  'repeat',
  'children',
  'descendants',
  'comparable',
])

/** Functions that need a terminology or FHIR server: refused, de-identification does no I/O. */
const NETWORK_FUNCTIONS = new Set(['memberOf'])

interface AstNode {
  type?: string
  text?: string
  children?: AstNode[]
}

function firstLine(message: string): string {
  return message.split('\n')[0]?.slice(0, 300) ?? 'unknown error'
}

/**
 * Parses a FHIRPath expression and checks every function it calls. Throws {@link InvalidRuleSetError} naming
 * `field` when it does not parse or calls a function that does not exist.
 */
export function checkExpression(expression: string, field: string): void {
  let ast: AstNode
  try {
    ast = fhirpath.parse(expression) as AstNode
  } catch (e) {
    throw new InvalidRuleSetError({
      field,
      reason: `FHIRPath \`${expression}\` does not parse (${firstLine(e instanceof Error ? e.message : String(e))})`,
    })
  }
  const stack: AstNode[] = [ast]
  while (stack.length > 0) {
    const n = stack.pop()!
    if (n.type === 'Functn') {
      const name = n.children?.[0]?.text ?? ''
      const params = n.children?.[1]?.children?.length ?? 0
      if (name in userInvocationTable) {
        if (params !== 1) {
          throw new InvalidRuleSetError({ field, reason: `\`${name}\` takes one argument, got ${params}` })
        }
      } else if (NETWORK_FUNCTIONS.has(name)) {
        throw new InvalidRuleSetError({
          field,
          reason: `\`${name}()\` needs a terminology server; not available`,
        })
      } else if (!FHIRPATH_FUNCTIONS.has(name)) {
        throw new InvalidRuleSetError({
          field,
          reason: `FHIRPath \`${expression}\` calls \`${name}()\`, which is not a FHIRPath function`,
        })
      }
    }
    if (n.children !== undefined) stack.push(...n.children)
  }
}

type Compiled = (data: unknown, env?: Record<string, unknown>, options?: object) => unknown[]

const noTrace = () => {}

/** A compiled rule path: selects tree nodes from a resource. */
export interface Selector {
  readonly expression: string
  select(resource: ElementNode): ElementNode[]
}

interface DescendantIndex {
  version: number
  byType: Map<string, ElementNode[]>
  byName: Map<string, ElementNode[]>
}

const indexes = new WeakMap<ElementNode, DescendantIndex>()

/** Self and descendants of `node` (not entering sub-resources) grouped by type and by name, kept until the tree changes shape. */
function descendantIndex(node: ElementNode): DescendantIndex {
  const cached = indexes.get(node)
  if (cached !== undefined && cached.version === structureVersion) return cached
  const byType = new Map<string, ElementNode[]>()
  const byName = new Map<string, ElementNode[]>()
  for (const n of node.selfAndDescendantsWithoutSubResources()) {
    const t = byType.get(n.type)
    if (t === undefined) byType.set(n.type, [n])
    else t.push(n)
    const m = byName.get(n.name)
    if (m === undefined) byName.set(n.name, [n])
    else m.push(n)
  }
  const index = { version: structureVersion, byType, byName }
  indexes.set(node, index)
  return index
}

const KEYWORDS = new Set([
  'and',
  'or',
  'xor',
  'implies',
  'div',
  'mod',
  'in',
  'contains',
  'as',
  'is',
  'true',
  'false',
])

interface FastPath {
  start: { fn: 'nodesByType' | 'nodesByName'; arg: string } | undefined
  /** `where(member = 'a' or member = 'b')` right after the start. */
  where: { member: string; values: Set<string> } | undefined
  members: string[]
}

const WHERE_RE = /^\.where\(\s*((?:[a-z][A-Za-z0-9_]*\s*=\s*'[^'\\]*'\s*(?:or\s+)?)+)\)/

/**
 * The common shapes of de-identification paths — `nodesByType('T')`, `nodesByName('n')`, member steps like
 * `entry.fullUrl`, or a function followed by member steps — are walked on the tree directly, with the same
 * result fhirpath.js gives (a differential test holds them together). Everything else goes to fhirpath.js.
 */
function parseFastPath(expression: string): FastPath | undefined {
  let start: FastPath['start']
  let where: FastPath['where']
  let rest = expression
  const fn = /^(nodesByType|nodesByName)\('([A-Za-z0-9_]+)'\)/.exec(rest)
  if (fn !== null) {
    start = { fn: fn[1] as 'nodesByType' | 'nodesByName', arg: fn[2]! }
    rest = rest.slice(fn[0].length)
    const w = WHERE_RE.exec(rest)
    if (w !== null) {
      const terms = [...w[1]!.matchAll(/([a-z][A-Za-z0-9_]*)\s*=\s*'([^'\\]*)'/g)]
      const members = new Set(terms.map((t) => t[1]!))
      const ors = w[1]!.match(/\bor\b/g)?.length ?? 0
      if (members.size !== 1 || ors !== terms.length - 1) return undefined
      where = { member: terms[0]![1]!, values: new Set(terms.map((t) => t[2]!)) }
      rest = rest.slice(w[0].length)
    }
    if (rest !== '' && !rest.startsWith('.')) return undefined
    rest = rest.slice(1)
  }
  if (rest === '' && start === undefined) return undefined
  const members = rest === '' ? [] : rest.split('.')
  if (members.some((x) => !/^[a-z][A-Za-z0-9_]*$/.test(x) || KEYWORDS.has(x))) return undefined
  if (where !== undefined && KEYWORDS.has(where.member)) return undefined
  return { start, where, members }
}

/** Whether an expression is walked on the tree directly rather than by fhirpath.js. */
export function hasFastPath(expression: string): boolean {
  return parseFastPath(expression) !== undefined
}

function selectFast(path: FastPath, resource: ElementNode): ElementNode[] {
  let current: ElementNode[]
  if (path.start === undefined) {
    current = [resource]
  } else {
    const index = descendantIndex(resource)
    const found = (path.start.fn === 'nodesByType' ? index.byType : index.byName).get(path.start.arg) ?? []
    current = found.filter(visibleToFhirpath)
  }
  if (path.where !== undefined) {
    const { member, values } = path.where
    current = current.filter((n) => {
      // FHIRPath `=` on one string: true only for exactly one equal value (none: empty, so not selected).
      const items = n.children.filter((c) => c.name === member && visibleToFhirpath(c))
      return items.length === 1 && typeof items[0]!.value === 'string' && values.has(items[0]!.value)
    })
  }
  for (const name of path.members) {
    const next: ElementNode[] = []
    for (const n of current) {
      for (const c of n.children) if (c.name === name && visibleToFhirpath(c)) next.push(c)
    }
    current = next
  }
  return current
}

export function compileSelector(
  expression: string,
  field: string,
  options: { fast?: boolean } = {},
): Selector {
  checkExpression(expression, field)
  const fast = options.fast === false ? undefined : parseFastPath(expression)
  if (fast !== undefined) {
    return { expression, select: (resource) => selectFast(fast, resource) }
  }
  let compiled: Compiled
  try {
    compiled = fhirpath.compile(expression, model, {
      resolveInternalTypes: false,
      userInvocationTable,
      traceFn: noTrace,
    }) as Compiled
  } catch (e) {
    throw new InvalidRuleSetError({
      field,
      reason: `FHIRPath \`${expression}\` does not compile (${firstLine(e instanceof Error ? e.message : String(e))})`,
    })
  }
  return {
    expression,
    select(resource: ElementNode): ElementNode[] {
      const data = project(resource, register)
      let results: unknown[]
      try {
        results = compiled(data)
      } catch (e) {
        throw new RuleEvaluationError({
          rule: expression,
          path: resource.location(),
          reason: `FHIRPath evaluation failed (${firstLine(e instanceof Error ? e.message : String(e))})`,
        })
      }
      const out: ElementNode[] = []
      for (const r of results) {
        if (!isResNode(r)) continue
        const n = toElement(r)
        if (n !== undefined) out.push(n)
      }
      return out
    },
  }
}

const contextOf = fhirpath.compile('%context', model, { resolveInternalTypes: false }) as Compiled

/** The fhirpath node for a tree node, for expressions whose focus (`$this`) is that node. */
export function focusOf(node: ElementNode): unknown {
  const resource = node.resource() ?? node.root()
  const [root] = contextOf(project(resource, register))
  if (!isResNode(root)) return undefined
  return navigate(root, resource, node)
}

/** An expression evaluated with a given node as its focus, returning plain values. */
export interface NodeExpression {
  readonly expression: string
  evaluate(focus: unknown): unknown[]
}

export function compileNodeExpression(expression: string, field: string): NodeExpression {
  checkExpression(expression, field)
  const compiled = fhirpath.compile(expression, model, {
    resolveInternalTypes: true,
    userInvocationTable,
    traceFn: noTrace,
  }) as Compiled
  return {
    expression,
    evaluate(focus: unknown): unknown[] {
      return compiled(focus)
    },
  }
}
