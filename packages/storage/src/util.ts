/**
 * Small helpers every part of the storage uses: reading a CID argument, passing an optional signal on, and
 * telling an abort from a failure. They live apart so that the parts (pins, CAR, gateways, the read path)
 * share them without importing each other.
 */
import { CID } from 'multiformats/cid'
import { InvalidCidError } from './errors.ts'
import type { CidLike } from './types.ts'

/** The CID a caller named, or `InvalidCidError` saying why the argument is none. */
export function toCid(value: CidLike): CID {
  if (typeof value === 'string') {
    try {
      return CID.parse(value.trim())
    } catch (err) {
      throw new InvalidCidError({ reason: 'The string is not a valid CID.', cause: err })
    }
  }
  const cid = CID.asCID(value)
  if (cid === null)
    throw new InvalidCidError({ reason: `Expected a CID or a CID string, got ${typeOf(value)}.` })
  return cid
}

function typeOf(value: unknown): string {
  return value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value
}

/** `{ signal }` when there is one: with exactOptionalPropertyTypes, `{ signal: undefined }` is not allowed. */
export function signalOption(signal: AbortSignal | undefined): { signal?: AbortSignal } {
  return signal === undefined ? {} : { signal }
}

export function isAbortLike(err: unknown): boolean {
  const name = (err as { name?: unknown } | null)?.name
  return name === 'AbortError' || name === 'TimeoutError'
}

export function isAbort(err: unknown, signal: AbortSignal | undefined): boolean {
  return signal?.aborted === true || isAbortLike(err)
}

/** The first error in `err`'s causes (and an AggregateError's errors) that `fn` accepts. */
export function findError(err: unknown, fn: (e: unknown) => boolean, depth = 0): unknown {
  if (depth > 8 || err === null || typeof err !== 'object') return undefined
  if (fn(err)) return err
  if (err instanceof AggregateError) {
    for (const e of err.errors) {
      const found = findError(e, fn, depth + 1)
      if (found !== undefined) return found
    }
  }
  return 'cause' in err ? findError(err.cause, fn, depth + 1) : undefined
}
