/**
 * FHIR records: recognising FHIR JSON among record content, validating it with `@medvault/fhir` before
 * anything is stored, splitting a Bundle into one record per entry with its references mapped to record ids,
 * and the FHIR part of the sealed metadata.
 *
 * The reference story of a split Bundle: every entry's resource is stored unchanged (its `id`, and its
 * references exactly as written, `urn:uuid:…` included), so what a reader gets is the resource the Bundle
 * held. Beside it, in the record's metadata (sealed under the record's data key, so only readers of the
 * record see it), sits a map from each reference the resource contains that names another entry of the
 * same Bundle to that entry's record id. A grantee of one Observation thus learns which record holds its
 * Patient — an opaque id it can read only with a grant of its own — and nothing about the other entries.
 *
 * @module
 */
import type { Bundle, Resource } from '@medplum/fhirtypes'
import { FhirValidationError, validateResource } from '@medvault/fhir'
import type { Hex } from 'viem'
import { InvalidOptionError } from './errors.ts'
import type { FhirRecordInfo, RecordContent, RecordInfo } from './types.ts'

/** The media type of FHIR JSON records. */
export const FHIR_MEDIA_TYPE = 'application/fhir+json'

/** FHIR JSON is parsed and validated in memory: larger content is refused (store it as a file instead). */
export const MAX_FHIR_JSON_BYTES = 128 * 1024 * 1024

/**
 * A split Bundle's records are registered in one transaction (all or none); this many records cost about
 * 15 M gas, half an anvil or mainnet block.
 */
export const MAX_SPLIT_ENTRIES = 500

// The sealed metadata is at most 64 KiB (docs/formats.md); the FHIR part leaves room for the rest.
const MAX_FHIR_META_CHARS = 60_000

/** The FHIR part of a record's sealed metadata. */
export interface FhirMeta {
  resourceType: string
  id?: string
  fullUrl?: string
  /** Reference as written in the resource → record id of the entry it names (split Bundles only). */
  references?: Record<string, Hex>
}

/** One record of a split Bundle. */
export interface SplitBundleEntry {
  /** The entry's position in `Bundle.entry`. */
  index: number
  fullUrl: string | undefined
  resourceType: string
  /** The resource's `id`, when it has one. */
  id: string | undefined
  record: RecordInfo
}

/** What `records.put(bundle, { bundle: 'split' })` returns. */
export interface SplitBundleResult {
  /** One record per entry, in entry order. */
  entries: SplitBundleEntry[]
  /**
   * Every entry's `fullUrl` and `Type/id` → its record id: how the owner finds the record of any resource
   * of the Bundle (to grant it, for instance). Keys two entries share are left out.
   */
  references: Record<string, Hex>
  /** The category every record of the Bundle carries, when one was given: one tag grant covers them all. */
  tag: string | undefined
}

/** A FHIR record as `records.getResource` returns it. */
export interface FhirRecord<T extends Resource = Resource> {
  /** The resource, parsed. Its type is the caller's claim: check `resource.resourceType` when unsure. */
  resource: T
  record: RecordInfo & { fhir: FhirRecordInfo }
  /**
   * Where the resource's references lead: `references[observation.subject.reference]` is the record id of
   * the Patient it was split with. Readable only under a grant that covers that record too.
   */
  references: Readonly<Record<string, Hex>>
}

/** Whether a media type is FHIR JSON (`application/fhir+json`, any parameters; the older `json+fhir`). */
export function isFhirMediaType(mediaType: string | undefined): boolean {
  if (mediaType === undefined) return false
  const base = mediaType.split(';')[0]?.trim().toLowerCase()
  return base === FHIR_MEDIA_TYPE || base === 'application/json+fhir'
}

/**
 * The FHIR resource in record content, validated, with the bytes to store; `undefined` when the content is
 * not FHIR. Content is FHIR when `mediaType` says so (then it must be FHIR JSON), or, with no `mediaType`,
 * when it is a JSON object with a string `resourceType` — given as an object, or as bytes or a string that
 * parse to one. Streams are read only when `mediaType` says FHIR.
 *
 * @throws {FhirValidationError} naming the path and the rule of every problem; never a value.
 * @throws {FhirDefinitionsUnavailableError} when validating where the R4 definitions cannot be loaded.
 */
