/**
 * How the proxy decides and answers one access request. Each step is a small function that either returns
 * what the next needs or throws the refusal with its own code:
 *
 * 1. parse the body strictly (protocol's `parseAccessRequestBody`);
 * 2. verify the EIP-712 signature under this proxy's own domain, and that the request names this proxy;
 * 3. freshness (`issuedAt` within the window, not in the future);
 * 4. the grant, from the index: known, not revoked, the signer is its grantee, the purpose is its purpose,
 *    the record is in its scope, this proxy is in its proxy set;
 * 5. each request is answered once (replay cache keyed on the request's EIP-712 digest);
 * 6. the chain's own `checkAccess` at the latest block (one constant-cost view call) is the final authority;
 * 7. the capsule of the grant's scope level from the record's current (by the chain's version at the latest
 *    block) registered, CID-verified envelope — never one the requester supplies — whose hash must be the
 *    request's `capsuleHash`;
 * 8. this proxy's kfrag from the grant's bundle (checked against the chain, its keys against the KeyRegistry),
 *    opened and verified against the grantor's and grantee's published keys, and applied in a worker thread
 *    (which keeps the opened kfrag for the grant's next request; dropped on revocation);
 * 9. a receipt signed by the operator, appended durably to the receipt log before the answer leaves.
 *
 * @module
 */
import {
  ContractError,
  checkAccess,
  getGrant,
  getPublicKeys,
  KeyNotPublishedError,
  type MedvaultAddresses,
} from '@medvault/chain'
import { consentRegistryAbi } from '@medvault/contracts'
import {
  type AccessReceipt,
  type AccessRequest,
  type AccessResponseBody,
  accessReceiptTypedData,
  accessResponseBody,
  capsuleHash,
  capsuleOf,
  checkFreshness,
  FutureRequestError,
  hashAccessRequest,
  type KfragBundle,
  type KfragSlot,
  kfragFor,
  BaseError as ProtocolBaseError,
  type ProtocolDomain,
  ProxyMismatchError,
  parseAccessRequestBody,
  parseKfragBundle,
  parseRecordEnvelope,
  type RecordEnvelope,
  receiptHash,
  SignatureRecoveryError,
  StaleRequestError,
  verifyAccessRequest,
} from '@medvault/protocol'
import type { Storage } from '@medvault/storage'
import { CID } from '@medvault/storage'
import {
  type Account,
  type Address,
  bytesToHex,
  type Chain,
  type Client,
  ContractFunctionRevertedError,
  type Hex,
  hexToBigInt,
  hexToBytes,
  isAddressEqual,
  type LocalAccount,
  type Transport,
  BaseError as ViemBaseError,
} from 'viem'
import { readContract } from 'viem/actions'
import type { ReceiptAnchors } from './anchors.ts'
import {
  AccessDeniedError,
  BadSignatureError,
  CapsuleMismatchError,
  FutureAccessRequestError,
  GrantExpiredRefusalError,
  GrantNotYetValidRefusalError,
  GrantRevokedRefusalError,
  IndexBehindError,
  InvalidEnvelopeError,
  InvalidKfragBundleError,
  MalformedAccessRequestError,
  NotGranteeError,
  NotInProxySetError,
  PurposeMismatchRefusalError,
  RateLimitedError,
  RecordOutOfScopeRefusalError,
  ReplayedAccessRequestError,
  StaleAccessRequestError,
  UnknownGrantError,
  UnknownRecordError,
  UpstreamUnavailableError,
  WrongProxyError,
} from './errors.ts'
import { type GrantIndex, type IndexedGrant, type IndexedRecord, syncAgeMs } from './grant-index.ts'
import type { PublishedKeys, PublishedKeysCache } from './published-keys.ts'
import type { TokenBuckets } from './rate-limit.ts'
import type { ReceiptLog } from './receipt-log.ts'
import type { ReplayCache } from './replay-cache.ts'
import type { WorkerPool } from './worker-pool.ts'

