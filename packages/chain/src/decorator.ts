import {
  type AnchorReceiptsParameters,
  type AnchorReceiptsReturnType,
  anchorReceipts,
} from './actions/anchor-receipts.ts'
import {
  type AppointDelegateParameters,
  type AppointDelegateReturnType,
  appointDelegate,
} from './actions/appoint-delegate.ts'
import {
  type AuthorizeBreakGlassParameters,
  type AuthorizeBreakGlassReturnType,
  authorizeBreakGlass,
} from './actions/authorize-break-glass.ts'
import { type BreakGlassParameters, type BreakGlassReturnType, breakGlass } from './actions/break-glass.ts'
import {
  type CancelGrantSaltParameters,
  type CancelGrantSaltReturnType,
  cancelGrantSalt,
} from './actions/cancel-grant-salt.ts'
import {
  type CheckAccessParameters,
  type CheckAccessReturnType,
  checkAccess,
} from './actions/check-access.ts'
import {
  type CreateProxySetParameters,
  type CreateProxySetReturnType,
  createProxySet,
} from './actions/create-proxy-set.ts'
import {
  type EndEmergencyAccessParameters,
  type EndEmergencyAccessReturnType,
  endEmergencyAccess,
} from './actions/end-emergency-access.ts'
import { type GetAnchorParameters, type GetAnchorReturnType, getAnchor } from './actions/get-anchor.ts'
import { type GetDatasetParameters, type GetDatasetReturnType, getDataset } from './actions/get-dataset.ts'
import {
  type GetDelegationParameters,
  type GetDelegationReturnType,
  getDelegation,
} from './actions/get-delegation.ts'
import {
  type GetEmergencyAccessParameters,
  type GetEmergencyAccessReturnType,
  getEmergencyAccess,
} from './actions/get-emergency-access.ts'
import {
  type GetEmergencyAccessesParameters,
  type GetEmergencyAccessesReturnType,
  getEmergencyAccesses,
} from './actions/get-emergency-accesses.ts'
import { type GetGrantParameters, type GetGrantReturnType, getGrant } from './actions/get-grant.ts'
import { type GetGrantsParameters, type GetGrantsReturnType, getGrants } from './actions/get-grants.ts'
import { type GetProxyParameters, type GetProxyReturnType, getProxy } from './actions/get-proxy.ts'
import {
  type GetProxySetParameters,
  type GetProxySetReturnType,
  getProxySet,
} from './actions/get-proxy-set.ts'
import {
  type GetPublicKeysParameters,
  type GetPublicKeysReturnType,
  getPublicKeys,
} from './actions/get-public-keys.ts'
import { type GetRecordParameters, type GetRecordReturnType, getRecord } from './actions/get-record.ts'
import {
  type GetRecordVersionsParameters,
  type GetRecordVersionsReturnType,
  getRecordVersions,
} from './actions/get-record-versions.ts'
import {
  type GetSignatureNonceParameters,
  type GetSignatureNonceReturnType,
  getSignatureNonce,
} from './actions/get-signature-nonce.ts'
import {
  type GrantAccessParameters,
  type GrantAccessReturnType,
  grantAccess,
} from './actions/grant-access.ts'
import { type GrantBySigParameters, type GrantBySigReturnType, grantBySig } from './actions/grant-by-sig.ts'
import {
  type IsAccessAllowedParameters,
  type IsAccessAllowedReturnType,
  isAccessAllowed,
} from './actions/is-access-allowed.ts'
import { type IsDelegateParameters, type IsDelegateReturnType, isDelegate } from './actions/is-delegate.ts'
import {
  type PublishKeysParameters,
  type PublishKeysReturnType,
  publishKeys,
} from './actions/publish-keys.ts'
import {
  type ReauthorizeBreakGlassParameters,
  type ReauthorizeBreakGlassReturnType,
  reauthorizeBreakGlass,
} from './actions/reauthorize-break-glass.ts'
import {
  type RegisterDatasetParameters,
  type RegisterDatasetReturnType,
  registerDataset,
} from './actions/register-dataset.ts'
import {
  type RegisterProxyParameters,
  type RegisterProxyReturnType,
  registerProxy,
} from './actions/register-proxy.ts'
import {
  type RegisterRecordParameters,
  type RegisterRecordReturnType,
  registerRecord,
} from './actions/register-record.ts'
import {
  type RegisterRecordVersionParameters,
  type RegisterRecordVersionReturnType,
  registerRecordVersion,
} from './actions/register-record-version.ts'
import {
  type RegisterRecordsParameters,
  type RegisterRecordsReturnType,
  registerRecords,
} from './actions/register-records.ts'
import {
  type RemoveDelegateParameters,
  type RemoveDelegateReturnType,
  removeDelegate,
} from './actions/remove-delegate.ts'
import {
  type RetireProxyParameters,
  type RetireProxyReturnType,
  retireProxy,
} from './actions/retire-proxy.ts'
import {
  type RevokeAccessParameters,
  type RevokeAccessReturnType,
  revokeAccess,
} from './actions/revoke-access.ts'
import {
  type RevokeBySigParameters,
  type RevokeBySigReturnType,
  revokeBySig,
} from './actions/revoke-by-sig.ts'
import { type SetStewardParameters, type SetStewardReturnType, setSteward } from './actions/set-steward.ts'
import { type SignGrantParameters, type SignGrantReturnType, signGrant } from './actions/sign-grant.ts'
import { type SignRevokeParameters, type SignRevokeReturnType, signRevoke } from './actions/sign-revoke.ts'
import {
  type UpdateProxyParameters,
  type UpdateProxyReturnType,
  updateProxy,
} from './actions/update-proxy.ts'
import {
  type VerifyReceiptInclusionParameters,
  type VerifyReceiptInclusionReturnType,
  verifyReceiptInclusion,
} from './actions/verify-receipt-inclusion.ts'
import {
  type WatchGrantsParameters,
  type WatchGrantsReturnType,
  watchGrants,
} from './actions/watch-grants.ts'
import type { MedvaultAddresses } from './addresses.ts'
import type { WriteClient } from './internal.ts'

