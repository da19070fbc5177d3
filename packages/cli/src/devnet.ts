/**
 * `medvault devnet`: a whole local network for other processes. `createLocalNetwork` (a real anvil chain on
 * 127.0.0.1 with the contracts, an embedded IPFS store, N real HTTP re-encryption proxies in a proxy set), plus
 * the store shared over loopback HTTP (store-service.ts), and a network file other commands read. Runs until
 * SIGINT or SIGTERM, then stops everything and removes the network file.
 *
 * @module
 */
import { mkdir, rm } from 'node:fs/promises'
import { dirname } from 'node:path'
import { NETWORK_FILE_FORMAT } from '@medvault/chain'
import { writeNetworkFile } from '@medvault/chain/node'
import { createLocalNetwork } from '@medvault/sdk'
import { emit } from './io.ts'
import type { NetworkFile } from './network.ts'
import { startStoreService } from './store-service.ts'

export interface DevnetOptions {
  addressesFile: string
  proxies: number
  directory: string | undefined
  storePort: number
  json: boolean
}

export async function runDevnet(options: DevnetOptions): Promise<void> {
  const stopping = new AbortController()
  const onSignal = () => stopping.abort()
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  const net = await createLocalNetwork({
    proxies: options.proxies,
    ...(options.directory === undefined ? {} : { directory: options.directory }),
    signal: stopping.signal,
  })
  try {
    const store = await startStoreService(net.storage, options.storePort)
    try {
      const file = {
        chainId: net.devnet.chain.id,
        rpcUrl: net.devnet.rpcUrl,
        addresses: net.devnet.addresses,
        deployBlock: net.devnet.deployBlock,
        proxySet: net.proxySet,
        store: store.url,
        devnet: true,
      } satisfies NetworkFile
      await mkdir(dirname(options.addressesFile), { recursive: true })
      // Written whole under a temporary name, then renamed: a reader waiting for the file never sees half of it.
      await writeNetworkFile(options.addressesFile, file)
      emit(
        options.json,
        {
          format: NETWORK_FILE_FORMAT,
          ...file,
          deployBlock: file.deployBlock.toString(),
          proxies: net.proxies.map((p) => ({ address: p.address, url: p.url })),
          addressesFile: options.addressesFile,
        },
        () => [
          `chain     ${file.rpcUrl} (id ${file.chainId})`,
          `store     ${store.url}`,
          ...net.proxies.map((p, i) => `proxy ${i}   ${p.url} ${p.address}`),
          `proxy set ${file.proxySet}`,
          `addresses ${options.addressesFile}`,
          'Ready. Ctrl-C stops it.',
        ],
      )
      if (!stopping.signal.aborted) {
        await new Promise<void>((resolve) =>
          stopping.signal.addEventListener('abort', () => resolve(), { once: true }),
        )
      }
    } finally {
      await store.stop()
      await rm(options.addressesFile, { force: true })
    }
  } finally {
    await net.stop()
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
}