/**
 * Fault injection for tests only: replaces the cfrag this proxy answers with. See `ProxyComponents.tamper`.
 */
export type CfragTamper = (cfrag: Uint8Array, context: { grantId: Hex; recordId: Hex }) => Uint8Array

/** Everything a request is decided with; built once per `start()`. */
export interface AccessContext {
  self: Address
  domain: ProtocolDomain
  account: LocalAccount
  client: Client<Transport, Chain | undefined, Account | undefined>
  addresses: MedvaultAddresses
  storage: Pick<Storage, 'getEnvelope'>
  index: GrantIndex
  /** The index's `confirmations`: how far below the head it reads. */
  confirmations: number
  replay: ReplayCache
  documents: DocumentCache
  /** The KeyRegistry keys of grantors and grantees, dropped as the index reads their `KeysPublished`. */
  keys: PublishedKeysCache
  /**
   * How long after the start of the index's last complete pass (`index.syncedAt`) `keys` is still used. Past
   * it (the index halted, or far behind) every request reads the keys at the latest block and keeps none.
   */
  keyCacheMaxAgeMs: number
  pool: WorkerPool
  receipts: ReceiptLog
  /** Inclusion proofs of anchored receipts; absent when this proxy does not anchor. */
  anchors?: ReceiptAnchors | undefined
  /** Per-requester buckets (by recovered address), taken right after the signature is checked. */
  requesterLimit?: TokenBuckets | undefined
  /** Told after each receipt is written (the anchoring loop counts them). */
  onReceipt?: (() => void) | undefined
  freshnessSeconds: number
  maxClockSkewSeconds: number
  fetchTimeoutMs: number
  now: () => number
  tamper?: CfragTamper | undefined
}

/** Decides one request (its raw JSON body) and returns the answer, or throws a `ProxyRefusalError`. */
export async function answerAccessRequest(ctx: AccessContext, body: unknown): Promise<AccessResponseBody> {
  const { request, signature } = parseRequest(body)
  const signer = await authenticate(ctx, request, signature)
  limitRequester(ctx, signer)
  checkFresh(ctx, request)
  const grant = await lookupGrant(ctx, request.grantId)
  checkGrantTerms(grant, request, signer)
  const record = await lookupRecord(ctx, grant, request.recordId)
  const members = await lookupProxySet(ctx, grant)
  const requestHash = hashAccessRequest(ctx.domain, request)
  claimOnce(ctx, request, requestHash)
  // The chain's verdict, the record's current capsule and the published keys are independent reads: they go
  // out together (one round trip to the chain instead of five in a row). Refusals are still decided in the
  // order of the steps above: the chain's verdict first, then the bundle, the capsule, the keys.
  const verdict = settle(confirmOnChain(ctx, request, signer))
  const material = settle(
    (async () => {
      const bundle = await loadBundle(ctx, grant, members)
      const slot = slotFor(ctx, grant, bundle, request.recordId)
      const [capsule, keys] = await Promise.all([
        settle(currentCapsule(ctx, record, slot, request)),
        settle(publishedKeys(ctx, grant, bundle)),
      ])
      return { slot, capsule: unwrap(capsule), keys: unwrap(keys) }
    })(),
  )
  unwrap(await verdict)
  const { slot, capsule, keys } = unwrap(await material)
  const receipt: AccessReceipt = {
    proxy: ctx.self,
    grantId: request.grantId,
    recordId: request.recordId,
    requester: signer,
    capsuleHash: request.capsuleHash,
    requestHash,
    at: ctx.now(),
  }
  // The receipt does not depend on the cfrag: the job goes to its worker thread first, and the receipt is
  // signed on this thread meanwhile. It is logged only once the cfrag exists (a refused request has none).
  const reencrypted = settle(reencryptWithKfrag(ctx, request, grant, slot, capsule, keys))
  const signed = settle(signReceipt(ctx, receipt))
  const cfrag = unwrap(await reencrypted)
  const receiptSignature = unwrap(await signed)
  const answered =
    ctx.tamper === undefined
      ? cfrag
      : ctx.tamper(cfrag, { grantId: request.grantId, recordId: request.recordId })
  await ctx.receipts.append({ receipt, signature: receiptSignature })
  ctx.onReceipt?.()
  return accessResponseBody({ cfrag: answered, receipt, signature: receiptSignature })
}

