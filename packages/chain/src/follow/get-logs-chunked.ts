import type { AbiEvent, Chain, Client, GetLogsParameters, GetLogsReturnType, Transport } from 'viem'
import { getLogs } from 'viem/actions'
import {
  AbortError,
  LogQueryRefusedError,
  LogQueryTimeoutError,
  LogRangeTooLargeError,
  MalformedLogError,
} from '../errors.ts'

/** Default most blocks per `eth_getLogs` of {@link getLogsChunked} and {@link readLogsChunked}. */
export const DEFAULT_LOG_BLOCK_RANGE = 10_000

/**
 * Default fewest blocks a range refused for its block count or for time is split into
 * ({@link LogRangeReaderInit.minBlockRange}): such a refusal of a range this small is final. Provider block-range
 * caps are 5 blocks at the smallest (free tiers), and a node that cannot answer for 2 blocks in time hangs; a node
 * that refused every range wider than one block would otherwise have the whole range read at two requests per
 * block. Refusals for too many results go down to single blocks: each refused range must then turn out to hold a
 * log (see {@link LogRangeReader}).
 */
export const DEFAULT_MIN_LOG_BLOCK_RANGE = 2

/**
 * Default most client or node time-outs in a row ({@link LogRangeReaderInit.maxTimeouts}): each already halved
 * the range, so the third is over an eighth of the first; a node still not answering hangs.
 */
export const DEFAULT_MAX_LOG_TIMEOUTS = 3

/**
 * Default most refusals for too many results while no answer holds a log ({@link LogRangeReaderInit.maxRefusals}).
 * A range refused for too many logs holds logs, so an answer holds one within a few halvings of the first refusal:
 * about two refusals per halving from `maxBlockRange` down to one block, 31 at most in simulations of honest
 * result-capped nodes read 100,000 blocks at a time. A second bound: a refused range whose blocks all come back
 * empty already fails the read, which keeps a node's refusals between two logs to about two per halving.
 */
export const DEFAULT_MAX_LOG_REFUSALS = 64

export type LogRangeProgressEvent =
  /** One range was read. */
  | { type: 'logs:range'; fromBlock: bigint; toBlock: bigint; logs: number }
  /**
   * The node refused a range (`reason: 'range'`: its block-range cap; `'size'`: too many results, or no answer
   * in time): it is read again in halves.
   */
  | { type: 'logs:split'; fromBlock: bigint; toBlock: bigint; reason: 'range' | 'size' }

export interface LogRangeReaderInit {
  /** Most blocks read by one request. Default {@link DEFAULT_LOG_BLOCK_RANGE}. */
  maxBlockRange?: number | bigint | undefined
  /**
   * Fewest blocks a range refused for its block count or for time is split into: such a refusal of a range of at
   * most this many blocks fails with {@link LogRangeTooLargeError} ({@link LogQueryTimeoutError} for a time-out).
   * Default {@link DEFAULT_MIN_LOG_BLOCK_RANGE}; 1 splits down to single blocks. A range refused for too many
   * results is split down to single blocks.
   */
  minBlockRange?: number | bigint | undefined
  /**
   * Most time-outs in a row (the client's, or the node's own "query timeout"), each range half the last, before
   * {@link LogQueryTimeoutError}. Default {@link DEFAULT_MAX_LOG_TIMEOUTS}. Time-outs with answers between are
   * bounded per call instead (see {@link LogRangeReader}).
   */
  maxTimeouts?: number | undefined
  /**
   * Most refusals for too many results while none of the node's answers holds a log, before
   * {@link LogQueryRefusedError}. Default {@link DEFAULT_MAX_LOG_REFUSALS}. Whatever this is, a range refused
   * for too many results whose blocks are all answered with no log fails the read with that error at once.
   */
  maxRefusals?: number | undefined
  onProgress?: ((event: LogRangeProgressEvent) => void) | undefined
}

