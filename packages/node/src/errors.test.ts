import { describe, expect, test } from 'vitest'
import * as errors from './errors.ts'
import { proxyErrorStatus } from './errors.ts'

const grantId = `0x${'ab'.repeat(32)}` as const
const recordId = `0x${'cd'.repeat(32)}` as const
const proxy = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as const
const other = '0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC' as const

describe('refusals', () => {
  test('default: each refusal carries its code and the status of the code table', () => {
    const refusals = [
      new errors.MalformedAccessRequestError({ reason: 'x' }),
      new errors.RequestBodyTooLargeError({ limit: 4096 }),
      new errors.UnsupportedMediaTypeError(),
      new errors.RouteNotFoundError(),
      new errors.BadSignatureError(),
      new errors.WrongProxyError({ expected: proxy, received: other }),
      new errors.StaleAccessRequestError({ issuedAt: 1, now: 400, windowSeconds: 300 }),
      new errors.FutureAccessRequestError({ issuedAt: 500, now: 400, maxSkewSeconds: 30 }),
      new errors.ReplayedAccessRequestError({ requestHash: grantId }),
      new errors.UnknownGrantError({ grantId }),
      new errors.GrantRevokedRefusalError({ grantId }),
      new errors.GrantExpiredRefusalError({ grantId }),
      new errors.GrantNotYetValidRefusalError({ grantId }),
      new errors.NotGranteeError({ grantId, signer: other }),
      new errors.RecordOutOfScopeRefusalError({ grantId, recordId }),
      new errors.PurposeMismatchRefusalError({ grantId, purpose: 4 }),
      new errors.AccessDeniedError({ grantId, reason: 'EmergencyAccessNotActive' }),
      new errors.NotInProxySetError({ grantId, proxy }),
      new errors.UnknownRecordError({ recordId }),
      new errors.CapsuleMismatchError({ recordId }),
      new errors.InvalidEnvelopeError({ recordId }),
      new errors.InvalidKfragBundleError({ grantId, reason: 'x' }),
      new errors.UpstreamUnavailableError({ what: 'chain' }),
      new errors.IndexBehindError({ recordId }),
      new errors.ProxyShuttingDownError(),
      new errors.InternalProxyError(),
      new errors.MalformedReceiptsQueryError({ reason: 'x' }),
      new errors.NotGrantorError({ grantor: other }),
      new errors.RateLimitedError({ by: 'ip', retryAfterSeconds: 2 }),
      new errors.IndexBehindError({ grantId }),
    ]
    // every code of the table has its class
    expect(new Set(refusals.map((r) => r.code))).toEqual(new Set(Object.keys(proxyErrorStatus)))
    for (const r of refusals) {
      expect(r).toBeInstanceOf(errors.ProxyRefusalError)
      expect(r.status).toBe(proxyErrorStatus[r.code])
      expect(r.name).toMatch(/Error$/)
      expect(r.name).not.toBe('ProxyRefusalError')
    }
  })

  test('behavior: messages name ids, addresses and times, nothing else', () => {
    expect(new errors.WrongProxyError({ expected: proxy, received: other }).message).toMatchInlineSnapshot(`
      "The access request is addressed to proxy 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC, not to this proxy (0x70997970C51812dc3A010C7d01b50e0d17dc79C8).

      Sign one request per proxy, each naming that proxy."
    `)
    expect(
      new errors.StaleAccessRequestError({ issuedAt: 1_000, now: 1_400, windowSeconds: 300 }).shortMessage,
    ).toMatchInlineSnapshot(`"The access request is stale: issued at 1000, 400 s ago (at most 300 s)."`)
    expect(new errors.CapsuleMismatchError({ recordId }).shortMessage).toMatchInlineSnapshot(
      `"The capsule hash does not match the current registered envelope of record 0xcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcdcd."`,
    )
    expect(new errors.NotGranteeError({ grantId, signer: other }).shortMessage).toMatchInlineSnapshot(
      `"The access request's signer 0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC is not the grantee of grant 0xabababababababababababababababababababababababababababababababab."`,
    )
    expect(
      new errors.InvalidProxyInitError({ setting: 'port', expected: 'an integer' }).shortMessage,
    ).toMatchInlineSnapshot(`"Invalid proxy setting \`port\`: expected an integer."`)
  })
})