/**
 * The operator's EIP-712 signature of the receipt: over its digest when the account signs hashes (a local
 * private-key account), which skips viem's generic typed-data encoding; else through `signTypedData`.
 */
function signReceipt(ctx: AccessContext, receipt: AccessReceipt): Promise<Hex> {
  const { account } = ctx
  if (account.sign !== undefined) return account.sign({ hash: receiptHash(ctx.domain, receipt) })
  return account.signTypedData(accessReceiptTypedData(ctx.domain, receipt))
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown }

/** A promise that never rejects, so reads started together leave no unhandled rejection behind. */
function settle<T>(promise: Promise<T>): Promise<Settled<T>> {
  return promise.then(
    (value) => ({ ok: true, value }),
    (error: unknown) => ({ ok: false, error }),
  )
}

function unwrap<T>(settled: Settled<T>): T {
  if (settled.ok) return settled.value
  throw settled.error
}

function parseRequest(body: unknown): { request: AccessRequest; signature: Hex } {
  try {
    return parseAccessRequestBody(body)
  } catch (err) {
    // The protocol's messages name the field and what was expected, never the value found.
    const reason = err instanceof ProtocolBaseError ? err.shortMessage : 'not an access request'
    throw new MalformedAccessRequestError({ reason, cause: err })
  }
}

async function authenticate(ctx: AccessContext, request: AccessRequest, signature: Hex): Promise<Address> {
  try {
    // The grantee of the grant the request names, if the index holds it already (no read for an unsigned
    // request): its key is checked first, a cheaper check than a recovery. The signer is still recovered
    // exactly; the grant's terms are checked against it below.
    const candidate = ctx.index.grant(request.grantId)?.grantee
    return await verifyAccessRequest({ domain: ctx.domain, proxy: ctx.self, request, signature, candidate })
  } catch (err) {
    if (err instanceof ProxyMismatchError) {
      throw new WrongProxyError({ expected: ctx.self, received: request.proxy, cause: err })
    }
    if (err instanceof SignatureRecoveryError) throw new BadSignatureError({ cause: err })
    throw new MalformedAccessRequestError({
      reason: err instanceof ProtocolBaseError ? err.shortMessage : 'unreadable field',
      cause: err,
    })
  }
}

/** One token of the signer's bucket: a valid signature costs a flooder an account, not just a socket. */
export function limitRequester(ctx: AccessContext, signer: Address): void {
  const wait = ctx.requesterLimit?.take(signer.toLowerCase()) ?? 0
  if (wait > 0) throw new RateLimitedError({ by: 'requester', retryAfterSeconds: wait })
}

function checkFresh(ctx: AccessContext, request: AccessRequest): void {
  const now = ctx.now()
  try {
    checkFreshness(request.issuedAt, now, ctx.freshnessSeconds, ctx.maxClockSkewSeconds)
  } catch (err) {
    if (err instanceof StaleRequestError) {
      throw new StaleAccessRequestError({
        issuedAt: request.issuedAt,
        now,
        windowSeconds: ctx.freshnessSeconds,
      })
    }
    if (err instanceof FutureRequestError) {
      throw new FutureAccessRequestError({
        issuedAt: request.issuedAt,
        now,
        maxSkewSeconds: ctx.maxClockSkewSeconds,
      })
    }
    throw err
  }
}

/**
 * The grant from the index. On a miss the index first reads up to the head as the chain reports it now (a
 * grant mined a moment ago); a grant the chain holds but the index may not read yet (`confirmations`) is
 * 503 index_behind, not the final 404.
 */
