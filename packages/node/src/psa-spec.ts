/**
 * The IPFS Pinning Service API v1 spec as validators: the OpenAPI document shipped with this package
 * (`spec/ipfs-pinning-service.yaml`, copied unchanged from the spec's repository) is read once, and its
 * schemas (`Pin`, `PinStatus`, `PinResults`, `Failure`) and query parameters are compiled with Ajv. The server
 * checks every request and every answer against them, and tests check answers against the same document,
 * so the spec, not a hand copy of it, is the authority.
 *
 * @module
 */
import { readFileSync } from 'node:fs'
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv'
import ajvFormats from 'ajv-formats'
import { parse } from 'yaml'

/** Where the spec lives inside the package (beside both `src/` and `dist/`). */
export const PSA_SPEC_URL: URL = new URL('../spec/ipfs-pinning-service.yaml', import.meta.url)

/** A `Pin` as the spec defines it. */
export interface PsaPin {
  cid: string
  name?: string
  origins?: string[]
  meta?: Record<string, string>
}

/** The spec's `Status`. */
export type PsaStatus = 'queued' | 'pinning' | 'pinned' | 'failed'

/** The spec's four statuses, in lifecycle order. */
export const PSA_STATUSES: readonly PsaStatus[] = ['queued', 'pinning', 'pinned', 'failed']

/** A `PinStatus` as the spec defines it. */
export interface PsaPinStatus {
  requestid: string
  status: PsaStatus
  created: string
  pin: PsaPin
  delegates: string[]
  info?: Record<string, string>
}

/** A `PinResults` as the spec defines it. */
export interface PsaPinResults {
  count: number
  results: PsaPinStatus[]
}

/** The compiled validators. */
export interface PsaValidators {
  pin: ValidateFunction<PsaPin>
  pinStatus: ValidateFunction<PsaPinStatus>
  pinResults: ValidateFunction<PsaPinResults>
  failure: ValidateFunction<{ error: { reason: string; details?: string } }>
  /** One validator per query parameter of `GET /pins`, by name. */
  query: Record<'cid' | 'name' | 'match' | 'status' | 'before' | 'after' | 'limit' | 'meta', ValidateFunction>
}

let cached: PsaValidators | undefined

/** The spec's validators (compiled on first use, then shared). */
export function psaValidators(): PsaValidators {
  cached ??= compile(readFileSync(PSA_SPEC_URL, 'utf8'))
  return cached
}

interface OpenApiDocument {
  components: {
    schemas: Record<string, unknown>
    parameters: Record<string, { schema?: unknown; content?: Record<string, { schema: unknown }> }>
  }
}

/**
 * The document's `components` section (schemas, parameters, responses, examples), parsed as YAML.
 *
 * Only that section is parsed: the spec's long description texts (in `info` and in `securitySchemes`) are
 * double-quoted scalars whose continuation lines start at column 0, which YAML 1.2 does not allow (lenient
 * parsers accept them; the `yaml` package rightly refuses). The schemas themselves are plain YAML.
 */
function componentsOf(text: string): OpenApiDocument {
  const start = text.indexOf('\ncomponents:\n')
  const end = text.indexOf('\n  securitySchemes:\n', start)
  if (start < 0 || end < 0) throw new Error('the Pinning Service API spec has no components section')
  return parse(text.slice(start, end)) as OpenApiDocument
}

function compile(text: string): PsaValidators {
  const doc = componentsOf(text)
  // OpenAPI 3.0 schemas are JSON Schema plus a few annotation keywords (`example`), which Ajv's strict mode
  // would refuse; validation keywords are all standard.
  const ajv = new Ajv({ strict: false, allErrors: false, validateFormats: true })
  ajvFormats.default(ajv)
  const id = 'urn:medvault:ipfs-pinning-service'
  ajv.addSchema({ $id: id, components: { schemas: doc.components.schemas } })
  const schema = <T>(name: string): ValidateFunction<T> => {
    const validate = ajv.getSchema<T>(`${id}#/components/schemas/${name}`)
    if (validate === undefined) throw new Error(`the Pinning Service API spec has no schema ${name}`)
    return validate
  }
  const parameter = (name: string): ValidateFunction => {
    const p = doc.components.parameters[name]
    const s = p?.schema ?? p?.content?.['application/json']?.schema
    if (s === undefined) throw new Error(`the Pinning Service API spec has no parameter ${name}`)
    return ajv.compile({ $id: `${id}/parameters/${name}`, ...rewriteRefs(s, id) })
  }
  return {
    pin: schema<PsaPin>('Pin'),
    pinStatus: schema<PsaPinStatus>('PinStatus'),
    pinResults: schema<PsaPinResults>('PinResults'),
    failure: schema('Failure'),
    query: {
      cid: parameter('cid'),
      name: parameter('name'),
      match: parameter('match'),
      status: parameter('status'),
      before: parameter('before'),
      after: parameter('after'),
      limit: parameter('limit'),
      meta: parameter('meta'),
    },
  }
}

/** Parameter schemas refer to `#/components/schemas/…` of the document: point them at the added schema. */
function rewriteRefs(value: unknown, id: string): Record<string, unknown> {
  const walk = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(
        Object.entries(v).map(([k, x]) => [
          k,
          k === '$ref' && typeof x === 'string' && x.startsWith('#/') ? `${id}${x}` : walk(x),
        ]),
      )
    }
    return v
  }
  return walk(value) as Record<string, unknown>
}

/** Ajv's first error as one line for an answer: the field's path and what was wrong, never its value. */
export function describeSchemaError(errors: ErrorObject[] | null | undefined, where: string): string {
  const e = errors?.[0]
  if (e === undefined) return `${where} does not follow the Pinning Service API spec`
  const path = e.instancePath === '' ? where : `${where}${e.instancePath.replaceAll('/', '.')}`
  const extra =
    e.keyword === 'required'
      ? ` (missing ${String((e.params as { missingProperty?: unknown }).missingProperty)})`
      : ''
  return `${path} ${e.message ?? 'is invalid'}${extra}`
}
