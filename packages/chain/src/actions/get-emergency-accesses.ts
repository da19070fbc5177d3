import { consentRegistryAbi } from '@medvault/contracts'
import type { Address, Hash, Hex } from 'viem'
import { getBlock, getBlockNumber, getContractEvents } from 'viem/actions'
import type { MedvaultContractsParameter } from '../addresses.ts'
import { decodePurpose, type Purpose } from '../encoding.ts'
import { readLogsChunked } from '../follow/get-logs-chunked.ts'
import type { ActionErrorType, ReadClient } from '../internal.ts'

export type GetEmergencyAccessesParameters = MedvaultContractsParameter & {
  /** Only this grant's windows. */
  grantId?: Hex | undefined
  /** Only windows on this record. */
  recordId?: Hex | undefined
  /** Only windows on this patient's grants. */
  grantor?: Address | undefined
  /** First block to search (e.g. the deployment block); default 0. */
  fromBlock?: bigint | undefined
  /** Last block to search; default: the latest block when the call starts. */
  toBlock?: bigint | undefined
  /**
   * Most blocks per `eth_getLogs`; a range the node refuses is read in halves (`getLogsChunked`). Default 10,000.
   */
  maxBlockRange?: number | bigint | undefined
  signal?: AbortSignal | undefined
}

/** One emergency-access window: opened by the grantee's `breakGlass`, closed at `endsAt` or earlier by an end. */
export type EmergencyAccessWindow = {
  grantId: Hex
  recordId: Hex
  /** The patient whose grant it is. */
  grantor: Address
  /** Who broke the glass. */
  grantee: Address
  /** The window's number within its grant, from 1 (a grant opens at most `limits.maxBreakGlassWindows`). */
  window: number
  /** Why, as a purpose-of-use code (`'ETREAT'`, `'BTG'`, …). */
  reasonCode: Purpose | number
  /** The grantee's opaque reference to an off-chain note (zero when none). */
  reasonRef: Hex
  /** Chain time of the block that opened it (Unix seconds). */
  startedAt: number
  /** The latest it could run to: `min(startedAt + time box, grant expiry)`. */
  endsAt: number
  /** Chain time at which someone ended it early; `undefined` if it ran to `endsAt` (or still runs). */
  endedAt: number | undefined
  /** Who ended it early (the grantee, the patient or a revoke delegate); `undefined` otherwise. */
  endedBy: Address | undefined
  blockNumber: bigint
  transactionHash: Hash
}

/** A patient halting break-glass on a record of a grant, or lifting that halt. */
export type BreakGlassHaltChange = {
  kind: 'halted' | 'reauthorized'
  grantId: Hex
  recordId: Hex
  grantor: Address
  /** The patient or the delegate who did it. */
  by: Address
  /** Chain time of its block (Unix seconds). */
  at: number
  blockNumber: bigint
  transactionHash: Hash
}

export type GetEmergencyAccessesReturnType = {
  /** Every window opened in the block range, oldest first. */
  windows: EmergencyAccessWindow[]
  /** Every halt and re-authorisation in the block range, oldest first. */
  halts: BreakGlassHaltChange[]
}

export type GetEmergencyAccessesErrorType = ActionErrorType

/**
 * Lists break-glass windows (opened, and ended early) and the patient's halts and re-authorisations, by grant,
 * record and/or grantor, from the indexed topics of `EmergencyAccessStarted`, `EmergencyAccessEnded`,
 * `BreakGlassHalted` and `BreakGlassReauthorized`. Every window the chain ever opened is in those events, so
 * an audit can show each one with who, why, from when and until when.
 *
 * A window that was still running at `toBlock` has `endedAt: undefined` and an `endsAt` in the future of that
 * block; whether a grant still allows access also depends on the grant itself (see `getGrant`, `checkAccess`):
 * revoking or expiring the grant stops a running window too, without an `EmergencyAccessEnded` event.
 *
 * Four `eth_getLogs` over `fromBlock..toBlock` (per `maxBlockRange` blocks) plus one `eth_getBlockByNumber` per block holding an event whose
 * log carries no timestamp: on a long chain pass a recent `fromBlock` (e.g. the grant's block).
 */