async function lookupGrant(ctx: AccessContext, grantId: Hex): Promise<IndexedGrant> {
  const known = ctx.index.grant(grantId)
  if (known !== undefined) return known
  const head = await latestBlock(ctx)
  await catchUp(ctx, head)
  const grant = ctx.index.grant(grantId)
  if (grant !== undefined) return grant
  if (
    ctx.confirmations > 0 &&
    (await onChain(() => getGrant(ctx.client, { addresses: ctx.addresses, grantId })))
  ) {
    throw new IndexBehindError({ grantId })
  }
  throw new UnknownGrantError({ grantId })
}

function checkGrantTerms(grant: IndexedGrant, request: AccessRequest, signer: Address): void {
  const { grantId } = request
  if (grant.revoked) throw new GrantRevokedRefusalError({ grantId })
  if (!isAddressEqual(grant.grantee, signer)) throw new NotGranteeError({ grantId, signer })
  if (grant.purpose !== request.purpose)
    throw new PurposeMismatchRefusalError({ grantId, purpose: request.purpose })
  // A record grant names its record: any other record id is refused before anything is read for it.
  if (grant.scopeKind === 'record' && grant.scopeTarget !== request.recordId.toLowerCase()) {
    throw new RecordOutOfScopeRefusalError({ grantId, recordId: request.recordId })
  }
  if (grant.scopeKind === 'records' && !grant.records.includes(request.recordId.toLowerCase() as Hex)) {
    throw new RecordOutOfScopeRefusalError({ grantId, recordId: request.recordId })
  }
}

/** The record from the index, and the tag/owner part of the scope check (which needs the record). */
async function lookupRecord(ctx: AccessContext, grant: IndexedGrant, recordId: Hex): Promise<IndexedRecord> {
  let record = ctx.index.record(recordId)
  if (record === undefined) {
    const head = await latestBlock(ctx)
    await catchUp(ctx, head)
    record = ctx.index.record(recordId)
    if (record === undefined) {
      if (ctx.confirmations > 0 && (await readRecord(ctx, recordId, head)) !== undefined) {
        throw new IndexBehindError({ recordId })
      }
      throw new UnknownRecordError({ recordId })
    }
  }
  const ownedByGrantor = isAddressEqual(record.owner, grant.grantor)
  const tagged = grant.scopeKind !== 'tag' || record.tag === grant.scopeTarget.slice(0, 18)
  if (!ownedByGrantor || !tagged) {
    throw new RecordOutOfScopeRefusalError({ grantId: grant.grantId, recordId })
  }
  return record
}

async function lookupProxySet(ctx: AccessContext, grant: IndexedGrant): Promise<readonly Address[]> {
  let members = ctx.index.proxySet(grant.proxySetId)
  if (members === undefined) {
    await catchUp(ctx, await latestBlock(ctx))
    members = ctx.index.proxySet(grant.proxySetId)
  }
  if (members === undefined || !members.some((m) => isAddressEqual(m, ctx.self))) {
    throw new NotInProxySetError({ grantId: grant.grantId, proxy: ctx.self })
  }
  return members
}

/** Each request once: claimed synchronously, so two concurrent copies cannot both pass. */
function claimOnce(ctx: AccessContext, request: AccessRequest, requestHash: Hex): void {
  const expiresAt = request.issuedAt + ctx.freshnessSeconds
  if (!ctx.replay.claim(requestHash, expiresAt, ctx.now()))
    throw new ReplayedAccessRequestError({ requestHash })
}

