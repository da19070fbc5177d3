/**
 * Break-glass: emergency access the patient authorises ahead of time and the grantee opens only when needed.
 *
 * The patient (`authorize`) makes a grant like any other — kfrags for the grantee through the proxy set — but
 * registered as break-glass: it lets nobody read until the grantee opens a window on one record (`open`),
 * which the chain time-boxes (at most the grant's `maxWindow`, at most 7 days, never past the grant's expiry)
 * and records as a public event naming the grant, the record, the grantee and a purpose-of-use code.
 * Proxies re-encrypt for a break-glass grant only while a window on that record runs, so the grantee reads
 * with the ordinary `records.get` during the window and is refused outside it. The patient sees every window
 * in `audit.list` and can end one and halt the record (`end`); only the patient (or a grant
 * delegate) lifts a halt (`reauthorize`). Ending a window does not take back what the grantee already read:
 * rotate the record for that.
 *
 * @module
 */
import {
  breakGlass,
  BreakGlassWindowsExhaustedError as ChainBreakGlassWindowsExhaustedError,
  EmergencyAccessAlreadyActiveError as ChainEmergencyAccessAlreadyActiveError,
  EmergencyAccessHaltedError as ChainEmergencyAccessHaltedError,
  EmergencyAccessNotActiveError as ChainEmergencyAccessNotActiveError,
  EmergencyAccessNotHaltedError as ChainEmergencyAccessNotHaltedError,
  GrantExpiredError as ChainGrantExpiredError,
  GrantNotFoundError as ChainGrantNotFoundError,
  GrantNotYetValidError as ChainGrantNotYetValidError,
  GrantRevokedError as ChainGrantRevokedError,
  NotBreakGlassGrantError as ChainNotBreakGlassGrantError,
  NotGranteeError as ChainNotGranteeError,
  RecordNotFoundError as ChainRecordNotFoundError,
  RecordOutOfScopeError as ChainRecordOutOfScopeError,
  UnauthorizedError as ChainUnauthorizedError,
  endEmergencyAccess,
  getEmergencyAccess,
  getEmergencyAccesses,
  getGrant,
  type Purpose,
  reauthorizeBreakGlass,
} from '@medvault/chain'
import type { Address, Hash, Hex } from 'viem'
import { type BreakGlassRefusal, BreakGlassRefusedError } from './break-glass-errors.ts'
import type { VaultContext } from './context.ts'
import {
  GrantExpiredError,
  GrantNotYetValidError,
  GrantRevokedError,
  InvalidOptionError,
  RecordNotFoundError,
} from './errors.ts'
import { type CreateGrantOptions, chainTime, issueGrant, parseGrantId } from './grants.ts'
import { type Duration, parseDuration, parsePurpose, parseRecordId } from './options.ts'
import type { CallOptions, Grant } from './types.ts'

/** The longest window a break-glass grant may allow (the contracts' limit): 7 days. */
export const MAX_BREAK_GLASS_WINDOW = 7 * 24 * 3600

export interface AuthorizeBreakGlassOptions extends Omit<CreateGrantOptions, 'relay' | 'relayDeadline'> {
  /**
   * The time box of each emergency window the grantee opens: `'1h'`, `'30m'`, seconds; at most 7 days. A
   * window also ends when the grant expires, when the grantee closes it, or when the patient ends it.
   */
  maxWindow: Duration
}

export interface OpenBreakGlassOptions extends CallOptions {
  /** The break-glass grant (from `authorize`, or `grants.list({ received: true })`). */
  grant: Hex
  /** The record to open; the grant must cover it. */
  record: Hex
  /**
   * Why, as an HL7 v3 purpose-of-use code: `'ETREAT'` (default) or `'BTG'`, …. The event is public and
   * permanent next to the patient's address, so it takes a code, never free text.
   */
  reason?: Purpose | number
  /**
   * An opaque 32-byte reference to a note kept off chain (e.g. a salted hash of it), so an auditor handed the
   * note can match it. Never an unsalted hash of guessable text. Default: none.
   */
  reasonRef?: Hex
}

/** One grant and record of a break-glass grant, for `end`, `reauthorize` and `status`. */
export interface BreakGlassTarget extends CallOptions {
  grant: Hex
  record: Hex
}