/**
 * Reads block ranges of logs through a node that caps `eth_getLogs`, keeping what it learnt between ranges.
 *
 * Public providers refuse a range of too many blocks (Alchemy, QuickNode, public nodes: 2,000 to 10,000),
 * an answer of too many logs (Infura: 10,000), or answer too late; viem also refuses a body over its size limit.
 * A refused range is cut in half, down to a single block, and the smaller span is kept for the next ranges: a
 * long stretch of chain is then not refused again range after range. After a refusal for the size of the
 * answer, or a time-out, the span doubles back (up to the maximum) once an answer holds at most half the most
 * logs one has held since, because logs are dense in places only and a node is slow at times only; after a
 * refusal for the block count it never grows past what fitted, since that cap is the same everywhere. A
 * time-out also caps the span at the half tried next for the rest of the call (the reads towards one `to`, until
 * its last range is delivered or a read throws: one {@link readLogsChunked}, one pass of a follower), each
 * further time-out in the call halving that cap again: a node that answers narrow ranges in time but not wide
 * ones costs one time-out per halving from `maxBlockRange` to `minBlockRange` per call (13 at the defaults),
 * not one every other request. The next call may grow back to `maxBlockRange`, so isolated time-outs do not
 * cap a long-lived follower for good.
 *
 * The node chooses its refusals, so their cost is bounded: a block-range cap or a time-out never splits a range
 * below `minBlockRange` blocks (a block-range cap of that fails with {@link LogRangeTooLargeError}, a time-out
 * with {@link LogQueryTimeoutError}; a result cap splits down to a single block, as logs can be that dense),
 * `maxTimeouts` time-outs in a row fail with {@link LogQueryTimeoutError} (a hang leaves the span as it was
 * before its time-outs), and a range refused for too many results must hold a log: once every block of such a
 * range is answered with none, the read fails with {@link LogQueryRefusedError} (as it does after `maxRefusals`
 * refusals with no log in any answer since). Too many results said outright is a result cap, even with a block
 * range suggested (Infura's "query returned more than 10000 results. Try with this block range [...]"). A refusal
 * in a result cap's words that also names a block range (Alchemy's "Log response size exceeded ... up to a 2K
 * block range") or says neither why may be a block-range cap instead: when such a refused range, wider than
 * `minBlockRange`, comes back without a log, the rest of the call reads at most half that range (lower again each
 * time this recurs). Such refusals are still split down to single blocks, so a dense stretch is read whatever the
 * node said before, and the next call starts without that cap: a node behind a load balancer whose lagging
 * backend once answers a refused range empty does not leave a long-lived follower stuck or slowed for good.
 * These bounds hold per call: a node refusing every range wider than one block fails each call within a few
 * requests, though a follower polling on is still moved by whatever ranges it answered. Without these a node
 * refusing every range wider than one block would have the read walk the chain at two requests per block (with
 * a made-up log now and then, had only the refusals between logs been counted), and one that hangs would be
 * waited out some 14 times. What a node can
 * still make the reader ask beyond an honest node's halvings it pays for in logs handed back, at least one per
 * range it refuses: one that answers every block with a made-up log is read at one request per block, like an
 * honest node whose result cap is a single log, and the caller holds each log it made up.
 *
 * Each answer's logs are checked and sorted before anything is learnt from it: a log outside the range asked for
 * is dropped, and a log without a readable block number or log index (a pending log, or a hostile node's) fails
 * the read with {@link MalformedLogError}.
 *
 * Any other error is thrown as it came, after one attempt: retrying is the transport's business (viem's
 * `retryCount`), and a malformed filter or an unreachable node would fail every smaller range too.
 */
