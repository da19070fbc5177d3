/**
 * An in-process re-encryption proxy, as a medvault-node will run one (the daemon has its own issue): it holds
 * no patient key, only an ECIES key its kfrags are encrypted to, and it decides every request from the chain.
 */
import type { DevnetPublicClient } from '@medvault/chain'
import { eciesDecrypt } from '@medvault/crypto'
import { Capsule, KeyFrag, PublicKey, reencrypt } from '@medvault/crypto/umbral'
import type { Storage } from '@medvault/storage'
import { CID } from '@medvault/storage'
import { type Address, type Hex, hexToBytes, recoverMessageAddress } from 'viem'
import { accessRequestMessage, type KfragBundle, kfragAad } from './formats.ts'

export interface AccessRequest {
  grantId: Hex
  recordId: Hex
  purpose: 'TREAT'
  /** Unix seconds; requests older than {@link MAX_REQUEST_AGE_SECONDS} are refused. */
  issuedAt: number
  /** The record's capsule (`toBytes()`), from its envelope. */
  capsule: Uint8Array
  /** The grantee's EIP-191 signature over {@link accessRequestMessage}. */
  signature: Hex
}

export const MAX_REQUEST_AGE_SECONDS = 300

export class ProxyRefusedError extends Error {
  override name = 'ProxyRefusedError' as const
}

export interface DemoProxyComponents {
  client: DevnetPublicClient
  storage: Storage
}

export class DemoProxy {
  readonly operator: Address
  readonly index: number
  readonly #secretKey: Uint8Array
  readonly #components: DemoProxyComponents
  /** Requests answered, as the audit receipts a real node would anchor. */
  readonly receipts: Array<{ grantId: Hex; recordId: Hex; grantee: Address; at: number }> = []

  constructor(
    components: DemoProxyComponents,
    init: { operator: Address; index: number; secretKey: Uint8Array },
  ) {
    this.#components = components
    this.operator = init.operator
    this.index = init.index
    this.#secretKey = init.secretKey
  }

  /** Checks the request against the chain, then re-encrypts the capsule with this proxy's kfrag. */
  async reencrypt(request: AccessRequest): Promise<Uint8Array> {
    const { client, storage } = this.#components
    const grantee = await recoverMessageAddress({
      message: accessRequestMessage(request),
      signature: request.signature,
    })
    const now = Math.floor(Date.now() / 1000)
    if (Math.abs(now - request.issuedAt) > MAX_REQUEST_AGE_SECONDS) {
      throw new ProxyRefusedError('The access request is too old (or from the future).')
    }
    // The chain is the source of truth: revoked, expired, out-of-scope or another grantee all throw here.
    await client.checkAccess({
      grantId: request.grantId,
      recordId: request.recordId,
      grantee,
      purpose: request.purpose,
    })

    // The kfrag bundle's CID is authenticated by the grantor's own transaction (the AccessGranted event).
    const [listing] = (await client.getGrants({ grantee })).filter((g) => g.grantId === request.grantId)
    if (listing === undefined) throw new ProxyRefusedError('No AccessGranted event for this grant.')
    const members = await client.getProxySet({ setId: listing.proxySetId })
    if (members[this.index]?.toLowerCase() !== this.operator.toLowerCase()) {
      throw new ProxyRefusedError('This proxy is not member of the grant’s proxy set at its index.')
    }
    const bundle = (await storage.getEnvelope(CID.decode(hexToBytes(listing.kfragsCid)))) as KfragBundle
    const sealed = bundle.kfrags[this.index]
    if (sealed === undefined) throw new ProxyRefusedError('The bundle holds no kfrag for this proxy.')
    const kfragBytes = eciesDecrypt(this.#secretKey, sealed, kfragAad(request.grantId, this.index))

    const granteeKey = await client.getPublicKeys({ account: grantee })
    // Verifying the kfrag proves it was made by the grantor, from the grant scope's delegating key, for
    // this grantee's receiving key: a proxy never re-encrypts with a fragment someone else slipped into the
    // bundle. The bundle's keys are the grantor's: its CID is in the grantor's own AccessGranted event.
    const verified = KeyFrag.fromBytes(kfragBytes).verify(
      PublicKey.fromCompressedBytes(bundle.verifyingKey),
      PublicKey.fromCompressedBytes(bundle.delegatingKey),
      PublicKey.fromCompressedBytes(hexToBytes(granteeKey.receivingKey)),
    )
    const cfrag = reencrypt(Capsule.fromBytes(request.capsule), verified)
    this.receipts.push({ grantId: request.grantId, recordId: request.recordId, grantee, at: now })
    return cfrag.toBytes()
  }
}