/** An emergency window the grantee opened. */
export interface BreakGlassWindow {
  grantId: Hex
  recordId: Hex
  /** The patient. */
  grantor: Address
  /** Who opened it. */
  grantee: Address
  /** Its number within the grant (1 = first; a grant opens at most 64 over all its records). */
  window: number
  reason: Purpose | number
  /** Chain time it opened, Unix seconds. */
  startedAt: number
  /** The latest it runs to, Unix seconds (chain time). */
  endsAt: number
  /** When someone ended it early; `undefined` if it ran (or runs) to `endsAt`. */
  endedAt: number | undefined
  /** Who ended it early: the grantee, the patient or the patient's delegate. */
  endedBy: Address | undefined
  transactionHash: Hash
}

/** The live state of a break-glass grant on one record. */
export interface BreakGlassStatus {
  /** Whether a window runs now (chain time) and the grant itself still holds. */
  open: boolean
  /** When the record's last window ends or ended (Unix seconds); 0 when none ever opened. */
  endsAt: number
  /** Whether the patient halted break-glass on this record (no window opens until `reauthorize`). */
  halted: boolean
  /** The grant's time box per window, seconds. */
  maxWindow: number
  /** Windows the grant has opened so far, over all its records (at most 64). */
  windowsOpened: number
}

export interface ListBreakGlassOptions extends CallOptions {
  /** Only this grant's windows. */
  grant?: Hex
  /** Only windows on this record. */
  record?: Hex
  /**
   * Windows on this vault's records (the patient's view, default), or windows this vault opened as a
   * grantee (`'grantee'`).
   */
  as?: 'grantor' | 'grantee'
}

/** The break-glass part of a vault. */
export class BreakGlass {
  readonly #ctx: VaultContext

  constructor(ctx: VaultContext) {
    this.#ctx = ctx
  }

  /**
   * The patient pre-authorises emergency access for `to`: a grant (records, tag or all; usually purpose
   * `'ETREAT'`) that lets them read nothing until they open a window with {@link BreakGlass.open}.
   *
   * @throws {InvalidOptionError} bad terms or `maxWindow`; and what `grants.create` throws.
   */
  async authorize(
    options: AuthorizeBreakGlassOptions,
  ): Promise<Grant & { breakGlass: { maxDuration: number } }> {
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError({ option: 'options', expected: 'an object with the break-glass terms' })
    }
    if ('relay' in options && (options as { relay?: unknown }).relay !== undefined) {
      throw new InvalidOptionError({
        option: 'relay',
        expected: 'nothing: a break-glass authorisation is sent by the patient (or a grant delegate) itself',
      })
    }
    const maxDuration = parseDuration(options.maxWindow, 'maxWindow')
    if (maxDuration > MAX_BREAK_GLASS_WINDOW) {
      throw new InvalidOptionError({ option: 'maxWindow', expected: 'at most 7 days (604800 seconds)' })
    }
    const { maxWindow: _, ...terms } = options
    const grant = await issueGrant(this.#ctx, terms, { maxDuration })
    return { ...grant, breakGlass: { maxDuration } }
  }

