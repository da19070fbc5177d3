/**
 * Grants: kfrags for the grantee made from the delegating key of the grant's scope (each record's key of
 * its current epoch, the tag's key, or the all-records key), sealed to each proxy of the set, stored as a
 * kfrag bundle, and the grant registered on chain — directly, or signed (EIP-712) for a relayer to submit.
 *
 * @module
 */
import {
  authorizeBreakGlass,
  AbortError as ChainAbortError,
  RecordNotFoundError as ChainRecordNotFoundError,
  computeGrantId,
  encodePurpose,
  GrantAlreadyExistsError,
  GrantIdCancelledError,
  type GrantListing,
  GrantNotFoundError,
  type GrantParams,
  getGrant,
  getGrants,
  getLogsChunked,
  getProxy,
  getProxySet,
  getRecord,
  grantAccess,
  grantBySig,
  type Purpose,
  revokeAccess,
  type Scope,
  SignatureExpiredError,
  type SignedGrant,
  scopeKindName,
  signGrant,
  TransactionOutcomeUnknownError,
} from '@medvault/chain'
import { type DerivedKeys, deriveDelegatingKey, eciesEncrypt } from '@medvault/crypto'
import { generateKFrags, PublicKey, SecretKey, Signer } from '@medvault/crypto/umbral'
import {
  type BundleScope,
  type KfragBundle,
  type KfragBundleEntry,
  kfragAad,
  kfragBundleToIpld,
} from '@medvault/protocol'
import type { CID } from 'multiformats/cid'
import {
  type Account,
  type Address,
  type Chain,
  type Hash,
  type Hex,
  hexToBytes,
  parseAbiItem,
  type Transport,
  type WalletClient,
} from 'viem'
import { cidFromHex, loadRecord, recordScopeId, tagOf } from './content.ts'
import type { VaultContext } from './context.ts'
import {
  GrantOutcomeUnknownError,
  InvalidOptionError,
  NotEnoughProxiesError,
  NotRecordOwnerError,
  ProxyError,
  RecordNotFoundError,
  RelayError,
} from './errors.ts'
import { type GrantRecord, type GrantRecordsOptions, listGrantRecords } from './grant-records.ts'
import { publishedKeysOf } from './identity.ts'
import {
  type Duration,
  type GrantTerms,
  parseDuration,
  parseGrantTerms,
  parseRecordId,
  type TimeInput,
} from './options.ts'
import type { CallOptions, Grant, GrantScopeInfo } from './types.ts'

/**
 * Who submits a signed grant: a wallet client of the relayer (it sends `grantBySig` and pays the gas), or
 * a function that gets the signed grant and submits it however it likes (an HTTP relayer, a queue).
 */
export type Relay =
  | WalletClient<Transport, Chain | undefined, Account>
  | ((signedGrant: SignedGrant) => Promise<unknown>)

export interface CreateGrantOptions extends CallOptions {
  /** The grantee's address; they must have published their keys (opening a vault once does). */
  to: Address
  /** The records covered (1 to 64), or */
  records?: readonly Hex[]
  /** every record of this category, now and later, or */
  tag?: string
  /** every record of the grantor, now and later. */
  all?: true
  /** HL7 v3 purpose of use: `'TREAT'`, `'ETREAT'`, `'HRESCH'`, … Reads for another purpose are refused. */
  purpose: Purpose | number
  /** How long it holds, from now (chain time) or from `notBefore`: `'30d'`, `'12h'`, seconds. Or: */
  expiresIn?: Duration
  /** when it ends. */
  expiresAt?: TimeInput
  /** When it starts (default: at once). */
  notBefore?: TimeInput
  /** How many proxies of the set must re-encrypt (M of N). Default 1. */
  threshold?: number
  /** The proxy set (id); default the vault's `proxySet`. */
  proxySet?: number
  /**
   * Sign the grant and let this relayer submit it (the grantor pays no gas). A relay function's failure is a
   * `RelayError` and keeps the kfrag bundle pinned (it may still submit the signed grant until its deadline);
   * so does a wallet client's, since its node saw the signed grant in the simulation's call: whoever saw it
   * may submit it. Only a refusal that makes the signature unusable for good (`SignatureExpiredError`,
   * `GrantIdCancelledError`), once the vault's own node confirms it (at its latest block, the grant id a
   * cancelled salt, or free with the deadline past), is thrown as is, with the bundle unpinned; unconfirmed, it
   * is a `RelayError` that keeps the bundle. If that node shows the grant registered with the terms signed
   * (someone submitted the signed grant, whatever the relayer reported: an expired signature, a cancelled salt
   * or a grant id already taken), the grant is returned as for a relay that succeeded. A wallet
   * client's node must answer the vault's chain id to `eth_chainId` (`InvalidOptionError` otherwise, before
   * anything is stored or signed; `signal` ends the wait for its answer).
   */
  relay?: Relay
  /** How long a relayed signature stays valid. Default `'10m'`. */
  relayDeadline?: Duration
}