export async function readFhirContent(
  content: unknown,
  mediaType: string | undefined,
  signal?: AbortSignal | undefined,
  validate = true,
): Promise<{ resource: Resource; bytes: Uint8Array } | undefined> {
  const declared = isFhirMediaType(mediaType)
  if (mediaType !== undefined && !declared) return undefined
  let value: unknown
  let bytes: Uint8Array
  if (isJsonObject(content)) {
    if (!declared && typeof content.resourceType !== 'string') return undefined
    let text: string | undefined
    try {
      text = JSON.stringify(content)
    } catch (cause) {
      throw new InvalidOptionError({ option: 'content', expected: 'a JSON-serialisable object', cause })
    }
    if (text === undefined) throw new InvalidOptionError({ option: 'content', expected: 'a JSON object' })
    // What is validated must be what is stored: validating the caller's object instead of the JSON text would
    // let a getter or a toJSON method store bytes that were never checked.
    value = JSON.parse(text)
    bytes = utf8.encode(text)
  } else {
    const inMemory = bytesOf(content)
    if (inMemory === undefined && !declared) return undefined
    bytes = inMemory ?? (await readAll(content as RecordContent, signal))
    if (bytes.length > MAX_FHIR_JSON_BYTES) {
      if (!declared) return undefined
      throw new InvalidOptionError({
        option: 'content',
        expected: `FHIR JSON of at most ${MAX_FHIR_JSON_BYTES} bytes (store larger content with another media type)`,
      })
    }
    value = parseJson(bytes, declared)
    if (value === undefined) return undefined
    if (!declared && !(isJsonObject(value) && typeof value.resourceType === 'string')) return undefined
  }
  if (validate) return { resource: validateResource(value), bytes }
  // Unchecked, but still a resource: anything else would not read back through getResource.
  return { resource: parseStoredResource(bytes), bytes }
}

/** The metadata of a resource stored whole. */
export function wholeMeta(resource: Resource): FhirMeta {
  const meta: FhirMeta = { resourceType: resource.resourceType }
  if (typeof resource.id === 'string') meta.id = resource.id
  return meta
}

/** One record to store for a split Bundle. */
export interface SplitPlanEntry {
  index: number
  recordId: Hex
  bytes: Uint8Array
  meta: FhirMeta
}

/**
 * Plans a split: one record per entry, each entry's references to other entries mapped to their record ids.
 * Checks everything a split needs before anything is stored.
 *
 * @throws {InvalidOptionError} when an entry has no resource, there are no entries or too many, or a
 *   resource names so many other entries that its reference map does not fit the metadata.
 */
export function planSplit(
  bundle: Bundle,
  newRecordId: () => Hex,
): { entries: SplitPlanEntry[]; references: Record<string, Hex> } {
  const entries = bundle.entry ?? []
  if (entries.length === 0 || entries.length > MAX_SPLIT_ENTRIES) {
    throw new InvalidOptionError({
      option: 'bundle',
      expected: `'split' only for a Bundle of 1 to ${MAX_SPLIT_ENTRIES} entries (store it whole, or split it in parts first)`,
    })
  }
  const ids: Hex[] = []
  const keys = new Map<string, Hex | null>()
  const addKey = (key: string, recordId: Hex) => keys.set(key, keys.has(key) ? null : recordId)
  entries.forEach((entry, index) => {
    const resource = entry.resource
    if (resource === undefined) {
      throw new InvalidOptionError({
        option: 'bundle',
        expected: `'split' only for a Bundle whose every entry holds a resource (entry[${index}] has none)`,
      })
    }
    const recordId = newRecordId()
    ids.push(recordId)
    if (typeof entry.fullUrl === 'string') addKey(entry.fullUrl, recordId)
    if (typeof resource.id === 'string') addKey(`${resource.resourceType}/${resource.id}`, recordId)
  })
  // A key two entries share (the same `Type/id` under two servers' fullUrls) cannot say which one it means.
  const references: Record<string, Hex> = {}
  for (const [key, recordId] of keys) if (recordId !== null) references[key] = recordId

  const planned = entries.map((entry, index): SplitPlanEntry => {
    const resource = entry.resource as Resource
    const meta = wholeMeta(resource)
    if (typeof entry.fullUrl === 'string') meta.fullUrl = entry.fullUrl
    const links: Record<string, Hex> = {}
    for (const reference of referencesIn(resource)) {
      const target = resolveIn(references, reference)
      if (target !== undefined) links[reference] = target
    }
    if (Object.keys(links).length > 0) meta.references = links
    if (JSON.stringify(meta).length > MAX_FHIR_META_CHARS) {
      throw new InvalidOptionError({
        option: 'bundle',
        expected: `'split' only when each resource names at most a few hundred other entries (entry[${index}] names too many; store the Bundle whole)`,
      })
    }
    return { index, recordId: ids[index] as Hex, bytes: utf8.encode(JSON.stringify(resource)), meta }
  })
  return { entries: planned, references }
}

