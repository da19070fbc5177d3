/**
 * What a vault remembers of the chain between reads, so that a read costs a few calls however long the chain.
 *
 * - **Record versions.** A version's envelope CID never changes once registered, so the versions a vault has
 *   seen (registered itself, or read from the chain) are kept. A read asks the chain for the record's current
 *   version (one view call); only a version not known yet is looked up, with `eth_getLogs` filtered by the
 *   record id topic that starts at the block of the last known version (at the deployment block only the first
 *   time the vault meets a record it did not write), in ranges of at most `logBlockRange` blocks.
 * - **Grants to this account.** The `AccessGranted` / `AccessRevoked` events naming this account as grantee
 *   (an indexed topic) are kept with the last block they were read to; each read asks only for the blocks
 *   after it. Whether a grant holds is still asked of the chain on every read (`checkAccess`), so a revocation
 *   or an expiry is seen at once whatever is remembered; a remembered revocation only spares that call.
 *
 * Concurrent reads may refresh at once: every refresh reads from the last block known when it started up to a
 * head it fixed, and what it finds is merged (by version, by grant id), so none can leave a hole.
 *
 * Nothing here is secret: the same facts are public on chain. Chain reorganisations are not handled: a
 * version remembered from a block that was later dropped stays until the record moves on (its envelope is
 * still checked against its CID, and proxies check the chain's current version themselves).
 *
 * @module
 */
import {
  decodePurpose,
  type GrantListing,
  type MedvaultAddresses,
  type RecordVersion,
  readLogsChunked,
  scopeKindName,
} from '@medvault/chain'
import {
  type Address,
  type Chain,
  encodeEventTopics,
  formatLog,
  type Hex,
  isAddressEqual,
  type Log,
  numberToHex,
  type PublicClient,
  pad,
  parseAbi,
  parseEventLogs,
  type RpcLog,
  type Transport,
} from 'viem'

/**
 * The events read, as the ConsentRegistry declares them (packages/contracts/contracts/interfaces). The SDK
 * does not import the contracts package; a mismatch here would make every read of an unknown version fail.
 */
const eventsAbi = parseAbi([
  'event RecordRegistered(bytes32 indexed recordId, address indexed owner, bytes8 tag, bytes cid)',
  'event RecordVersionAdded(bytes32 indexed recordId, uint32 indexed version, bytes cid, address author)',
  'event AccessGranted(bytes32 indexed grantId, address indexed grantor, address indexed grantee, uint8 scopeKind, bytes32 scopeTarget, uint8 purpose, uint32 notBefore, uint32 expiry, uint8 threshold, uint32 proxySetId, bytes kfragsCid)',
  'event AccessRevoked(bytes32 indexed grantId, address indexed grantor, address indexed grantee, address revokedBy)',
  'event GrantRecordsScoped(bytes32 indexed grantId, bytes32[] records)',
])

const topic0 = (eventName: (typeof eventsAbi)[number]['name']): Hex =>
  encodeEventTopics({ abi: eventsAbi, eventName } as Parameters<typeof encodeEventTopics>[0])[0] as Hex

const RECORD_EVENTS = [topic0('RecordRegistered'), topic0('RecordVersionAdded')]
const GRANT_EVENTS = [topic0('AccessGranted'), topic0('AccessRevoked')]
const RECORDS_SCOPED = topic0('GrantRecordsScoped')

/** How a read index reaches the chain. */
export interface ReadIndexComponents {
  publicClient: PublicClient<Transport, Chain>
  addresses: MedvaultAddresses
  /** The deployment block: nothing before it is ever asked for. */
  fromBlock: bigint
  /** Most blocks per `eth_getLogs`; a range the node refuses is read in halves. Default 10,000. */
  logBlockRange?: number | undefined
  /** The account whose grants (as grantee) are indexed. */
  account: Address
}