export interface ListGrantsOptions extends CallOptions {
  /** Grants this vault gave (default when neither is set). */
  given?: boolean
  /** Grants this vault received. */
  received?: boolean
  /** Only grants that cover this record (by id, list, tag or all). */
  record?: Hex
  /** Only grants active now (not revoked, not expired, started). */
  active?: boolean
}

/** Chain time of the latest block, Unix seconds. */
export async function chainTime(ctx: VaultContext): Promise<number> {
  const block = await ctx.publicClient.getBlock({ blockTag: 'latest' })
  return Number(block.timestamp)
}

/** The grants part of a vault. */
export class Grants {
  readonly #ctx: VaultContext

  constructor(ctx: VaultContext) {
    this.#ctx = ctx
  }

  /**
   * Grants `to` access to records (a list, a tag or all), for one purpose, until an expiry, through M of the
   * proxy set's N proxies.
   *
   * @throws {InvalidOptionError} bad terms; {@link KeyNotPublishedError} the grantee has no keys on chain;
   *   {@link NotRecordOwnerError} a listed record is someone else's; {@link NotEnoughProxiesError} fewer
   *   than `threshold` proxies of the set are active; {@link RelayError} a relay function or a relayer's
   *   wallet client failed (the bundle stays pinned: the signed grant may still be submitted). A relayer's
   *   wallet client refused with `SignatureExpiredError` or `GrantIdCancelledError` (the signature can never
   *   register the grant) throws that error, and the bundle is unpinned, if the vault's own node confirms it;
   *   otherwise a {@link RelayError} with `unconfirmed` set, and the bundle is kept; if that node shows the
   *   grant registered with the terms signed, the grant is returned. A wallet client refused with
   *   `GrantAlreadyExistsError` returns the grant likewise, and is otherwise a {@link RelayError} with
   *   `unconfirmed` set (`otherTerms` for a grant with other terms under the id), the bundle kept.
   *   {@link InvalidOptionError}
   *   also for a relayer's wallet client whose node is on another chain (checked before anything is stored).
   */
  async create(options: CreateGrantOptions): Promise<Grant> {
    return issueGrant(this.#ctx, options)
  }

  /**
   * Lists grants this vault gave (`given`, the default) and/or received, oldest first.
   */
  async list(options: ListGrantsOptions = {}): Promise<Grant[]> {
    const ctx = this.#ctx
    options.signal?.throwIfAborted()
    const given = options.given ?? options.received !== true
    const listings: GrantListing[] = []
    // One head for every query, read in ranges a capped provider answers.
    const range = {
      fromBlock: ctx.fromBlock,
      toBlock: await ctx.publicClient.getBlockNumber({ cacheTime: 0 }),
      maxBlockRange: ctx.logBlockRange,
      signal: options.signal,
    }
    if (given) {
      listings.push(
        ...(await getGrants(ctx.publicClient, { addresses: ctx.addresses, grantor: ctx.address, ...range })),
      )
    }
    if (options.received === true) {
      listings.push(
        ...(
          await getGrants(ctx.publicClient, { addresses: ctx.addresses, grantee: ctx.address, ...range })
        ).filter((g) => !given || g.grantor.toLowerCase() !== ctx.address.toLowerCase()),
      )
    }
    const now = await chainTime(ctx)
    const breakGlass = await breakGlassTerms(ctx, given, options.received === true, range)
    let grants = listings
      .sort((a, b) => (a.blockNumber < b.blockNumber ? -1 : a.blockNumber > b.blockNumber ? 1 : 0))
      .map((l) => {
        const grant = toGrant(l, now)
        const maxDuration = breakGlass.get(l.grantId.toLowerCase())
        return maxDuration === undefined ? grant : { ...grant, breakGlass: { maxDuration } }
      })
    if (options.record !== undefined) {
      const recordId = parseRecordId(options.record, 'record')
      const chainTag = await recordChainTag(ctx, recordId)
      grants = grants.filter((g) => covers(g.scope, recordId, chainTag))
    }
    if (options.active === true) grants = grants.filter((g) => g.active)
    return grants
  }

  /**
   * The records a grant covers now, from chain data, in registration order: for a tag or all-records grant,
   * every record of the grantor with that tag (or any), including ones registered after the grant. What a
   * grantee (say, a payer holding a `claims` tag grant) reads next with `records.get(id)`.
   *
   * @throws {GrantNotFoundError} no such grant; {@link GrantRevokedError} / {@link GrantExpiredError} it
   *   covers nothing any more.
   */
  async records(grantId: Hex, options: GrantRecordsOptions = {}): Promise<GrantRecord[]> {
    return listGrantRecords(this.#ctx, parseGrantId(grantId), options)
  }

  /** Revokes a grant: honest proxies refuse it from the next block. Rotate records a grantee already read. */
  async revoke(grantId: Hex, options: CallOptions = {}): Promise<{ transactionHash: Hash }> {
    const ctx = this.#ctx
    const id = parseGrantId(grantId)
    const { hash } = await ctx.write(
      'revokeAccess',
      (s) => revokeAccess(ctx.walletClient, { addresses: ctx.addresses, grantId: id, signal: s }),
      options.signal,
      options.onProgress,
    )
    return { transactionHash: hash }
  }
}

/**
 * Makes a grant: kfrags for the grantee from the scope's delegating key, sealed to each proxy of the set,
 * stored as a kfrag bundle, and registered on chain — as a plain grant (sent, or signed for a relayer), or,
 * with `breakGlass`, as a break-glass authorisation that stays dormant until the grantee opens a window.
 */
export async function issueGrant(
  ctx: VaultContext,
  options: CreateGrantOptions,
  breakGlass?: { maxDuration: number },
): Promise<Grant> {
  const { signal, onProgress } = options ?? {}
  signal?.throwIfAborted()
  const setId = options?.proxySet ?? ctx.proxySet
  if (setId === undefined || !Number.isInteger(setId) || setId < 1) {
    throw new InvalidOptionError({
      option: 'proxySet',
      expected: 'a proxy set id (in createVault({ proxySet }) or in this call)',
    })
  }
  // Before anything is made or stored: a refused relayer leaves nothing behind, and has seen nothing.
  if (breakGlass === undefined && options?.relay !== undefined && typeof options.relay !== 'function') {
    await checkRelayClient(ctx, options.relay, signal)
  }
  const members = [...(await getProxySet(ctx.publicClient, { addresses: ctx.addresses, setId }))]
  const terms = parseGrantTerms(options, await chainTime(ctx), members.length)
  await ctx.ready(signal)
  const keys = await ctx.keys()
  const grantee = await publishedKeysOf(ctx, terms.to)

  const proxies = await Promise.all(
    members.map((operator) => getProxy(ctx.publicClient, { addresses: ctx.addresses, operator })),
  )
  const retired = proxies.flatMap((p, i) =>
    p === undefined || p.retired
      ? [new ProxyError({ proxy: members[i] as Address, endpoint: undefined, code: 'retired' })]
      : [],
  )
  if (members.length - retired.length < terms.threshold) {
    throw new NotEnoughProxiesError({
      needed: terms.threshold,
      verified: members.length - retired.length,
      errors: retired,
    })
  }
  signal?.throwIfAborted()
  // A set only lists proxies that were registered; a retired one keeps its key and its kfrag slot.
  const proxyKeys = proxies.map((p, i) => {
    if (p === undefined)
      throw new NotEnoughProxiesError({
        needed: terms.threshold,
        verified: 0,
        errors: [new ProxyError({ proxy: members[i] as Address, endpoint: undefined, code: 'unregistered' })],
      })
    return hexToBytes(p.publicKey)
  })

  const salt = randomHex32()
  const grantId = computeGrantId(ctx.address, salt)
  const scopes = await bundleScopes(ctx, terms, keys, signal)
  const signer = new Signer(SecretKey.fromBEBytes(keys.signingSecretKey))
  const receiving = PublicKey.fromCompressedBytes(grantee.receiving)
  const entries: KfragBundleEntry[] = scopes.map(({ scope, delegating }) => {
    const sk = SecretKey.fromBEBytes(delegating)
    delegating.fill(0)
    const kfrags = generateKFrags(sk, receiving, signer, terms.threshold, members.length, true, true)
    return {
      scope,
      delegatingKey: sk.publicKey().toCompressedBytes(),
      kfrags: kfrags.map((kfrag, index) =>
        eciesEncrypt(
          proxyKeys[index] as Uint8Array,
          kfrag.toBytes(),
          kfragAad({ grantId, scope, index, proxy: members[index] as Address }),
        ),
      ),
    }
  })
  onProgress?.({ type: 'grants:kfrags', entries: entries.length, proxies: members.length })
  const bundle: KfragBundle = {
    v: 1,
    grantId,
    grantor: ctx.address,
    grantee: terms.to,
    threshold: terms.threshold,
    proxies: members,
    verifyingKey: signer.verifyingKey().toCompressedBytes(),
    receivingKey: grantee.receiving,
    entries,
  }
  const bundleCid = await ctx.storage.putEnvelope(
    kfragBundleToIpld(bundle),
    signal === undefined ? {} : { signal },
  )

  const chainScope = toChainScope(terms, scopes)
  const common = {
    addresses: ctx.addresses,
    grantee: terms.to,
    scope: chainScope,
    purpose: terms.purpose,
    notBefore: terms.notBefore,
    expiry: terms.expiry,
    threshold: terms.threshold,
    proxySetId: setId,
    kfragsCid: bundleCid,
    salt,
  }
  let hash: Hash | undefined
  /** The relayed grant as signed, for the check of what the chain holds under its id. */
  let signed: SignedGrant | undefined
  // Set once the grant's transaction is mined (before any progress callback runs): from then on the grant
  // exists, whatever fails after.
  let granted = false
  const mined = <T>(result: T): T => {
    granted = true
    return result
  }
  try {
    if (breakGlass !== undefined) {
      const result = await ctx.write(
        'authorizeBreakGlass',
        (s) =>
          authorizeBreakGlass(ctx.walletClient, {
            ...common,
            maxDuration: breakGlass.maxDuration,
            signal: s,
          }).then(mined),
        signal,
        onProgress,
      )
      hash = result.hash
    } else if (options.relay === undefined) {
      const result = await ctx.write(
        'grantAccess',
        (s) => grantAccess(ctx.walletClient, { ...common, signal: s }).then(mined),
        signal,
        onProgress,
      )
      hash = result.hash
    } else {
      ;({ hash, signed } = await relayGrant(ctx, options, common, grantId))
    }
  } catch (err) {
    // Once the transaction may be out, or the signed terms are with a relayer (who may still submit them until
    // their deadline), the grant may exist or come to: its bundle is kept, since a grant whose bundle is gone
    // opens nothing. Before that, nothing on chain can refer to the bundle: it is not kept.
    if (granted) throw err
    if (err instanceof RelayError) {
      throw new RelayError({ grantId, bundleCid, cause: err.cause, unconfirmed: err.unconfirmed })
    }
    const hash =
      err instanceof TransactionOutcomeUnknownError || err instanceof ChainAbortError ? err.hash : undefined
    if (err instanceof TransactionOutcomeUnknownError || hash !== undefined) {
      throw new GrantOutcomeUnknownError({ grantId, bundleCid, hash, cause: err })
    }
    await ctx.storage.unpin(bundleCid).catch(() => {})
    throw err
  }
  // A relayer's success is its own word (a wallet client's receipt comes from the relayer's node; a function
  // returns what it likes), and whoever learnt the salt from the relayer may have registered other terms under
  // the grant id first (see judgeRefusal): the grant under the id must be the one signed on the vault's own
  // node. Such a grant is not returned as the caller's; the bundle is kept (the error names it), and the
  // grantor can revoke the grant under the id.
  const judged = signed === undefined ? undefined : await judgeRefusal(ctx, grantId, signed, signal)
  if (judged?.outcome === 'otherTerms') {
    throw new RelayError({
      grantId,
      bundleCid,
      cause: undefined,
      unconfirmed: { reported: 'success', otherTerms: true },
    })
  }
  // The check found the signed grant's event already: the history is not read twice.
  const [listing] =
    judged?.outcome === 'granted'
      ? [judged.listing]
      : (
          await getGrants(ctx.publicClient, {
            addresses: ctx.addresses,
            grantor: ctx.address,
            grantee: terms.to,
            fromBlock: ctx.fromBlock,
            maxBlockRange: ctx.logBlockRange,
          })
        ).filter((g) => g.grantId === grantId)
  if (listing === undefined) {
    // A relay function may have only queued the grant: report it from its terms.
    return {
      id: grantId,
      grantor: ctx.address,
      grantee: terms.to,
      scope: scopeInfo(chainScope, options.tag),
      purpose: options.purpose,
      notBefore: terms.notBefore,
      expiresAt: terms.expiry,
      threshold: terms.threshold,
      proxySet: setId,
      bundleCid,
      revoked: false,
      active: false,
      blockNumber: 0n,
      transactionHash: hash ?? ('0x' as Hash),
    }
  }
  const grant = toGrant(listing, await chainTime(ctx), options.tag)
  return breakGlass === undefined ? grant : { ...grant, breakGlass }
}

/** The delegating key (secret, 32 bytes) and bundle scope of each entry of the grant. */
async function bundleScopes(
  ctx: VaultContext,
  terms: GrantTerms,
  keys: DerivedKeys,
  signal: AbortSignal | undefined,
): Promise<{ scope: BundleScope; delegating: Uint8Array; chainTag?: Hex }[]> {
  switch (terms.scope.kind) {
    case 'records': {
      const out: { scope: BundleScope; delegating: Uint8Array }[] = []
      for (const recordId of terms.scope.records) {
        // The kfrags must be made from the key of the record's current epoch (see rotate).
        const loaded = await loadRecord(ctx, recordId, { signal })
        if (loaded.owner.toLowerCase() !== ctx.address.toLowerCase()) {
          throw new NotRecordOwnerError({ recordId, owner: loaded.owner, account: ctx.address })
        }
        out.push({
          scope: { kind: 'record', recordId },
          delegating: deriveDelegatingKey(keys, { record: recordScopeId(recordId, loaded.envelope.epoch) }),
        })
      }
      return out
    }
    case 'tag': {
      const { tag32, chainTag } = tagOf(keys, terms.scope.tag)
      return [
        {
          scope: { kind: 'tag', tag: chainTag },
          delegating: deriveDelegatingKey(keys, { tag: tag32 }),
          chainTag,
        },
      ]
    }
    case 'all':
      return [{ scope: { kind: 'all' }, delegating: deriveDelegatingKey(keys, 'all') }]
  }
}

async function relayGrant(
  ctx: VaultContext,
  options: CreateGrantOptions,
  common: Parameters<typeof signGrant>[1] extends infer P ? Omit<P & object, 'deadline'> : never,
  grantId: Hex,
): Promise<{ hash: Hash | undefined; signed: SignedGrant }> {
  // A wallet client was checked (checkRelayClient) before anything was stored.
  const relay = options.relay as Relay
  const deadline = (await chainTime(ctx)) + parseDuration(options.relayDeadline ?? '10m', 'relayDeadline')
  const signed = await signGrant(ctx.walletClient, { ...(common as object), deadline } as Parameters<
    typeof signGrant
  >[1])
  try {
    if (typeof relay === 'function') {
      const result = await relay(signed)
      return {
        hash: typeof result === 'string' && /^0x[0-9a-fA-F]{64}$/.test(result) ? (result as Hash) : undefined,
        signed,
      }
    }
    const { hash } = await grantBySig(relay, {
      addresses: ctx.addresses,
      signedGrant: signed,
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    })
    options.onProgress?.({ type: 'chain:transaction', action: 'grantBySig', hash })
    return { hash, signed }
  } catch (cause) {
    // A relayer's wallet client has handed the signed grant out by the time anything can fail: its simulation's
    // eth_call carries the signature to the relayer's node, and whoever saw it there can submit grantBySig until
    // the deadline. So the bundle is unpinned (and the chain's error passed through, as for a direct grant) only
    // when the chain says the signature can never register the grant, and the vault's own node confirms it: the
    // relayer's node may lie, and a grant registered after its bundle was dropped opens nothing while its
    // grantor, told it failed, would not revoke it. Any other failure (a time-out or a bad answer to the
    // simulation, an abort, a revert a lagging node gave, a lost send or receipt, a signature refused now) may
    // still be followed by the grant landing, which needs its bundle. A relay function may have queued it
    // anywhere.
    if (
      typeof relay !== 'function' &&
      (signatureUnusable(cause) || cause instanceof GrantAlreadyExistsError)
    ) {
      const check = await judgeRefusal(ctx, grantId, signed, options.signal)
      // The grant is on chain, with the terms signed: whoever reported the refusal (or submitted it first and
      // then reported one, as a relayer's node that front-runs its own simulation does) did not stop it. The
      // caller gets the grant as for a relay that succeeded, its bundle kept.
      if (check.outcome === 'granted') return { hash: undefined, signed }
      // `GrantAlreadyExists` is never thrown as is: its only honest meaning is that the grant is registered,
      // which the vault's own node did not show here.
      if (check.outcome === 'unusable' && !(cause instanceof GrantAlreadyExistsError)) throw cause
      throw new RelayError({
        grantId,
        cause,
        unconfirmed: {
          reported: cause.name,
          ...(check.outcome === 'otherTerms' ? { otherTerms: true } : {}),
          ...(check.outcome === 'unconfirmed' && check.checkError !== undefined
            ? { checkError: check.checkError }
            : {}),
        },
      })
    }
    throw new RelayError({ grantId, cause })
  }
}

/**
 * Refuses a relayer's wallet client that cannot submit the grant on the vault's chain. The signature is checked
 * against the registry's EIP-712 domain, which names the chain: a client on another chain (a registry at the same
 * address there) would carry the grantor's signature to a foreign node, whose simulation fails though the
 * signature is good here. The client's node is asked (`eth_chainId`): the client's `chain` setting says only what
 * its owner meant, not where its transport leads.
 */
async function checkRelayClient(
  ctx: VaultContext,
  relay: Relay,
  signal: AbortSignal | undefined,
): Promise<void> {
  if (relay === null || typeof relay !== 'object' || relay.account === undefined) {
    throw new InvalidOptionError({
      option: 'relay',
      expected: 'a wallet client with an account, or a function',
    })
  }
  const declared = relay.chain?.id
  if (declared !== undefined && declared !== ctx.chainId) {
    throw new InvalidOptionError({
      option: 'relay',
      expected: `a wallet client on the vault's chain (${ctx.chainId}), not one set to chain ${declared}`,
    })
  }
  // viem's requests take no signal: without it, a node that never answers (and a transport without a time-out)
  // would hold create() for good.
  const answered = Number(await untilAborted(signal, () => relay.request({ method: 'eth_chainId' })))
  if (answered !== ctx.chainId) {
    throw new InvalidOptionError({
      option: 'relay',
      expected: `a wallet client on the vault's chain (${ctx.chainId}), not one whose node answers chain ${answered}`,
    })
  }
}

/**
 * Whether a failed `grantBySig` was refused for a reason that makes the signed grant unusable for good: its
 * deadline has passed, or its salt was cancelled (the grant id can never be created). No one can register the grant
 * with it after that, whoever holds it. A signature refused as invalid is not final: the registry accepts
 * contract signers (ERC-1271), whose answer can change (a wallet deployed later, or in a block the relayer's node
 * has not seen yet; a multisig whose owners change).
 */
function signatureUnusable(error: unknown): error is SignatureExpiredError | GrantIdCancelledError {
  return error instanceof SignatureExpiredError || error instanceof GrantIdCancelledError
}

/**
 * What the vault's own node says of a relayer's report that the signed grant is unusable for good or already
 * registered, for this grant's own deadline and id (not the ones the relayer's error names), read at one block B
 * (the latest):
 *
 * - `granted`: the grant id holds a grant at B with the terms signed. The report was false, or the relayer (or
 *   whoever saw the signed grant) submitted it and then reported a refusal. The registry checks the signature and
 *   its deadline before it checks whether the id is taken, so once the deadline has passed even an honest node
 *   answers `SignatureExpired` for a grant that is already registered: the deadline alone proves nothing.
 * - `otherTerms`: the grant id holds a grant at B, but not the one signed. The registry derives the id from the
 *   grantor and the salt alone (`keccak256(abi.encode(grantor, salt))`, in `_grant`), not from the terms, so
 *   anyone the registry lets create grants for this grantor (the grantor's own account through `grant`, a grant
 *   delegate through `grantFor` or `grantBySig`) who learnt the salt, as the relayer's node did from the
 *   simulation's call, can register other terms under it first. The grant returned must be the one signed: its
 *   grantee, scope, purpose, validity, threshold, proxy set and kfrag bundle are compared.
 * - `unusable`: the id is a cancelled salt's tombstone at B, or it is free at B and B is past the deadline (the
 *   registry refuses a signature when `block.timestamp > deadline`, and no later block has an earlier time).
 * - `unconfirmed`: free at B and B not past the deadline, or a check failed (`checkError`; an abort of `signal`
 *   is one), or the grant's `AccessGranted` event was not found up to B.
 *
 * The grant is read at B itself, not at the latest block again: the deadline is judged by B's time, and the
 * grant must be looked for in a state at least as late, or a grant mined between the two reads would be missed.
 * A node of a load-balanced endpoint that does not have B yet fails the read (`unconfirmed`). B is the latest
 * block, not a finalized one: a reorganisation that replaces the blocks around the deadline could still bring the
 * grant in after it was judged unusable. Waiting for finality would keep every expired relay's bundle pinned for
 * the chain's finality time (minutes on Ethereum) and is left to a caller who needs it: a `RelayError` grant can
 * be looked up again later.
 */
async function judgeRefusal(
  ctx: VaultContext,
  grantId: Hex,
  signed: SignedGrant,
  signal: AbortSignal | undefined,
): Promise<
  | { outcome: 'granted'; listing: GrantListing }
  | { outcome: 'otherTerms' }
  | { outcome: 'unusable' }
  | { outcome: 'unconfirmed'; checkError?: unknown }
> {
  let block: { number: bigint; timestamp: bigint }
  try {
    block = await untilAborted(signal, () => ctx.publicClient.getBlock({ blockTag: 'latest' }))
  } catch (checkError) {
    return { outcome: 'unconfirmed', checkError }
  }
  let stored: Awaited<ReturnType<typeof getGrant>>
  try {
    stored = await untilAborted(signal, () =>
      getGrant(ctx.publicClient, { addresses: ctx.addresses, grantId, blockNumber: block.number }),
    )
  } catch (err) {
    if (err instanceof GrantIdCancelledError) return { outcome: 'unusable' }
    if (!(err instanceof GrantNotFoundError)) return { outcome: 'unconfirmed', checkError: err }
    return block.timestamp > signed.deadline ? { outcome: 'unusable' } : { outcome: 'unconfirmed' }
  }
  // The stored state has no scope target, proxy set or bundle CID: those are only in the grant's event, read up
  // to B (the grantee filter is safe: a grant for another grantee is told apart by the stored state first).
  if (
    stored.breakGlass ||
    !sameAddress(stored.grantor, signed.grantor) ||
    !sameAddress(stored.grantee, signed.params.grantee)
  ) {
    return { outcome: 'otherTerms' }
  }
  let listing: GrantListing | undefined
  try {
    ;[listing] = (
      await untilAborted(signal, () =>
        getGrants(ctx.publicClient, {
          addresses: ctx.addresses,
          grantor: signed.grantor,
          grantee: signed.params.grantee,
          fromBlock: ctx.fromBlock,
          toBlock: block.number,
          maxBlockRange: ctx.logBlockRange,
          ...(signal === undefined ? {} : { signal }),
        }),
      )
    ).filter((g) => g.grantId.toLowerCase() === grantId.toLowerCase())
  } catch (checkError) {
    return { outcome: 'unconfirmed', checkError }
  }
  // Stored at B but no event up to B: the node's logs lag its state (or it lies); nothing to compare.
  if (listing === undefined) return { outcome: 'unconfirmed' }
  return matchesSigned(listing, signed.params) ? { outcome: 'granted', listing } : { outcome: 'otherTerms' }
}

function sameAddress(a: string, b: string): boolean {
  return a.toLowerCase() === b.toLowerCase()
}

/** Whether a grant's `AccessGranted` event carries every term that was signed (the salt made its id). */
function matchesSigned(listing: GrantListing, signed: GrantParams): boolean {
  const records = (list: readonly Hex[]) =>
    list
      .map((r) => r.toLowerCase())
      .sort()
      .join()
  return (
    sameAddress(listing.grantee, signed.grantee) &&
    listing.scopeKind === scopeKindName(signed.scopeKind) &&
    listing.scopeTarget.toLowerCase() === signed.scopeTarget.toLowerCase() &&
    records(listing.records) === records(signed.records) &&
    encodePurpose(listing.purpose) === signed.purpose &&
    listing.notBefore === signed.notBefore &&
    listing.expiry === signed.expiry &&
    listing.threshold === signed.threshold &&
    listing.proxySetId === signed.proxySetId &&
    listing.kfragsCid.toLowerCase() === signed.kfragsCid.toLowerCase()
  )
}

/**
 * Runs `run`, and rejects with the signal's reason (as `signal.throwIfAborted()` does) as soon as `signal`
 * aborts. For requests that take no signal: the request is left to settle on its own, its outcome ignored.
 */
function untilAborted<T>(signal: AbortSignal | undefined, run: () => Promise<T>): Promise<T> {
  if (signal === undefined) return run()
  if (signal.aborted) return Promise.reject(signal.reason)
  return new Promise<T>((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    run().then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}

const breakGlassAuthorized = parseAbiItem(
  'event BreakGlassAuthorized(bytes32 indexed grantId, address indexed grantor, address indexed grantee, uint32 maxDuration)',
)

/** The time box of each break-glass grant this vault gave and/or received, by lower-case grant id. */
async function breakGlassTerms(
  ctx: VaultContext,
  given: boolean,
  received: boolean,
  range: { fromBlock: bigint; toBlock: bigint; maxBlockRange: number; signal: AbortSignal | undefined },
): Promise<Map<string, number>> {
  const out = new Map<string, number>()
  const sides = [
    ...(given ? [{ grantor: ctx.address }] : []),
    ...(received ? [{ grantee: ctx.address }] : []),
  ]
  for (const args of sides) {
    const logs = await getLogsChunked(ctx.publicClient, {
      address: ctx.addresses.consentRegistry,
      event: breakGlassAuthorized,
      args,
      ...range,
      strict: true,
    })
    for (const log of logs) out.set(log.args.grantId.toLowerCase(), log.args.maxDuration)
  }
  return out
}

function toChainScope(terms: GrantTerms, scopes: { scope: BundleScope }[]): Scope {
  switch (terms.scope.kind) {
    case 'records':
      return terms.scope.records.length === 1
        ? { kind: 'record', recordId: terms.scope.records[0] as Hex }
        : { kind: 'records', recordIds: terms.scope.records }
    case 'tag': {
      const scope = scopes[0]?.scope
      if (scope?.kind !== 'tag') throw new Error('tag scope expected')
      return { kind: 'tag', tag: scope.tag }
    }
    case 'all':
      return { kind: 'all' }
  }
}

function scopeInfo(scope: Scope, tag?: string): GrantScopeInfo {
  switch (scope.kind) {
    case 'record':
      return { kind: 'record', records: [scope.recordId] }
    case 'records':
      return { kind: 'records', records: [...scope.recordIds] }
    case 'tag':
      return tag === undefined
        ? { kind: 'tag', chainTag: scope.tag }
        : { kind: 'tag', chainTag: scope.tag, tag }
    case 'all':
      return { kind: 'all' }
  }
}

/** A grant from its events, judged active at chain time `now`. */
export function toGrant(listing: GrantListing, now: number, tag?: string): Grant {
  let scope: GrantScopeInfo
  switch (listing.scopeKind) {
    case 'record':
      scope = { kind: 'record', records: [listing.scopeTarget.toLowerCase() as Hex] }
      break
    case 'records':
      scope = { kind: 'records', records: listing.records.map((r) => r.toLowerCase() as Hex) }
      break
    case 'tag': {
      const chainTag = listing.scopeTarget.slice(0, 18).toLowerCase() as Hex
      scope = tag === undefined ? { kind: 'tag', chainTag } : { kind: 'tag', chainTag, tag }
      break
    }
    default:
      scope = { kind: 'all' }
  }
  return {
    id: listing.grantId,
    grantor: listing.grantor,
    grantee: listing.grantee,
    scope,
    purpose: listing.purpose,
    notBefore: listing.notBefore,
    expiresAt: listing.expiry,
    threshold: listing.threshold,
    proxySet: listing.proxySetId,
    bundleCid: cidFromHex(listing.kfragsCid) as CID,
    revoked: listing.revoked,
    active: !listing.revoked && now < listing.expiry && now >= listing.notBefore,
    blockNumber: listing.blockNumber,
    transactionHash: listing.transactionHash,
  }
}

/** Whether a grant's scope covers a record (ownership is checked separately). */
export function covers(scope: GrantScopeInfo, recordId: Hex, chainTag: Hex | undefined): boolean {
  const id = recordId.toLowerCase()
  switch (scope.kind) {
    case 'record':
    case 'records':
      return scope.records.some((r) => r.toLowerCase() === id)
    case 'tag':
      return chainTag !== undefined && scope.chainTag.toLowerCase() === chainTag.toLowerCase()
    case 'all':
      return true
  }
}

/** The record's 8-byte tag on chain (undefined: untagged). */
export async function recordChainTag(ctx: VaultContext, recordId: Hex): Promise<Hex | undefined> {
  try {
    const record = await getRecord(ctx.publicClient, { addresses: ctx.addresses, recordId })
    return /^0x0{16}$/.test(record.tag) ? undefined : record.tag
  } catch (err) {
    if (err instanceof ChainRecordNotFoundError) throw new RecordNotFoundError({ recordId, cause: err })
    throw err
  }
}

export function parseGrantId(value: unknown): Hex {
  if (typeof value !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
    throw new InvalidOptionError({ option: 'grantId', expected: 'a grant id: 0x and 64 hex digits' })
  }
  return value as Hex
}

export function randomHex32(): Hex {
  const bytes = crypto.getRandomValues(new Uint8Array(32))
  return `0x${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`
}
