/**
 * A grantee's read: find the grant that covers the record, check it on chain, ask the grant's proxies
 * (hedged: M at once, one more after a short delay or at once on a failure), verify every cfrag and receipt,
 * and open the data key with M verified cfrags.
 *
 * Nothing a proxy returns is trusted: a cfrag must pass its Umbral proof against the capsule of the
 * registered envelope, the grantor's verifying key, the scope's delegating key and the reader's receiving
 * key; the receipt must be signed by the proxy that was asked, for exactly this request. A proxy that is
 * down, slow or lying costs time, never the read, while M honest proxies answer.
 *
 * @module
 */
import {
  EmergencyAccessNotActiveError as ChainEmergencyAccessNotActiveError,
  GrantExpiredError as ChainGrantExpiredError,
  GrantNotYetValidError as ChainGrantNotYetValidError,
  GrantRevokedError as ChainGrantRevokedError,
  checkAccess,
  type GrantListing,
  getProxy,
  getProxySet,
  type Purpose,
} from '@medvault/chain'
import { publicKeys } from '@medvault/crypto'
import {
  CapsuleFrag,
  decryptReencrypted,
  PublicKey,
  SecretKey,
  type VerifiedCapsuleFrag,
} from '@medvault/crypto/umbral'
import {
  type AccessReceipt,
  type AccessRequest,
  accessRequestBody,
  accessRequestTypedData,
  bundleEntryFor,
  capsuleHash,
  capsuleOf,
  hashAccessRequest,
  type KfragBundle,
  normalizeSignature,
  type ProtocolDomain,
  parseKfragBundle,
  randomNonce,
  verifyReceipt,
  wrappedKeyOf,
} from '@medvault/protocol'
import { type Address, type Hex, isAddressEqual } from 'viem'
import { cidFromHex, type LoadedRecord, parsedCapsule, storageIntegrity } from './content.ts'
import type { VaultContext } from './context.ts'
import {
  EmergencyAccessClosedError,
  GrantExpiredError,
  GrantNotYetValidError,
  GrantRevokedError,
  IntegrityError,
  InvalidOptionError,
  KeyMismatchError,
  NoGrantError,
  NotEnoughProxiesError,
  ProxyError,
} from './errors.ts'
import { covers, toGrant } from './grants.ts'
import { hedge } from './hedge.ts'
import { equalBytes, publishedKeysOf } from './identity.ts'
import { parsePurpose } from './options.ts'
import { displayEndpoint, type ProxyEndpoint, requestReencryption } from './proxy-client.ts'
import type { VaultProgressEvent } from './types.ts'

/** What a verified proxy answer leaves: its cfrag and its signed receipt. */
export interface VerifiedAnswer {
  proxy: Address
  cfrag: VerifiedCapsuleFrag
  receipt: AccessReceipt
  signature: Hex
}

/** Codes a proxy answers with when the grant itself does not allow the read: the chain says why. */
const GRANT_STATE_CODES = new Set([
  'grant_revoked',
  'grant_expired',
  'grant_not_yet_valid',
  'not_grantee',
  'record_out_of_scope',
  'purpose_mismatch',
  'unknown_grant',
])

/**
 * Opens the data key of the current version of a record the reader does not own, through the proxies.
 *
 * @throws {NoGrantError} no grant covers it; {@link GrantRevokedError} / {@link GrantExpiredError} /
 *   {@link GrantNotYetValidError} the covering grant does not hold; {@link NotEnoughProxiesError} fewer
 *   than M proxies returned a verified re-encryption; {@link IntegrityError} the bundle or data key do not
 *   check out.
 */
