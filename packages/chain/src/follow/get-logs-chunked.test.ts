import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  InvalidParamsRpcError,
  keccak256,
  parseAbiItem,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { getLogs } from 'viem/actions'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Anvil, startAnvil } from '../anvil.ts'
import {
  AbortError,
  LogQueryRefusedError,
  LogQueryTimeoutError,
  LogRangeTooLargeError,
  MalformedLogError,
} from '../errors.ts'
import {
  DEFAULT_MAX_LOG_TIMEOUTS,
  getLogsChunked,
  type LogRangeProgressEvent,
  LogRangeReader,
  logQueryRefusal,
  readLogsChunked,
} from './get-logs-chunked.ts'

const ping = parseAbiItem('event Ping(uint256 n)')

/** The same hand-assembled `Ping(uint256)` emitter as the follower's tests: LOG1 with its calldata as data. */
function pingBytecode(): Hex {
  const topic = keccak256(toHex('Ping(uint256)')).slice(2)
  const runtime = `365f5f377f${topic}365fa100`
  const size = (runtime.length / 2).toString(16).padStart(2, '0')
  return `0x60${size}8060095f395ff3${runtime}`
}

let anvil: Anvil
let emitter: Address
let first: bigint
let last: bigint
const publicClient = () => createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl) })

type Refusal =
  | { kind: 'range'; maxBlocks: number }
  | { kind: 'results'; maxResults: number }
  | { kind: 'stall'; maxResults: number }
  | { kind: 'invalid' }
  /** Refuses every range wider than `maxBlocks`, worded as a block-range cap or as a result cap. */
  | { kind: 'wide'; maxBlocks: number; as: 'range' | 'results' }
  /** Never answers eth_getLogs. */
  | { kind: 'hang' }
  /** Never answers its first eth_getLogs; answers every later one. */
  | { kind: 'blip' }
  /**
   * Answers eth_getLogs with the node's raw logs for the range rewritten, or refuses it (code -32005) with the
   * message `answer` gives: a hostile or broken node, or a provider's own wording.
   */
  | {
      kind: 'custom'
      answer: (
        logs: Record<string, unknown>[],
        fromBlock: bigint,
        toBlock: bigint,
      ) => unknown[] | { refuse: string }
    }

/**
 * A real JSON-RPC front on 127.0.0.1 for the real anvil that answers eth_getLogs as a capped provider does:
 * a block-range cap (code -32600, Alchemy's style), a result cap (-32005, Infura's), an answer too slow for the
 * client's time-out, or a refusal no range can fix (-32602). Counts what it served and refused, in blocks.
 */
async function front(refusal: Refusal) {
  const served: bigint[] = []
  const refused: bigint[] = []
  let blipped = false
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const request = JSON.parse(body) as {
      id: number
      method: string
      params?: [{ fromBlock: Hex; toBlock: Hex }]
    }
    const upstream = async () =>
      (await (
        await fetch(anvil.rpcUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
      ).json()) as { result?: unknown }
    const send = (value: unknown) => {
      res.setHeader('content-type', 'application/json')
      res.end(JSON.stringify(value))
    }
    if (request.method !== 'eth_getLogs') return send(await upstream())
    const { fromBlock, toBlock } = request.params![0]
    const blocks = BigInt(toBlock) - BigInt(fromBlock) + 1n
    const refuse = (code: number, message: string) => {
      refused.push(blocks)
      send({ jsonrpc: '2.0', id: request.id, error: { code, message } })
    }
    if (refusal.kind === 'invalid') return refuse(-32602, 'invalid argument 0: hex string without 0x prefix')
    if (refusal.kind === 'hang' || (refusal.kind === 'blip' && !blipped)) {
      blipped = true
      refused.push(blocks)
      return
    }
    if (refusal.kind === 'wide' && blocks > refusal.maxBlocks) {
      return refusal.as === 'range'
        ? refuse(-32600, `eth_getLogs is limited to a ${refusal.maxBlocks} block range`)
        : refuse(-32005, 'query returned more than 10000 results')
    }
    if (refusal.kind === 'range' && blocks > refusal.maxBlocks) {
      return refuse(-32600, `eth_getLogs is limited to a ${refusal.maxBlocks} block range`)
    }
    const answer = await upstream()
    if (refusal.kind === 'custom') {
      const rewritten = refusal.answer(
        answer.result as Record<string, unknown>[],
        BigInt(fromBlock),
        BigInt(toBlock),
      )
      if (!Array.isArray(rewritten)) return refuse(-32005, rewritten.refuse)
      served.push(blocks)
      return send({ ...answer, result: rewritten })
    }
    if (
      refusal.kind !== 'range' &&
      Array.isArray(answer.result) &&
      'maxResults' in refusal &&
      answer.result.length > refusal.maxResults
    ) {
      if (refusal.kind === 'results')
        return refuse(-32005, `query returned more than ${refusal.maxResults} results`)
      refused.push(blocks)
      await new Promise((resolve) => setTimeout(resolve, 1_500))
      return send(answer)
    }
    served.push(blocks)
    send(answer)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  return {
    client: createPublicClient({
      chain: foundry,
      transport: http(url, {
        retryCount: 0,
        ...(refusal.kind === 'stall' || refusal.kind === 'hang' || refusal.kind === 'blip'
          ? { timeout: 500 }
          : {}),
      }),
    }),
    served,
    refused,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        // Requests a hanging front never answered.
        server.closeAllConnections()
      }),
  }
}

