/**
 * The protocol's own EIP-712 digests and signer recovery against viem's (`hashTypedData`, `recoverAddress`),
 * and the known-key check: a candidate whose public key is known is accepted only for signatures a full
 * recovery gives to it.
 */
import fc from 'fast-check'
import { type Address, type Hex, hashTypedData, recoverAddress } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { describe, expect, test } from 'vitest'
import {
  type AccessRequest,
  accessRequestTypedData,
  hashAccessRequest,
  recoverDigest,
  verifyAccessRequest,
} from './access-request.ts'
import { accessReceiptTypedData, receiptHash, verifyReceipt } from './receipt.ts'
import { rememberedSigners } from './signer.ts'

const hex32 = fc
  .uint8Array({ minLength: 32, maxLength: 32 })
  .map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex)
const address = fc
  .uint8Array({ minLength: 20, maxLength: 20 })
  .map((b) => `0x${Buffer.from(b).toString('hex')}` as Address)
const domain = fc.record({ chainId: fc.integer({ min: 1, max: 2 ** 40 }), verifyingContract: address })
const request = fc.record({
  proxy: address,
  grantId: hex32,
  recordId: hex32,
  capsuleHash: hex32,
  purpose: fc.integer({ min: 0, max: 255 }),
  issuedAt: fc.integer({ min: 0, max: Number.MAX_SAFE_INTEGER }),
  nonce: hex32,
})

const grantee = privateKeyToAccount(generatePrivateKey())
const stranger = privateKeyToAccount(generatePrivateKey())
const proxy = privateKeyToAccount(generatePrivateKey())
const DOMAIN = { chainId: 31337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address }

function someRequest(): AccessRequest {
  return {
    proxy: proxy.address,
    grantId: `0x${'11'.repeat(32)}`,
    recordId: `0x${'22'.repeat(32)}`,
    capsuleHash: `0x${'33'.repeat(32)}`,
    purpose: 1,
    issuedAt: 1_700_000_000,
    nonce: `0x${crypto.getRandomValues(new Uint8Array(32)).reduce((s, b) => s + b.toString(16).padStart(2, '0'), '')}`,
  }
}

const bytes = (h: Hex) => Uint8Array.from(Buffer.from(h.slice(2), 'hex'))

/** The same signature with the other y parity (v 27 ↔ 28): valid for another public key. */
function flipV(signature: Hex): Hex {
  return `${signature.slice(0, -2)}${signature.endsWith('1b') ? '1c' : '1b'}` as Hex
}

describe('digests', () => {
  test('default: hashAccessRequest is viem’s hashTypedData of the request', () => {
    fc.assert(
      fc.property(domain, request, (d, r) => {
        expect(hashAccessRequest(d, r)).toBe(hashTypedData(accessRequestTypedData(d, r)))
      }),
      { numRuns: 300 },
    )
  })

  test('default: receiptHash is viem’s hashTypedData of the receipt', () => {
    fc.assert(
      fc.property(domain, request, address, (d, r, requester) => {
        const receipt = {
          proxy: r.proxy,
          grantId: r.grantId,
          recordId: r.recordId,
          requester,
          capsuleHash: r.capsuleHash,
          requestHash: r.nonce,
          at: r.issuedAt,
        }
        expect(receiptHash(d, receipt)).toBe(hashTypedData(accessReceiptTypedData(d, receipt)))
      }),
      { numRuns: 300 },
    )
  })
})

