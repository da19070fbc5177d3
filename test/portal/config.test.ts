/**
 * The portal's configuration: a `medvault-network/1` file fetched over real HTTP from 127.0.0.1, query-string
 * overrides, and typed refusals.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loadConfig, PortalConfigError } from '../../examples/patient-portal/src/config.ts'

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
beforeAll(async () => {
  server = createServer((req, res) => {
    const files: Record<string, unknown> = {
      '/portal-config.json': network,
      '/other.json': { ...network, proxySet: 7, store: undefined },
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

describe('loadConfig', () => {
  test('default: /portal-config.json beside the page; a relative store resolved against the page', async () => {
    const config = await loadConfig(new URL(`${origin}/#records`))
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

  test('behavior: ?config chooses the file, single settings come from the query', async () => {
    const page = new URL(`${origin}/`)
    page.searchParams.set('config', '/other.json')
    page.searchParams.set('rpc', 'https://rpc.example/')
    page.searchParams.set('gateways', 'https://gw.example, https://gw2.example')
    page.searchParams.set('peers', '')
    const config = await loadConfig(page)
    expect(config).toMatchObject({
      rpcUrl: 'https://rpc.example/',
      proxySet: 7,
      store: undefined,
      gateways: ['https://gw.example', 'https://gw2.example'],
      peers: [],
    })
    page.searchParams.set('proxySet', '2')
    expect((await loadConfig(page)).proxySet).toBe(2)
  })

  test('error: a file that is not a network file, a missing file, a bad proxy set', async () => {
    await expect(loadConfig(new URL(`${origin}/?config=/not-a-network.json`))).rejects.toThrow(
      expect.objectContaining({
        name: 'PortalConfigError',
        shortMessage: '/not-a-network.json is not a medvault-network/1 file.',
      }),
    )
    const missing = await loadConfig(new URL(`${origin}/?config=/nothing.json`)).catch((e: unknown) => e)
    expect(missing).toBeInstanceOf(PortalConfigError)
    expect((missing as PortalConfigError).shortMessage).toBe(
      `Cannot read the portal configuration from ${origin}/nothing.json.`,
    )
    await expect(loadConfig(new URL(`${origin}/?proxySet=0`))).rejects.toThrow(
      expect.objectContaining({ shortMessage: '`proxySet` must be a positive whole number.' }),
    )
  })
})