const chainRefusals: Record<string, (grantId: Hex, recordId: Hex, purpose: number, cause: unknown) => Error> =
  {
    GrantNotFound: (grantId, _r, _p, cause) => new UnknownGrantError({ grantId, cause }),
    GrantRevoked: (grantId, _r, _p, cause) => new GrantRevokedRefusalError({ grantId, cause }),
    GrantExpired: (grantId, _r, _p, cause) => new GrantExpiredRefusalError({ grantId, cause }),
    GrantNotYetValid: (grantId, _r, _p, cause) => new GrantNotYetValidRefusalError({ grantId, cause }),
    PurposeMismatch: (grantId, _r, purpose, cause) =>
      new PurposeMismatchRefusalError({ grantId, purpose, cause }),
    RecordOutOfScope: (grantId, recordId, _p, cause) =>
      new RecordOutOfScopeRefusalError({ grantId, recordId, cause }),
    RecordNotFound: (grantId, recordId, _p, cause) =>
      new RecordOutOfScopeRefusalError({ grantId, recordId, cause }),
  }

/**
 * The chain's verdict at the latest block: revocations, expiry (chain time), break-glass windows and
 * ownership as they are now, whatever the index has seen so far.
 */
async function confirmOnChain(ctx: AccessContext, request: AccessRequest, signer: Address): Promise<void> {
  const { grantId, recordId, purpose } = request
  try {
    await checkAccess(ctx.client, { addresses: ctx.addresses, grantId, recordId, grantee: signer, purpose })
  } catch (err) {
    if (err instanceof ContractError) {
      if (err.errorName === 'GranteeMismatch') throw new NotGranteeError({ grantId, signer, cause: err })
      const refusal = chainRefusals[err.errorName]
      if (refusal !== undefined) throw refusal(grantId, recordId, purpose, err)
      throw new AccessDeniedError({ grantId, reason: err.errorName, cause: err })
    }
    throw new UpstreamUnavailableError({ what: 'chain', cause: err })
  }
}

async function catchUp(ctx: AccessContext, toBlock: bigint): Promise<void> {
  try {
    await ctx.index.catchUp(toBlock)
  } catch (err) {
    throw new UpstreamUnavailableError({ what: 'chain', cause: err })
  }
}

/**
 * The head as the chain reports it now. A raw `eth_blockNumber`: viem's `getBlockNumber` hands a caller the
 * answer of a request already in flight on the same client, which may have left before the block the
 * requester just saw was mined, so a catch-up to it would stop short of that block.
 */
async function latestBlock(ctx: AccessContext): Promise<bigint> {
  try {
    return hexToBigInt(await ctx.client.request({ method: 'eth_blockNumber' }))
  } catch (err) {
    throw new UpstreamUnavailableError({ what: 'chain', cause: err })
  }
}

/** Whether a view call finds its grant or record: a contract refusal is no, a failed call 503. */
async function onChain(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read()
    return true
  } catch (err) {
    if (err instanceof ContractError) return false
    throw new UpstreamUnavailableError({ what: 'chain', cause: err })
  }
}

/**
 * The chain's record state at `blockNumber` (one view call), undefined when no such record is registered.
 * Read at a block the index can then be caught up to, so that the two agree on what "current" is.
 */
async function readRecord(
  ctx: AccessContext,
  recordId: Hex,
  at: bigint | 'latest',
): Promise<{ version: number } | undefined> {
  try {
    return await readContract(ctx.client, {
      address: ctx.addresses.consentRegistry,
      abi: consentRegistryAbi,
      functionName: 'getRecord',
      args: [recordId],
      ...(at === 'latest' ? { blockTag: 'latest' as const } : { blockNumber: at }),
    })
  } catch (err) {
    if (err instanceof ViemBaseError && err.walk((e) => e instanceof ContractFunctionRevertedError)) {
      return undefined
    }
    throw new UpstreamUnavailableError({ what: 'chain', cause: err })
  }
}