  /**
   * The grantee opens an emergency window on one record: from the block that includes it until `endsAt`,
   * the proxies re-encrypt for this grant and record, so `records.get(record)` reads it. Public and permanent:
   * the patient sees it in `audit.list`.
   *
   * @throws {BreakGlassRefusedError} the chain refused (not the grantee, not a break-glass grant, record out of
   *   scope, halted, a window already running, windows used up); {@link GrantRevokedError} /
   *   {@link GrantExpiredError} / {@link GrantNotYetValidError} the grant does not hold.
   */
  async open(options: OpenBreakGlassOptions): Promise<BreakGlassWindow> {
    const ctx = this.#ctx
    const { grantId, recordId } = target(options)
    const reason = parsePurpose(options.reason ?? 'ETREAT', 'reason')
    if (options.reasonRef !== undefined && !/^0x[0-9a-fA-F]{64}$/.test(options.reasonRef)) {
      throw new InvalidOptionError({ option: 'reasonRef', expected: '32 bytes as 0x and 64 hex digits' })
    }
    await ctx.ready(options.signal)
    const result = await mapRefusal(grantId, recordId, () =>
      ctx.write(
        'breakGlass',
        (s) =>
          breakGlass(ctx.walletClient, {
            addresses: ctx.addresses,
            grantId,
            recordId,
            reasonCode: reason,
            ...(options.reasonRef === undefined ? {} : { reasonRef: options.reasonRef }),
            signal: s,
          }),
        options.signal,
        options.onProgress,
      ),
    )
    const grant = await getGrant(ctx.publicClient, { addresses: ctx.addresses, grantId })
    const block = await ctx.publicClient.getBlock(
      result.receipt === undefined ? { blockTag: 'latest' } : { blockHash: result.receipt.blockHash },
    )
    return {
      grantId,
      recordId,
      grantor: grant.grantor,
      grantee: ctx.address,
      window: result.window ?? 0,
      reason: options.reason ?? 'ETREAT',
      startedAt: Number(block.timestamp),
      endsAt: result.endsAt,
      endedAt: undefined,
      endedBy: undefined,
      transactionHash: result.hash,
    }
  }

  /**
   * Ends emergency access to a record. The grantee closes its own running window early (it may open another,
   * which counts as one more). The patient (or a revoke delegate) ends any running window **and halts** the
   * record for this grant: no window opens on it again until {@link BreakGlass.reauthorize}.
   *
   * @throws {BreakGlassRefusedError} `not-open` (the grantee has no window running), `halted` (already
   *   halted), `not-allowed` (neither the grantee nor the patient or a delegate), `not-break-glass`.
   */
  async end(options: BreakGlassTarget): Promise<{ transactionHash: Hash }> {
    const ctx = this.#ctx
    const { grantId, recordId } = target(options)
    const { hash } = await mapRefusal(grantId, recordId, () =>
      ctx.write(
        'endEmergencyAccess',
        (s) =>
          endEmergencyAccess(ctx.walletClient, { addresses: ctx.addresses, grantId, recordId, signal: s }),
        options.signal,
        options.onProgress,
      ),
    )
    return { transactionHash: hash }
  }

  /**
   * The patient (or a grant delegate) lifts the halt `end` put on a record: its grantee may open windows on it
   * again. Windows already opened still count towards the grant's 64.
   *
   * @throws {BreakGlassRefusedError} `not-halted`, `not-allowed`, `not-break-glass`.
   */
  async reauthorize(options: BreakGlassTarget): Promise<{ transactionHash: Hash }> {
    const ctx = this.#ctx
    const { grantId, recordId } = target(options)
    const { hash } = await mapRefusal(grantId, recordId, () =>
      ctx.write(
        'reauthorizeBreakGlass',
        (s) =>
          reauthorizeBreakGlass(ctx.walletClient, { addresses: ctx.addresses, grantId, recordId, signal: s }),
        options.signal,
        options.onProgress,
      ),
    )
    return { transactionHash: hash }
  }

  /**
   * Whether a window on the record runs now, and the grant's break-glass state, at the latest block.
   *
   * @throws {BreakGlassRefusedError} `not-break-glass` (a plain grant, or no grant with this id).
   */
  async status(options: BreakGlassTarget): Promise<BreakGlassStatus> {
    const ctx = this.#ctx
    options.signal?.throwIfAborted()
    const { grantId, recordId } = target(options)
    const [state, now, grant] = await Promise.all([
      getEmergencyAccess(ctx.publicClient, { addresses: ctx.addresses, grantId, recordId }),
      chainTime(ctx),
      mapRefusal(grantId, recordId, () => getGrant(ctx.publicClient, { addresses: ctx.addresses, grantId })),
    ])
    if (state.maxDuration === 0) {
      throw new BreakGlassRefusedError({ grantId, recordId, reason: 'not-break-glass' })
    }
    const holds = !grant.revoked && now >= grant.notBefore && now < grant.expiry
    return {
      open: holds && !state.halted && state.endsAt > now,
      endsAt: state.endsAt,
      halted: state.halted,
      maxWindow: state.maxDuration,
      windowsOpened: state.windowsOpened,
    }
  }

