/**
 * `medvault-node` reads the deployment file in both formats every medvault tool reads (`parseNetworkFile` of
 * `@medvault/chain`): `medvault-network/1` as `medvault devnet` writes it (its RPC URL used unless one is set),
 * and the plain `{ chainId, deployBlock, addresses }` record; a bad file is one configuration problem per field;
 * a file naming another chain than the RPC endpoint serves stops `start` before anything runs.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { stringifyNetworkFile } from '@medvault/chain'
import { startAnvil } from '@medvault/chain/node'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loadConfig } from './config.ts'
import { createDaemon } from './daemon.ts'

const addresses = {
  keyRegistry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
  proxyRegistry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
  consentRegistry: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
  auditAnchors: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
  datasetRegistry: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9',
} as const

let repo: string
beforeAll(async () => {
  repo = await mkdtemp(join(tmpdir(), 'mvn-deployment-'))
  await writeFile(join(repo, 'config.json'), '{}')
})
afterAll(async () => {
  await rm(repo, { recursive: true, force: true })
})

const flags = { services: 'follower', http: '127.0.0.1:0' }

describe('the deployment file', () => {
  test('default: medvault-network/1 (as medvault devnet writes it), its RPC URL used', async () => {
    await writeFile(
      join(repo, 'net.json'),
      stringifyNetworkFile({
        chainId: 31337,
        addresses,
        deployBlock: 42n,
        rpcUrl: 'http://127.0.0.1:8545',
        proxySet: 1,
        devnet: true,
      }),
    )
    const config = await loadConfig(repo, { ...flags, addresses: 'net.json' }, {})
    expect(config.chain).toMatchObject({ rpc: 'http://127.0.0.1:8545', addresses, deployBlock: 42n })
    // A flag still wins over the file.
    const other = await loadConfig(
      repo,
      { ...flags, addresses: 'net.json', rpc: 'http://127.0.0.1:9545' },
      {},
    )
    expect(other.chain?.rpc).toBe('http://127.0.0.1:9545')
  })

  test('behavior: the plain deployment record { chainId, deployBlock, addresses }, RPC from --rpc', async () => {
    await writeFile(
      join(repo, 'deployment.json'),
      JSON.stringify({ chainId: 1, deployBlock: '19000000', addresses }),
    )
    const config = await loadConfig(
      repo,
      { ...flags, addresses: 'deployment.json', rpc: 'https://rpc.example.org' },
      {},
    )
    expect(config.chain).toMatchObject({
      rpc: 'https://rpc.example.org',
      addresses,
      deployBlock: 19_000_000n,
    })
  })

  test('error: a plain record without an RPC, and a bad file, are configuration problems', async () => {
    await expect(loadConfig(repo, { ...flags, addresses: 'deployment.json' }, {})).rejects.toMatchObject({
      name: 'InvalidNodeConfigError',
      message: expect.stringContaining('chain.rpc: the follower service needs a JSON-RPC URL'),
    })
    await writeFile(
      join(repo, 'bad.json'),
      JSON.stringify({
        format: 'medvault-network/1',
        chainId: 1,
        addresses: { ...addresses, auditAnchors: 'nope' },
      }),
    )
    const err = (await loadConfig(
      repo,
      { ...flags, addresses: 'bad.json', rpc: 'http://127.0.0.1:8545' },
      {},
    ).then(
      () => undefined,
      (e: unknown) => e,
    )) as Error
    expect(err).toMatchObject({ name: 'InvalidNodeConfigError' })
    expect(err.message).toContain('chain.addresses (--addresses): addresses: missing or invalid auditAnchors')
    expect(err.message).toContain('chain.addresses (--addresses): deployBlock: expected a block number')
  })

  test('error: a deployment file for another chain than the RPC serves stops start (real anvil)', async () => {
    const anvil = await startAnvil()
    const daemonRepo = await mkdtemp(join(tmpdir(), 'mvn-deployment-daemon-'))
    try {
      await writeFile(
        join(daemonRepo, 'config.json'),
        JSON.stringify({ http: '127.0.0.1:0', storage: { listen: ['/ip4/127.0.0.1/tcp/0'] } }),
      )
      await writeFile(
        join(daemonRepo, 'net.json'),
        stringifyNetworkFile({
          chainId: anvil.chainId + 1,
          addresses,
          deployBlock: 0n,
          rpcUrl: anvil.rpcUrl,
        }),
      )
      const config = await loadConfig(daemonRepo, { services: 'pinning,follower', addresses: 'net.json' }, {})
      expect(config.chain).toMatchObject({ rpc: anvil.rpcUrl, chainId: anvil.chainId + 1 })
      const daemon = await createDaemon({ config })
      try {
        await expect(daemon.start()).rejects.toMatchObject({
          name: 'InvalidNodeConfigError',
          problems: [
            `chain.addresses: the deployment file is for chain ${anvil.chainId + 1}, but the chain.rpc endpoint serves chain ${anvil.chainId}`,
          ],
        })
        expect(daemon.isStarted()).toBe(false)
      } finally {
        await daemon.stop()
      }
    } finally {
      await anvil.stop()
      await rm(daemonRepo, { recursive: true, force: true })
    }
  }, 60_000)
})