/** The grant's kfrag bundle, checked against the grant as the chain registered it. */
async function loadBundle(
  ctx: AccessContext,
  grant: IndexedGrant,
  members: readonly Address[],
): Promise<KfragBundle> {
  const { grantId } = grant
  const invalid = (reason: string, cause?: unknown) => new InvalidKfragBundleError({ grantId, reason, cause })
  const cid = decodeCid(grant.kfragsCid)
  if (cid === undefined) throw invalid('the registered bundle CID is not a CID')
  const bundle = await ctx.documents.get(
    ctx,
    cid,
    'bundle',
    (value) => {
      try {
        return parseKfragBundle(value)
      } catch (err) {
        throw invalid('not a kfrag bundle v1', err)
      }
    },
    (err) => invalid('its CID names no dag-cbor document', err),
  )
  if (bundle.grantId.toLowerCase() !== grantId.toLowerCase()) throw invalid('it names another grant')
  if (!isAddressEqual(bundle.grantor, grant.grantor)) throw invalid('it names another grantor')
  if (!isAddressEqual(bundle.grantee, grant.grantee)) throw invalid('it names another grantee')
  if (bundle.threshold !== grant.threshold) throw invalid('its threshold is not the grant’s')
  const sameSet =
    bundle.proxies.length === members.length && bundle.proxies.every((p, i) => isAddressEqual(p, members[i]!))
  if (!sameSet) throw invalid('its proxy list is not the grant’s proxy set')
  return bundle
}

/** This proxy's slot, whose scope must be the grant's own: a record grant never uses a tag or all kfrag. */
function slotFor(ctx: AccessContext, grant: IndexedGrant, bundle: KfragBundle, recordId: Hex): KfragSlot {
  const invalid = (reason: string, cause?: unknown) =>
    new InvalidKfragBundleError({ grantId: grant.grantId, reason, cause })
  let slot: KfragSlot
  try {
    slot = kfragFor(bundle, { recordId, proxy: ctx.self })
  } catch (err) {
    throw invalid('it holds no kfrag for this record and proxy', err)
  }
  const scope = slot.scope
  const matches =
    grant.scopeKind === 'record' || grant.scopeKind === 'records'
      ? scope.kind === 'record' && scope.recordId.toLowerCase() === recordId.toLowerCase()
      : grant.scopeKind === 'tag'
        ? scope.kind === 'tag' && scope.tag.toLowerCase() === grant.scopeTarget.slice(0, 18)
        : grant.scopeKind === 'all' && scope.kind === 'all'
  if (!matches) throw invalid(`its ${scope.kind} kfrags do not match the grant's ${grant.scopeKind} scope`)
  return slot
}

/**
 * The capsule of the slot's level in the record's current registered envelope, checked against the request.
 * "Current" is the chain's word at the latest block (`getRecord`'s version, one view call): an index that has
 * not read the newest version yet catches up first, and never serves the capsule of a superseded version.
 */
async function currentCapsule(
  ctx: AccessContext,
  record: IndexedRecord,
  slot: KfragSlot,
  request: AccessRequest,
): Promise<Uint8Array> {
  const current = await currentVersion(ctx, record)
  const capsule = await capsuleAt(ctx, current, slot)
  if (hashOfCapsule(capsule) !== request.capsuleHash.toLowerCase()) {
    throw new CapsuleMismatchError({ recordId: record.recordId })
  }
  return capsule
}

/**
 * `capsuleHash` of the capsules of cached envelopes, which are the same objects on every request (parsed
 * documents never change): the hash checks both of the capsule's points (a square root each) before hashing,
 * work a grant's every request would otherwise repeat.
 */
const capsuleHashes = new WeakMap<Uint8Array, Hex>()

function hashOfCapsule(capsule: Uint8Array): Hex {
  let hash = capsuleHashes.get(capsule)
  if (hash === undefined) {
    hash = capsuleHash(capsule)
    capsuleHashes.set(capsule, hash)
  }
  return hash
}