export async function openAsGrantee(
  ctx: VaultContext,
  loaded: LoadedRecord,
  options: {
    purpose?: Purpose | number | undefined
    signal?: AbortSignal | undefined
    onProgress?: ((event: VaultProgressEvent) => void) | undefined
  },
): Promise<{ dek: Uint8Array; grantId: Hex; answers: VerifiedAnswer[] }> {
  const { signal, onProgress } = options
  const { recordId } = loaded
  if (loaded.version !== loaded.currentVersion) {
    throw new InvalidOptionError({
      option: 'version',
      expected: `the current version (${loaded.currentVersion}): proxies re-encrypt only the current version for grantees`,
    })
  }
  const purpose = options.purpose === undefined ? undefined : parsePurpose(options.purpose)
  const grants = await coveringGrants(ctx, loaded, purpose)
  // The grant the chain will most likely allow (the newest covering one not known revoked): its bundle,
  // proxies and grantor keys are read while the chain is asked whether it holds, instead of after.
  const likely = grants.find((l) => !l.revoked)
  const early = likely === undefined ? undefined : startReads(ctx, likely, signal)
  const grant = await chooseGrant(ctx, loaded, grants)
  signal?.throwIfAborted()

  // Each read is awaited (and its error thrown) in the order the checks below need it.
  const { membersRead, grantorKeysRead, endpointsRead, bundleRead } =
    early !== undefined && early.grant === grant ? early : startReads(ctx, grant, signal)

  let bundle: KfragBundle
  try {
    bundle = parseKfragBundle(await bundleRead)
  } catch (err) {
    const mapped = storageIntegrity(err, 'kfrag bundle', recordId)
    if (mapped !== err || !(err instanceof Error) || err.name.endsWith('AbortError')) throw mapped
    if (signal?.aborted === true) throw err
    throw new IntegrityError({
      target: 'kfrag bundle',
      recordId,
      reason: 'the kfrag bundle is not valid',
      cause: err,
    })
  }
  const keys = await ctx.keys()
  const mine = publicKeysOf(keys)
  const members = await membersRead
  if (
    bundle.grantId.toLowerCase() !== grant.grantId.toLowerCase() ||
    !isAddressEqual(bundle.grantor, grant.grantor) ||
    !isAddressEqual(bundle.grantee, ctx.address) ||
    bundle.threshold !== grant.threshold ||
    bundle.proxies.length !== members.length ||
    bundle.proxies.some((p, i) => !isAddressEqual(p, members[i] as Address))
  ) {
    throw new IntegrityError({
      target: 'kfrag bundle',
      recordId,
      reason: 'the kfrag bundle does not match its grant',
    })
  }
  if (!equalBytes(bundle.receivingKey, mine.receiving)) {
    throw new KeyMismatchError({ account: ctx.address, what: 'the key this grant was made for' })
  }
  // The kfrags (and so the cfrags) must be signed by the grantor's key as published on chain, not by
  // whatever key a bundle names.
  const grantorKeys = await grantorKeysRead
  if (!equalBytes(bundle.verifyingKey, grantorKeys.verifying)) {
    throw new IntegrityError({
      target: 'kfrag bundle',
      recordId,
      reason: "the bundle's verifying key is not the one the grantor published",
    })
  }
  let entry: ReturnType<typeof bundleEntryFor>
  try {
    entry = bundleEntryFor(bundle, recordId)
  } catch (cause) {
    throw new IntegrityError({
      target: 'kfrag bundle',
      recordId,
      reason: 'the kfrag bundle has no entry for the record',
      cause,
    })
  }
  const level = entry.scope.kind
  if (
    level === 'tag' &&
    (loaded.chainTag === undefined ||
      (entry.scope.kind === 'tag' && entry.scope.tag.toLowerCase() !== loaded.chainTag.toLowerCase()))
  ) {
    throw new IntegrityError({
      target: 'kfrag bundle',
      recordId,
      reason: "the bundle's tag is not the record's",
    })
  }
  let capsuleBytes: Uint8Array
  let wrapped: Uint8Array
  try {
    capsuleBytes = capsuleOf(loaded.envelope, level)
    wrapped = wrappedKeyOf(loaded.envelope, level)
  } catch (cause) {
    throw new IntegrityError({
      target: 'envelope',
      recordId,
      reason: `the envelope has no ${level} capsule`,
      cause,
    })
  }
  const capsule = parsedCapsule(capsuleBytes)
  const verifyingPk = PublicKey.fromCompressedBytes(bundle.verifyingKey)
  const delegatingPk = PublicKey.fromCompressedBytes(entry.delegatingKey)
  const receivingPk = PublicKey.fromCompressedBytes(mine.receiving)
  const hash = capsuleHash(capsuleBytes)
  const domain: ProtocolDomain = { chainId: ctx.chainId, verifyingContract: ctx.addresses.consentRegistry }
  const grantPurpose = typeof grant.purpose === 'number' ? grant.purpose : parsePurpose(grant.purpose)

  // The set's members, which the bundle was checked to name in the same order.
  const endpoints = await endpointsRead
  // Spread the load: start at a random member; the order after that is the set's.
  const start = Math.floor(Math.random() * endpoints.length)
  const candidates = [...endpoints.slice(start), ...endpoints.slice(0, start)]

  /** One request to one proxy, its answer verified. */
  const askOnce = async (
    proxy: ProxyEndpoint & { retired?: boolean },
    attemptSignal: AbortSignal,
  ): Promise<VerifiedAnswer> => {
    if (proxy.retired === true)
      throw new ProxyError({ proxy: proxy.address, endpoint: undefined, code: 'retired' })
    const request: AccessRequest = {
      proxy: proxy.address,
      grantId: grant.grantId,
      recordId,
      capsuleHash: hash,
      purpose: grantPurpose,
      issuedAt: Math.floor(Date.now() / 1000),
      nonce: randomNonce(),
    }
    const signature = await signRequest(ctx, domain, request)
    const answer = await requestReencryption(proxy, accessRequestBody(request, signature), {
      signal: attemptSignal,
      ...(ctx.fetch === undefined ? {} : { fetch: ctx.fetch }),
    })
    const shown = displayEndpoint(proxy.endpoint)
    try {
      await verifyReceipt({
        domain,
        receipt: answer.receipt,
        signature: answer.signature,
        proxy: proxy.address,
      })
      const r = answer.receipt
      if (
        r.grantId.toLowerCase() !== request.grantId.toLowerCase() ||
        r.recordId.toLowerCase() !== recordId.toLowerCase() ||
        !isAddressEqual(r.requester, ctx.address) ||
        r.capsuleHash.toLowerCase() !== hash.toLowerCase() ||
        r.requestHash.toLowerCase() !== hashAccessRequest(domain, request).toLowerCase()
      ) {
        throw new Error('the receipt is for another request')
      }
    } catch (cause) {
      throw new ProxyError({ proxy: proxy.address, endpoint: shown, code: 'bad_receipt' }, { cause })
    }
    let cfrag: VerifiedCapsuleFrag
    try {
      cfrag = CapsuleFrag.fromBytes(answer.cfrag).verify(capsule, verifyingPk, delegatingPk, receivingPk)
    } catch (cause) {
      throw new ProxyError({ proxy: proxy.address, endpoint: shown, code: 'bad_cfrag' }, { cause })
    }
    return { proxy: proxy.address, cfrag, receipt: answer.receipt, signature: answer.signature }
  }

  const result = await hedge<ProxyEndpoint & { retired?: boolean }, VerifiedAnswer>({
    candidates,
    needed: bundle.threshold,
    delayMs: ctx.hedgeDelayMs,
    attemptTimeoutMs: ctx.proxyTimeoutMs,
    signal,
    onStart: (proxy, reason) => onProgress?.({ type: 'access:request', proxy: proxy.address, reason }),
    onSettle: (outcome) =>
      onProgress?.({
        type: 'access:answer',
        proxy: outcome.candidate.address,
        ok: outcome.ok,
        ...(outcome.ok ? {} : { code: outcome.error instanceof ProxyError ? outcome.error.code : 'error' }),
      }),
    // A proxy catches up with the chain itself when a grant or version is newer than its index (or answers
    // 503 index_behind, which hedges to another): no retry of the same proxy here.
    attempt: (proxy, attemptSignal) => askOnce(proxy, attemptSignal),
  })

  if (!result.ok) {
    const errors = result.failures.map((f) =>
      f.error instanceof ProxyError
        ? f.error
        : new ProxyError(
            {
              proxy: f.candidate.address,
              endpoint: displayEndpoint(f.candidate.endpoint),
              code: f.error instanceof Error && f.error.name === 'AttemptTimeoutError' ? 'timeout' : 'error',
            },
            { cause: f.error },
          ),
    )
    // Proxies refusing the grant itself (revoked in a block after our check, say): the chain says why.
    if (errors.some((e) => GRANT_STATE_CODES.has(e.code))) {
      await assertGrantHolds(ctx, grant, recordId, grantPurpose)
    }
    throw new NotEnoughProxiesError({ needed: bundle.threshold, verified: result.successes.length, errors })
  }

  const answers = result.successes.map((s) => s.value)
  let dek: Uint8Array
  try {
    dek = decryptReencrypted(
      SecretKey.fromBEBytes(keys.receivingSecretKey),
      delegatingPk,
      capsule,
      answers.map((a) => a.cfrag),
      wrapped,
    )
  } catch (cause) {
    throw new IntegrityError({
      target: 'data key',
      recordId,
      reason: 'the verified re-encryptions do not open the data key',
      cause,
    })
  }
  return { dek, grantId: grant.grantId, answers }
}