beforeAll(async () => {
  anvil = await startAnvil()
  const wallet = createWalletClient({
    account: privateKeyToAccount(anvil.accounts[0]!.privateKey),
    chain: foundry,
    transport: http(anvil.rpcUrl),
  })
  const testClient = createTestClient({ chain: foundry, mode: 'anvil', transport: http(anvil.rpcUrl) })
  const hash = await wallet.deployContract({ abi: [], bytecode: pingBytecode() })
  const receipt = await publicClient().waitForTransactionReceipt({ hash, pollingInterval: 10 })
  emitter = receipt.contractAddress!
  first = receipt.blockNumber
  // 40 events: 20 spread over ~400 blocks, then 20 packed into one block (a dense stretch).
  for (let n = 1n; n <= 20n; n++) {
    await wallet.sendTransaction({ to: emitter, data: toHex(n, { size: 32 }) })
    await testClient.mine({ blocks: 20 })
  }
  await testClient.setAutomine(false)
  const hashes: Hex[] = []
  for (let n = 21n; n <= 40n; n++) {
    hashes.push(await wallet.sendTransaction({ to: emitter, data: toHex(n, { size: 32 }), gas: 50_000n }))
  }
  await testClient.mine({ blocks: 1 })
  await testClient.setAutomine(true)
  await publicClient().waitForTransactionReceipt({ hash: hashes.at(-1)!, pollingInterval: 10 })
  last = await publicClient().getBlockNumber({ cacheTime: 0 })
})

afterAll(async () => {
  await anvil?.stop()
})

/** A result cap in Infura's words, and Alchemy's, which also name a block range. */
const INFURA = 'query returned more than 10000 results'
const ALCHEMY =
  'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response.'
const values = (logs: readonly { args: unknown }[]) => logs.map((l) => (l.args as { n?: bigint }).n)
const all = Array.from({ length: 40 }, (_, i) => BigInt(i + 1))

