/**
 * @packageDocumentation
 * medvault's Solidity contracts, compiled with solc-js into typed ABIs (`as const`) and creation bytecode,
 * plus the encodings they use (purpose-of-use codes, scope kinds, delegate permissions, EIP-712 types).
 *
 * Deploy in this order: `KeyRegistry()`, `ProxyRegistry()`, `ConsentRegistry(proxyRegistry)`,
 * `AuditAnchors(proxyRegistry)`, `DatasetRegistry(admin)`.
 *
 * @example
 * ```ts
 * import { consentRegistryAbi, consentRegistryBytecode, proxyRegistryAbi, proxyRegistryBytecode } from '@medvault/contracts'
 * import { createWalletClient, http } from 'viem'
 *
 * const hash = await wallet.deployContract({ abi: proxyRegistryAbi, bytecode: proxyRegistryBytecode })
 * const { contractAddress: proxies } = await publicClient.waitForTransactionReceipt({ hash })
 * await wallet.deployContract({ abi: consentRegistryAbi, bytecode: consentRegistryBytecode, args: [proxies!] })
 * ```
 */

export {
  delegatePermission,
  eip712DomainInfo,
  grantFlag,
  grantTypes,
  limits,
  type PurposeOfUse,
  purposeCode,
  purposeName,
  purposeOfUse,
  revokeTypes,
  scopeKind,
  tagScopeTarget,
} from './encoding.ts'
export {
  BaseError,
  type BaseErrorParameters,
  InvalidTagError,
  type InvalidTagErrorType,
  UnknownPurposeError,
  type UnknownPurposeErrorType,
} from './errors.ts'
export {
  auditAnchorsAbi,
  auditAnchorsBytecode,
  consentRegistryAbi,
  consentRegistryBytecode,
  datasetRegistryAbi,
  datasetRegistryBytecode,
  keyRegistryAbi,
  keyRegistryBytecode,
  proxyRegistryAbi,
  proxyRegistryBytecode,
  solcVersion,
} from './generated/index.generated.ts'