/** The reads a grantee's request needs besides the grant itself, started together. */
interface GrantReads {
  grant: GrantListing
  membersRead: Promise<readonly Address[]>
  grantorKeysRead: ReturnType<typeof publishedKeysOf>
  endpointsRead: Promise<(ProxyEndpoint & { retired: boolean })[]>
  /** The kfrag bundle's document, not parsed yet. */
  bundleRead: Promise<unknown>
}

function startReads(ctx: VaultContext, grant: GrantListing, signal: AbortSignal | undefined): GrantReads {
  const membersRead = proxySetMembers(ctx, grant.proxySetId)
  const grantorKeysRead = publishedKeysOf(ctx, grant.grantor)
  const endpointsRead = membersRead.then((members) =>
    Promise.all(
      members.map(async (address): Promise<ProxyEndpoint & { retired: boolean }> => {
        const proxy = await getProxy(ctx.publicClient, { addresses: ctx.addresses, operator: address })
        return {
          address,
          endpoint: proxy === undefined || proxy.retired ? undefined : proxy.endpoint,
          retired: proxy?.retired === true,
        }
      }),
    ),
  )
  const bundleRead = (async () =>
    ctx.storage.getEnvelope(cidFromHex(grant.kfragsCid), signal === undefined ? {} : { signal }))()
  // Awaited later, or never when the chain chooses another grant: no unhandled rejection either way.
  for (const read of [membersRead, grantorKeysRead, endpointsRead, bundleRead]) read.catch(() => {})
  return { grant, membersRead, grantorKeysRead, endpointsRead, bundleRead }
}