export class LogRangeReader {
  #max: bigint
  #span: bigint
  #mostLogs = 0
  readonly #min: bigint
  readonly #maxTimeouts: number
  readonly #maxRefusals: number
  /** Time-outs since the last answer. */
  #timeouts = 0
  /** The span before the first of those time-outs. */
  #spanBeforeTimeouts: bigint | undefined
  /**
   * Most blocks per request for the rest of the current call after a time-out in it (half the span that timed
   * out), and that call's last block: a node that times out on wide ranges but answers narrower ones would
   * otherwise cost a time-out every other request as the span doubled back. Dropped when the call ends (its
   * last range delivered, a read failing, or a read towards another last block), so the next call may grow
   * back up to `#max` and an isolated time-out does not cap a long-lived follower for good.
   */
  #ceiling: { span: bigint; to: bigint } | undefined
  /** Refusals for too many results since the last answer holding a log. */
  #refusals = 0
  /**
   * Of the ranges refused for too many results since the last answer holding a log, the one that ends first. A
   * range refused for holding too many logs holds logs: once every one of its blocks is answered with none, the
   * refusal was a lie, and a node free to lie so could keep every range down to a block or two (see `#read`).
   */
  #unproven: { from: bigint; to: bigint; namesRange: boolean } | undefined
  /**
   * Most blocks per request for the rest of the current call once a range refused in words that may mean a
   * block-range cap (Alchemy's "Log response size exceeded ... up to a 2K block range", or a refusal that says
   * neither why) came back without a log, which no result cap explains: half that range. Dropped when the call
   * ends, like `#ceiling`: a node behind a load balancer may answer a refused range empty from a lagging backend
   * once, and a cap kept for good would leave a long-lived follower at a few blocks per request. Such refusals
   * are still split down to single blocks, as a result cap's are (a range refused again below this cap holds
   * dense logs, or must turn out to).
   */
  #rangeCap: bigint | undefined
  /** The last block of the current call (the reads towards one `to`). */
  #callTo: bigint | undefined
  readonly #onProgress: ((event: LogRangeProgressEvent) => void) | undefined

  constructor(init: LogRangeReaderInit = {}) {
    const max = init.maxBlockRange ?? DEFAULT_LOG_BLOCK_RANGE
    if (!isPositiveInteger(max)) throw new RangeError('maxBlockRange must be a positive integer')
    const min = init.minBlockRange ?? DEFAULT_MIN_LOG_BLOCK_RANGE
    if (!isPositiveInteger(min)) throw new RangeError('minBlockRange must be a positive integer')
    const maxTimeouts = init.maxTimeouts ?? DEFAULT_MAX_LOG_TIMEOUTS
    if (!isPositiveInteger(maxTimeouts)) throw new RangeError('maxTimeouts must be a positive integer')
    const maxRefusals = init.maxRefusals ?? DEFAULT_MAX_LOG_REFUSALS
    if (!isPositiveInteger(maxRefusals)) throw new RangeError('maxRefusals must be a positive integer')
    this.#max = BigInt(max)
    this.#span = this.#max
    this.#min = BigInt(min)
    this.#maxTimeouts = maxTimeouts
    this.#maxRefusals = maxRefusals
    this.#onProgress = init.onProgress
  }

  /** Blocks the next range will span at most. */
  get span(): bigint {
    return this.#span
  }

  /**
   * The logs `fetch` returns for `from` to at most `to`, and the last block they cover (read the rest from the
   * block after it). `fetch` must read exactly the blocks it is given, and hand back what the node answered: a
   * range refused for too many results whose answers `fetch` returns without a single log is taken for a lie
   * (with viem's `strict: true` and no `address`, logs of another contract's same-named event are dropped).
   *
   * @throws {LogRangeTooLargeError} a single block, or for a block-range cap a range of at most `minBlockRange`
   *   blocks, was refused; {@link LogQueryTimeoutError} `maxTimeouts` time-outs in a row, or one for a range of
   *   at most `minBlockRange` blocks; {@link LogQueryRefusedError} `maxRefusals`
   *   refusals for too many results with no log answered since; {@link MalformedLogError} a log without a
   *   readable block number or log index; {@link AbortError} `signal` aborted; anything else `fetch` threw.
   */
  async read<T>(
    from: bigint,
    to: bigint,
    fetch: (fromBlock: bigint, toBlock: bigint) => Promise<readonly T[]>,
    signal?: AbortSignal | undefined,
  ): Promise<{ logs: T[]; toBlock: bigint }> {
    if (to < from) throw new RangeError('toBlock must not be below fromBlock')
    // A read towards another last block starts another call (a follower's next pass, say).
    if (this.#callTo !== to) {
      this.#endCall()
      this.#callTo = to
    }
    try {
      return await this.#read(from, to, fetch, signal)
    } catch (err) {
      // The call fails with it: the next read is a call anew (a follower polling on after the error).
      this.#endCall()
      throw err
    }
  }