async function currentVersion(ctx: AccessContext, record: IndexedRecord): Promise<IndexedRecord> {
  const { recordId } = record
  // The common case in one call: the chain's version now is the one the index holds. Any version the chain
  // reports is at least as new as any the index read, so equal means current.
  const now = await readRecord(ctx, recordId, 'latest')
  if (now === undefined) throw new UnknownRecordError({ recordId })
  if (record.version === now.version) return record
  // Otherwise the version is read again at a known head, so that the index can be caught up to that block.
  const head = await latestBlock(ctx)
  const onChainRecord = await readRecord(ctx, recordId, head)
  if (onChainRecord === undefined) throw new UnknownRecordError({ recordId })
  const { version } = onChainRecord
  if (record.version === version) return record
  // The version was seen at `head`: the index reads at least that far before it is asked again.
  await catchUp(ctx, head)
  const latest = ctx.index.record(recordId)
  if (latest?.version === version) return latest
  throw new IndexBehindError({ recordId })
}

async function capsuleAt(ctx: AccessContext, record: IndexedRecord, slot: KfragSlot): Promise<Uint8Array> {
  const { recordId } = record
  const cid = decodeCid(record.cid)
  if (cid === undefined) throw new InvalidEnvelopeError({ recordId })
  const envelope = await ctx.documents.get<RecordEnvelope>(
    ctx,
    cid,
    'envelope',
    (value) => {
      try {
        return parseRecordEnvelope(value)
      } catch (err) {
        throw new InvalidEnvelopeError({ recordId, cause: err })
      }
    },
    (err) => new InvalidEnvelopeError({ recordId, cause: err }),
  )
  try {
    return capsuleOf(envelope, slot.level)
  } catch (err) {
    throw new InvalidEnvelopeError({ recordId, cause: err })
  }
}

/** The two keys a kfrag is checked against, each as its owner publishes it in the KeyRegistry. */
interface GrantKeys {
  /** The grantor's kfrag verifying key. */
  verifyingKey: Uint8Array
  /** The grantee's Umbral receiving key. */
  receivingKey: Uint8Array
}

/**
 * The grantor's verifying key and the grantee's receiving key from the KeyRegistry, which the bundle's must
 * equal: the proxy applies only kfrags the grantor signed with its published key, made for the key the
 * grantee publishes, so a cfrag never goes to a key its grantee did not choose.
 */
async function publishedKeys(
  ctx: AccessContext,
  grant: IndexedGrant,
  bundle: KfragBundle,
): Promise<GrantKeys> {
  const [grantor, grantee] = await Promise.all([
    keysOf(ctx, grant, grant.grantor, 'grantor'),
    keysOf(ctx, grant, grant.grantee, 'grantee'),
  ])
  const invalid = (reason: string) => new InvalidKfragBundleError({ grantId: grant.grantId, reason })
  if (grantor.verifyingKey.toLowerCase() !== bytesToHex(bundle.verifyingKey)) {
    throw invalid("its verifying key is not the grantor's published key")
  }
  if (grantee.receivingKey.toLowerCase() !== bytesToHex(bundle.receivingKey)) {
    throw invalid("its receiving key is not the grantee's published key")
  }
  return { verifyingKey: bundle.verifyingKey, receivingKey: bundle.receivingKey }
}

async function keysOf(
  ctx: AccessContext,
  grant: IndexedGrant,
  account: Address,
  role: 'grantor' | 'grantee',
): Promise<PublishedKeys> {
  const read = (blockNumber: bigint | undefined) =>
    getPublicKeys(ctx.client, { addresses: ctx.addresses, account, blockNumber })
  try {
    // The cache learns of rotations only through the index: an index that stopped reading the chain (a
    // reorganisation deeper than `confirmations`, a node whose eth_getLogs keeps failing) would leave a
    // rotated, perhaps compromised, key trusted for good. So once its last complete pass is too old, the keys
    // are read at the latest block on every request, as the chain has them now, and not kept.
    // `syncedAt` is `performance.now()`: a wall clock stepped back (NTP, an operator) cannot keep a halted
    // index looking live. The same rule is the `index.live` the proxy's health reports.
    const age = syncAgeMs(ctx.index)
    if (age === undefined || age > ctx.keyCacheMaxAgeMs) return await read(undefined)
    // At the block the index has read: publications up to it are in the answer, later ones reach the
    // cache's forget (see published-keys.ts).
    return await ctx.keys.get(account, ctx.index.deliveredBlock, read)
  } catch (err) {
    if (err instanceof KeyNotPublishedError) {
      throw new InvalidKfragBundleError({
        grantId: grant.grantId,
        reason: `the ${role} publishes no keys`,
        cause: err,
      })
    }
    throw new UpstreamUnavailableError({ what: 'chain', cause: err })
  }
}