/**
 * Proxy sets never change once created (the ConsentRegistry has no call that edits one), so a set's members
 * are read once per vault. The bundle is still checked against them on every read, and each proxy checks its
 * own membership.
 */
const proxySets = new WeakMap<VaultContext, Map<number, Promise<readonly Address[]>>>()

function proxySetMembers(ctx: VaultContext, setId: number): Promise<readonly Address[]> {
  let sets = proxySets.get(ctx)
  if (sets === undefined) {
    sets = new Map()
    proxySets.set(ctx, sets)
  }
  const known = sets.get(setId)
  if (known !== undefined) return known
  const read = getProxySet(ctx.publicClient, { addresses: ctx.addresses, setId })
  sets.set(setId, read)
  // A failed read (a set not created yet, an RPC error) is asked again next time.
  read.catch(() => sets.delete(setId))
  return read
}

/** The public keys of the vault's derived keys, computed once per key set (three point multiplications). */
const publicKeysCache = new WeakMap<object, ReturnType<typeof publicKeys>>()

function publicKeysOf(keys: Parameters<typeof publicKeys>[0]): ReturnType<typeof publicKeys> {
  let mine = publicKeysCache.get(keys)
  if (mine === undefined) {
    mine = publicKeys(keys)
    publicKeysCache.set(keys, mine)
  }
  return mine
}

/**
 * The reader's signature of a request. A local account signs the request's digest (`hashAccessRequest`, the
 * same 32 bytes `signTypedData` would hash the typed data to) directly; any other account (a wallet over
 * EIP-1193) signs the typed data, which it may show to its user.
 */