/** The medvault actions as client methods, with the deployment's addresses bound. */
export type MedvaultActions = {
  /** The deployment these actions talk to. */
  medvaultAddresses: MedvaultAddresses
  publishKeys: (parameters: Omit<PublishKeysParameters, 'addresses'>) => Promise<PublishKeysReturnType>
  getPublicKeys: (parameters: Omit<GetPublicKeysParameters, 'addresses'>) => Promise<GetPublicKeysReturnType>
  registerRecord: (
    parameters: Omit<RegisterRecordParameters, 'addresses'>,
  ) => Promise<RegisterRecordReturnType>
  registerRecords: (
    parameters: Omit<RegisterRecordsParameters, 'addresses'>,
  ) => Promise<RegisterRecordsReturnType>
  registerRecordVersion: (
    parameters: Omit<RegisterRecordVersionParameters, 'addresses'>,
  ) => Promise<RegisterRecordVersionReturnType>
  getRecord: (parameters: Omit<GetRecordParameters, 'addresses'>) => Promise<GetRecordReturnType>
  getRecordVersions: (
    parameters: Omit<GetRecordVersionsParameters, 'addresses'>,
  ) => Promise<GetRecordVersionsReturnType>
  appointDelegate: (
    parameters: Omit<AppointDelegateParameters, 'addresses'>,
  ) => Promise<AppointDelegateReturnType>
  removeDelegate: (
    parameters: Omit<RemoveDelegateParameters, 'addresses'>,
  ) => Promise<RemoveDelegateReturnType>
  getDelegation: (parameters: Omit<GetDelegationParameters, 'addresses'>) => Promise<GetDelegationReturnType>
  isDelegate: (parameters: Omit<IsDelegateParameters, 'addresses'>) => Promise<IsDelegateReturnType>
  grantAccess: (parameters: Omit<GrantAccessParameters, 'addresses'>) => Promise<GrantAccessReturnType>
  revokeAccess: (parameters: Omit<RevokeAccessParameters, 'addresses'>) => Promise<RevokeAccessReturnType>
  getGrant: (parameters: Omit<GetGrantParameters, 'addresses'>) => Promise<GetGrantReturnType>
  getGrants: (parameters: Omit<GetGrantsParameters, 'addresses'>) => Promise<GetGrantsReturnType>
  isAccessAllowed: (
    parameters: Omit<IsAccessAllowedParameters, 'addresses'>,
  ) => Promise<IsAccessAllowedReturnType>
  checkAccess: (parameters: Omit<CheckAccessParameters, 'addresses'>) => Promise<CheckAccessReturnType>
  getSignatureNonce: (
    parameters: Omit<GetSignatureNonceParameters, 'addresses'>,
  ) => Promise<GetSignatureNonceReturnType>
  signGrant: (parameters: Omit<SignGrantParameters, 'addresses'>) => Promise<SignGrantReturnType>
  signRevoke: (parameters: Omit<SignRevokeParameters, 'addresses'>) => Promise<SignRevokeReturnType>
  grantBySig: (parameters: Omit<GrantBySigParameters, 'addresses'>) => Promise<GrantBySigReturnType>
  cancelGrantSalt: (
    parameters: Omit<CancelGrantSaltParameters, 'addresses'>,
  ) => Promise<CancelGrantSaltReturnType>
  revokeBySig: (parameters: Omit<RevokeBySigParameters, 'addresses'>) => Promise<RevokeBySigReturnType>
  watchGrants: (parameters: Omit<WatchGrantsParameters, 'addresses'>) => WatchGrantsReturnType
  authorizeBreakGlass: (
    parameters: Omit<AuthorizeBreakGlassParameters, 'addresses'>,
  ) => Promise<AuthorizeBreakGlassReturnType>
  breakGlass: (parameters: Omit<BreakGlassParameters, 'addresses'>) => Promise<BreakGlassReturnType>
  endEmergencyAccess: (
    parameters: Omit<EndEmergencyAccessParameters, 'addresses'>,
  ) => Promise<EndEmergencyAccessReturnType>
  reauthorizeBreakGlass: (
    parameters: Omit<ReauthorizeBreakGlassParameters, 'addresses'>,
  ) => Promise<ReauthorizeBreakGlassReturnType>
  getEmergencyAccess: (
    parameters: Omit<GetEmergencyAccessParameters, 'addresses'>,
  ) => Promise<GetEmergencyAccessReturnType>
  getEmergencyAccesses: (
    parameters?: Omit<GetEmergencyAccessesParameters, 'addresses'>,
  ) => Promise<GetEmergencyAccessesReturnType>
  registerProxy: (parameters: Omit<RegisterProxyParameters, 'addresses'>) => Promise<RegisterProxyReturnType>
  updateProxy: (parameters: Omit<UpdateProxyParameters, 'addresses'>) => Promise<UpdateProxyReturnType>
  retireProxy: (parameters?: Omit<RetireProxyParameters, 'addresses'>) => Promise<RetireProxyReturnType>
  getProxy: (parameters: Omit<GetProxyParameters, 'addresses'>) => Promise<GetProxyReturnType>
  createProxySet: (
    parameters: Omit<CreateProxySetParameters, 'addresses'>,
  ) => Promise<CreateProxySetReturnType>
  getProxySet: (parameters: Omit<GetProxySetParameters, 'addresses'>) => Promise<GetProxySetReturnType>
  anchorReceipts: (
    parameters: Omit<AnchorReceiptsParameters, 'addresses'>,
  ) => Promise<AnchorReceiptsReturnType>
  getAnchor: (parameters: Omit<GetAnchorParameters, 'addresses'>) => Promise<GetAnchorReturnType>
  verifyReceiptInclusion: (
    parameters: Omit<VerifyReceiptInclusionParameters, 'addresses'>,
  ) => Promise<VerifyReceiptInclusionReturnType>
  registerDataset: (
    parameters: Omit<RegisterDatasetParameters, 'addresses'>,
  ) => Promise<RegisterDatasetReturnType>
  getDataset: (parameters: Omit<GetDatasetParameters, 'addresses'>) => Promise<GetDatasetReturnType>
  setSteward: (parameters: Omit<SetStewardParameters, 'addresses'>) => Promise<SetStewardReturnType>
}

