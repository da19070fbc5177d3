import { encrypt, SecretKey } from '@medvault/crypto/umbral'
import fc from 'fast-check'
import { type Address, bytesToHex, type Hex, hashTypedData, hexToBytes, keccak256 } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { describe, expect, test } from 'vitest'
import { expectThrows, rejectsOnlyTyped, throwsOnlyTyped } from '../test/helpers.ts'
import {
  type AccessRequest,
  accessRequestBody,
  accessRequestTypedData,
  capsuleHash,
  checkFreshness,
  hashAccessRequest,
  parseAccessRequestBody,
  randomNonce,
  verifyAccessRequest,
} from './access-request.ts'
import { normalizeSignature, type ProtocolDomain } from './eip712.ts'
import { BaseError } from './errors.ts'

const grantee = privateKeyToAccount(`0x${'11'.repeat(32)}`)
const stranger = privateKeyToAccount(`0x${'22'.repeat(32)}`)
const proxy = privateKeyToAccount(`0x${'33'.repeat(32)}`).address
const otherProxy = privateKeyToAccount(`0x${'44'.repeat(32)}`).address
const domain: ProtocolDomain = {
  chainId: 31337,
  verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
}
const [capsule] = encrypt(SecretKey.random().publicKey(), new Uint8Array(32))

const request: AccessRequest = {
  proxy,
  grantId: `0x${'aa'.repeat(32)}`,
  recordId: `0x${'bb'.repeat(32)}`,
  capsuleHash: capsuleHash(capsule.toBytesSimple()),
  purpose: 1,
  issuedAt: 1_750_000_000,
  nonce: `0x${'cc'.repeat(32)}`,
}
const sign = (r: AccessRequest, d: ProtocolDomain = domain, account = grantee) =>
  account.signTypedData(accessRequestTypedData(d, r))