describe('recoverDigest', () => {
  test('default: the signer viem recovers, before and after its key is known', async () => {
    for (let i = 0; i < 20; i++) {
      const account = privateKeyToAccount(generatePrivateKey())
      for (let k = 0; k < 3; k++) {
        const hash = hashAccessRequest(DOMAIN, someRequest())
        const signature = await account.sign({ hash })
        const viem = await recoverAddress({ hash, signature })
        expect(recoverDigest('access request', bytes(hash), signature)).toBe(viem)
        expect(recoverDigest('access request', bytes(hash), signature, account.address)).toBe(viem)
        expect(recoverDigest('access request', bytes(hash), signature, stranger.address)).toBe(viem)
        // the other parity: what viem recovers from it, never the account whose key is known
        const flipped = await recoverAddress({ hash, signature: flipV(signature) })
        expect(flipped).not.toBe(account.address)
        expect(recoverDigest('access request', bytes(hash), flipV(signature), account.address)).toBe(flipped)
      }
    }
  })

  test('error: a stranger’s signature naming a known grantee as candidate recovers the stranger', async () => {
    const request = someRequest()
    const typed = accessRequestTypedData(DOMAIN, request)
    // the grantee's key becomes known
    const own = await grantee.signTypedData(typed)
    expect(
      await verifyAccessRequest({
        domain: DOMAIN,
        proxy: proxy.address,
        request,
        signature: own,
        candidate: grantee.address,
      }),
    ).toBe(grantee.address)
    const forged = await stranger.signTypedData(typed)
    expect(
      await verifyAccessRequest({
        domain: DOMAIN,
        proxy: proxy.address,
        request,
        signature: forged,
        candidate: grantee.address,
      }),
    ).toBe(stranger.address)
  })

  test('error: the grantee’s signature of one request does not pass for another with its key known', async () => {
    const signed = someRequest()
    const signature = await grantee.signTypedData(accessRequestTypedData(DOMAIN, signed))
    const params = { domain: DOMAIN, proxy: proxy.address, candidate: grantee.address }
    expect(await verifyAccessRequest({ ...params, request: signed, signature })).toBe(grantee.address)
    for (const other of [
      { ...signed, nonce: someRequest().nonce },
      { ...signed, purpose: 2 },
      { ...signed, issuedAt: signed.issuedAt + 1 },
    ]) {
      expect(await verifyAccessRequest({ ...params, request: other, signature })).not.toBe(grantee.address)
    }
    // another chain id or registry: the same bytes recover to someone else
    for (const d of [
      { ...DOMAIN, chainId: 1 },
      { ...DOMAIN, verifyingContract: stranger.address },
    ]) {
      expect(await verifyAccessRequest({ ...params, domain: d, request: signed, signature })).not.toBe(
        grantee.address,
      )
    }
    // the same signature with the other parity
    expect(await verifyAccessRequest({ ...params, request: signed, signature: flipV(signature) })).not.toBe(
      grantee.address,
    )
  })

  test('attack: signatures by fresh keys are recovered but never kept: they cannot push a real signer out', async () => {
    const request = someRequest()
    const typed = accessRequestTypedData(DOMAIN, request)
    const params = { domain: DOMAIN, proxy: proxy.address, request, candidate: grantee.address }
    expect(await verifyAccessRequest({ ...params, signature: await grantee.signTypedData(typed) })).toBe(
      grantee.address,
    )
    const kept = rememberedSigners()
    for (let i = 0; i < 40; i++) {
      const fresh = privateKeyToAccount(generatePrivateKey())
      // named as the grantee's request (the candidate a proxy passes), or with no candidate at all
      expect(await verifyAccessRequest({ ...params, signature: await fresh.signTypedData(typed) })).toBe(
        fresh.address,
      )
      expect(
        recoverDigest(
          'access request',
          bytes(hashAccessRequest(DOMAIN, request)),
          await fresh.signTypedData(typed),
        ),
      ).toBe(fresh.address)
    }
    expect(rememberedSigners()).toBe(kept)
  })

  test('error: a receipt signed by another key than the proxy it names is refused after the proxy’s key is known', async () => {
    const receipt = {
      proxy: proxy.address,
      grantId: `0x${'11'.repeat(32)}` as Hex,
      recordId: `0x${'22'.repeat(32)}` as Hex,
      requester: grantee.address,
      capsuleHash: `0x${'33'.repeat(32)}` as Hex,
      requestHash: `0x${'44'.repeat(32)}` as Hex,
      at: 1_700_000_000,
    }
    const typed = accessReceiptTypedData(DOMAIN, receipt)
    expect(
      await verifyReceipt({ domain: DOMAIN, receipt, signature: await proxy.signTypedData(typed) }),
    ).toBe(proxy.address)
    await expect(
      verifyReceipt({ domain: DOMAIN, receipt, signature: await stranger.signTypedData(typed) }),
    ).rejects.toThrow(/signed|signer/i)
    const good = await proxy.signTypedData(typed)
    await expect(verifyReceipt({ domain: DOMAIN, receipt, signature: flipV(good) })).rejects.toThrow()
    await expect(
      verifyReceipt({ domain: DOMAIN, receipt: { ...receipt, at: receipt.at + 1 }, signature: good }),
    ).rejects.toThrow()
  })
})
