/**
 * The portal's configuration: a `medvault-network/1` file fetched over real HTTP from 127.0.0.1, query-string
 * overrides (all of them on the dev server; a built page only same-origin ones), and typed refusals.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  loadConfig,
  PortalConfigError,
  PortalOverrideRefusedError,
} from '../../examples/patient-portal/src/config.ts'
import { keyItem, peerNetwork } from '../../examples/patient-portal/src/session.ts'

const network = {
  format: 'medvault-network/1',
  chainId: 31337,
  rpcUrl: 'http://127.0.0.1:8545',
  addresses: { keyRegistry: '0x5FbDB2315678afecb367f032d93F642f64180aa3' },
  deployBlock: '3',
  proxySet: 1,
  store: '/store',
  peers: ['/dns4/node.example/tcp/443/wss/p2p/12D3KooWAbc'],
  devnet: true,
}

let server: Server
let origin: string
/** Every path the server was asked for: a refused link must make no request at all. */
const requested: string[] = []
beforeAll(async () => {
  server = createServer((req, res) => {
    requested.push(req.url ?? '')
    const files: Record<string, unknown> = {
      '/portal-config.json': network,
      '/other.json': { ...network, proxySet: 7, store: undefined },
      '/deployment.json': {
        ...network,
        devnet: undefined,
        peers: ['/ip4/10.0.0.5/tcp/4002/ws/p2p/12D3KooWAbc'],
      },
      '/not-a-network.json': { hello: 'world' },
    }
    const body = files[req.url ?? '']
    if (body === undefined) res.writeHead(404).end()
    else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
})
afterAll(() => new Promise((resolve) => server.close(resolve)))

/** As in a built page, and as on the dev server (under vitest the default would be the dev server's). */
const built = (page: URL) => loadConfig(page, fetch, false)
const dev = (page: URL) => loadConfig(page, fetch, true)

describe('loadConfig', () => {
  test('default: /portal-config.json beside the page; a relative store resolved against the page', async () => {
    const config = await built(new URL(`${origin}/#records`))
    expect(config).toEqual({
      chainId: 31337,
      rpcUrl: 'http://127.0.0.1:8545',
      addresses: network.addresses,
      deployBlock: 3n,
      proxySet: 1,
      store: `${origin}/store`,
      gateways: [],
      peers: network.peers,
      devnet: true,
    })
  })

  test('behavior: on the dev server, ?config chooses the file, single settings come from the query', async () => {
    const page = new URL(`${origin}/`)
    page.searchParams.set('config', '/other.json')
    page.searchParams.set('rpc', 'https://rpc.example/')
    page.searchParams.set('gateways', 'https://gw.example, https://gw2.example')
    page.searchParams.set('peers', '')
    const config = await dev(page)
    expect(config).toMatchObject({
      rpcUrl: 'https://rpc.example/',
      proxySet: 7,
      store: undefined,
      gateways: ['https://gw.example', 'https://gw2.example'],
      peers: [],
    })
    page.searchParams.set('proxySet', '2')
    expect((await dev(page)).proxySet).toBe(2)
  })

  test('behavior: a built page takes same-origin overrides (file, RPC, store, gateways)', async () => {
    const page = new URL(`${origin}/`)
    page.searchParams.set('config', '/other.json')
    page.searchParams.set('rpc', `${origin}/rpc`)
    page.searchParams.set('store', '/store2')
    page.searchParams.set('gateways', `${origin}/gw`)
    expect(await built(page)).toMatchObject({
      rpcUrl: `${origin}/rpc`,
      proxySet: 7,
      store: `${origin}/store2`,
      gateways: [`${origin}/gw`],
    })
  })

  test.each([
    ['rpc', 'https://evil.example/', 'This link points `rpc` to https://evil.example, not to this site.'],
    [
      'config',
      'https://evil.example/net.json',
      'This link points `config` to https://evil.example, not to this site.',
    ],
    [
      'config',
      '//evil.example/net.json',
      'This link points `config` to https://evil.example, not to this site.',
    ],
    ['store', 'http://127.0.0.1:1/', 'This link points `store` to http://127.0.0.1:1, not to this site.'],
    [
      'gateways',
      '/ipfs-here, https://gw.evil.example',
      'This link points `gateways` to https://gw.evil.example, not to this site.',
    ],
    ['proxySet', '2', 'This link sets `proxySet`, which this portal takes only from its own configuration.'],
    [
      'peers',
      '/dns4/evil/tcp/443/wss',
      'This link sets `peers`, which this portal takes only from its own configuration.',
    ],
  ])('attack: a built page refuses ?%s=%s and fetches nothing', async (name, value, message) => {
    // A protocol-relative `//host` takes the page's scheme; here the page is https.
    const page = new URL(value.startsWith('//') ? 'https://portal.example/' : `${origin}/`)
    page.searchParams.set(name, value)
    const before = requested.length
    const refused = await built(page).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(PortalOverrideRefusedError)
    expect((refused as PortalOverrideRefusedError).name).toBe('PortalOverrideRefusedError')
    expect((refused as PortalOverrideRefusedError).shortMessage).toBe(
      `${message} Open the portal without it.`,
    )
    expect(requested.length).toBe(before)
  })

  test('error: a file that is not a network file, a missing file, a bad proxy set', async () => {
    await expect(built(new URL(`${origin}/?config=/not-a-network.json`))).rejects.toThrow(
      expect.objectContaining({
        name: 'PortalConfigError',
        shortMessage: '/not-a-network.json is not a medvault-network/1 file.',
      }),
    )
    const missing = await built(new URL(`${origin}/?config=/nothing.json`)).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(PortalConfigError)
    expect((missing as PortalConfigError).shortMessage).toBe(
      `Cannot read the portal configuration from ${origin}/nothing.json.`,
    )
    await expect(dev(new URL(`${origin}/?proxySet=0`))).rejects.toThrow(
      expect.objectContaining({ shortMessage: '`proxySet` must be a positive whole number.' }),
    )
  })
})

describe('keyItem', () => {
  const addresses = network.addresses as unknown as Parameters<typeof keyItem>[0]['addresses']
  test('attack: another chain or another deployment never gets the key kept for this one', () => {
    const home = keyItem({ chainId: 31337, addresses })
    expect(keyItem({ chainId: 31337, addresses: { ...addresses } })).toBe(home)
    expect(keyItem({ chainId: 1, addresses })).not.toBe(home)
    const evil = {
      ...addresses,
      proxyRegistry: '0x000000000000000000000000000000000000dEaD',
    } as typeof addresses
    expect(keyItem({ chainId: 31337, addresses: evil })).not.toBe(home)
    // The old, network-blind entry is not read.
    expect(home).not.toBe('medvault-portal/private-key')
  })
})

describe('peerNetwork', () => {
  test('default: a devnet file lets the page dial its peers on loopback and private addresses', async () => {
    const config = await built(new URL(`${origin}/`))
    expect(peerNetwork(config)).toEqual({ peers: network.peers, allowPrivateAddresses: true })
  })

  test('attack: without the devnet mark, and whatever the query says, private addresses stay refused', async () => {
    const page = new URL(`${origin}/`)
    page.searchParams.set('config', '/deployment.json')
    page.searchParams.set('devnet', 'true')
    page.searchParams.set('allowPrivateAddresses', 'true')
    for (const config of [await built(page), await dev(page)]) {
      expect(config.devnet).toBe(false)
      expect(peerNetwork(config)).toEqual({ peers: ['/ip4/10.0.0.5/tcp/4002/ws/p2p/12D3KooWAbc'] })
    }
  })
})
