/**
 * @packageDocumentation
 *
 * The Node-only parts of `@medvault/chain`: an embedded devnet (a real Foundry anvil node spawned on
 * 127.0.0.1, the contracts deployed, funded clients carrying the medvault actions) and a checkpoint store
 * that keeps `followEvents`' position in a file. Everything else is in `@medvault/chain`, which runs in
 * browsers too.
 *
 * @example
 * ```ts
 * import { createDevnet } from '@medvault/chain/node'
 *
 * await using devnet = await createDevnet()
 * const [patient] = devnet.walletClients
 * await patient.registerRecord({ cid: '0x01551220…' })
 * ```
 */

export {
  type Anvil,
  type AnvilAccount,
  anvilBinaryPath,
  DEFAULT_MNEMONIC,
  deriveAccounts,
  type StartAnvilOptions,
  startAnvil,
} from './anvil.ts'
export {
  type CreateDevnetOptions,
  createDevnet,
  type Devnet,
  type DevnetPublicClient,
  type DevnetWalletClient,
} from './devnet.ts'
export { fileCheckpointStore } from './follow/file-checkpoint-store.ts'
export { readNetworkFile, writeNetworkFile } from './network-file-node.ts'
