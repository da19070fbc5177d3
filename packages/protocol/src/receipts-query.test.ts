import { buildReceiptTree } from '@medvault/chain'
import { encodeAbiParameters, type Hex, hashStruct, keccak256, toHex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, test } from 'vitest'
import type { ProtocolDomain } from './eip712.ts'
import { type AccessReceipt, receiptHash } from './receipt.ts'
import {
  ALL_RECORDS,
  hashReceiptsQuery,
  parseReceiptsQueryParams,
  parseReceiptsResponseBody,
  RECEIPTS_QUERY_TYPE,
  type ReceiptsQuery,
  receiptsQueryParams,
  receiptsQueryTypedData,
  receiptsResponseBody,
  verifyReceiptsQuery,
} from './receipts-query.ts'

const grantor = privateKeyToAccount(`0x${'11'.repeat(32)}`)
const operator = privateKeyToAccount(`0x${'33'.repeat(32)}`)
const stranger = privateKeyToAccount(`0x${'55'.repeat(32)}`)
const domain: ProtocolDomain = {
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
}
const query: ReceiptsQuery = {
  proxy: operator.address,
  grantor: grantor.address,
  recordId: `0x${'bb'.repeat(32)}`,
  after: 1_750_000_000,
  issuedAt: 1_750_000_100,
  nonce: `0x${'cc'.repeat(32)}`,
}
const sign = (q: ReceiptsQuery, by = grantor) => by.signTypedData(receiptsQueryTypedData(domain, q))
const entries = (params: Record<string, string>) => Object.entries(params)

describe('receipts query', () => {
  test('default: signed, sent as URL parameters, parsed and verified back to the grantor', async () => {
    const signature = await sign(query)
    const params = receiptsQueryParams(query, signature)
    const url = new URL(`http://proxy/v1/receipts?${new URLSearchParams(params)}`)
    const parsed = parseReceiptsQueryParams(url.searchParams)
    expect(parsed.query).toEqual(query)
    expect(await verifyReceiptsQuery({ domain, proxy: operator.address, ...parsed })).toBe(grantor.address)
    // recordId and after are optional: all records, from the start.
    const all = { ...query, recordId: ALL_RECORDS, after: 0 }
    const allParams = receiptsQueryParams(all, await sign(all))
    expect(Object.keys(allParams)).not.toContain('recordId')
    expect(parseReceiptsQueryParams(entries(allParams)).query).toEqual(all)
  })

  test('behavior: the EIP-712 type hash is the documented encoding', () => {
    const typeHash = keccak256(toHex(RECEIPTS_QUERY_TYPE))
    const structHash = keccak256(
      encodeAbiParameters(
        [
          { type: 'bytes32' },
          { type: 'address' },
          { type: 'address' },
          { type: 'bytes32' },
          { type: 'uint64' },
          { type: 'uint64' },
          { type: 'bytes32' },
        ],
        [
          typeHash,
          query.proxy,
          query.grantor,
          query.recordId,
          BigInt(query.after),
          BigInt(query.issuedAt),
          query.nonce,
        ],
      ),
    )
    const typed = receiptsQueryTypedData(domain, query)
    expect(typed.primaryType).toBe('ReceiptsQuery')
    expect(hashReceiptsQuery(domain, query)).toMatch(/^0x[0-9a-f]{64}$/)
    expect(hashStruct({ data: typed.message, primaryType: 'ReceiptsQuery', types: typed.types })).toBe(
      structHash,
    )
    // Another nonce is another query (the proxy answers each digest once).
    expect(hashReceiptsQuery(domain, { ...query, nonce: `0x${'dd'.repeat(32)}` })).not.toBe(
      hashReceiptsQuery(domain, query),
    )
  })

  test('error: signed by someone other than the grantor', async () => {
    const signature = await sign(query, stranger)
    await expect(
      verifyReceiptsQuery({ domain, proxy: operator.address, query, signature }),
    ).rejects.toMatchObject({
      name: 'UnexpectedSignerError',
    })
  })

  test('error: a query for another proxy, or altered after signing', async () => {
    const signature = await sign(query)
    await expect(
      verifyReceiptsQuery({ domain, proxy: stranger.address, query, signature }),
    ).rejects.toMatchObject({
      name: 'ProxyMismatchError',
    })
    await expect(
      verifyReceiptsQuery({ domain, proxy: operator.address, query: { ...query, after: 0 }, signature }),
    ).rejects.toMatchObject({ name: 'UnexpectedSignerError' })
  })

  test('error: unknown, repeated, missing or malformed parameters', async () => {
    const params = receiptsQueryParams(query, await sign(query))
    const refusal = (list: [string, string][]) => {
      try {
        parseReceiptsQueryParams(list)
      } catch (err) {
        return `${(err as Error).name}: ${(err as { shortMessage: string }).shortMessage}`
      }
      return 'accepted'
    }
    expect(refusal([...entries(params), ['limit', '5']])).toMatch(/^InvalidFieldError/)
    expect(refusal([...entries(params), ['after', '1']])).toMatch(/^InvalidFieldError/)
    expect(refusal(entries(params).filter(([k]) => k !== 'signature'))).toMatch(/^MissingFieldError/)
    expect(refusal(entries({ ...params, after: '-1' }))).toMatch(/^InvalidFieldError/)
    expect(refusal(entries({ ...params, after: '01' }))).toMatch(/^InvalidFieldError/)
    expect(refusal(entries({ ...params, grantor: '0x1234' }))).toMatch(/^InvalidFieldError/)
    // The caller's parameter name is not repeated in the message.
    expect(refusal([...entries(params), ['<script>', 'x']])).not.toContain('<script>')
  })
})

describe('receipts response body', () => {
  test('default: receipts with and without anchors round-trip', async () => {
    const receipt: AccessReceipt = {
      proxy: operator.address,
      grantId: `0x${'aa'.repeat(32)}`,
      recordId: query.recordId,
      requester: stranger.address,
      capsuleHash: `0x${'dd'.repeat(32)}`,
      requestHash: `0x${'ee'.repeat(32)}`,
      at: 1_750_000_050,
    }
    const other = { ...receipt, at: receipt.at + 1 }
    const tree = buildReceiptTree([receiptHash(domain, receipt), receiptHash(domain, other)])
    const signature = (await operator.signMessage({ message: 'x' })) as Hex
    const body = receiptsResponseBody([
      { receipt, signature, anchor: { root: tree.root, proof: tree.getProof(receiptHash(domain, receipt)) } },
      { receipt: other, signature },
    ])
    const parsed = parseReceiptsResponseBody(JSON.stringify(body))
    expect(parsed[0]).toEqual({
      receipt,
      signature,
      anchor: { root: tree.root, proof: tree.getProof(receiptHash(domain, receipt)) },
    })
    expect(parsed[1]).toEqual({ receipt: other, signature })
  })

  test('error: extra fields, a bad proof element, another version', () => {
    expect(() => parseReceiptsResponseBody({ v: 2, receipts: [] })).toThrow(/version/)
    expect(() => parseReceiptsResponseBody({ v: 1, receipts: [], more: true })).toThrow(/more/)
    expect(() =>
      parseReceiptsResponseBody({ v: 1, receipts: [{ receipt: {}, anchor: { root: '0x00', proof: [] } }] }),
    ).toThrow()
  })
})
