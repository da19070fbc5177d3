import type { Address } from 'viem'

/** Where the medvault contracts live on one chain. */
export interface MedvaultAddresses {
  /** `KeyRegistry`: published encryption keys. */
  readonly keyRegistry: Address
  /** `ProxyRegistry`: re-encryption proxies and proxy sets. */
  readonly proxyRegistry: Address
  /** `ConsentRegistry`: records, delegates, grants, revocations and emergency access. */
  readonly consentRegistry: Address
  /** `AuditAnchors`: anchored Merkle roots of access receipts. */
  readonly auditAnchors: Address
  /** `DatasetRegistry`: research datasets and their stewards. */
  readonly datasetRegistry: Address
}

/** The `addresses` field every action takes (the decorator fills it in). */
export interface MedvaultContractsParameter {
  /** The deployment to talk to, e.g. `devnet.addresses` or the result of `deployMedvault`. */
  addresses: MedvaultAddresses
}
