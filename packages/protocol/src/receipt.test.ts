import { buildReceiptTree, receiptLeaf, verifyReceiptProof } from '@medvault/chain'
import fc from 'fast-check'
import { type Hex, hashTypedData, keccak256 } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, test } from 'vitest'
import { expectThrows, throwsOnlyTyped } from '../test/helpers.ts'
import { type AccessRequest, hashAccessRequest } from './access-request.ts'
import type { ProtocolDomain } from './eip712.ts'
import {
  type AccessReceipt,
  accessReceiptBody,
  accessReceiptTypedData,
  accessResponseBody,
  parseAccessReceiptBody,
  parseAccessResponseBody,
  receiptHash,
  verifyReceipt,
} from './receipt.ts'

const operator = privateKeyToAccount(`0x${'33'.repeat(32)}`)
const impostor = privateKeyToAccount(`0x${'55'.repeat(32)}`)
const grantee = privateKeyToAccount(`0x${'11'.repeat(32)}`).address
const domain: ProtocolDomain = {
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
}

const request: AccessRequest = {
  proxy: operator.address,
  grantId: `0x${'aa'.repeat(32)}`,
  recordId: `0x${'bb'.repeat(32)}`,
  capsuleHash: `0x${'dd'.repeat(32)}`,
  purpose: 1,
  issuedAt: 1_750_000_000,
  nonce: `0x${'cc'.repeat(32)}`,
}
const receipt: AccessReceipt = {
  proxy: operator.address,
  grantId: request.grantId,
  recordId: request.recordId,
  requester: grantee,
  capsuleHash: request.capsuleHash,
  requestHash: hashAccessRequest(domain, request),
  at: 1_750_000_002,
}
const cfrag = new Uint8Array(381).map((_, i) => i % 251)
const sign = (r: AccessReceipt, d = domain, account = operator) =>
  account.signTypedData(accessReceiptTypedData(d, r))

