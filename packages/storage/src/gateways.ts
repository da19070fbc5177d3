/**
 * Trustless HTTP gateways as a source of missing blocks: the check of each configured URL, Helia's
 * trustless-gateway broker wrapped so a block that fails verification is reported, and the router that
 * works around Helia 7 waiting forever when only fallback routers exist. Separate because it is the only
 * code that talks HTTP, and the two workarounds go when Helia fixes what they work around.
 */
import { fallbackRouter } from '@helia/fallback-router'
import type { BlockBroker, Router } from '@helia/interface'
import { trustlessGatewayBlockBroker } from '@helia/trustless-gateway-client'
import { BlockVerificationError, InvalidGatewayError, UnverifiableCidError } from './errors.ts'

/**
 * Helia's routers and block brokers for reading from `gateways` (origins from {@link gatewayOrigin}); none
 * when there is no gateway, so that nothing is fetched over HTTP unless configured.
 */
export function gatewayServices(gateways: string[]): {
  routers: Router[]
  blockBrokers: Array<(components: never) => BlockBroker>
} {
  if (gateways.length === 0) return { routers: [], blockBrokers: [] }
  return {
    routers: [noProviders(), fallbackRouter({ gateways, shuffle: false })],
    blockBrokers: [verifyingGatewayBroker()],
  }
}

/**
 * A router that knows no providers. Helia 7's routing runs fallback routers (the gateways) only after
 * the default routers; with no default router at all its merge never finishes and the lookup hangs, so
 * an embedded storage with gateways needs one default router that ends at once.
 */
function noProviders(): Router {
  return {
    name: 'medvault-no-providers',
    async *findProviders() {},
  }
}

/**
 * Wraps Helia's trustless-gateway broker so a block that failed verification is reported as such instead of
 * vanishing into "no gateway had it" (the broker silently moves on to the next gateway).
 */
function verifyingGatewayBroker(): (components: never) => BlockBroker {
  const factory = trustlessGatewayBlockBroker({ allowInsecure: true, allowLocal: true })
  return (components) => {
    const inner = factory(components) as BlockBroker
    return {
      name: inner.name,
      async retrieve(cid, options = {}) {
        let rejected: unknown
        const validateFn = options.validateFn
        try {
          return await inner.retrieve!(cid, {
            ...options,
            ...(validateFn !== undefined
              ? {
                  validateFn: async (block: Uint8Array) => {
                    try {
                      await validateFn(block)
                    } catch (err) {
                      rejected = err
                      throw err
                    }
                  },
                }
              : {}),
          })
        } catch (err) {
          // The CID itself cannot be verified (the full-digest hasher refused the truncation): no gateway can
          // send a block that passes, so that is the error, now naming the CID.
          if (rejected instanceof UnverifiableCidError) {
            throw new UnverifiableCidError({
              cid: cid.toString(),
              reason: rejected.reason,
              hash: rejected.hash,
              digestLength: rejected.digestLength,
              ...(rejected.expectedLength !== undefined ? { expectedLength: rejected.expectedLength } : {}),
            })
          }
          if (rejected !== undefined)
            throw new BlockVerificationError({ cid: cid.toString(), source: 'network', cause: err })
          throw err
        }
      },
    }
  }
}

/**
 * Checks a gateway URL and returns its origin. Helia's gateway client keeps only the scheme, host and port
 * (the URL becomes a multiaddr) and sends no credentials, so a URL with `user:password@` or a path prefix
 * would be accepted and then fail with 401s or 404s as "not found": it is refused here instead. Nothing of a
 * URL's credentials goes into the error (not even as the cause: Node's invalid-URL error carries the input).
 */
export function gatewayOrigin(value: string, index: number): string {
  let url: URL
  try {
    url = new URL(value)
  } catch {
    throw new InvalidGatewayError({ index, url: undefined, reason: 'not a valid URL.' })
  }
  const hasCredentials = url.username !== '' || url.password !== ''
  url.username = ''
  url.password = ''
  const shown = hasCredentials ? url.href.replace('://', '://***@') : url.href
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new InvalidGatewayError({ index, url: shown, reason: 'the URL must be http or https.' })
  }
  if (hasCredentials) {
    throw new InvalidGatewayError({
      index,
      url: shown,
      reason:
        'credentials in gateway URLs are not supported (the gateway client cannot send them); use a gateway that needs none, or a local proxy that adds them.',
    })
  }
  if (url.pathname !== '/' || url.search !== '' || url.hash !== '') {
    throw new InvalidGatewayError({
      index,
      url: shown,
      reason:
        'a gateway is an origin: blocks are requested at /ipfs/<cid>, so a path or query would be ignored.',
    })
  }
  return url.origin
}
