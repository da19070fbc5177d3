import { type Address, encodeAbiParameters, type Hex, keccak256 } from 'viem'
import {
  type BytesLike,
  encodePurpose,
  encodeScope,
  type Purpose,
  type Scope,
  type Timestamp,
  toBytesHex,
  toSeconds,
} from './encoding.ts'

/** The terms of a grant, in friendly types. */
export interface GrantTerms {
  /** Who may read. */
  grantee: Address
  /** What the grant covers. */
  scope: Scope
  /** The HL7 v3 purpose of use, e.g. `'TREAT'`; access for another purpose is refused. */
  purpose: Purpose | number
  /** From when the grant holds (default: at once). */
  notBefore?: Timestamp | undefined
  /** From when it no longer holds; must be in the future. */
  expiry: Timestamp
  /** M: how many proxies of the set must re-encrypt. */
  threshold: number
  /** The proxy set holding the kfrags (see `createProxySet`). */
  proxySetId: number
  /** CID of the encrypted kfrag bundle (hex, bytes or a multiformats CID). */
  kfragsCid: BytesLike
  /** Makes the grant id `keccak256(abi.encode(grantor, salt))`; default: 32 random bytes. */
  salt?: Hex | undefined
}

/** `IConsentRegistry.GrantParams` as the ABI takes it. */
export interface GrantParams {
  grantee: Address
  scopeKind: number
  scopeTarget: Hex
  records: readonly Hex[]
  purpose: number
  notBefore: number
  expiry: number
  threshold: number
  proxySetId: number
  salt: Hex
  kfragsCid: Hex
}

/** The contract's struct from friendly terms (a random salt when none is given). */
export function encodeGrantParams(terms: GrantTerms): GrantParams {
  const { scopeKind, scopeTarget, records } = encodeScope(terms.scope)
  return {
    grantee: terms.grantee,
    scopeKind,
    scopeTarget,
    records,
    purpose: encodePurpose(terms.purpose),
    notBefore: terms.notBefore === undefined ? 0 : toSeconds(terms.notBefore, 'notBefore'),
    expiry: toSeconds(terms.expiry, 'expiry'),
    threshold: terms.threshold,
    proxySetId: terms.proxySetId,
    salt: terms.salt ?? randomBytes32(),
    kfragsCid: toBytesHex(terms.kfragsCid, 'kfragsCid'),
  }
}

/** The id a grant of `grantor` with `salt` gets: `keccak256(abi.encode(grantor, salt))`. */
export function computeGrantId(grantor: Address, salt: Hex): Hex {
  return keccak256(encodeAbiParameters([{ type: 'address' }, { type: 'bytes32' }], [grantor, salt]))
}

/** 32 random bytes from the platform CSPRNG, as hex. */
export function randomBytes32(): Hex {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