const workerFailures: Record<'kfrag_sealed' | 'kfrag_unverified', string> = {
  kfrag_sealed: 'the kfrag for this proxy does not open (wrong key, slot or grant)',
  kfrag_unverified: 'the kfrag for this proxy does not verify against the grant’s keys',
} as const

async function reencryptWithKfrag(
  ctx: AccessContext,
  request: AccessRequest,
  grant: IndexedGrant,
  slot: KfragSlot,
  capsule: Uint8Array,
  keys: GrantKeys,
): Promise<Uint8Array> {
  const outcome = await ctx.pool.run({
    sealedKfrag: slot.sealedKfrag,
    aad: slot.aad,
    capsule,
    verifyingKey: keys.verifyingKey,
    delegatingKey: slot.delegatingKey,
    receivingKey: keys.receivingKey,
    grantId: grant.grantId,
    cacheUntil: grant.expiry,
  })
  if (outcome.ok) return outcome.cfrag
  if (outcome.failure === 'capsule_invalid') throw new InvalidEnvelopeError({ recordId: request.recordId })
  throw new InvalidKfragBundleError({ grantId: request.grantId, reason: workerFailures[outcome.failure] })
}

function decodeCid(bytes: Hex): CID | undefined {
  try {
    return CID.decode(hexToBytes(bytes))
  } catch {
    return undefined
  }
}

/**
 * Envelopes and bundles by CID. Content under a CID never changes, so parsed documents are cached (bounded,
 * least recently used first out); failures are not cached.
 */
export interface DocumentCache {
  /**
   * @param parse - checks the decoded value; throws the refusal for a document that is not one.
   * @param invalid - the refusal for a CID the store refuses as no envelope at all (wrong codec, bad CID).
   */
  get<T>(
    ctx: AccessContext,
    cid: CID,
    kind: 'envelope' | 'bundle',
    parse: (value: unknown) => T,
    invalid: (cause: unknown) => Error,
  ): Promise<T>
}

export function createDocumentCache(capacity = 1024): DocumentCache {
  const cache = new Map<string, Promise<unknown>>()
  return {
    get(ctx, cid, kind, parse, invalid) {
      const id = `${kind}:${cid.toString()}`
      const hit = cache.get(id)
      if (hit !== undefined) {
        cache.delete(id)
        cache.set(id, hit)
        return hit as never
      }
      const loading = fetchDocument(ctx, cid, invalid).then(parse)
      cache.set(id, loading)
      loading.catch(() => cache.delete(id))
      if (cache.size > capacity) cache.delete(cache.keys().next().value as string)
      return loading
    },
  }
}

/** Storage errors that say the CID itself is unusable, not that the store failed to answer. */
const INVALID_DOCUMENT_ERRORS = new Set([
  'NotAnEnvelopeError',
  'InvalidCidError',
  'UnverifiableCidError',
  'UnsupportedCodecError',
])

async function fetchDocument(
  ctx: AccessContext,
  cid: CID,
  invalid: (cause: unknown) => Error,
): Promise<unknown> {
  try {
    return await ctx.storage.getEnvelope(cid, { signal: AbortSignal.timeout(ctx.fetchTimeoutMs) })
  } catch (err) {
    if (err instanceof Error && INVALID_DOCUMENT_ERRORS.has(err.name)) throw invalid(err)
    throw new UpstreamUnavailableError({ what: 'storage', cause: err })
  }
}