describe('access receipt and response', () => {
  test('default: the proxy answers; the client parses the response and verifies the receipt', async () => {
    const signature = await sign(receipt)
    const text = JSON.stringify(accessResponseBody({ cfrag, receipt, signature }))
    const parsed = parseAccessResponseBody(text)
    expect(parsed.cfrag).toEqual(cfrag)
    expect(parsed.receipt).toEqual(receipt)
    expect(await verifyReceipt({ domain, ...parsed, proxy: operator.address })).toBe(operator.address)
  })

  test('behavior: receiptHash is the EIP-712 digest, and the leaf anchored on chain is keccak256 of it', () => {
    const hash = receiptHash(domain, receipt)
    expect(hash).toBe(hashTypedData(accessReceiptTypedData(domain, receipt)))
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/)
    // @medvault/chain's receiptLeaf and the AuditAnchors contract: keccak256(abi.encodePacked(receiptHash)).
    expect(receiptLeaf(hash)).toBe(keccak256(hash))
    const others = [1, 2, 3].map((i) => receiptHash(domain, { ...receipt, at: receipt.at + i }))
    const tree = buildReceiptTree([...others, hash])
    expect(verifyReceiptProof({ root: tree.root, receiptHash: hash, proof: tree.getProof(hash) })).toBe(true)
  })

  test('behavior: a stored receipt round-trips through its own JSON', async () => {
    const signature = await sign(receipt)
    const parsed = parseAccessReceiptBody(JSON.stringify(accessReceiptBody(receipt, signature)))
    expect(parsed).toEqual({ receipt, signature })
  })

  test('error: a receipt signed by another key than the proxy it names is refused', async () => {
    const signature = await sign(receipt, domain, impostor)
    const err = await verifyReceipt({ domain, receipt, signature }).catch((e) => e)
    expect(err.name).toBe('UnexpectedSignerError')
    expect(err.recovered).toBe(impostor.address)
  })

  test('error: a receipt from another proxy than the one asked is refused', async () => {
    const other = { ...receipt, proxy: impostor.address }
    const signature = await sign(other, domain, impostor)
    expect(await verifyReceipt({ domain, receipt: other, signature })).toBe(impostor.address)
    const err = await verifyReceipt({ domain, receipt: other, signature, proxy: operator.address }).catch(
      (e) => e,
    )
    expect(err.name).toBe('ProxyMismatchError')
  })

  test('error: a receipt for another chain or ConsentRegistry, or with any field changed, is refused', async () => {
    const signature = await sign(receipt)
    for (const d of [
      { ...domain, chainId: 10 },
      { ...domain, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' as const },
    ]) {
      await expect(verifyReceipt({ domain: d, receipt, signature })).rejects.toThrow(/not signed by/)
    }
    const changes: Partial<AccessReceipt>[] = [
      { grantId: `0x${'ab'.repeat(32)}` },
      { recordId: `0x${'ab'.repeat(32)}` },
      { requester: impostor.address },
      { capsuleHash: `0x${'ab'.repeat(32)}` },
      { requestHash: `0x${'ab'.repeat(32)}` },
      { at: receipt.at + 1 },
    ]
    for (const change of changes) {
      const err = await verifyReceipt({ domain, receipt: { ...receipt, ...change }, signature }).catch(
        (e) => e,
      )
      expect(err.name).toBe('UnexpectedSignerError')
    }
  })

  describe('parseAccessResponseBody', () => {
    const signature: Hex = `0x${'11'.repeat(32)}${'22'.repeat(32)}1c`
    const body = accessResponseBody({ cfrag, receipt, signature })
    const withReceipt = (patch: Record<string, unknown>) => ({
      ...body,
      receipt: { ...body.receipt, ...patch },
    })
    const cases: Array<[string, unknown, string, string | undefined]> = [
      ['not JSON', 'cfrag', 'MalformedEncodingError', undefined],
      ['too large', `"${'0'.repeat(8_200)}"`, 'TooLargeError', undefined],
      ['v 2', { ...body, v: 2 }, 'UnsupportedFormatVersionError', undefined],
      ['extra field', { ...body, kfrag: '0x' }, 'UnexpectedFieldError', 'kfrag'],
      ['cfrag short', { ...body, cfrag: body.cfrag.slice(0, -2) }, 'InvalidFieldError', 'cfrag'],
      ['cfrag odd length', { ...body, cfrag: `${body.cfrag}0` }, 'InvalidFieldError', 'cfrag'],
      ['receipt missing', { v: 1, cfrag: body.cfrag }, 'MissingFieldError', 'receipt'],
      ['receipt as a string', { ...body, receipt: 'ok' }, 'InvalidFieldError', 'receipt'],
      ['receipt v missing', withReceipt({ v: undefined }), 'MissingFieldError', 'receipt.v'],
      ['receipt extra field', withReceipt({ cfragHash: '0x' }), 'UnexpectedFieldError', 'receipt.cfragHash'],
      ['receipt at missing', withReceipt({ at: undefined }), 'MissingFieldError', 'receipt.at'],
      ['receipt at float', withReceipt({ at: 0.5 }), 'InvalidFieldError', 'receipt.at'],
      [
        'receipt requester short',
        withReceipt({ requester: '0x12' }),
        'InvalidFieldError',
        'receipt.requester',
      ],
      [
        'receipt requestHash short',
        withReceipt({ requestHash: '0x12' }),
        'InvalidFieldError',
        'receipt.requestHash',
      ],
      [
        'receipt signature high s',
        withReceipt({ signature: `0x${'11'.repeat(32)}${'ff'.repeat(32)}1b` }),
        'InvalidFieldError',
        'receipt.signature',
      ],
    ]
    test.each(cases)('error: %s', (_, input, name, field) => {
      const value = typeof input === 'string' ? input : JSON.parse(JSON.stringify(input))
      const err = expectThrows(() => parseAccessResponseBody(value), name)
      if (field !== undefined) expect((err as unknown as { field: string }).field).toBe(field)
    })

    test('error: fuzzing — random JSON values, field replacements and character edits throw only typed errors', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          expect(throwsOnlyTyped(() => parseAccessResponseBody(value))).toBe(true)
          expect(throwsOnlyTyped(() => parseAccessReceiptBody(value))).toBe(true)
        }),
        { numRuns: 1_000 },
      )
      const keys = ['v', 'cfrag', 'receipt', 'extra']
      const receiptKeys = [...Object.keys(body.receipt), 'extra']
      fc.assert(
        fc.property(
          fc.constantFrom(...keys),
          fc.constantFrom(...receiptKeys),
          fc.jsonValue(),
          (key, rkey, value) => {
            throwsOnlyTyped(() => parseAccessResponseBody({ ...body, [key]: value }))
            throwsOnlyTyped(() => parseAccessResponseBody(withReceipt({ [rkey]: value })))
          },
        ),
        { numRuns: 2_000 },
      )
      const text = JSON.stringify(body)
      fc.assert(
        fc.property(fc.nat({ max: text.length - 1 }), fc.string({ minLength: 1, maxLength: 2 }), (i, c) => {
          const mutated = text.slice(0, i) + c + text.slice(i + 1)
          throwsOnlyTyped(() => parseAccessResponseBody(mutated), mutated)
        }),
        { numRuns: 2_000 },
      )
    })
  })
})
