import { InvalidTagError, UnknownPurposeError } from './errors.ts'

/**
 * HL7 v3 PurposeOfUse codes and the `uint8` each is stored as on chain (`IConsentRegistry`). 0 is invalid;
 * purposes match exactly (a TREAT grant does not allow ETREAT).
 */
export const purposeOfUse = {
  TREAT: 1,
  ETREAT: 2,
  BTG: 3,
  HRESCH: 4,
  CLINTRL: 5,
  PUBHLTH: 6,
  HPAYMT: 7,
  HOPERAT: 8,
  PATRQT: 9,
  FAMRQT: 10,
  PWATRNY: 11,
  CAREMGT: 12,
  COC: 13,
  HDIRECT: 14,
  HLEGAL: 15,
  HMARKT: 16,
  HQUALIMP: 17,
  HSYSADMIN: 18,
  TRAIN: 19,
  POPHLTH: 20,
  HACCRED: 21,
  HCOMPL: 22,
  HDECD: 23,
  HOUTCOMS: 24,
  HPRGRP: 25,
  COVAUTH: 26,
  DONAT: 27,
  FRAUD: 28,
  GOV: 29,
  RECORDMGT: 30,
  SYSDEV: 31,
  HTEST: 32,
} as const

/** A PurposeOfUse code name, e.g. `'TREAT'`. */
export type PurposeOfUse = keyof typeof purposeOfUse

const purposeNames = new Map<number, PurposeOfUse>(
  Object.entries(purposeOfUse).map(([name, code]) => [code, name as PurposeOfUse]),
)

/**
 * The on-chain code of a purpose name.
 *
 * @throws {UnknownPurposeError} for a name that has no code.
 */
export function purposeCode(name: string): number {
  // Own properties only: 'constructor' or '__proto__' must not resolve to Object.prototype's members.
  const code = Object.hasOwn(purposeOfUse, name) ? (purposeOfUse as Record<string, number>)[name] : undefined
  if (code === undefined) throw new UnknownPurposeError(name)
  return code
}

/**
 * The purpose name of an on-chain code.
 *
 * @throws {UnknownPurposeError} for a code that is not assigned.
 */
export function purposeName(code: number): PurposeOfUse {
  const name = purposeNames.get(code)
  if (name === undefined) throw new UnknownPurposeError(code)
  return name
}

/** `IConsentRegistry.ScopeKind`: what a grant covers. */
export const scopeKind = { none: 0, record: 1, records: 2, tag: 3, all: 4 } as const

/** `IDelegateRegistry` permission bits; combine with `|`. */
export const delegatePermission = { records: 1, grant: 2, revoke: 4 } as const

/** `IConsentRegistry.Grant.flags` bits. */
export const grantFlag = { revoked: 1, breakGlass: 2 } as const

/** Name and version of the ConsentRegistry's EIP-712 domain (add `chainId` and `verifyingContract`). */
export const eip712DomainInfo = { name: 'MedVault', version: '1' } as const

/**
 * EIP-712 types of a signed grant (`ConsentRegistry.grantBySig`), for viem's `signTypedData`. No nonce field:
 * the signed `salt` is the signature's unordered single-use nonce (the grant id it makes can be created once).
 * `signer` is the account the contract checks the signature against (the grantor or its grant delegate).
 */
export const grantTypes = {
  Grant: [
    { name: 'grantor', type: 'address' },
    { name: 'signer', type: 'address' },
    { name: 'grantee', type: 'address' },
    { name: 'scopeKind', type: 'uint8' },
    { name: 'scopeTarget', type: 'bytes32' },
    { name: 'records', type: 'bytes32[]' },
    { name: 'purpose', type: 'uint8' },
    { name: 'notBefore', type: 'uint32' },
    { name: 'expiry', type: 'uint32' },
    { name: 'threshold', type: 'uint8' },
    { name: 'proxySetId', type: 'uint32' },
    { name: 'salt', type: 'bytes32' },
    { name: 'kfragsCid', type: 'bytes' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const

/**
 * EIP-712 types of a signed revocation (`ConsentRegistry.revokeBySig`). Like a grant, it names its signer: a
 * contract wallet's ERC-1271 check may accept its owner's signature of any digest, so without the signer in the
 * message two wallets of one owner could replay each other's revocations.
 */
export const revokeTypes = {
  Revoke: [
    { name: 'signer', type: 'address' },
    { name: 'grantId', type: 'bytes32' },
    { name: 'nonce', type: 'uint256' },
    { name: 'deadline', type: 'uint256' },
  ],
} as const

/**
 * The `bytes32` scope target of a tag-scoped grant: the 8-byte tag left-aligned, zero-padded on the right.
 *
 * @param tag 8 bytes as `0x` + 16 hex digits.
 * @throws {InvalidTagError} when `tag` is not 8 bytes of hex.
 */
export function tagScopeTarget(tag: `0x${string}`): `0x${string}` {
  if (!/^0x[0-9a-fA-F]{16}$/.test(tag)) throw new InvalidTagError(tag.length)
  return `${tag}${'0'.repeat(48)}` as `0x${string}`
}

/** Limits enforced by the contracts (bytes or items). */
export const limits = {
  maxCidLength: 128,
  maxEndpointLength: 256,
  maxProxySetSize: 32,
  maxRecordSetSize: 64,
  maxLicenceLength: 256,
  maxBreakGlassDuration: 7 * 24 * 3600,
  /** Emergency-access windows one break-glass grant may open, over all its records. */
  maxBreakGlassWindows: 64,
} as const
