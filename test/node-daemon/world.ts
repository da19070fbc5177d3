/**
 * A patient's world for the node daemon's tests, all real: an anvil devnet with medvault deployed, a
 * networked Helia store on 127.0.0.1 that holds what the patient writes, two registered proxies in a
 * set, and SDK vaults for a patient and a doctor. Nodes under test fetch from the patient's store over
 * bitswap (it is their peer), as they would from any IPFS node.
 */
import { createDevnet, type Devnet } from '@medvault/chain/node'
import { deriveKeysFromPrivateKey, getPublicKey } from '@medvault/crypto'
import { createVault, loadFhirDefinitions, type Vault } from '@medvault/sdk'
import { createStorage, type Storage } from '@medvault/storage'
import { type Hex, hexToBytes, http } from 'viem'

export interface World {
  devnet: Devnet
  /** The patient's store (a libp2p peer on 127.0.0.1). */
  storage: Storage
  patient: Vault
  doctor: Vault
  proxySet: number
  /** Operator keys of the two registered proxies (devnet accounts 7 and 8). */
  operators: Hex[]
  stop(): Promise<void>
}

export async function createWorld(): Promise<World> {
  // The first FHIR put would load the R4 definitions, blocking the event loop for seconds: long enough for
  // the in-process store's connections to the daemons to time out. Paid here, before any node dials.
  loadFhirDefinitions()
  const devnet = await createDevnet()
  const storage = await createStorage({ network: {} })
  const keyOf = (i: number): Hex => devnet.anvil.accounts[i]!.privateKey
  const operators = [keyOf(7), keyOf(8)]
  for (const [n, i] of [7, 8].entries()) {
    const { eciesSecretKey } = deriveKeysFromPrivateKey(hexToBytes(keyOf(i)))
    await devnet.walletClients[i]!.registerProxy({
      publicKey: getPublicKey(eciesSecretKey),
      endpoint: `http://127.0.0.1:${9 + n}`,
    })
  }
  const { setId } = await devnet.walletClients[1]!.createProxySet({
    members: [devnet.accounts[7]!.address, devnet.accounts[8]!.address],
  })
  const chain = {
    transport: http(devnet.rpcUrl),
    addresses: devnet.addresses,
    chain: devnet.chain,
    deployBlock: devnet.deployBlock,
  }
  const patient = await createVault({ account: keyOf(1), chain, storage, proxySet: Number(setId) })
  // A daemon's first re-encryption (its worker threads starting, its index catching up) can take longer than
  // the SDK's 10 s default on a loaded CI machine; these tests are about the daemon answering, not its speed.
  const doctor = await createVault({
    account: keyOf(2),
    chain,
    storage,
    proxySet: Number(setId),
    proxyTimeoutMs: 60_000,
  })
  return {
    devnet,
    storage,
    patient,
    doctor,
    proxySet: Number(setId),
    operators,
    async stop() {
      await storage.stop()
      await devnet.stop()
    },
  }
}

/** Polls `fn` until `ok` (or throws after `ms`). */
export async function waitFor<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (ok(v)) return v
    if (Date.now() > until) throw new Error(`timed out waiting; last value: ${JSON.stringify(v, replacer)}`)
    await new Promise((r) => setTimeout(r, 100))
  }
}

const replacer = (_k: string, v: unknown) => (typeof v === 'bigint' ? v.toString() : v)