/**
 * The entry a reference names, by the keys of {@link planSplit}: the exact string (a `fullUrl` or
 * `Type/id`), else the `Type/id` at its end (an absolute URL, a `_history` version). This is the FHIR rule
 * for references inside a Bundle when its entries share one server base; conditional references
 * (`Patient?identifier=…`) and references to resources outside the Bundle resolve to nothing.
 */
export function resolveIn(references: Record<string, Hex>, reference: string): Hex | undefined {
  if (Object.hasOwn(references, reference)) return references[reference]
  const m =
    /(?:^|\/)([A-Z][A-Za-z]{1,63})\/([A-Za-z0-9\-.]{1,64})(?:\/_history\/[A-Za-z0-9\-.]{1,64})?$/.exec(
      reference,
    )
  if (m === null) return undefined
  const key = `${m[1]}/${m[2]}`
  return Object.hasOwn(references, key) ? references[key] : undefined
}

/** Every `Reference.reference` in a resource (contained resources included), except local `#id` ones. */
export function referencesIn(resource: unknown): Set<string> {
  const found = new Set<string>()
  const walk = (node: unknown, key: string): void => {
    if (typeof node === 'string') {
      if (key === 'reference' && !node.startsWith('#')) found.add(node)
    } else if (Array.isArray(node)) {
      for (const item of node) walk(item, key)
    } else if (node !== null && typeof node === 'object') {
      for (const [k, v] of Object.entries(node)) walk(v, k)
    }
  }
  walk(resource, '')
  return found
}

/**
 * Keeps, for a new version of a split resource, the links of the last version for references it still
 * makes: the other records of its Bundle did not move.
 */
export function updatedMeta(resource: Resource, previous: FhirMeta | undefined): FhirMeta {
  const meta = wholeMeta(resource)
  if (previous?.fullUrl !== undefined) meta.fullUrl = previous.fullUrl
  if (previous?.references !== undefined) {
    const links: Record<string, Hex> = {}
    for (const reference of referencesIn(resource)) {
      const target = previous.references[reference]
      if (target !== undefined && Object.hasOwn(previous.references, reference)) links[reference] = target
    }
    if (Object.keys(links).length > 0) meta.references = links
  }
  return meta
}

/** Reads the FHIR part of opened metadata; anything malformed is dropped (it is only a hint for readers). */
export function parseFhirMeta(value: unknown): FhirMeta | undefined {
  if (!isJsonObject(value) || typeof value.resourceType !== 'string') return undefined
  const meta: FhirMeta = { resourceType: value.resourceType }
  if (typeof value.id === 'string') meta.id = value.id
  if (typeof value.fullUrl === 'string') meta.fullUrl = value.fullUrl
  if (isJsonObject(value.references)) {
    const links: Record<string, Hex> = {}
    for (const [reference, recordId] of Object.entries(value.references)) {
      if (typeof recordId === 'string' && /^0x[0-9a-f]{64}$/.test(recordId))
        links[reference] = recordId as Hex
    }
    meta.references = links
  }
  return meta
}

