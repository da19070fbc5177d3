/**
 * The client side of one re-encryption proxy's HTTP API (`POST /v1/reencrypt`). Every failure becomes a
 * {@link ProxyError} with a short code; nothing a proxy sends is trusted beyond its parsed, bounded shape
 * (the caller verifies the cfrag and the receipt).
 *
 * @module
 */
import {
  type AccessReceipt,
  type AccessRequestBody,
  MAX_RESPONSE_BODY_BYTES,
  parseAccessResponseBody,
} from '@medvault/protocol'
import type { Address, Hex } from 'viem'
import { ProxyError } from './errors.ts'

/** A proxy as the chain lists it. */
export interface ProxyEndpoint {
  /** The operator's address (signs receipts; kfrag `index` of a bundle is sealed to it). */
  address: Address
  /** The registered endpoint (`http(s)://host[:port][/base]`), undefined when none or unusable. */
  endpoint: string | undefined
}

/** A proxy's answer, parsed (not yet verified). */
export interface ProxyAnswer {
  cfrag: Uint8Array
  receipt: AccessReceipt
  signature: Hex
}

/** The endpoint without credentials, query or fragment: what may appear in messages. */
export function displayEndpoint(endpoint: string | undefined): string | undefined {
  if (endpoint === undefined) return undefined
  try {
    const url = new URL(endpoint)
    return `${url.protocol}//${url.host}${url.pathname === '/' ? '' : url.pathname}`
  } catch {
    return '(unparseable endpoint)'
  }
}

/** The usable base URL of a registered endpoint, or undefined (not http(s), unparseable). */
export function endpointBase(endpoint: string): string | undefined {
  try {
    const url = new URL(endpoint)
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return undefined
    url.search = ''
    url.hash = ''
    return url.toString().replace(/\/+$/, '')
  } catch {
    return undefined
  }
}

/**
 * Asks one proxy to re-encrypt. Resolves with the parsed answer; rejects with a {@link ProxyError} whose
 * `code` is the proxy's error code, `unreachable`, `bad_response` or `no_endpoint` (an abort rejects with
 * the signal's reason).
 */
export async function requestReencryption(
  proxy: ProxyEndpoint,
  body: AccessRequestBody,
  options: { signal: AbortSignal; fetch?: typeof fetch },
): Promise<ProxyAnswer> {
  const shown = displayEndpoint(proxy.endpoint)
  const base = proxy.endpoint === undefined ? undefined : endpointBase(proxy.endpoint)
  if (base === undefined) throw new ProxyError({ proxy: proxy.address, endpoint: shown, code: 'no_endpoint' })
  const doFetch = options.fetch ?? fetch
  let response: Response
  try {
    response = await doFetch(`${base}/v1/reencrypt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(body),
      signal: options.signal,
      redirect: 'error',
    })
  } catch (cause) {
    if (options.signal.aborted) throw options.signal.reason
    throw new ProxyError({ proxy: proxy.address, endpoint: shown, code: 'unreachable' }, { cause })
  }
  let text: string
  try {
    text = await readLimited(response, MAX_RESPONSE_BODY_BYTES)
  } catch (cause) {
    if (options.signal.aborted) throw options.signal.reason
    throw new ProxyError(
      { proxy: proxy.address, endpoint: shown, code: 'bad_response', status: response.status },
      { cause },
    )
  }
  if (!response.ok) {
    throw new ProxyError({
      proxy: proxy.address,
      endpoint: shown,
      code: errorCode(text),
      status: response.status,
    })
  }
  try {
    return parseAccessResponseBody(text)
  } catch (cause) {
    throw new ProxyError(
      { proxy: proxy.address, endpoint: shown, code: 'bad_response', status: response.status },
      { cause },
    )
  }
}

/** The `error.code` of a proxy's JSON error, if it is a short token; `http_error` otherwise. */
function errorCode(text: string): string {
  try {
    const value = JSON.parse(text) as { error?: { code?: unknown } }
    const code = value?.error?.code
    // Only a short token is repeated: a proxy's text is not trusted to be free of anything else.
    if (typeof code === 'string' && /^[a-z][a-z0-9_]{0,47}$/.test(code)) return code
  } catch {}
  return 'http_error'
}

/** Reads a body as text, refusing more than `max` bytes (a proxy cannot make the reader buffer more). */
async function readLimited(response: Response, max: number): Promise<string> {
  if (response.body === null) return ''
  const reader = response.body.getReader()
  const chunks: Uint8Array[] = []
  let length = 0
  try {
    while (true) {
      const { done, value } = await reader.read()
      if (done) break
      length += value.length
      if (length > max) throw new RangeError(`response larger than ${max} bytes`)
      chunks.push(value)
    }
  } finally {
    await reader.cancel().catch(() => {})
  }
  const bytes = new Uint8Array(length)
  let offset = 0
  for (const c of chunks) {
    bytes.set(c, offset)
    offset += c.length
  }
  return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
}