/**
 * A viem client decorator: attaches every medvault action to a client, with `addresses` bound.
 *
 * @example
 * ```ts
 * const patient = createWalletClient({ account, chain, transport: http(rpcUrl) }).extend(medvaultActions(addresses))
 * const { recordId } = await patient.registerRecord({ cid })
 * ```
 */
export function medvaultActions(addresses: MedvaultAddresses): (client: WriteClient) => MedvaultActions {
  return (client) => ({
    medvaultAddresses: addresses,
    publishKeys: (parameters) => publishKeys(client, { ...parameters, addresses }),
    getPublicKeys: (parameters) => getPublicKeys(client, { ...parameters, addresses }),
    registerRecord: (parameters) => registerRecord(client, { ...parameters, addresses }),
    registerRecords: (parameters) => registerRecords(client, { ...parameters, addresses }),
    registerRecordVersion: (parameters) => registerRecordVersion(client, { ...parameters, addresses }),
    getRecord: (parameters) => getRecord(client, { ...parameters, addresses }),
    getRecordVersions: (parameters) => getRecordVersions(client, { ...parameters, addresses }),
    appointDelegate: (parameters) => appointDelegate(client, { ...parameters, addresses }),
    removeDelegate: (parameters) => removeDelegate(client, { ...parameters, addresses }),
    getDelegation: (parameters) => getDelegation(client, { ...parameters, addresses }),
    isDelegate: (parameters) => isDelegate(client, { ...parameters, addresses }),
    grantAccess: (parameters) => grantAccess(client, { ...parameters, addresses }),
    revokeAccess: (parameters) => revokeAccess(client, { ...parameters, addresses }),
    getGrant: (parameters) => getGrant(client, { ...parameters, addresses }),
    getGrants: (parameters) => getGrants(client, { ...parameters, addresses }),
    isAccessAllowed: (parameters) => isAccessAllowed(client, { ...parameters, addresses }),
    checkAccess: (parameters) => checkAccess(client, { ...parameters, addresses }),
    getSignatureNonce: (parameters) => getSignatureNonce(client, { ...parameters, addresses }),
    signGrant: (parameters) => signGrant(client, { ...parameters, addresses }),
    signRevoke: (parameters) => signRevoke(client, { ...parameters, addresses }),
    grantBySig: (parameters) => grantBySig(client, { ...parameters, addresses }),
    cancelGrantSalt: (parameters) => cancelGrantSalt(client, { ...parameters, addresses }),
    revokeBySig: (parameters) => revokeBySig(client, { ...parameters, addresses }),
    watchGrants: (parameters) => watchGrants(client, { ...parameters, addresses }),
    authorizeBreakGlass: (parameters) => authorizeBreakGlass(client, { ...parameters, addresses }),
    breakGlass: (parameters) => breakGlass(client, { ...parameters, addresses }),
    endEmergencyAccess: (parameters) => endEmergencyAccess(client, { ...parameters, addresses }),
    reauthorizeBreakGlass: (parameters) => reauthorizeBreakGlass(client, { ...parameters, addresses }),
    getEmergencyAccess: (parameters) => getEmergencyAccess(client, { ...parameters, addresses }),
    getEmergencyAccesses: (parameters = {}) => getEmergencyAccesses(client, { ...parameters, addresses }),
    registerProxy: (parameters) => registerProxy(client, { ...parameters, addresses }),
    updateProxy: (parameters) => updateProxy(client, { ...parameters, addresses }),
    retireProxy: (parameters = {}) => retireProxy(client, { ...parameters, addresses }),
    getProxy: (parameters) => getProxy(client, { ...parameters, addresses }),
    createProxySet: (parameters) => createProxySet(client, { ...parameters, addresses }),
    getProxySet: (parameters) => getProxySet(client, { ...parameters, addresses }),
    anchorReceipts: (parameters) => anchorReceipts(client, { ...parameters, addresses }),
    getAnchor: (parameters) => getAnchor(client, { ...parameters, addresses }),
    verifyReceiptInclusion: (parameters) => verifyReceiptInclusion(client, { ...parameters, addresses }),
    registerDataset: (parameters) => registerDataset(client, { ...parameters, addresses }),
    getDataset: (parameters) => getDataset(client, { ...parameters, addresses }),
    setSteward: (parameters) => setSteward(client, { ...parameters, addresses }),
  })
}
