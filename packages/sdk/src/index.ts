/**
 * @packageDocumentation
 *
 * medvault for app developers: patient-controlled health records in a few calls. `createVault` encrypts
 * records on the device, stores the ciphertext on IPFS and registers it on chain; grants a clinician or a
 * researcher access through M-of-N threshold re-encryption proxies; reads what was granted (proxies that
 * are down, slow or lying cannot stop a read while M honest ones answer; every answer is verified); revokes,
 * rotates keys and lists the audit trail. `createLocalNetwork` starts all of it on this machine (anvil,
 * contracts, an embedded IPFS store, HTTP proxies) for development, demos and tests.
 *
 * @example
 * ```ts
 * import { createLocalNetwork } from '@medvault/sdk'
 *
 * await using net = await createLocalNetwork({ proxies: 3 })
 * const patient = await net.vault(0), clinic = await net.vault(1)
 * const observation = { resourceType: 'Observation', status: 'final', code: { text: 'HbA1c' } } as const
 * const rec = await patient.records.put(observation, { tag: 'labs' }) // validated as FHIR R4 first
 * await patient.grants.create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '30d', threshold: 2 })
 * const bytes = await clinic.records.get(rec.id)
 * ```
 */

// Everything the browser build has (one list, in browser.ts), and the Node-only local network.
export * from './browser.ts'
export {
  createLocalNetwork,
  type LocalNetwork,
  type LocalNetworkInit,
  type LocalProxy,
} from './local-network.ts'