describe('access request', () => {
  test('default: sign, send as JSON, parse, verify → the grantee', async () => {
    const signature = await sign(request)
    const body = JSON.stringify(accessRequestBody(request, signature))
    const parsed = parseAccessRequestBody(body)
    expect(parsed.request).toEqual(request)
    expect(await verifyAccessRequest({ domain, proxy, ...parsed })).toBe(grantee.address)
    expect(await verifyAccessRequest({ domain, proxy, ...parsed, signer: grantee.address })).toBe(
      grantee.address,
    )
  })

  test('behavior: capsuleHash is keccak256 of the 98-byte simple capsule; hashAccessRequest is viem hashTypedData', () => {
    expect(capsuleHash(capsule.toBytesSimple())).toBe(keccak256(capsule.toBytesSimple()))
    expectThrows(() => capsuleHash(capsule.toBytes()), 'InvalidFieldError')
    expect(hashAccessRequest(domain, request)).toBe(
      hashTypedData({ ...accessRequestTypedData(domain, request) }),
    )
    expect(accessRequestTypedData(domain, request).domain).toEqual({
      name: 'medvault',
      version: '1',
      chainId: 31337,
      verifyingContract: domain.verifyingContract,
    })
  })

  test('behavior: randomNonce gives 32 fresh bytes', () => {
    const a = randomNonce()
    expect(a).toMatch(/^0x[0-9a-f]{64}$/)
    expect(randomNonce()).not.toBe(a)
  })

  test('error: the proxy refuses a request addressed to another proxy', async () => {
    const forOther = { ...request, proxy: otherProxy }
    const signature = await sign(forOther)
    const err = await verifyAccessRequest({ domain, proxy, request: forOther, signature }).catch((e) => e)
    expect(err.name).toBe('ProxyMismatchError')
    expect(err.message).toContain(otherProxy)
  })

  test('error: a request signed for another chain id or ConsentRegistry recovers to another address and is refused', async () => {
    const elsewhere: ProtocolDomain[] = [
      { ...domain, chainId: 1 },
      { ...domain, verifyingContract: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512' },
    ]
    for (const d of elsewhere) {
      const signature = await sign(request, d)
      // Valid where it was made …
      expect(await verifyAccessRequest({ domain: d, proxy, request, signature })).toBe(grantee.address)
      // … and not at this proxy's deployment.
      expect(await verifyAccessRequest({ domain, proxy, request, signature })).not.toBe(grantee.address)
      const err = await verifyAccessRequest({
        domain,
        proxy,
        request,
        signature,
        signer: grantee.address,
      }).catch((e) => e)
      expect(err.name).toBe('UnexpectedSignerError')
    }
  })

  test('error: a request signed by another account is refused when the grantee is expected', async () => {
    const signature = await sign(request, domain, stranger)
    const err = await verifyAccessRequest({
      domain,
      proxy,
      request,
      signature,
      signer: grantee.address,
    }).catch((e) => e)
    expect(err.name).toBe('UnexpectedSignerError')
    expect(err.recovered).toBe(stranger.address)
  })

  test('error: tampering — any field changed after signing moves the recovered signer', async () => {
    const signature = await sign(request)
    const changes: Partial<AccessRequest>[] = [
      { grantId: `0x${'ab'.repeat(32)}` },
      { recordId: `0x${'bc'.repeat(32)}` },
      { capsuleHash: `0x${'cd'.repeat(32)}` },
      { purpose: 4 },
      { issuedAt: request.issuedAt + 1 },
      { nonce: `0x${'cd'.repeat(32)}` },
    ]
    for (const change of changes) {
      const tampered = { ...request, ...change }
      expect(await verifyAccessRequest({ domain, proxy, request: tampered, signature })).not.toBe(
        grantee.address,
      )
      await expect(
        verifyAccessRequest({ domain, proxy, request: tampered, signature, signer: grantee.address }),
      ).rejects.toThrow(/not signed by/)
    }
  })

  test('error: fuzzed tampering of a field or of the signature never verifies as the grantee', async () => {
    const signature = await sign(request)
    const field = fc.constantFrom(
      'grantId',
      'recordId',
      'capsuleHash',
      'nonce',
      'purpose',
      'issuedAt',
      'signature',
    )
    await fc.assert(
      fc.asyncProperty(field, fc.nat({ max: 31 }), fc.integer({ min: 1, max: 255 }), async (name, i, x) => {
        const r = { ...request }
        let sig: Hex = signature
        if (name === 'purpose') r.purpose = (r.purpose + x) % 256
        else if (name === 'issuedAt') r.issuedAt += x
        else if (name === 'signature') sig = flipByte(signature, i, x)
        else r[name] = flipByte(r[name], i, x)
        const ok = await verifyAccessRequest({
          domain,
          proxy,
          request: r,
          signature: sig,
          signer: grantee.address,
        }).then(
          () => true,
          (e) => {
            expect(e).toBeInstanceOf(BaseError)
            return false
          },
        )
        expect(ok).toBe(false)
      }),
      { numRuns: 300 },
    )
  })

  test('behavior: signatures are accepted in one form only; normalizeSignature converts v 0/1 and high s', async () => {
    const signature = await sign(request)
    const bytes = hexToBytes(signature)
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const s = BigInt(bytesToHex(bytes.subarray(32, 64)))
    const high = new Uint8Array(bytes)
    high.set(hexToBytes(`0x${(n - s).toString(16).padStart(64, '0')}`), 32)
    high[64] = bytes[64] === 27 ? 28 : 27
    const v01 = new Uint8Array(bytes)
    v01[64] = bytes[64]! - 27
    for (const variant of [bytesToHex(high), bytesToHex(v01)]) {
      expectThrows(() => accessRequestBody(request, variant), 'InvalidFieldError')
      await expect(verifyAccessRequest({ domain, proxy, request, signature: variant })).rejects.toThrow(
        /low s and v 27 or 28/,
      )
      expect(normalizeSignature(variant)).toBe(signature)
    }
    expect(normalizeSignature(signature)).toBe(signature)
  })

  test('error: a signature of the right shape that recovers nothing is a SignatureRecoveryError', async () => {
    // r = 5 is the x coordinate of no secp256k1 point, so no public key can be recovered.
    const sig = `0x${'00'.repeat(31)}05${'00'.repeat(31)}011b` as Hex
    const err = await verifyAccessRequest({ domain, proxy, request, signature: sig }).catch((e) => e)
    expect(err.name).toBe('SignatureRecoveryError')
  })

  describe('checkFreshness', () => {
    test('default: inside the window and the skew', () => {
      expect(() => checkFreshness(1000, 1000)).not.toThrow()
      expect(() => checkFreshness(700, 1000)).not.toThrow()
      expect(() => checkFreshness(1030, 1000)).not.toThrow()
    })
    test('error: stale one second past the window', () => {
      const err = expectThrows(() => checkFreshness(699, 1000), 'StaleRequestError')
      expect(err.message).toMatchInlineSnapshot(`
        "The access request is stale: issued at 699, 301 s ago (at most 300 s).

        Sign a new request with a current \`issuedAt\` and a fresh nonce."
      `)
      expectThrows(() => checkFreshness(89, 100, 10), 'StaleRequestError')
    })
    test('error: future-dated beyond the skew', () => {
      expectThrows(() => checkFreshness(1031, 1000), 'FutureRequestError')
      expectThrows(() => checkFreshness(1006, 1000, 300, 5), 'FutureRequestError')
    })
    test('error: non-integer times', () => {
      expectThrows(() => checkFreshness(Number.NaN, 1000), 'InvalidFieldError')
      expectThrows(() => checkFreshness(1000, 1000.5), 'InvalidFieldError')
    })
  })

  describe('parseAccessRequestBody', () => {
    const body = { ...accessRequestBody(request, `0x${'11'.repeat(32)}${'22'.repeat(32)}1b`) }
    const cases: Array<[string, unknown, string, string | undefined]> = [
      ['not JSON', '{"v":1,', 'MalformedEncodingError', undefined],
      ['JSON array', '[]', 'MalformedEncodingError', undefined],
      ['null', null, 'MalformedEncodingError', undefined],
      ['too large', ' '.repeat(4097), 'TooLargeError', undefined],
      ['too large in UTF-8', 'é'.repeat(2049), 'TooLargeError', undefined],
      ['no v', { ...body, v: undefined }, 'MissingFieldError', 'v'],
      ['v 2', { ...body, v: 2 }, 'UnsupportedFormatVersionError', undefined],
      ['extra field', { ...body, capsule: '0x00' }, 'UnexpectedFieldError', 'capsule'],
      ['missing nonce', { ...body, nonce: undefined }, 'MissingFieldError', 'nonce'],
      ['grant id short', { ...body, grantId: '0x1234' }, 'InvalidFieldError', 'grantId'],
      ['grant id without 0x', { ...body, grantId: 'aa'.repeat(33) }, 'InvalidFieldError', 'grantId'],
      ['record id non-hex', { ...body, recordId: `0x${'zz'.repeat(32)}` }, 'InvalidFieldError', 'recordId'],
      [
        'capsuleHash as bytes array',
        { ...body, capsuleHash: Array(32).fill(0) },
        'InvalidFieldError',
        'capsuleHash',
      ],
      ['proxy bad checksum', { ...body, proxy: badChecksum(proxy) }, 'InvalidFieldError', 'proxy'],
      ['proxy 19 bytes', { ...body, proxy: proxy.slice(0, 40) }, 'InvalidFieldError', 'proxy'],
      ['purpose 256', { ...body, purpose: 256 }, 'InvalidFieldError', 'purpose'],
      ['purpose as string', { ...body, purpose: 'TREAT' }, 'InvalidFieldError', 'purpose'],
      ['issuedAt negative', { ...body, issuedAt: -1 }, 'InvalidFieldError', 'issuedAt'],
      ['issuedAt float', { ...body, issuedAt: 1.5 }, 'InvalidFieldError', 'issuedAt'],
      ['issuedAt as string', { ...body, issuedAt: '1750000000' }, 'InvalidFieldError', 'issuedAt'],
      [
        'signature 64 bytes',
        { ...body, signature: body.signature.slice(0, 130) },
        'InvalidFieldError',
        'signature',
      ],
      [
        'signature v 29',
        { ...body, signature: `${body.signature.slice(0, 130)}1d` },
        'InvalidFieldError',
        'signature',
      ],
    ]
    test.each(cases)('error: %s', (_, input, name, field) => {
      const value = typeof input === 'string' || input === null ? input : JSON.parse(JSON.stringify(input))
      const err = expectThrows(() => parseAccessRequestBody(value), name)
      if (field !== undefined) expect((err as unknown as { field: string }).field).toBe(field)
    })

    test('behavior: lowercase and uppercase addresses are accepted and checksummed; hex is lowercased', () => {
      const lower = parseAccessRequestBody({
        ...body,
        proxy: proxy.toLowerCase(),
        grantId: body.grantId.toUpperCase().replace('0X', '0x'),
      })
      expect(lower.request.proxy).toBe(proxy)
      expect(lower.request.grantId).toBe(request.grantId)
      const upper = parseAccessRequestBody({ ...body, proxy: `0x${proxy.slice(2).toUpperCase()}` })
      expect(upper.request.proxy).toBe(proxy)
    })

    test('error: fuzzing — random JSON values, field replacements and random text throw only typed errors', () => {
      fc.assert(
        fc.property(fc.jsonValue(), (value) => {
          expect(throwsOnlyTyped(() => parseAccessRequestBody(value))).toBe(true)
        }),
        { numRuns: 1_000 },
      )
      const keys = [...Object.keys(body), 'extra']
      fc.assert(
        fc.property(fc.constantFrom(...keys), fc.jsonValue(), (key, value) => {
          throwsOnlyTyped(() => parseAccessRequestBody({ ...body, [key]: value }))
        }),
        { numRuns: 2_000 },
      )
      fc.assert(
        fc.property(fc.string({ maxLength: 300 }), (text) => {
          throwsOnlyTyped(() => parseAccessRequestBody(text))
        }),
        { numRuns: 1_000 },
      )
      const text = JSON.stringify(body)
      fc.assert(
        fc.property(fc.nat({ max: text.length - 1 }), fc.string({ minLength: 1, maxLength: 2 }), (i, c) => {
          const mutated = text.slice(0, i) + c + text.slice(i + 1)
          throwsOnlyTyped(() => parseAccessRequestBody(mutated), mutated)
        }),
        { numRuns: 2_000 },
      )
    })

    test('error: fuzzed bodies never verify as the grantee unless they are the signed request', async () => {
      const signature = await sign(request)
      const signed = accessRequestBody(request, signature)
      const text = JSON.stringify(signed)
      await fc.assert(
        fc.asyncProperty(
          fc.nat({ max: text.length - 1 }),
          fc.constantFrom(...'0123456789abcdefABCDEF'),
          async (i, c) => {
            const mutated = text.slice(0, i) + c + text.slice(i + 1)
            await rejectsOnlyTyped(async () => {
              const parsed = parseAccessRequestBody(mutated)
              const signer = await verifyAccessRequest({ domain, proxy, ...parsed })
              const same = JSON.stringify(accessRequestBody(parsed.request, parsed.signature)) === text
              expect(signer === grantee.address).toBe(same)
            })
          },
        ),
        { numRuns: 300 },
      )
    })
  })
})

function flipByte(hex: Hex, i: number, x: number): Hex {
  const bytes = hexToBytes(hex)
  bytes[i % bytes.length]! ^= x
  return bytesToHex(bytes)
}

function badChecksum(address: Address): string {
  const chars = address.split('')
  for (let i = 2; i < chars.length; i++) {
    const c = chars[i]!
    if (/[a-f]/.test(c)) {
      chars[i] = c.toUpperCase()
      return chars.join('')
    }
    if (/[A-F]/.test(c)) {
      chars[i] = c.toLowerCase()
      return chars.join('')
    }
  }
  throw new Error('address has no letters')
}
