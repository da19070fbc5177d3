/**
 * Which addresses a browser storage may dial. libp2p's own rule in browsers refuses private addresses
 * (loopback, LAN) and plain `ws://` anywhere: on the public web a page has no business probing the user's
 * network, and Chromium asks before a public page reaches a private one anyway. A devnet runs exactly there
 * (`ws://127.0.0.1:…`), so `network.allowPrivateAddresses` lifts the rule for the configured peers' private
 * addresses only: a public address still needs `wss://`, as libp2p wants.
 *
 * Kept here, with no dependency, so the browser bundle gains no package for a dozen lines of address ranges.
 */
import type { ConnectionGater } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'

/** True for loopback, private-network (RFC 1918, unique local), link-local and `localhost` addresses. */
export function isPrivateAddress(address: Multiaddr): boolean {
  const host = address.getComponents()[0]
  if (host?.value === undefined) return false
  const value = host.value.toLowerCase()
  switch (host.name) {
    case 'ip4':
      return isPrivateIp4(value)
    case 'ip6':
      return (
        value === '::1' ||
        value.startsWith('fc') ||
        value.startsWith('fd') ||
        /^fe[89ab]/.test(value) ||
        // an IPv4-mapped address is judged by its IPv4 part
        (value.startsWith('::ffff:') && isPrivateIp4(mappedIp4(value.slice(7))))
      )
    case 'dns':
    case 'dns4':
    case 'dns6':
    case 'dnsaddr':
      return value === 'localhost' || value.endsWith('.localhost')
    default:
      return false
  }
}

function isPrivateIp4(value: string): boolean {
  const [a = -1, b = -1] = value.split('.').map(Number)
  return (
    a === 127 ||
    a === 10 ||
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168) ||
    (a === 169 && b === 254)
  )
}

/** `10.0.0.1` or, as multiaddr writes it, `a00:1`: the IPv4 part of an IPv4-mapped IPv6 address. */
function mappedIp4(tail: string): string {
  if (tail.includes('.')) return tail
  const [hi = 0, lo = 0] = tail.split(':').map((h) => Number.parseInt(h, 16))
  return [hi >> 8, hi & 255, lo >> 8, lo & 255].join('.')
}

/** Plain `ws://` (no TLS): `/ws` without `/tls` before it, not `/wss`. */
function isInsecureWebSocket(address: Multiaddr): boolean {
  const names = address.getComponents().map((c) => c.name)
  return names.includes('ws') && !names.includes('tls')
}

/** A multiaddr as text without its trailing `/p2p/<peer id>`, for comparing a dial with a configured peer. */
function withoutPeerId(address: string): string {
  return address.replace(/\/p2p\/[^/]+$/, '')
}

/**
 * The browser's gater with `allowPrivateAddresses`: a private address is dialled only when it is one of the
 * configured `peers` (over any transport), never one a peer announces or passes on, so the page reaches no
 * other host of the visitor's network; public addresses as libp2p's browser default allows (not plain `ws://`).
 */
export function privateAddressesGater(peers: readonly string[]): ConnectionGater {
  const allowed = new Set(peers.map(withoutPeerId))
  return {
    denyDialMultiaddr: (address) =>
      isPrivateAddress(address)
        ? !allowed.has(withoutPeerId(address.toString()))
        : isInsecureWebSocket(address),
  }
}
