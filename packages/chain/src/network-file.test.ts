import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  NETWORK_FILE_FORMAT,
  NetworkFileError,
  parseNetworkFile,
  stringifyNetworkFile,
} from './network-file.ts'
import { readNetworkFile, writeNetworkFile } from './network-file-node.ts'

const addresses = {
  keyRegistry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  proxyRegistry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  consentRegistry: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  auditAnchors: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
  datasetRegistry: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9',
} as const

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mv-network-file-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('parseNetworkFile', () => {
  test('default: medvault-network/1, every field', () => {
    const text = JSON.stringify({
      format: NETWORK_FILE_FORMAT,
      chainId: 31337,
      rpcUrl: 'http://127.0.0.1:8545',
      addresses,
      deployBlock: '12',
      proxySet: 1,
      store: 'http://127.0.0.1:5080',
      devnet: true,
    })
    expect(parseNetworkFile(text)).toEqual({
      chainId: 31337,
      rpcUrl: 'http://127.0.0.1:8545',
      addresses,
      deployBlock: 12n,
      proxySet: 1,
      store: 'http://127.0.0.1:5080',
      devnet: true,
    })
  })

  test('behavior: the plain deployment record (no format), with and without a chain id', () => {
    expect(parseNetworkFile({ chainId: 1, deployBlock: '19000000', addresses })).toEqual({
      chainId: 1,
      addresses,
      deployBlock: 19_000_000n,
    })
    expect(parseNetworkFile({ deployBlock: 7, addresses })).toEqual({
      chainId: undefined,
      addresses,
      deployBlock: 7n,
    })
  })

  test('behavior: a bare addresses object is block 0; addresses are checksummed', () => {
    const lower = Object.fromEntries(Object.entries(addresses).map(([k, v]) => [k, v.toLowerCase()]))
    expect(parseNetworkFile(lower)).toEqual({ chainId: undefined, addresses, deployBlock: 0n })
  })

  test('behavior: stringify writes medvault-network/1 and reads back the same', () => {
    const hashes = Object.fromEntries(
      Object.keys(addresses).map((k, i) => [k, `0x${String(i).repeat(64)}`]),
    ) as Record<keyof typeof addresses, `0x${string}`>
    const file = { chainId: 10, addresses, deployBlock: 123_456_789_012n, proxySet: 3, hashes }
    const text = stringifyNetworkFile(file)
    expect(JSON.parse(text)).toEqual({
      format: 'medvault-network/1',
      chainId: 10,
      addresses,
      deployBlock: '123456789012',
      proxySet: 3,
      hashes,
    })
    expect(parseNetworkFile(text)).toEqual(file)
    expect(() => stringifyNetworkFile({ chainId: undefined, addresses, deployBlock: 0n })).toThrow(RangeError)
  })

  test('error: every problem listed, no content of the file repeated', () => {
    const secret = `0x${'ab'.repeat(32)}`
    let caught: unknown
    try {
      parseNetworkFile(
        JSON.stringify({
          format: 'medvault-network/1',
          addresses: { ...addresses, consentRegistry: secret },
          deployBlock: 'latest',
          rpcUrl: 'ftp://x',
          proxySet: 0,
        }),
        'net.json',
      )
    } catch (err) {
      caught = err
    }
    expect(caught).toBeInstanceOf(NetworkFileError)
    const err = caught as NetworkFileError
    expect(err.name).toBe('NetworkFileError')
    expect(err.problems).toEqual([
      'addresses: missing or invalid consentRegistry',
      'chainId: missing',
      'deployBlock: expected a block number (a decimal string)',
      'rpcUrl: expected an http(s):// or ws(s):// URL',
      'proxySet: expected a proxy set id (a positive whole number)',
    ])
    expect(err.message).not.toContain(secret)
    expect(() => parseNetworkFile('{', 'net.json')).toThrowErrorMatchingInlineSnapshot(`
      [NetworkFileError: net.json is not a medvault deployment file.

      - not JSON
      Expected medvault-network/1 JSON (as \`medvault devnet\` and the deployment guide write it): chainId, addresses, deployBlock.]
    `)
    expect(() =>
      parseNetworkFile({ format: 'medvault-network/2', chainId: 1, addresses, deployBlock: '1' }),
    ).toThrow(/format/)
    expect(() => parseNetworkFile({ chainId: 1 })).toThrow(NetworkFileError)
  })
})

describe('readNetworkFile / writeNetworkFile', () => {
  test('default: a written file reads back; the plain record reads too', async () => {
    const path = join(dir, 'net.json')
    const file = { chainId: 31337, addresses, deployBlock: 5n, rpcUrl: 'http://127.0.0.1:8545' }
    await writeNetworkFile(path, file)
    expect(JSON.parse(await readFile(path, 'utf8')).format).toBe('medvault-network/1')
    expect(await readNetworkFile(path)).toEqual(file)
    const plain = join(dir, 'deployment.json')
    await writeFile(plain, JSON.stringify({ chainId: 31337, deployBlock: '5', addresses }))
    expect(await readNetworkFile(plain)).toEqual({ chainId: 31337, addresses, deployBlock: 5n })
  })

  test('error: a missing file rejects with the fs error; a bad one names its path', async () => {
    await expect(readNetworkFile(join(dir, 'none.json'))).rejects.toMatchObject({ code: 'ENOENT' })
    const bad = join(dir, 'bad.json')
    await writeFile(bad, '[]')
    await expect(readNetworkFile(bad)).rejects.toThrow(`${bad} is not a medvault deployment file.`)
  })
})
