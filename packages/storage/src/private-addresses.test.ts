import { multiaddr } from '@multiformats/multiaddr'
import { describe, expect, test } from 'vitest'
import { isPrivateAddress, privateAddressesGater } from './private-addresses.ts'

const PEERS = [
  '/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X',
  '/dns4/localhost/tcp/4001/ws',
  '/ip4/192.168.1.5/tcp/443/tls/ws',
]
const deny = (address: string) => privateAddressesGater(PEERS).denyDialMultiaddr!(multiaddr(address))

describe('isPrivateAddress', () => {
  test('default: loopback, private networks, link-local and localhost are private', () => {
    for (const address of [
      '/ip4/127.0.0.1/tcp/1/ws',
      '/ip4/10.1.2.3/tcp/1',
      '/ip4/172.16.0.1/tcp/1',
      '/ip4/172.31.255.255/tcp/1',
      '/ip4/192.168.1.1/tcp/1',
      '/ip4/169.254.1.1/tcp/1',
      '/ip6/::1/tcp/1',
      '/ip6/fd00::1/tcp/1',
      '/ip6/fe80::1/tcp/1',
      '/ip6/::ffff:10.0.0.1/tcp/1',
      '/dns4/localhost/tcp/1/ws',
      '/dns/node.localhost/tcp/1/ws',
    ]) {
      expect(isPrivateAddress(multiaddr(address)), address).toBe(true)
    }
  })

  test('behavior: public addresses and names are not', () => {
    for (const address of [
      '/ip4/8.8.8.8/tcp/1',
      '/ip4/172.32.0.1/tcp/1',
      '/ip4/172.15.0.1/tcp/1',
      '/ip4/192.169.0.1/tcp/1',
      '/ip6/2001:db8::1/tcp/1',
      '/dns4/example.com/tcp/443/wss',
      '/dns4/localhost.example.com/tcp/443/wss',
    ]) {
      expect(isPrivateAddress(multiaddr(address)), address).toBe(false)
    }
  })
})

describe('privateAddressesGater', () => {
  test('default: the configured peers at private addresses are dialled over plain ws:// and wss://', () => {
    expect(deny('/ip4/127.0.0.1/tcp/4001/ws')).toBe(false)
    expect(deny('/ip4/127.0.0.1/tcp/4001/ws/p2p/12D3KooWPjceQrSwdWXPyLLeABRXmuqt69Rg3sBYbU1Nft9HyQ6X')).toBe(
      false,
    )
    expect(deny('/dns4/localhost/tcp/4001/ws')).toBe(false)
    expect(deny('/ip4/192.168.1.5/tcp/443/tls/ws')).toBe(false)
  })

  test('attack: a public address over plain ws:// stays refused, as libp2p refuses it in browsers', () => {
    expect(deny('/ip4/8.8.8.8/tcp/80/ws')).toBe(true)
    expect(deny('/dns4/example.com/tcp/80/ws')).toBe(true)
    expect(deny('/dns4/example.com/tcp/443/wss')).toBe(false)
    expect(deny('/dns4/example.com/tcp/443/tls/ws')).toBe(false)
  })

  test("attack: a private address that is not a configured peer (announced by one, or another port) stays refused: the page probes no other host of the visitor's network", () => {
    expect(deny('/ip4/192.168.1.1/tcp/80/ws')).toBe(true)
    expect(deny('/ip4/127.0.0.1/tcp/22/ws')).toBe(true)
    expect(deny('/ip4/10.0.0.7/tcp/4001/tls/ws')).toBe(true)
    expect(deny('/ip6/::1/tcp/4001/ws')).toBe(true)
  })
})