async function signRequest(ctx: VaultContext, domain: ProtocolDomain, request: AccessRequest): Promise<Hex> {
  const account = ctx.walletClient.account
  const signature =
    account.type === 'local' && account.sign !== undefined
      ? await account.sign({ hash: hashAccessRequest(domain, request) })
      : await ctx.walletClient.signTypedData({ account, ...accessRequestTypedData(domain, request) })
  return normalizeSignature(signature)
}

/**
 * The reader's grants from the record's owner that cover it (and have `purpose`, if given), newest first,
 * from the vault's read index (only blocks not read before are asked for).
 *
 * @throws {NoGrantError} when there is none.
 */
async function coveringGrants(
  ctx: VaultContext,
  loaded: LoadedRecord,
  purpose: number | undefined,
): Promise<GrantListing[]> {
  const covering = (listings: readonly GrantListing[]) =>
    listings
      .filter((l) => isAddressEqual(l.grantor, loaded.owner))
      .filter((l) => covers(toGrant(l, 0).scope, loaded.recordId, loaded.chainTag))
      .filter(
        (l) =>
          purpose === undefined ||
          (typeof l.purpose === 'number' ? l.purpose : parsePurpose(l.purpose)) === purpose,
      )
      .reverse()
  let candidates = covering(await ctx.index.grantsToMe(loaded.owner))
  // None known: read this grantor's grants once more from the deployment block before refusing, so that a
  // block the index read while an RPC backend lagged (or before a reorganisation) cannot hide a grant for good.
  if (candidates.length === 0)
    candidates = covering(await ctx.index.grantsToMe(loaded.owner, { again: true }))
  if (candidates.length === 0) {
    throw new NoGrantError({
      recordId: loaded.recordId,
      account: ctx.address,
      ...(purpose === undefined ? {} : { purpose: String(purpose) }),
    })
  }
  return candidates
}

/**
 * The grant to read `loaded` under: among the covering `candidates` (newest first), the newest one the chain
 * allows now. When none is allowed, the newest covering grant's refusal is thrown as a typed error. The
 * chain is asked whether each candidate holds, except one whose revocation was already read (a revocation is
 * final), which is asked only to give the refusal.
 */
async function chooseGrant(
  ctx: VaultContext,
  loaded: LoadedRecord,
  candidates: readonly GrantListing[],
): Promise<GrantListing> {
  const purposeOf = (l: GrantListing) => (typeof l.purpose === 'number' ? l.purpose : parsePurpose(l.purpose))
  let refused: GrantListing | undefined
  let refusal: unknown
  for (const listing of candidates) {
    if (listing.revoked) {
      refused ??= listing
      continue
    }
    try {
      await assertGrantHolds(ctx, listing, loaded.recordId, purposeOf(listing))
      return listing
    } catch (err) {
      if (refused === undefined) {
        refused = listing
        refusal = err
      }
    }
  }
  // The newest covering grant was one known to be revoked: the chain gives its typed refusal.
  if (refusal === undefined && refused !== undefined) {
    await assertGrantHolds(ctx, refused, loaded.recordId, purposeOf(refused))
    return refused
  }
  throw refusal
}

/** Asks the chain whether the grant allows the read now; throws the SDK's typed error when not. */
async function assertGrantHolds(
  ctx: VaultContext,
  grant: GrantListing,
  recordId: Hex,
  purpose: number,
): Promise<void> {
  try {
    await checkAccess(ctx.publicClient, {
      addresses: ctx.addresses,
      grantId: grant.grantId,
      recordId,
      grantee: ctx.address,
      purpose,
    })
  } catch (err) {
    if (err instanceof ChainGrantRevokedError)
      throw new GrantRevokedError({ grantId: grant.grantId, recordId, cause: err })
    if (err instanceof ChainGrantExpiredError)
      throw new GrantExpiredError({ grantId: grant.grantId, expiredAt: grant.expiry, cause: err })
    if (err instanceof ChainGrantNotYetValidError) {
      throw new GrantNotYetValidError({ grantId: grant.grantId, notBefore: grant.notBefore, cause: err })
    }
    // A break-glass grant lets its grantee read only inside an emergency window.
    if (err instanceof ChainEmergencyAccessNotActiveError) {
      throw new EmergencyAccessClosedError({ grantId: grant.grantId, recordId, cause: err })
    }
    throw err
  }
}