export async function getEmergencyAccesses(
  client: ReadClient,
  parameters: GetEmergencyAccessesParameters,
): Promise<GetEmergencyAccessesReturnType> {
  const args = {
    ...(parameters.grantId === undefined ? {} : { grantId: parameters.grantId }),
    ...(parameters.recordId === undefined ? {} : { recordId: parameters.recordId }),
    ...(parameters.grantor === undefined ? {} : { grantor: parameters.grantor }),
  }
  const common = {
    address: parameters.addresses.consentRegistry,
    abi: consentRegistryAbi,
    args,
    strict: true,
  } as const
  const range = {
    fromBlock: parameters.fromBlock ?? 0n,
    // One fixed block for every query, so an end is never listed without its window (or the other way round).
    toBlock: parameters.toBlock ?? (await getBlockNumber(client, { cacheTime: 0 })),
    maxBlockRange: parameters.maxBlockRange,
    signal: parameters.signal,
  }
  const [started, ended, halted, reauthorized] = await Promise.all([
    readLogsChunked({
      ...range,
      read: (fromBlock, toBlock) =>
        getContractEvents(client, { ...common, eventName: 'EmergencyAccessStarted', fromBlock, toBlock }),
    }),
    readLogsChunked({
      ...range,
      read: (fromBlock, toBlock) =>
        getContractEvents(client, { ...common, eventName: 'EmergencyAccessEnded', fromBlock, toBlock }),
    }),
    readLogsChunked({
      ...range,
      read: (fromBlock, toBlock) =>
        getContractEvents(client, { ...common, eventName: 'BreakGlassHalted', fromBlock, toBlock }),
    }),
    readLogsChunked({
      ...range,
      read: (fromBlock, toBlock) =>
        getContractEvents(client, { ...common, eventName: 'BreakGlassReauthorized', fromBlock, toBlock }),
    }),
  ])

  // Block times: from the log when the node includes them, otherwise one block read per distinct block.
  const times = new Map<bigint, number>()
  const all = [...started, ...ended, ...halted, ...reauthorized]
  for (const log of all) {
    const at = (log as { blockTimestamp?: bigint | null }).blockTimestamp
    if (typeof at === 'bigint') times.set(log.blockNumber, Number(at))
  }
  const missing = [...new Set(all.map((log) => log.blockNumber))].filter((n) => !times.has(n))
  const blocks = await Promise.all(missing.map((blockNumber) => getBlock(client, { blockNumber })))
  for (const block of blocks) times.set(block.number, Number(block.timestamp))
  const timeOf = (blockNumber: bigint): number => times.get(blockNumber)!

  // Windows of one (grant, record) never overlap (the contract refuses a second while one runs), and an end
  // is only emitted for a running window: so each end closes the latest window opened before it on its pair.
  const order = (
    a: { blockNumber: bigint; logIndex: number },
    b: { blockNumber: bigint; logIndex: number },
  ) => (a.blockNumber === b.blockNumber ? a.logIndex - b.logIndex : a.blockNumber < b.blockNumber ? -1 : 1)
  const windows: EmergencyAccessWindow[] = []
  const open = new Map<string, EmergencyAccessWindow>()
  const events = [
    ...started.map((log) => ({ kind: 'started' as const, log })),
    ...ended.map((log) => ({ kind: 'ended' as const, log })),
  ].sort((a, b) => order(a.log, b.log))
  for (const event of events) {
    const key = `${event.log.args.grantId}:${event.log.args.recordId}`
    if (event.kind === 'started') {
      const a = event.log.args
      const window: EmergencyAccessWindow = {
        grantId: a.grantId,
        recordId: a.recordId,
        grantor: a.grantor,
        grantee: a.grantee,
        window: a.window,
        reasonCode: decodePurpose(a.reasonCode),
        reasonRef: a.reasonRef,
        startedAt: timeOf(event.log.blockNumber),
        endsAt: a.endsAt,
        endedAt: undefined,
        endedBy: undefined,
        blockNumber: event.log.blockNumber,
        transactionHash: event.log.transactionHash,
      }
      windows.push(window)
      open.set(key, window)
    } else {
      // An end whose window opened before `fromBlock` has nothing to close in this listing.
      const window = open.get(key)
      if (window === undefined) continue
      window.endedAt = timeOf(event.log.blockNumber)
      window.endedBy = event.log.args.endedBy
      open.delete(key)
    }
  }

  const halts: BreakGlassHaltChange[] = [
    ...halted.map((log) => ({ kind: 'halted' as const, by: log.args.haltedBy, log })),
    ...reauthorized.map((log) => ({ kind: 'reauthorized' as const, by: log.args.authorizedBy, log })),
  ]
    .sort((a, b) => order(a.log, b.log))
    .map(({ kind, by, log }) => ({
      kind,
      grantId: log.args.grantId,
      recordId: log.args.recordId,
      grantor: log.args.grantor,
      by,
      at: timeOf(log.blockNumber),
      blockNumber: log.blockNumber,
      transactionHash: log.transactionHash,
    }))
  return { windows, halts }
}