describe('getLogsChunked', () => {
  test('default: the logs of the whole range, in chain order, in ranges of at most maxBlockRange blocks', async () => {
    const ranges: LogRangeProgressEvent[] = []
    const logs = await getLogsChunked(publicClient(), {
      address: emitter,
      event: ping,
      fromBlock: first,
      toBlock: last,
      maxBlockRange: 50,
      strict: true,
      onProgress: (e) => ranges.push(e),
    })
    expect(values(logs)).toEqual(all)
    const whole = await publicClient().getLogs({
      address: emitter,
      event: ping,
      fromBlock: first,
      toBlock: last,
    })
    expect(logs).toEqual(whole)
    expect(ranges.every((r) => r.type === 'logs:range' && r.toBlock - r.fromBlock < 50n)).toBe(true)
    expect(ranges[0]).toMatchObject({ fromBlock: first })
    expect(ranges.at(-1)).toMatchObject({ toBlock: last })
  })

  test("behavior: a provider's block-range cap: halved until it fits, the rest read at the size that fitted", async () => {
    const capped = await front({ kind: 'range', maxBlocks: 60 })
    try {
      const logs = await getLogsChunked(capped.client, {
        address: emitter,
        event: ping,
        fromBlock: first,
        toBlock: last,
        maxBlockRange: 1_000,
      })
      expect(values(logs)).toEqual(all)
      // The whole range, then its halves until one fits; never above what fitted after that.
      const expected: bigint[] = []
      let span = last - first + 1n
      for (; span > 60n; span /= 2n) expected.push(span)
      expect(capped.refused).toEqual(expected)
      expect(capped.served.every((n) => n <= span)).toBe(true)
    } finally {
      await capped.close()
    }
  })

  test("behavior: a provider's result cap over a dense block range: halved, nothing missed", async () => {
    const capped = await front({ kind: 'results', maxResults: 25 })
    try {
      const logs = await getLogsChunked(capped.client, {
        address: emitter,
        event: ping,
        fromBlock: first,
        toBlock: last,
        maxBlockRange: 10_000,
      })
      expect(values(logs)).toEqual(all)
      expect(capped.refused.length).toBeGreaterThan(0)
    } finally {
      await capped.close()
    }
  })

  test('behavior: a node too slow to answer within the client time-out: the range is halved', async () => {
    const slow = await front({ kind: 'stall', maxResults: 25 })
    try {
      const logs = await getLogsChunked(slow.client, {
        address: emitter,
        event: ping,
        fromBlock: first,
        toBlock: last,
      })
      expect(values(logs)).toEqual(all)
      expect(slow.refused.length).toBeGreaterThan(0)
    } finally {
      await slow.close()
    }
  })

  test('error: a single block whose logs are refused throws LogRangeTooLargeError naming it', async () => {
    const capped = await front({ kind: 'results', maxResults: 5 })
    try {
      const err = await getLogsChunked(capped.client, {
        address: emitter,
        event: ping,
        fromBlock: last - 3n,
        toBlock: last,
        minBlockRange: 1,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(LogRangeTooLargeError)
      expect((err as LogRangeTooLargeError).blockNumber).toBe(last)
      expect((err as LogRangeTooLargeError).shortMessage).toBe(
        `The node refused the logs of block ${last}, a single block: no smaller range can be asked.`,
      )
    } finally {
      await capped.close()
    }
  })

  test('attack: a node refusing every range wider than one block fails fast, not at two requests per block', async () => {
    // As a block-range cap: halved from the whole range down to 2 blocks, whose refusal is final.
    const capped = await front({ kind: 'wide', maxBlocks: 1, as: 'range' })
    try {
      const err = await getLogsChunked(capped.client, {
        address: emitter,
        event: ping,
        fromBlock: 0n,
        toBlock: last,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(LogRangeTooLargeError)
      const { fromBlock, toBlock } = err as LogRangeTooLargeError
      expect(toBlock - fromBlock + 1n).toBe(2n)
      expect((err as LogRangeTooLargeError).shortMessage).toBe(
        `The node refused the logs of blocks ${fromBlock} to ${toBlock} (2 blocks), the smallest range read: no smaller range is asked.`,
      )
      // One request per halving of the ~420 blocks; the old reader walked them at two per block.
      expect(capped.refused.length).toBeLessThanOrEqual(10)
      expect(capped.served).toEqual([])
    } finally {
      await capped.close()
    }
    // As a result cap, answering single blocks with no log: split down to single blocks (logs can be that
    // dense), but a refused range whose blocks all come back empty ends the read.
    const liar = await front({ kind: 'wide', maxBlocks: 1, as: 'results' })
    try {
      const err = await getLogsChunked(liar.client, {
        address: '0x000000000000000000000000000000000000dEaD',
        event: ping,
        fromBlock: 0n,
        toBlock: last,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(LogQueryRefusedError)
      expect((err as LogQueryRefusedError).answeredEmpty).toBe(true)
      // The halvings down to 2 blocks (9), then one more refused 2-block range: the first 2-block one is empty.
      expect(liar.refused.length).toBeLessThanOrEqual(12)
      expect(liar.served.length).toBeLessThanOrEqual(3)
    } finally {
      await liar.close()
    }
  })

  test('attack: a node claiming too many results for every range wider than 2 blocks, answering none: LogQueryRefusedError', async () => {
    // Above the floor, the span grows back after every empty answer and is refused again: a refused range
    // answered block by block with no log fails the read.
    const hostile = await front({ kind: 'wide', maxBlocks: 2, as: 'results' })
    try {
      const err = await getLogsChunked(hostile.client, {
        // No log at this address: every answer is empty.
        address: '0x000000000000000000000000000000000000dEaD',
        event: ping,
        fromBlock: first,
        toBlock: last,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(LogQueryRefusedError)
      // The halvings from ~420 blocks down to 4 (8), and one more 4-block range refused once the first 2
      // blocks of the smallest refused range came back empty; its last 2 blocks answered empty as well.
      expect(hostile.refused.length).toBeLessThanOrEqual(10)
      expect(hostile.served.length).toBeLessThanOrEqual(3)
      const { fromBlock, toBlock } = err as LogQueryRefusedError
      expect(toBlock - fromBlock + 1n).toBe(3n)
      expect((err as LogQueryRefusedError).shortMessage).toBe(
        `The node refused the logs of blocks ${fromBlock} to ${toBlock} for too many results, then answered each of those blocks with none (${hostile.refused.length} refusals since the last log found).`,
      )
    } finally {
      await hostile.close()
    }
  })

  test('attack: a node refusing every range wider than one block, with a made-up log every few blocks, fails fast instead of walking the chain', async () => {
    // A made-up log: a real Ping log of the emitter moved to the block asked for. One every 8 blocks kept the
    // old reader's refusal count (reset by any answer holding a log) below its limit for good: it walked all
    // ~420 blocks at two requests per block. Every range refused for too many results must now hold a log,
    // whether the refusal claims too many results alone (Infura's words) or also names a block range (Alchemy's).
    const [template] = await publicClient().request({
      method: 'eth_getLogs',
      params: [{ address: emitter, fromBlock: toHex(first), toBlock: toHex(last) }],
    })
    for (const refuse of [INFURA, ALCHEMY]) {
      const liar = await front({
        kind: 'custom',
        answer: (_, from, to) =>
          to > from
            ? { refuse }
            : from % 8n === 0n
              ? [{ ...template, blockNumber: toHex(from), logIndex: '0x0', transactionIndex: '0x0' }]
              : [],
      })
      try {
        const err = await getLogsChunked(liar.client, {
          address: emitter,
          event: ping,
          fromBlock: 0n,
          toBlock: last,
        }).catch((e: unknown) => e)
        expect(err).toBeInstanceOf(LogQueryRefusedError)
        expect((err as LogQueryRefusedError).answeredEmpty).toBe(true)
        const { fromBlock, toBlock } = err as LogQueryRefusedError
        expect(toBlock - fromBlock + 1n).toBe(2n)
        // The halvings down to 2 blocks, a made-up log at block 0, then the first refused range answered empty.
        expect(liar.refused.length + liar.served.length).toBeLessThanOrEqual(24)
      } finally {
        await liar.close()
      }
    }
  })

  test("behavior: a block-range cap in a result cap's words (Alchemy's), over blocks without logs, is read as a block-range cap", async () => {
    // A refused range that comes back without a log was not refused for its logs: a refusal that also names a
    // block range is then taken for a block-range cap (never grown past what fitted), not for a lie. The old
    // reader kept growing the span back and being refused, and gave up after 64 refusals.
    const capped = await front({
      kind: 'custom',
      answer: (logs, from, to) => (to - from + 1n > 30n ? { refuse: ALCHEMY } : logs),
    })
    try {
      const none = await getLogsChunked(capped.client, {
        address: '0x000000000000000000000000000000000000dEaD',
        event: ping,
        fromBlock: 0n,
        toBlock: last,
        maxBlockRange: 1_000,
      })
      expect(none).toEqual([])
      expect(capped.served.every((n) => n <= 30n)).toBe(true)
      // The halvings down to what fits, one more once the span grew back, then none.
      expect(capped.refused.length).toBeLessThanOrEqual(8)
      // Where logs are, each refused range holds some: read as a result cap, nothing missed.
      expect(
        values(
          await getLogsChunked(capped.client, {
            address: emitter,
            event: ping,
            fromBlock: 0n,
            toBlock: last,
            maxBlockRange: 1_000,
          }),
        ),
      ).toEqual(all)
    } finally {
      await capped.close()
    }
  })

  test('attack: a node that never answers: LogQueryTimeoutError after a few time-outs, not one per halving', async () => {
    const hung = await front({ kind: 'hang' })
    try {
      const err = await getLogsChunked(hung.client, {
        address: emitter,
        event: ping,
        fromBlock: first,
        toBlock: last,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(LogQueryTimeoutError)
      expect(hung.refused).toHaveLength(DEFAULT_MAX_LOG_TIMEOUTS)
      const { fromBlock, toBlock } = err as LogQueryTimeoutError
      expect((err as LogQueryTimeoutError).shortMessage).toBe(
        `The node answered no log query in time 3 times in a row, the last for blocks ${fromBlock} to ${toBlock}.`,
      )
    } finally {
      await hung.close()
    }
  })

  test('behavior: one time-out of a long-lived reader near the head does not cap its range: a later catch-up reads at full span', async () => {
    const blip = await front({ kind: 'blip' })
    try {
      const reader = new LogRangeReader({ maxBlockRange: 100 })
      const readAll = async (fromBlock: bigint, toBlock: bigint) => {
        const out: bigint[] = []
        for (let from = fromBlock; from <= toBlock; ) {
          const { logs, toBlock: end } = await reader.read(from, toBlock, (f, t) =>
            getLogs(blip.client, { address: emitter, event: ping, fromBlock: f, toBlock: t }),
          )
          for (const n of values(logs)) out.push(n as bigint)
          from = end + 1n
        }
        return out
      }
      // A follower's poll of the last 4 blocks: the node misses one answer, the range is halved and read.
      expect(await readAll(last - 3n, last)).toEqual(all.slice(20))
      expect(blip.refused).toEqual([4n])
      // A long catch-up later on the same reader: the span grows back to its maximum within a few answers,
      // instead of the whole stretch being read 2 blocks a request.
      blip.served.length = 0
      expect(await readAll(first, last)).toEqual(all)
      expect(blip.served.filter((blocks) => blocks === 100n).length).toBeGreaterThanOrEqual(2)
      expect(blip.served.length).toBeLessThanOrEqual(12)
      expect(reader.span).toBe(100n)
    } finally {
      await blip.close()
    }
  })

  test('error: a time-out on a range already at the floor is LogQueryTimeoutError, not a refused range', async () => {
    const blip = await front({ kind: 'blip' })
    try {
      const err = await getLogsChunked(blip.client, {
        address: emitter,
        event: ping,
        fromBlock: last - 1n,
        toBlock: last,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(LogQueryTimeoutError)
      expect((err as LogQueryTimeoutError).shortMessage).toBe(
        `The node answered no log query in time once, for blocks ${last - 1n} to ${last}.`,
      )
      expect(blip.refused).toEqual([2n])
    } finally {
      await blip.close()
    }
  })

  test('error: a refusal no smaller range can fix is thrown as it came, after one request', async () => {
    const broken = await front({ kind: 'invalid' })
    try {
      const err = await getLogsChunked(broken.client, {
        address: emitter,
        event: ping,
        fromBlock: first,
        toBlock: last,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(InvalidParamsRpcError)
      expect(broken.refused).toHaveLength(1)
    } finally {
      await broken.close()
    }
  })

  test('error: aborting through signal stops between ranges with AbortError', async () => {
    const capped = await front({ kind: 'range', maxBlocks: 1_000 })
    try {
      const controller = new AbortController()
      const err = await getLogsChunked(capped.client, {
        address: emitter,
        event: ping,
        fromBlock: first,
        toBlock: last,
        maxBlockRange: 10,
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === 'logs:range' && e.toBlock - first >= 29n) controller.abort()
        },
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(AbortError)
      expect(capped.served).toHaveLength(3)
      // Already aborted: no request at all.
      const before = capped.served.length
      await expect(
        getLogsChunked(capped.client, {
          event: ping,
          fromBlock: first,
          toBlock: last,
          signal: controller.signal,
        }),
      ).rejects.toBeInstanceOf(AbortError)
      expect(capped.served).toHaveLength(before)
    } finally {
      await capped.close()
    }
  })

  test('error: bad parameters are refused before any request', async () => {
    for (const bad of [0, -1, 1.5]) {
      for (const key of ['maxBlockRange', 'minBlockRange', 'maxTimeouts', 'maxRefusals']) {
        await expect(
          getLogsChunked(publicClient(), { event: ping, fromBlock: first, toBlock: last, [key]: bad }),
        ).rejects.toThrow(RangeError)
      }
    }
    expect(await readLogsChunked({ fromBlock: 5n, toBlock: 4n, read: async () => [1] })).toEqual([])
  })
})

describe('logQueryRefusal', () => {
  const rpc = (message: string, name = 'RpcRequestError') =>
    Object.assign(new Error(`RPC Request failed.\n\nDetails: ${message}`), { name })

  test('default: providers’ refusals as they word them', () => {
    // Result caps and size limits: the span may grow back where logs are sparse.
    expect(
      logQueryRefusal(rpc('query returned more than 10000 results. Try with this block range [0x1, 0x2].')),
    ).toBe('size')
    expect(
      logQueryRefusal(
        rpc(
          'Log response size exceeded. You can make eth_getLogs requests with up to a 2K block range and no limit on the response size, or you can request any block range with a cap of 10K logs in the response.',
        ),
      ),
    ).toBe('size')
    expect(
      logQueryRefusal(Object.assign(new Error('The request took too long'), { name: 'TimeoutError' })),
    ).toBe('size')
    expect(logQueryRefusal(rpc('Limit exceeded', 'LimitExceededRpcError'))).toBe('size')
    // Time-outs, the node's own included, are reported as 'size' too (and counted apart by the reader).
    expect(logQueryRefusal(rpc('Query timeout exceeded. Consider reducing your block range.'))).toBe('size')
    // Block-range caps: the same everywhere, so the span never grows past what fitted.
    expect(logQueryRefusal(rpc('eth_getLogs is limited to a 10,000 range'))).toBe('range')
    expect(logQueryRefusal(rpc('exceed maximum block range: 50000'))).toBe('range')
    expect(logQueryRefusal(rpc('block range is too wide'))).toBe('range')
    expect(logQueryRefusal(rpc('Block range limit exceeded.'))).toBe('range')
    // Anything else is not a refusal a smaller range fixes.
    expect(logQueryRefusal(rpc('invalid argument 0: hex string without 0x prefix'))).toBeUndefined()
    expect(logQueryRefusal(new Error('fetch failed'))).toBeUndefined()
    expect(logQueryRefusal(rpc('project ID request rate exceeded', 'LimitExceededRpcError'))).toBeUndefined()
    expect(
      logQueryRefusal(rpc('Your app has exceeded its compute units per second capacity')),
    ).toBeUndefined()
    // A node that cannot be reached is not answering a range too large: no halving down to one block.
    expect(
      logQueryRefusal(
        new Error('fetch failed', { cause: new Error('Connect Timeout Error (attempted address: x)') }),
      ),
    ).toBeUndefined()
    expect(logQueryRefusal('too large')).toBeUndefined()
  })
})

test('behavior: readLogsChunked keeps chain order across split ranges of any fetcher', async () => {
  const asked: [bigint, bigint][] = []
  const logs = await readLogsChunked({
    fromBlock: 0n,
    toBlock: 99n,
    maxBlockRange: 64,
    read: async (from, to) => {
      asked.push([from, to])
      if (to - from + 1n > 10n) throw new Error('block range too large')
      return Array.from({ length: Number(to - from + 1n) }, (_, i) => ({
        blockNumber: from + BigInt(i),
        logIndex: 0,
      }))
    },
  })
  expect(logs.map((l) => l.blockNumber)).toEqual(Array.from({ length: 100 }, (_, i) => BigInt(i)))
  // 64 → 32 → 16 → 8 blocks, then the rest of the range at 8.
  expect(asked.slice(0, 5)).toEqual([
    [0n, 63n],
    [0n, 31n],
    [0n, 15n],
    [0n, 7n],
    [8n, 15n],
  ])
  expect(asked.slice(4).every(([f, t]) => t - f + 1n <= 8n)).toBe(true)
})

test('behavior: logs a node answers out of chain order come sorted by block, then log index', async () => {
  const order: [bigint, number][] = []
  for (let block = 0n; block < 20n; block++)
    for (let index = 0; index < 3; index++) order.push([block, index])
  const logs = await readLogsChunked({
    fromBlock: 0n,
    toBlock: 19n,
    maxBlockRange: 8,
    // Newest first, as some providers (or a hostile one) answer.
    read: async (from, to) =>
      order
        .filter(([block]) => block >= from && block <= to)
        .reverse()
        .map(([blockNumber, logIndex]) => ({ blockNumber, logIndex })),
  })
  expect(logs.map((l) => [l.blockNumber, l.logIndex])).toEqual(order)
  // Raw logs (hex), through a long-lived reader.
  const reader = new LogRangeReader({ maxBlockRange: 10 })
  const { logs: raw } = await reader.read(0n, 9n, async () => [
    { blockNumber: '0x2', logIndex: '0x0' },
    { blockNumber: '0x1', logIndex: '0xa' },
    { blockNumber: '0x1', logIndex: '0x2' },
  ])
  expect(raw).toEqual([
    { blockNumber: '0x1', logIndex: '0x2' },
    { blockNumber: '0x1', logIndex: '0xa' },
    { blockNumber: '0x2', logIndex: '0x0' },
  ])
})

test('attack: logs a node returns outside the range asked are dropped, so none comes twice or out of order', async () => {
  // A node that ignores toBlock: every answer runs to the head.
  const logs = await readLogsChunked({
    fromBlock: 0n,
    toBlock: 29n,
    maxBlockRange: 10,
    read: async (from) =>
      Array.from({ length: Number(30n - from) }, (_, i) => ({ blockNumber: from + BigInt(i), logIndex: 0 })),
  })
  expect(logs.map((l) => l.blockNumber)).toEqual(Array.from({ length: 30 }, (_, i) => BigInt(i)))
  // Raw logs carry their block number as hex.
  const raw = await readLogsChunked({
    fromBlock: 0n,
    toBlock: 5n,
    maxBlockRange: 3,
    read: async () =>
      [0, 1, 2, 3, 4, 5].map((b) => ({ blockNumber: `0x${b.toString(16)}`, logIndex: '0x0' })),
  })
  expect(raw.map((l) => l.blockNumber)).toEqual(['0x0', '0x1', '0x2', '0x3', '0x4', '0x5'])
})

test('behavior: a time-out answered at half the range: the span grows back after answers in time; a hang leaves the span as it was', async () => {
  const timeout = () =>
    Object.assign(new Error('The request took too long to respond.'), { name: 'TimeoutError' })
  // Slow once on a wide range: the half is read, and the span grows back as after a result cap (a light answer
  // in time), not held at the half for good as after a block-range cap.
  const slow = new LogRangeReader({ maxBlockRange: 100 })
  const spans: bigint[] = []
  let slowOnce = true
  const { toBlock } = await slow.read(0n, 999n, async (from, to) => {
    spans.push(to - from + 1n)
    if (slowOnce && to - from + 1n > 50n) {
      slowOnce = false
      throw timeout()
    }
    return []
  })
  expect(toBlock).toBe(49n)
  // The rest of this call (the same last block) stays at the half that answered: a node slow on wide ranges
  // would otherwise cost a time-out every other request.
  expect(slow.span).toBe(50n)
  for (let from = 50n; from <= 999n; ) {
    from =
      (
        await slow.read(from, 999n, async (f, t) => {
          spans.push(t - f + 1n)
          return []
        })
      ).toBlock + 1n
  }
  expect(spans).toEqual([100n, ...Array<bigint>(20).fill(50n)])
  // The next call (a follower's next pass) grows back up to the full span.
  await slow.read(1000n, 1999n, async (from, to) => {
    spans.push(to - from + 1n)
    return []
  })
  expect(spans.at(-1)).toBe(50n)
  expect(slow.span).toBe(100n)
  await slow.read(1050n, 1999n, async (from, to) => {
    spans.push(to - from + 1n)
    return []
  })
  expect(spans.at(-1)).toBe(100n)
  // Hung: after maxTimeouts in a row the reader fails, and reads at its full span once the node answers again
  // (a follower polls on after the error).
  const hung = new LogRangeReader({ maxBlockRange: 100 })
  let asked = 0
  const hang = async () => {
    asked++
    throw timeout()
  }
  await expect(hung.read(0n, 999n, hang)).rejects.toBeInstanceOf(LogQueryTimeoutError)
  expect(asked).toBe(DEFAULT_MAX_LOG_TIMEOUTS)
  expect(hung.span).toBe(100n)
  // Still hung at the next poll: one request, not another series of halvings.
  await expect(hung.read(0n, 999n, hang)).rejects.toBeInstanceOf(LogQueryTimeoutError)
  expect(asked).toBe(DEFAULT_MAX_LOG_TIMEOUTS + 1)
  expect((await hung.read(0n, 999n, async () => [])).toBlock).toBe(99n)
})

test('attack: a node timing out on every range over 50 blocks costs one time-out per call, not one every other request', async () => {
  const timeout = () =>
    Object.assign(new Error('The request took too long to respond.'), { name: 'TimeoutError' })
  let timeouts = 0
  let answered = 0
  const read = async (from: bigint, to: bigint): Promise<bigint[]> => {
    if (to - from + 1n > 50n) {
      timeouts++
      throw timeout()
    }
    answered++
    return []
  }
  // A 10,000-block read: one time-out, then the rest at the 50 blocks that answered (each time-out a full
  // client wait; the span doubling back after every empty answer cost about 100 of them).
  await readLogsChunked({ fromBlock: 0n, toBlock: 9_999n, maxBlockRange: 100, read })
  expect(timeouts).toBe(1)
  expect(answered).toBe(200)
  // A long-lived reader (a follower): one time-out per call, each call free to grow back to the full span.
  const reader = new LogRangeReader({ maxBlockRange: 100 })
  timeouts = 0
  for (const [fromBlock, toBlock] of [
    [0n, 4_999n],
    [5_000n, 9_999n],
  ] as const) {
    for (let from = fromBlock; from <= toBlock; ) from = (await reader.read(from, toBlock, read)).toBlock + 1n
  }
  expect(timeouts).toBe(2)
  // A node slowing down within one call (answering ever fewer blocks in time): each time-out at least halves
  // the ceiling, so one time-out per halving, 3 here (100, then 50, then 25 blocks), however long the read.
  let limit = 50n
  timeouts = 0
  answered = 0
  await readLogsChunked({
    fromBlock: 0n,
    toBlock: 9_999n,
    maxBlockRange: 100,
    read: async (from, to) => {
      if (to - from + 1n > limit) {
        timeouts++
        throw timeout()
      }
      // Every 20 answers, the node answers half the blocks in time, down to 12.
      if (++answered % 20 === 0 && limit > 12n) limit /= 2n
      return []
    },
  })
  expect(timeouts).toBe(3)
})

test('attack: a log without a block number (a pending log) or a log index fails the read with MalformedLogError', async () => {
  // A node answering a query over mined blocks with a pending log (no block number: viem gives it
  // `blockNumber: null`) or a log with its index left out: such a log can be neither range-checked nor put in
  // chain order, so the read fails instead of handing on an answer in the node's order.
  for (const [field, tamper] of [
    ['blockNumber', (log: Record<string, unknown>) => ({ ...log, blockNumber: null, blockHash: null })],
    ['logIndex', ({ logIndex: _, ...log }: Record<string, unknown>) => log],
  ] as const) {
    const node = await front({
      kind: 'custom',
      // The second log of each answer, newest first.
      answer: (logs) => logs.map((log, i) => (i === 1 ? tamper(log) : log)).reverse(),
    })
    try {
      const err = await getLogsChunked(node.client, {
        address: emitter,
        event: ping,
        fromBlock: first,
        toBlock: last,
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(MalformedLogError)
      expect((err as MalformedLogError).field).toBe(field)
      expect((err as MalformedLogError).shortMessage).toBe(
        `The node answered the logs of blocks ${first} to ${last} with a log without ${field === 'blockNumber' ? 'a block number (a pending log)' : 'a log index'}: the logs of mined blocks have both.`,
      )
      expect(node.served).toHaveLength(1)
    } finally {
      await node.close()
    }
  }
  // Any fetcher, through a long-lived reader: decoded logs as viem hands pending ones over, or garbage.
  for (const bad of [
    { blockNumber: null, logIndex: 0 },
    { blockNumber: 3n, logIndex: -1 },
    { blockNumber: '0xzz', logIndex: 0 },
    7n,
  ]) {
    const reader = new LogRangeReader({ maxBlockRange: 10 })
    const err = await reader
      .read(0n, 9n, async () => [{ blockNumber: 5n, logIndex: 0 }, bad])
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(MalformedLogError)
  }
})

test('error: maxRefusals refusals for too many results with no log answered since: LogQueryRefusedError', async () => {
  let asked = 0
  const err = await readLogsChunked({
    fromBlock: 0n,
    toBlock: 999n,
    maxBlockRange: 512,
    maxRefusals: 3,
    read: async (from, to) => {
      asked++
      if (to - from + 1n > 16n) throw new Error('query returned more than 10000 results')
      return [{ blockNumber: from, logIndex: 0 }]
    },
  }).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(LogQueryRefusedError)
  expect((err as LogQueryRefusedError).answeredEmpty).toBe(false)
  expect(asked).toBe(3)
  expect((err as LogQueryRefusedError).shortMessage).toBe(
    'The node refused 3 log queries for too many results, the last for blocks 0 to 127, yet answered every range since the last log found with none.',
  )
})

test('behavior: honest nodes with small result caps over dense, sparse and spiky stretches: every log read, no refusal taken for a lie', async () => {
  // Deterministic pseudo-random chains; a node refusing any range of more than `cap` logs for too many results,
  // and (in half the runs) any range of more than `maxBlocks` blocks for its block count.
  let seed = 7
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2_147_483_648
    return seed / 2_147_483_648
  }
  const span = 3_000
  for (const cap of [1, 3, 25]) {
    for (const maxBlockRange of [8, 256, 10_000]) {
      for (const shape of ['spikes', 'clusters', 'alternating'] as const) {
        for (const maxBlocks of [Number.POSITIVE_INFINITY, 40]) {
          const perBlock = new Array<number>(span).fill(0)
          if (shape === 'spikes') {
            for (let i = 0; i < 12; i++)
              perBlock[Math.floor(random() * span)] = 1 + Math.floor(random() * cap)
          } else if (shape === 'clusters') {
            for (let i = 0; i < 8; i++) {
              const start = Math.floor(random() * span)
              const width = 1 + Math.floor(random() * 200)
              for (let b = start; b < Math.min(span, start + width); b++)
                perBlock[b] = Math.floor(random() * (cap + 1))
            }
          } else {
            const period = 1 + Math.floor(random() * 32)
            for (let b = 0; b < span; b++)
              if (Math.floor(b / period) % 2 === 0) perBlock[b] = Math.floor(random() * (cap + 1))
          }
          const logs = perBlock.flatMap((n, block) =>
            Array.from({ length: n }, (_, logIndex) => ({ blockNumber: BigInt(block), logIndex })),
          )
          const read = await readLogsChunked({
            fromBlock: 0n,
            toBlock: BigInt(span - 1),
            maxBlockRange,
            minBlockRange: 1,
            read: async (from, to) => {
              if (to - from + 1n > BigInt(Math.min(maxBlocks, Number.MAX_SAFE_INTEGER)))
                throw new Error(`eth_getLogs is limited to a ${maxBlocks} block range`)
              const answer = logs.filter((l) => l.blockNumber >= from && l.blockNumber <= to)
              if (answer.length > cap) throw new Error(`query returned more than ${cap} results`)
              return answer
            },
          })
          expect(read).toEqual(logs)
        }
      }
    }
  }
})

test('behavior: LogRangeTooLargeError built in its single-block form (blockNumber, { cause }) names that block', () => {
  const cause = new Error('query returned more than 10000 results')
  const err = new LogRangeTooLargeError(7n, { cause })
  expect(err.fromBlock).toBe(7n)
  expect(err.toBlock).toBe(7n)
  expect(err.blockNumber).toBe(7n)
  expect(err.cause).toBe(cause)
  expect(err.shortMessage).toBe(
    'The node refused the logs of block 7, a single block: no smaller range can be asked.',
  )
  // The range form, with and without its parameters.
  expect(new LogRangeTooLargeError(7n, 8n, { cause }).cause).toBe(cause)
  expect(new LogRangeTooLargeError(7n, 8n).toBlock).toBe(8n)
  expect(new LogRangeTooLargeError(7n).toBlock).toBe(7n)
  // A JavaScript caller passing numbers gets the error, with bigint blocks, not a TypeError.
  const fromJs = new (
    LogRangeTooLargeError as unknown as new (
      from: number,
      to?: number,
    ) => LogRangeTooLargeError
  )(7, 9)
  expect(fromJs.fromBlock).toBe(7n)
  expect(fromJs.toBlock).toBe(9n)
  expect(fromJs.shortMessage).toBe(
    'The node refused the logs of blocks 7 to 9 (3 blocks), the smallest range read: no smaller range is asked.',
  )
  expect(
    new (LogRangeTooLargeError as unknown as new (from: number) => LogRangeTooLargeError)(7).toBlock,
  ).toBe(7n)
})

test('behavior: LogQueryTimeoutError and LogQueryRefusedError take block numbers as numbers too, as LogRangeTooLargeError does', () => {
  // A JavaScript caller (or a reader of blocks as numbers) gets the errors with bigint blocks, not a TypeError
  // or a message built from mixed types.
  const timeout = new (
    LogQueryTimeoutError as unknown as new (
      from: number,
      to: number,
      timeouts: bigint,
    ) => LogQueryTimeoutError
  )(7, 9, 1n)
  expect(timeout.fromBlock).toBe(7n)
  expect(timeout.toBlock).toBe(9n)
  expect(timeout.shortMessage).toBe('The node answered no log query in time once, for blocks 7 to 9.')
  expect(new LogQueryTimeoutError(7, 9, 3).shortMessage).toBe(
    'The node answered no log query in time 3 times in a row, the last for blocks 7 to 9.',
  )
  const refused = new (
    LogQueryRefusedError as unknown as new (
      from: number,
      to: number,
      refusals: bigint,
    ) => LogQueryRefusedError
  )(7, 9, 2n)
  expect(refused.fromBlock).toBe(7n)
  expect(refused.toBlock).toBe(9n)
  expect(new LogQueryRefusedError(7n, 9n, 2).shortMessage).toBe(refused.shortMessage)
})

describe('a node answering a refused range empty once (a load balancer over a lagging backend)', () => {
  type Log = { blockNumber: bigint; logIndex: number }
  /** A refusal as a provider words it, for the range refused. */
  type Words = (from: bigint, to: bigint) => Error
  const infura: Words = (from, to) =>
    new Error(
      `query returned more than 3 results. Try with this block range [0x${from.toString(16)}, 0x${to.toString(16)}].`,
    )
  const alchemy: Words = () => new Error(ALCHEMY)
  const vague: Words = () => Object.assign(new Error('Limit exceeded'), { name: 'LimitExceededRpcError' })
  /** Reads `from..to` as a follower's pass does: one call of `reader`, range after range. */
  const pass = async (
    reader: LogRangeReader,
    from: bigint,
    to: bigint,
    fetch: (from: bigint, to: bigint) => Promise<readonly Log[]>,
  ) => {
    const out: Log[] = []
    for (let at = from; at <= to; ) {
      const { logs, toBlock } = await reader.read(at, to, fetch)
      out.push(...logs)
      at = toBlock + 1n
    }
    return out
  }
  /** An honest node with a result cap of 3 logs over `logs`, refusing in `words`. */
  const honest =
    (logs: readonly Log[], words: (from: bigint, to: bigint) => Error) =>
    async (from: bigint, to: bigint) => {
      const answer = logs.filter((l) => l.blockNumber >= from && l.blockNumber <= to)
      if (answer.length > 3) throw words(from, to)
      return answer
    }
  /** Two logs in each of `blocks`: any two neighbours hold more than the cap of 3. */
  const dense = (...blocks: bigint[]) =>
    blocks.flatMap((blockNumber) => [0, 1].map((logIndex) => ({ blockNumber, logIndex })))

  test('behavior: later passes of the same reader split dense blocks down to single blocks and read every log', async () => {
    // The old reader took every later refusal of that node for a block-range cap: a range of 2 blocks holding
    // 4 logs under a cap of 3 failed with LogRangeTooLargeError on every pass, and the follower was stuck there.
    for (const words of [alchemy, vague, infura]) {
      const reader = new LogRangeReader({ maxBlockRange: 1_000 })
      // Pass 1: a synced backend refuses the wide range, a lagging one answers its halves with no log.
      const lagging = async (from: bigint, to: bigint): Promise<Log[]> => {
        if (to - from + 1n > 500n) throw words(from, to)
        return []
      }
      const first = await pass(reader, 0n, 999n, lagging).catch((e: unknown) => e)
      if (words === infura) {
        // Too many results, said outright, is a result cap: a refused range answered empty fails the pass (the
        // follower reads it again next pass), as a lie would.
        expect(first).toBeInstanceOf(LogQueryRefusedError)
        expect((first as LogQueryRefusedError).answeredEmpty).toBe(true)
      } else {
        // Words that may mean a block-range cap: read as one for the rest of the pass.
        expect(first).toEqual([])
      }
      // Later passes, the backends in sync: dense stretches, each pass ending beyond them.
      const logs = [...dense(2_000n, 2_001n), ...dense(2_500n, 2_501n, 2_502n), ...dense(4_000n, 4_001n)]
      expect(await pass(reader, 1_000n, 3_000n, honest(logs, words))).toEqual(logs.slice(0, 10))
      expect(await pass(reader, 3_001n, 5_000n, honest(logs, words))).toEqual(logs.slice(10))
      // And the whole range again, as a fresh reader reads it.
      expect(await pass(reader, 0n, 5_000n, honest(logs, words))).toEqual(logs)
      expect(
        await pass(new LogRangeReader({ maxBlockRange: 1_000 }), 0n, 5_000n, honest(logs, words)),
      ).toEqual(logs)
    }
  })

  test('behavior: within one pass, a dense stretch after a refused range answered empty is read down to single blocks', async () => {
    for (const words of [alchemy, vague]) {
      const reader = new LogRangeReader({ maxBlockRange: 1_000 })
      const logs = dense(2_000n, 2_001n, 2_700n, 2_701n)
      let lagging = true
      const fetch = async (from: bigint, to: bigint) => {
        // The first wide range is refused by a synced backend, its pieces answered by a lagging one.
        if (lagging && from < 1_000n) {
          if (to - from + 1n > 500n) throw words(from, to)
          return []
        }
        lagging = false
        return honest(logs, words)(from, to)
      }
      expect(await pass(reader, 0n, 3_000n, fetch)).toEqual(logs)
    }
  })

  test('error: a node refusing every range wider than one block in words that may mean a block-range cap, answering none, still fails fast with LogQueryRefusedError', async () => {
    // Each refused range answered empty lowers the cap for the rest of the call; one of `minBlockRange` blocks
    // answered empty is a lie.
    for (const words of [alchemy, vague]) {
      let asked = 0
      const err = await readLogsChunked<Log>({
        fromBlock: 0n,
        toBlock: 100_000n,
        read: async (from, to) => {
          asked++
          if (to > from) throw words(from, to)
          return []
        },
      }).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(LogQueryRefusedError)
      expect((err as LogQueryRefusedError).answeredEmpty).toBe(true)
      expect(asked).toBeLessThanOrEqual(40)
    }
  })
})