  /**
   * Emergency windows, oldest first: on this vault's records (default), or opened by this vault as a grantee
   * (`as: 'grantee'`), by grant and/or record. The patient's `audit.list` shows the same windows among the
   * rest of the trail.
   */
  async list(options: ListBreakGlassOptions = {}): Promise<BreakGlassWindow[]> {
    const ctx = this.#ctx
    options.signal?.throwIfAborted()
    const grantId = options.grant === undefined ? undefined : parseGrantId(options.grant)
    const recordId = options.record === undefined ? undefined : parseRecordId(options.record, 'record')
    const asGrantee = options.as === 'grantee'
    if (options.as !== undefined && options.as !== 'grantor' && options.as !== 'grantee') {
      throw new InvalidOptionError({ option: 'as', expected: "'grantor' or 'grantee'" })
    }
    const { windows } = await getEmergencyAccesses(ctx.publicClient, {
      addresses: ctx.addresses,
      fromBlock: ctx.fromBlock,
      maxBlockRange: ctx.logBlockRange,
      signal: options.signal,
      ...(asGrantee ? {} : { grantor: ctx.address }),
      ...(grantId === undefined ? {} : { grantId }),
      ...(recordId === undefined ? {} : { recordId }),
    })
    // The grantee is not an indexed topic of the event: a grantee's windows are filtered here.
    return windows
      .filter((w) => !asGrantee || w.grantee.toLowerCase() === ctx.address.toLowerCase())
      .map((w) => ({
        grantId: w.grantId,
        recordId: w.recordId,
        grantor: w.grantor,
        grantee: w.grantee,
        window: w.window,
        reason: w.reasonCode,
        startedAt: w.startedAt,
        endsAt: w.endsAt,
        endedAt: w.endedAt,
        endedBy: w.endedBy,
        transactionHash: w.transactionHash,
      }))
  }
}

function target(options: BreakGlassTarget): { grantId: Hex; recordId: Hex } {
  if (options === null || typeof options !== 'object') {
    throw new InvalidOptionError({ option: 'options', expected: '{ grant, record }' })
  }
  options.signal?.throwIfAborted()
  if (typeof options.grant !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(options.grant)) {
    throw new InvalidOptionError({ option: 'grant', expected: 'a grant id: 0x and 64 hex digits' })
  }
  return { grantId: options.grant, recordId: parseRecordId(options.record, 'record') }
}

/** Runs a chain call, turning the contract's refusals into the SDK's typed errors (the original as `cause`). */
async function mapRefusal<T>(grantId: Hex, recordId: Hex, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (err) {
    if (err instanceof ChainGrantRevokedError) throw new GrantRevokedError({ grantId, recordId, cause: err })
    if (err instanceof ChainGrantExpiredError) {
      throw new GrantExpiredError({ grantId, expiredAt: err.args.expiredAt, cause: err })
    }
    if (err instanceof ChainGrantNotYetValidError) {
      throw new GrantNotYetValidError({ grantId, notBefore: err.args.notBefore, cause: err })
    }
    if (err instanceof ChainRecordNotFoundError) throw new RecordNotFoundError({ recordId, cause: err })
    const reason = refusalOf(err)
    if (reason !== undefined) throw new BreakGlassRefusedError({ grantId, recordId, reason, cause: err })
    throw err
  }
}

function refusalOf(err: unknown): BreakGlassRefusal | undefined {
  if (err instanceof ChainGrantNotFoundError) return 'unknown-grant'
  if (err instanceof ChainNotBreakGlassGrantError) return 'not-break-glass'
  if (err instanceof ChainNotGranteeError) return 'not-grantee'
  if (err instanceof ChainRecordOutOfScopeError) return 'record-out-of-scope'
  if (err instanceof ChainEmergencyAccessHaltedError) return 'halted'
  if (err instanceof ChainEmergencyAccessNotHaltedError) return 'not-halted'
  if (err instanceof ChainEmergencyAccessAlreadyActiveError) return 'already-open'
  if (err instanceof ChainEmergencyAccessNotActiveError) return 'not-open'
  if (err instanceof ChainBreakGlassWindowsExhaustedError) return 'windows-exhausted'
  if (err instanceof ChainUnauthorizedError) return 'not-allowed'
  return undefined
}