  /**
   * The span may grow back from here as after a result cap: up to `#max` over light answers in time. A refused
   * range still unproven is dropped: the call ended in an error, and its blocks are read again by the next one.
   */
  #endCall(): void {
    this.#ceiling = undefined
    this.#rangeCap = undefined
    this.#unproven = undefined
    this.#callTo = undefined
  }

  async #read<T>(
    from: bigint,
    to: bigint,
    fetch: (fromBlock: bigint, toBlock: bigint) => Promise<readonly T[]>,
    signal: AbortSignal | undefined,
  ): Promise<{ logs: T[]; toBlock: bigint }> {
    for (;;) {
      throwIfAborted(signal)
      const end = from + this.#span - 1n < to ? from + this.#span - 1n : to
      let answer: readonly T[]
      try {
        answer = await fetch(from, end)
      } catch (err) {
        throwIfAborted(signal)
        const said = refusalKind(err)
        if (said === undefined) throw err
        // A refusal that may be a block-range cap is split as a result cap's is, down to single blocks: a range
        // refused again below what fitted holds dense logs (or must turn out to, see below), and treating it as a
        // block-range cap would fail with LogRangeTooLargeError at `minBlockRange` for good.
        const kind = said === 'sizeOrRange' ? 'size' : said
        const blocks = end - from + 1n
        if (kind === 'time') {
          if (this.#timeouts === 0) this.#spanBeforeTimeouts = this.#span
          // Past `maxTimeouts` in a row the node hangs, whatever the range; a time-out of a range already at the
          // floor is not a range the node refuses to serve (LogRangeTooLargeError would send the operator after
          // a block-range cap that is not there). Either way the halvings it caused say nothing of what fits:
          // a follower reading again once the node answers starts from the span it had.
          if (++this.#timeouts >= this.#maxTimeouts || blocks <= this.#min) {
            if (this.#spanBeforeTimeouts !== undefined) this.#span = this.#spanBeforeTimeouts
            throw new LogQueryTimeoutError(from, end, this.#timeouts, { cause: err })
          }
          // The rest of this call stays at most at the half that is tried next: each further time-out in it
          // halves this ceiling again, so a call costs one time-out per halving from `maxBlockRange` down to
          // `minBlockRange` at most, not one every other request.
          const half = blocks / 2n < this.#min ? this.#min : blocks / 2n
          if (this.#ceiling === undefined || half < this.#ceiling.span) this.#ceiling = { span: half, to }
        } else if (kind === 'size') {
          if (++this.#refusals >= this.#maxRefusals) {
            throw new LogQueryRefusedError(from, end, this.#refusals, { cause: err })
          }
          if (this.#unproven === undefined || end < this.#unproven.to) {
            this.#unproven = { from, to: end, namesRange: said === 'sizeOrRange' }
          }
        }
        // Too many results is split down to single blocks (logs can be that dense, and a lie is caught by the
        // count above, or once the refused range comes back without a log); a block-range cap or a time-out no
        // further than the floor.
        const floor = kind === 'size' ? 1n : this.#min
        if (blocks <= floor) throw new LogRangeTooLargeError(from, end, { cause: err })
        const reason = kind === 'range' ? 'range' : 'size'
        this.#onProgress?.({ type: 'logs:split', fromBlock: from, toBlock: end, reason })
        this.#span = blocks / 2n < floor ? floor : blocks / 2n
        // A block-range cap holds everywhere: never ask for more than fitted again. A time-out may be a blip
        // (a busy node, a slow link) or dense logs: like a result cap it lowers the span only, which grows back
        // as answers come in time and light, so that a long-lived follower is not left reading a few blocks a
        // request for good after a few isolated time-outs.
        if (kind === 'range') this.#max = this.#span
        // What fits is measured anew: the limit refused an answer larger than any seen so far.
        this.#mostLogs = 0
        continue
      }
      // Before anything is learnt from the answer: a malformed one fails the call, as any other error.
      const { logs, first } = inChainOrder(answer, from, end)
      // A range refused for too many results must hold a log. Without this check, a node could refuse every
      // range wider than a block "for too many results" and answer the blocks one by one, empty but for a
      // made-up log now and then to reset the refusal count: a walk of the chain at two requests per block.
      // Now every range it refuses needs a log of its own in the answers, which the caller then holds: whatever
      // a node makes the reader ask beyond the halvings an honest node's logs need, it pays for in logs.
      const unproven = this.#unproven
      if (unproven !== undefined) {
        if (first === undefined ? unproven.to <= end : unproven.to < first) {
          const refused = unproven.to - unproven.from + 1n
          // A refusal that also named a block range may have been a block-range cap in a result cap's words: the
          // rest of this call reads at most half that range, which fitted (a lower cap each time this recurs, so a
          // liar's empty answers drive it down to `minBlockRange`). A range that small refused, or one refused
          // for results alone, is a lie (or a node answering from a lagging backend): the call fails.
          if (!unproven.namesRange || refused <= this.#min) {
            throw new LogQueryRefusedError(unproven.from, unproven.to, this.#refusals, {
              answeredEmpty: true,
            })
          }
          const fitted = refused / 2n < this.#min ? this.#min : refused / 2n
          if (this.#rangeCap === undefined || fitted < this.#rangeCap) this.#rangeCap = fitted
          if (this.#span > fitted) this.#span = fitted
          this.#unproven = undefined
        } else if (first !== undefined) this.#unproven = undefined
      }
      this.#timeouts = 0
      this.#spanBeforeTimeouts = undefined
      if (logs.length > 0) this.#refusals = 0
      if (logs.length > this.#mostLogs) this.#mostLogs = logs.length
      let top = this.#max
      if (this.#ceiling !== undefined && this.#ceiling.span < top) top = this.#ceiling.span
      if (this.#rangeCap !== undefined && this.#rangeCap < top) top = this.#rangeCap
      if (this.#span < top && 2 * logs.length <= this.#mostLogs) {
        this.#span = this.#span * 2n < top ? this.#span * 2n : top
      }
      // The call's last range is delivered: the next read is another call.
      if (end === to) this.#endCall()
      this.#onProgress?.({ type: 'logs:range', fromBlock: from, toBlock: end, logs: logs.length })
      return { logs, toBlock: end }
    }
  }
}

/**
 * The logs of one answer for `from..to` that lie in that range, sorted by (`blockNumber`, `logIndex`).
 *
 * Nothing in `eth_getLogs` binds a provider to answer in chain order, and callers (a follower's `onEvents`,
 * `getGrants`) hand logs on in the order read. A log outside the range is dropped: a node that ignores `toBlock`,
 * or lies, would otherwise have it delivered again with the next range, out of chain order. A log whose block
 * number or log index cannot be read (viem gives a pending log `blockNumber: null`; a hostile node may leave
 * either out) fails the answer with {@link MalformedLogError}: a query over numbered blocks holds only mined
 * logs, and such a log could be neither range-checked nor ordered, nor read by callers that use its block.
 */
function inChainOrder<T>(
  answer: readonly T[],
  from: bigint,
  to: bigint,
): { logs: T[]; first: bigint | undefined } {
  const placed: { log: T; block: bigint; index: bigint }[] = []
  for (const log of answer) {
    const place = logPosition(log)
    if (typeof place === 'string') throw new MalformedLogError(from, to, place)
    if (place.block >= from && place.block <= to) placed.push({ log, ...place })
  }
  placed.sort((a, b) =>
    a.block !== b.block ? (a.block < b.block ? -1 : 1) : a.index < b.index ? -1 : a.index > b.index ? 1 : 0,
  )
  return { logs: placed.map((p) => p.log), first: placed[0]?.block }
}

/**
 * Where a log sits in the chain, read as viem decodes it (bigint block, number index) or as a raw log carries it
 * (hex quantities); else the first field that cannot be read. The one parser behind both the range filter and
 * the order, so that no log passes one and defeats the other.
 */
function logPosition(log: unknown): { block: bigint; index: bigint } | 'blockNumber' | 'logIndex' {
  const fields =
    typeof log === 'object' && log !== null ? (log as { blockNumber?: unknown; logIndex?: unknown }) : {}
  const block = quantity(fields.blockNumber)
  if (block === undefined) return 'blockNumber'
  const index = quantity(fields.logIndex)
  if (index === undefined) return 'logIndex'
  return { block, index }
}

/** A non-negative integer as bigint, safe-integer number or hex quantity; anything else (null included) is none. */
function quantity(n: unknown): bigint | undefined {
  if (typeof n === 'bigint') return n >= 0n ? n : undefined
  if (typeof n === 'number') return Number.isSafeInteger(n) && n >= 0 ? BigInt(n) : undefined
  return typeof n === 'string' && /^0x[0-9a-fA-F]{1,64}$/.test(n) ? BigInt(n) : undefined
}

export interface ReadLogsChunkedParameters<T> extends LogRangeReaderInit {
  fromBlock: bigint
  /** Last block read (inclusive): a number, so that every range reads the same chain. */
  toBlock: bigint
  /**
   * Reads the logs of exactly `fromBlock..toBlock` (one `eth_getLogs`); in any order, they are sorted by block and
   * log index. Each must carry its `blockNumber` and `logIndex` (bigint, number or hex), as mined logs do.
   */
  read: (fromBlock: bigint, toBlock: bigint) => Promise<readonly T[]>
  signal?: AbortSignal | undefined
}

/**
 * Every log `read` returns from `fromBlock` to `toBlock`, in chain order, read in ranges of at most
 * `maxBlockRange` blocks as {@link LogRangeReader} describes. For log queries viem's `getLogs` cannot express
 * (raw topic filters, `getContractEvents`); {@link getLogsChunked} wraps `getLogs` itself.
 *
 * @throws {LogRangeTooLargeError} a range that cannot be split further was refused; {@link LogQueryTimeoutError},
 * {@link LogQueryRefusedError} the node hangs or keeps refusing (see {@link LogRangeReader});
 * {@link MalformedLogError} the node answered a log without a block number (a pending log) or log index;
 * {@link AbortError} `signal` aborted.
 */
export async function readLogsChunked<T>(parameters: ReadLogsChunkedParameters<T>): Promise<T[]> {
  const { fromBlock, toBlock, read, signal } = parameters
  const reader = new LogRangeReader(parameters)
  const out: T[] = []
  for (let from = fromBlock; from <= toBlock; ) {
    const { logs, toBlock: end } = await reader.read(from, toBlock, read, signal)
    for (const log of logs) out.push(log)
    from = end + 1n
  }
  throwIfAborted(signal)
  return out
}

export type GetLogsChunkedParameters<
  abiEvent extends AbiEvent | undefined = undefined,
  abiEvents extends readonly AbiEvent[] | readonly unknown[] | undefined = abiEvent extends AbiEvent
    ? [abiEvent]
    : undefined,
  strict extends boolean | undefined = undefined,
> = GetLogsParameters<abiEvent, abiEvents, strict, bigint, bigint> &
  LogRangeReaderInit & {
    fromBlock: bigint
    /** Last block read (inclusive): a number, so that every range reads the same chain. */
    toBlock: bigint
    signal?: AbortSignal | undefined
  }

export type GetLogsChunkedReturnType<
  abiEvent extends AbiEvent | undefined = undefined,
  abiEvents extends readonly AbiEvent[] | readonly unknown[] | undefined = abiEvent extends AbiEvent
    ? [abiEvent]
    : undefined,
  strict extends boolean | undefined = undefined,
> = GetLogsReturnType<abiEvent, abiEvents, strict, bigint, bigint>

export type GetLogsChunkedErrorType =
  | LogRangeTooLargeError
  | LogQueryTimeoutError
  | LogQueryRefusedError
  | MalformedLogError
  | AbortError
  | Error

/**
 * viem's `getLogs` over `fromBlock..toBlock`, in ranges of at most `maxBlockRange` blocks, in chain order: works
 * on providers that cap `eth_getLogs` by block range, result count or time (see {@link LogRangeReader}).
 *
 * @example
 * ```ts
 * const logs = await getLogsChunked(publicClient, {
 *   address: addresses.consentRegistry,
 *   event: parseAbiItem('event AccessRevoked(bytes32 indexed grantId)'),
 *   fromBlock: deployBlock,
 *   toBlock: await getBlockNumber(publicClient),
 *   maxBlockRange: 2_000,
 * })
 * ```
 *
 * @throws {LogRangeTooLargeError} a range that cannot be split further was refused; {@link LogQueryTimeoutError},
 * {@link LogQueryRefusedError} the node hangs or keeps refusing (see {@link LogRangeReader});
 * {@link MalformedLogError} the node answered a log without a block number (a pending log) or log index;
 * {@link AbortError} `signal` aborted.
 */
export async function getLogsChunked<
  chain extends Chain | undefined,
  const abiEvent extends AbiEvent | undefined = undefined,
  const abiEvents extends readonly AbiEvent[] | readonly unknown[] | undefined = abiEvent extends AbiEvent
    ? [abiEvent]
    : undefined,
  strict extends boolean | undefined = undefined,
>(
  client: Client<Transport, chain>,
  parameters: GetLogsChunkedParameters<abiEvent, abiEvents, strict>,
): Promise<GetLogsChunkedReturnType<abiEvent, abiEvents, strict>> {
  const {
    fromBlock,
    toBlock,
    maxBlockRange,
    minBlockRange,
    maxTimeouts,
    maxRefusals,
    onProgress,
    signal,
    ...filter
  } = parameters
  return (await readLogsChunked({
    fromBlock,
    toBlock,
    maxBlockRange,
    minBlockRange,
    maxTimeouts,
    maxRefusals,
    onProgress,
    signal,
    read: (from, to) => getLogs(client, { ...filter, fromBlock: from, toBlock: to } as GetLogsParameters),
  })) as GetLogsChunkedReturnType<abiEvent, abiEvents, strict>
}

function isPositiveInteger(n: number | bigint): boolean {
  return typeof n === 'number' ? Number.isSafeInteger(n) && n >= 1 : n >= 1n
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new AbortError({ cause: signal.reason })
}

/**
 * Why a node refused an `eth_getLogs`, when a smaller range may be answered: `'range'` for a cap on the block
 * count, `'size'` for too many results (viem's response size limit, a node's result cap, or no answer within
 * the client's time-out: a node assembling tens of megabytes of logs is answering a range too large as well).
 * `undefined` for any other error. Providers word these differently (geth, erigon, Infura, Alchemy, QuickNode,
 * Ankr, public nodes), so the messages are matched loosely, the result cap first: Infura's "query returned more
 * than 10000 results. Try with this block range [...]" also names a block range.
 */
export function logQueryRefusal(err: unknown): 'range' | 'size' | undefined {
  const kind = refusalKind(err)
  return kind === 'time' || kind === 'sizeOrRange' ? 'size' : kind
}

/**
 * {@link logQueryRefusal}, with time-outs (the client's or the node's) told apart from result caps, and result caps
 * whose words also name a block range, or that say neither why (`'sizeOrRange'`), told apart from those that claim
 * too many results alone: the former may be a block-range cap (see `LogRangeReader`'s `#rangeCap`).
 */
function refusalKind(err: unknown): 'range' | 'size' | 'sizeOrRange' | 'time' | undefined {
  let range = false
  let other = false
  for (let e: unknown = err, depth = 0; e instanceof Error && depth < 8; e = e.cause, depth++) {
    // Rate limits share the result cap's code (-32005) at some providers: a smaller range does not help.
    if (RATE.test(e.message)) return undefined
    if (e.name === 'TimeoutError' || TIME.test(e.message)) return 'time'
    // Too many results, said outright, is a result cap, even where the node suggests a smaller block range
    // (Infura's "Try with this block range [...]" is a hint at what would fit, not a cap).
    if (RESULTS.test(e.message)) return 'size'
    if (e.name === 'ResponseBodyTooLargeError' || SIZE.test(e.message)) {
      return range || RANGE.test(e.message) ? 'sizeOrRange' : 'size'
    }
    if (RANGE.test(e.message)) range = true
    else if (e.name === 'LimitExceededRpcError' || TOO_LARGE.test(e.message)) other = true
  }
  // A refusal that says neither why is taken for the size of the answer: the span may then grow back.
  return range ? 'range' : other ? 'sizeOrRange' : undefined
}

const RESULTS = /more than \d+ (results|logs)|query returned more than|too many (results|logs)/i
const SIZE = /response size|response is too (large|big)|log response|result set too large/i
const TIME = /query (timeout|timed out)|timeout exceeded/i
const RANGE =
  /block range|range (is )?too (large|wide|big)|range limit|exceeds? (the )?(max(imum)?|allowed) (block )?range|limited to (a )?[\d,]+ (block )?range|max(imum)? block range|blocks? range|range of \d+ blocks/i
const TOO_LARGE = /too large|limit exceeded/i
const RATE = /rate limit|request rate|too many requests|requests? per second|\/second|compute units|capacity/i