/** The public form of the FHIR metadata. */
export function fhirInfo(meta: FhirMeta): FhirRecordInfo {
  return {
    resourceType: meta.resourceType,
    id: meta.id,
    fullUrl: meta.fullUrl,
    references: Object.freeze({ ...(meta.references ?? {}) }),
  }
}

/** Parses a FHIR record's stored bytes. */
export function parseStoredResource(bytes: Uint8Array): Resource {
  const value = parseJson(bytes, true)
  if (!isJsonObject(value) || typeof value.resourceType !== 'string') {
    throw new FhirValidationError({
      issues: [{ path: '(root)', rule: 'resourceType', message: 'the record holds no FHIR resource' }],
    })
  }
  return value as unknown as Resource
}

const utf8 = new TextEncoder()

function isJsonObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

function bytesOf(content: unknown): Uint8Array | undefined {
  if (content instanceof Uint8Array) return content
  if (content instanceof ArrayBuffer) return new Uint8Array(content)
  if (typeof content === 'string') return utf8.encode(content)
  return undefined
}

/**
 * JSON from bytes. Not JSON: `undefined` when only sniffing, else a {@link FhirValidationError} (without the
 * parser's message, which quotes the input).
 */
function parseJson(bytes: Uint8Array, required: boolean): unknown {
  // Cheap refusal of what cannot be a JSON object, so binary content is not decoded whole to find out.
  let first = 0
  while (
    first < bytes.length &&
    (bytes[first] === 0x20 || bytes[first] === 0x0a || bytes[first] === 0x0d || bytes[first] === 0x09)
  )
    first++
  const bom = bytes[0] === 0xef && bytes[1] === 0xbb && bytes[2] === 0xbf
  if (!bom && bytes[first] !== 0x7b /* { */) {
    if (!required) return undefined
    throw notJson()
  }
  try {
    // TextDecoder drops a leading byte order mark, which some FHIR tools write.
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    if (!required) return undefined
    throw notJson()
  }
}

function notJson(): FhirValidationError {
  return new FhirValidationError({
    issues: [{ path: '(root)', rule: 'json', message: 'expected a FHIR resource as UTF-8 JSON' }],
  })
}

async function readAll(content: RecordContent, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let size = 0
  const source: AsyncIterable<unknown> | Iterable<unknown> =
    typeof Blob !== 'undefined' && content instanceof Blob
      ? readable(content.stream())
      : isReadableStream(content)
        ? readable(content)
        : (content as AsyncIterable<unknown>)
  if (
    source === null ||
    typeof source !== 'object' ||
    !(Symbol.asyncIterator in source || Symbol.iterator in source)
  ) {
    throw new InvalidOptionError({
      option: 'content',
      expected: 'FHIR JSON as an object, bytes, a string, a Blob or a stream of Uint8Array chunks',
    })
  }
  for await (const chunk of source as AsyncIterable<unknown>) {
    signal?.throwIfAborted()
    if (!(chunk instanceof Uint8Array)) {
      throw new InvalidOptionError({ option: 'content', expected: 'a stream of Uint8Array chunks' })
    }
    size += chunk.length
    if (size > MAX_FHIR_JSON_BYTES) {
      throw new InvalidOptionError({
        option: 'content',
        expected: `FHIR JSON of at most ${MAX_FHIR_JSON_BYTES} bytes (store larger content with another media type)`,
      })
    }
    chunks.push(chunk)
  }
  const out = new Uint8Array(size)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

function isReadableStream(v: unknown): v is ReadableStream<Uint8Array> {
  return (
    v !== null &&
    typeof v === 'object' &&
    typeof (v as ReadableStream).getReader === 'function' &&
    !(Symbol.asyncIterator in v)
  )
}

async function* readable(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader()
  try {
    while (true) {
      const { done, value } = await reader.read()
      if (done) return
      yield value
    }
  } finally {
    reader.releaseLock()
  }
}