/** A vault's memory of record versions and of the grants made to it. */
export interface ReadIndex {
  /**
   * The versions of a record from 1 up to at least `version` (oldest first): from memory when known, else from
   * the chain (only the blocks from the last known version on). Shorter when the chain has fewer.
   */
  versions(recordId: Hex, version: number): Promise<readonly RecordVersion[]>
  /** The highest version remembered, if any (no chain call). */
  latestKnown(recordId: Hex): RecordVersion | undefined
  /**
   * Remembers a version this vault has just registered, if `logs` (its transaction receipt's) hold the
   * registry's event for exactly this record, version and CID: a receipt can belong to another transaction
   * that took the same nonce, and a version remembered wrongly would be served as current.
   */
  addVersion(recordId: Hex, version: RecordVersion, logs: readonly Log[]): void
  /**
   * Every grant `grantor` made to the account, oldest first, read up to the chain's latest block. With
   * `again`, read from the deployment block once more (a grant the index should hold and does not: an answer
   * from an RPC backend behind the head it reported, or a reorganisation, can leave a block unread).
   */
  grantsToMe(grantor: Address, options?: { again?: boolean }): Promise<readonly GrantListing[]>
}

export function createReadIndex(components: ReadIndexComponents): ReadIndex {
  const { publicClient, addresses, fromBlock, account, logBlockRange } = components
  const address = addresses.consentRegistry
  /** Per record (lower-case id): versions 1…k, in order, with no gap. */
  const records = new Map<string, RecordVersion[]>()
  /**
   * Grants to the account by lower-case grant id; revoked ids; the last block read per grantor. Grants are
   * asked for by grantor and grantee both: anyone may grant to anyone, and a query by grantee alone would let
   * a stranger's thousands of grants to this account swell every query past what an RPC provider answers.
   */
  const grants = new Map<string, GrantListing>()
  const revoked = new Set<string>()
  const grantsTo = new Map<string, bigint>()

  /**
   * The logs of `topics` from `fromBlock` to `toBlock` (default: the head, read first so that every range
   * reads the same chain), in ranges a capped provider answers (`readLogsChunked`).
   */
  async function getLogs(filter: {
    fromBlock: bigint
    toBlock?: bigint | undefined
    topics: (Hex | Hex[] | null)[]
  }): Promise<Log[]> {
    const toBlock = filter.toBlock ?? (await publicClient.getBlockNumber({ cacheTime: 0 }))
    return readLogsChunked({
      fromBlock: filter.fromBlock,
      toBlock,
      maxBlockRange: logBlockRange,
      read: async (from, to) => {
        const logs = (await publicClient.request({
          method: 'eth_getLogs',
          params: [
            { address, fromBlock: numberToHex(from), toBlock: numberToHex(to), topics: filter.topics },
          ],
        })) as RpcLog[]
        return logs.map((log) => formatLog(log))
      },
    })
  }

  /** Adds versions (any order, duplicates ignored); only a version right after the last known one is kept. */
  function merge(key: string, found: readonly RecordVersion[]): RecordVersion[] {
    const known = records.get(key) ?? []
    for (const v of [...found].sort((a, b) => a.version - b.version)) {
      if (v.version === known.length + 1) known.push(v)
    }
    if (known.length > 0) records.set(key, known)
    return known
  }

  async function readVersions(recordId: Hex, from: bigint): Promise<RecordVersion[]> {
    const logs = await getLogs({ fromBlock: from, topics: [RECORD_EVENTS, recordId] })
    return parseEventLogs({ abi: eventsAbi, logs, strict: true }).flatMap((log): RecordVersion[] => {
      if (log.eventName === 'RecordRegistered') {
        return [
          {
            version: 1,
            cid: log.args.cid,
            author: log.args.owner,
            blockNumber: log.blockNumber,
            transactionHash: log.transactionHash,
          },
        ]
      }
      if (log.eventName === 'RecordVersionAdded') {
        return [
          {
            version: log.args.version,
            cid: log.args.cid,
            author: log.args.author,
            blockNumber: log.blockNumber,
            transactionHash: log.transactionHash,
          },
        ]
      }
      return []
    })
  }

  async function readGrants(grantor: Address, from: bigint, to: bigint): Promise<void> {
    const logs = parseEventLogs({
      abi: eventsAbi,
      logs: await getLogs({
        fromBlock: from,
        toBlock: to,
        topics: [GRANT_EVENTS, null, pad(grantor), pad(account)],
      }),
      strict: true,
    })
    const fresh: GrantListing[] = []
    for (const log of logs) {
      if (log.eventName === 'AccessRevoked') revoked.add(log.args.grantId.toLowerCase())
      if (log.eventName !== 'AccessGranted') continue
      const a = log.args
      fresh.push({
        grantId: a.grantId,
        grantor: a.grantor,
        grantee: a.grantee,
        scopeKind: scopeKindName(a.scopeKind),
        scopeTarget: a.scopeTarget,
        records: [],
        purpose: decodePurpose(a.purpose),
        notBefore: a.notBefore,
        expiry: a.expiry,
        threshold: a.threshold,
        proxySetId: a.proxySetId,
        kfragsCid: a.kfragsCid,
        revoked: false,
        blockNumber: log.blockNumber,
        transactionHash: log.transactionHash,
      })
    }
    // A records-scoped grant's list is in its own event, in the grant's transaction: asked for by grant id.
    const scoped = fresh.filter((l) => l.scopeKind === 'records')
    if (scoped.length > 0) {
      const lists = parseEventLogs({
        abi: eventsAbi,
        logs: await getLogs({
          // Logs come in block order.
          fromBlock: (scoped[0] as GrantListing).blockNumber,
          toBlock: (scoped.at(-1) as GrantListing).blockNumber,
          topics: [RECORDS_SCOPED, scoped.map((l) => l.grantId)],
        }),
        eventName: 'GrantRecordsScoped',
        strict: true,
      })
      const byId = new Map(lists.map((log) => [log.args.grantId.toLowerCase(), [...log.args.records]]))
      for (const l of scoped) l.records = byId.get(l.grantId.toLowerCase()) ?? []
    }
    for (const l of fresh) grants.set(l.grantId.toLowerCase(), l)
  }

  return {
    latestKnown(recordId) {
      return records.get(recordId.toLowerCase())?.at(-1)
    },
    addVersion(recordId, version, logs) {
      const id = recordId.toLowerCase()
      const cid = version.cid.toLowerCase()
      const registered = parseEventLogs({
        abi: eventsAbi,
        logs: logs.filter((l) => isAddressEqual(l.address, address)) as Log[],
        strict: true,
      }).some((log) =>
        log.eventName === 'RecordRegistered'
          ? version.version === 1 &&
            log.args.recordId.toLowerCase() === id &&
            log.args.cid.toLowerCase() === cid
          : log.eventName === 'RecordVersionAdded' &&
            log.args.version === version.version &&
            log.args.recordId.toLowerCase() === id &&
            log.args.cid.toLowerCase() === cid,
      )
      if (registered) merge(id, [version])
    },
    async versions(recordId, version) {
      const key = recordId.toLowerCase()
      const known = records.get(key) ?? []
      if (known.length >= version) return known
      // Two versions can share a block: start at the last known one's block, not after it.
      const last = known.at(-1)
      return merge(key, await readVersions(recordId, last === undefined ? fromBlock : last.blockNumber))
    },
    async grantsToMe(grantor, options) {
      const key = grantor.toLowerCase()
      const last = options?.again === true ? undefined : grantsTo.get(key)
      const start = last === undefined ? fromBlock : last + 1n
      const head = await publicClient.getBlockNumber({ cacheTime: 0 })
      if (head >= start) {
        await readGrants(grantor, start, head)
        const before = grantsTo.get(key)
        if (before === undefined || head > before) grantsTo.set(key, head)
      }
      return [...grants.values()]
        .filter((l) => l.grantor.toLowerCase() === key)
        .map((l) => (revoked.has(l.grantId.toLowerCase()) ? { ...l, revoked: true } : l))
        .sort((a, b) => (a.blockNumber < b.blockNumber ? -1 : a.blockNumber > b.blockNumber ? 1 : 0))
    },
  }
}
