/**
 * The proxy HTTP client against real local servers that answer well, with errors, too much, or garbage.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type AccessReceipt,
  type AccessRequestBody,
  accessReceiptTypedData,
  accessResponseBody,
} from '@medvault/protocol'
import { privateKeyToAccount } from 'viem/accounts'
import { afterEach, describe, expect, test } from 'vitest'
import { ProxyError } from './errors.ts'
import { displayEndpoint, endpointBase, requestReencryption } from './proxy-client.ts'

const operator = privateKeyToAccount(`0x${'11'.repeat(32)}`)
const domain = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const
const hex32 = (b: string) => `0x${b.repeat(32)}` as const
const body: AccessRequestBody = {
  v: 1,
  proxy: operator.address,
  grantId: hex32('01'),
  recordId: hex32('02'),
  capsuleHash: hex32('03'),
  purpose: 1,
  issuedAt: 1_700_000_000,
  nonce: hex32('04'),
  signature: `0x${'05'.repeat(64)}1b`,
}

let server: Server | undefined
let lastBody = ''
let lastPath = ''

afterEach(() => afterEachClose())

async function serve(status: number, payload: string): Promise<string> {
  server = createServer((req, res) => {
    lastPath = req.url ?? ''
    let text = ''
    req.on('data', (c) => {
      text += c
    })
    req.on('end', () => {
      lastBody = text
      res.statusCode = status
      res.setHeader('content-type', 'application/json')
      res.end(payload)
    })
  })
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve))
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

const call = (endpoint: string | undefined) =>
  requestReencryption({ address: operator.address, endpoint }, body, { signal: new AbortController().signal })

const failure = async (endpoint: string | undefined) => {
  const err = await call(endpoint).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(ProxyError)
  return err as ProxyError
}

describe('requestReencryption', () => {
  test('default: posts the request body to /v1/reencrypt and parses the answer', async () => {
    const receipt: AccessReceipt = {
      proxy: operator.address,
      grantId: body.grantId,
      recordId: body.recordId,
      requester: operator.address,
      capsuleHash: body.capsuleHash,
      requestHash: hex32('06'),
      at: 1_700_000_001,
    }
    const signature = await operator.signTypedData(accessReceiptTypedData(domain, receipt))
    const url = await serve(
      200,
      JSON.stringify(accessResponseBody({ cfrag: new Uint8Array(381).fill(7), receipt, signature })),
    )
    const answer = await call(`${url}/`)
    expect(lastPath).toBe('/v1/reencrypt')
    expect(JSON.parse(lastBody)).toEqual(body)
    expect(answer.cfrag).toEqual(new Uint8Array(381).fill(7))
    expect(answer.receipt).toEqual(receipt)
  })

  test('behavior: a base path in the endpoint is kept', async () => {
    const url = await serve(500, '{}')
    await failure(`${url}/medvault`)
    expect(lastPath).toBe('/medvault/v1/reencrypt')
  })

  test('error: the proxy’s error code, or a generic one when it is not a short token', async () => {
    expect(
      (await failure(await serve(403, '{"error":{"code":"grant_revoked","message":"revoked"}}'))).code,
    ).toBe('grant_revoked')
    await afterEachClose()
    const err = await failure(await serve(500, '{"error":{"code":"Key is 0xdeadbeef…"}}'))
    expect(err).toMatchObject({ code: 'http_error', status: 500 })
    expect(err.message).not.toContain('deadbeef')
  })

  test('error: garbage, oversized answers, no endpoint, nothing listening', async () => {
    expect((await failure(await serve(200, '{"v":1}'))).code).toBe('bad_response')
    await afterEachClose()
    expect((await failure(await serve(200, 'x'.repeat(100_000)))).code).toBe('bad_response')
    await afterEachClose()
    expect((await failure(undefined)).code).toBe('no_endpoint')
    expect((await failure('ftp://example.org')).code).toBe('no_endpoint')
    expect((await failure('http://127.0.0.1:1')).code).toBe('unreachable')
  })

  test('default: endpoints are shown without credentials or query', () => {
    expect(displayEndpoint('https://user:secret@proxy.example:8443/base?token=x#y')).toBe(
      'https://proxy.example:8443/base',
    )
    expect(displayEndpoint('not a url')).toBe('(unparseable endpoint)')
    expect(endpointBase('https://proxy.example/base/?q=1')).toBe('https://proxy.example/base')
  })
})

async function afterEachClose(): Promise<void> {
  const s = server
  server = undefined
  if (s === undefined) return
  s.closeAllConnections()
  await new Promise((resolve) => s.close(resolve))
}
