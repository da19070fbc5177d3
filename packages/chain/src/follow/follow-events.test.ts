import { spawn } from 'node:child_process'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  type Address,
  createPublicClient,
  createTestClient,
  createWalletClient,
  type Hex,
  http,
  keccak256,
  parseAbi,
  toHex,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { foundry } from 'viem/chains'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type Anvil, startAnvil } from '../anvil.ts'
import { ChainReorgError, CheckpointCorruptError } from '../errors.ts'
import { memoryCheckpointStore } from './checkpoint.ts'
import { fileCheckpointStore } from './file-checkpoint-store.ts'
import { type FollowedEvent, followEvents } from './follow-events.ts'

const pingAbi = parseAbi(['event Ping(uint256 n)'])
type Ping = FollowedEvent<typeof pingAbi>

/**
 * A hand-assembled contract that emits `Ping(uint256)` with its calldata as the data: the follower is
 * generic over any ABI, and this keeps its tests independent of medvault's own contracts.
 * runtime: CALLDATASIZE PUSH0 PUSH0 CALLDATACOPY PUSH32 topic CALLDATASIZE PUSH0 LOG1 STOP
 */
function pingBytecode(): Hex {
  const topic = keccak256(toHex('Ping(uint256)')).slice(2)
  const runtime = `365f5f377f${topic}365fa100`
  const size = (runtime.length / 2).toString(16).padStart(2, '0')
  // init: PUSH1 size DUP1 PUSH1 9 PUSH0 CODECOPY PUSH0 RETURN, then the runtime
  return `0x60${size}8060095f395ff3${runtime}`
}

let anvil: Anvil
let ping: Address
let sent = 0n
const publicClient = () => createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl) })
const testClient = () => createTestClient({ chain: foundry, mode: 'anvil', transport: http(anvil.rpcUrl) })

async function emit(count: number, emptyBlocksBetween = 0): Promise<bigint[]> {
  const wallet = createWalletClient({
    account: privateKeyToAccount(anvil.accounts[1]!.privateKey),
    chain: foundry,
    transport: http(anvil.rpcUrl),
  })
  const values: bigint[] = []
  let last: Hex | undefined
  for (let i = 0; i < count; i++) {
    sent += 1n
    values.push(sent)
    last = await wallet.sendTransaction({ to: ping, data: toHex(sent, { size: 32 }) })
    if (emptyBlocksBetween > 0) await testClient().mine({ blocks: emptyBlocksBetween })
  }
  if (last !== undefined) await publicClient().waitForTransactionReceipt({ hash: last, pollingInterval: 10 })
  return values
}

const values = (events: Ping[]): bigint[] => events.map((e) => e.args.n as bigint)

/**
 * A real JSON-RPC front on 127.0.0.1 for the real anvil that answers eth_getLogs as capped providers do
 * (code -32005, "query returned more than N results") when the real answer holds more than `limit` logs.
 * `refused` lists the block count of each refused range.
 */
async function cappedRpc(
  limit: number,
  /** `stall`: answer a larger range only after the client gave up (its time-out, 2 s), as a slow node does. */
  how: 'refuse' | 'stall' = 'refuse',
): Promise<{
  client: ReturnType<typeof publicClient>
  refused: bigint[]
  close: () => Promise<void>
}> {
  const refused: bigint[] = []
  const server = createServer(async (req, res) => {
    let body = ''
    for await (const chunk of req) body += chunk
    const upstream = await fetch(anvil.rpcUrl, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    const answer = (await upstream.json()) as { id: number; result?: unknown }
    const request = JSON.parse(body) as {
      method: string
      id: number
      params?: Array<{ fromBlock?: Hex; toBlock?: Hex }>
    }
    res.setHeader('content-type', 'application/json')
    if (request.method === 'eth_getLogs' && Array.isArray(answer.result) && answer.result.length > limit) {
      const range = request.params?.[0]
      refused.push(BigInt(range?.toBlock ?? '0x0') - BigInt(range?.fromBlock ?? '0x0') + 1n)
      if (how === 'stall') {
        await new Promise((resolve) => setTimeout(resolve, 3500))
        res.end(JSON.stringify(answer))
        return
      }
      res.end(
        JSON.stringify({
          jsonrpc: '2.0',
          id: request.id,
          error: { code: -32005, message: `query returned more than ${limit} results` },
        }),
      )
      return
    }
    res.end(JSON.stringify(answer))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    client: createPublicClient({
      chain: foundry,
      transport: http(`http://127.0.0.1:${port}`, {
        retryCount: 0,
        ...(how === 'stall' ? { timeout: 2000 } : {}),
      }),
    }),
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

beforeAll(async () => {
  anvil = await startAnvil()
  const wallet = createWalletClient({
    account: privateKeyToAccount(anvil.accounts[0]!.privateKey),
    chain: foundry,
    transport: http(anvil.rpcUrl),
  })
  const hash = await wallet.deployContract({ abi: [], bytecode: pingBytecode() })
  const receipt = await publicClient().waitForTransactionReceipt({ hash, pollingInterval: 10 })
  ping = receipt.contractAddress!
})

afterAll(async () => {
  await anvil?.stop()
})

describe('followEvents', () => {
  test('default', async () => {
    const start = await publicClient().getBlockNumber()
    const expected = await emit(5)
    const seen: Ping[] = []
    const follower = followEvents(publicClient(), {
      abi: pingAbi,
      address: ping,
      fromBlock: start + 1n,
      onEvents: (events) => {
        seen.push(...events)
      },
    })
    const checkpoint = await follower.sync()
    expect(values(seen)).toEqual(expected)
    expect(seen[0]?.eventName).toBe('Ping')
    expect(checkpoint?.blockNumber).toBe(await publicClient().getBlockNumber())
  })

  test('behavior: only delivers events `confirmations` blocks deep', async () => {
    const start = await publicClient().getBlockNumber()
    const expected = await emit(3) // three blocks, one event each
    const seen: Ping[] = []
    const follower = followEvents(publicClient(), {
      abi: pingAbi,
      address: ping,
      fromBlock: start + 1n,
      confirmations: 2,
      onEvents: (events) => {
        seen.push(...events)
      },
    })
    await follower.sync()
    expect(values(seen)).toEqual(expected.slice(0, 1))
    await testClient().mine({ blocks: 1 })
    await follower.sync()
    expect(values(seen)).toEqual(expected.slice(0, 2))
    await testClient().mine({ blocks: 1 })
    await follower.sync()
    expect(values(seen)).toEqual(expected)
  })

  test('behavior: many events across many blocks, in block ranges, in order', async () => {
    const start = await publicClient().getBlockNumber()
    const expected = await emit(120, 3)
    const ranges: Array<{ fromBlock: bigint; toBlock: bigint }> = []
    const seen: Ping[] = []
    const follower = followEvents(publicClient(), {
      abi: pingAbi,
      address: ping,
      fromBlock: start + 1n,
      batchSize: 50,
      onEvents: (events, range) => {
        seen.push(...events)
        ranges.push(range)
      },
    })
    await follower.sync()
    expect(values(seen)).toEqual(expected)
    for (const range of ranges) expect(range.toBlock - range.fromBlock).toBeLessThan(50n)
    expect(ranges.length).toBeGreaterThan(1)
  })

  test('behavior: a node that caps eth_getLogs results: a dense range is read in halves, nothing missed', async () => {
    const rpc = await cappedRpc(10)
    try {
      const start = await publicClient().getBlockNumber()
      const expected = await emit(40)
      const seen: Ping[] = []
      const follower = followEvents(rpc.client, {
        abi: pingAbi,
        address: ping,
        fromBlock: start + 1n,
        batchSize: 1000,
        onEvents: (events) => {
          seen.push(...events)
        },
      })
      await follower.sync()
      expect(rpc.refused.length).toBeGreaterThan(0)
      expect(values(seen)).toEqual(expected)
    } finally {
      await rpc.close()
    }
  })

  test('behavior: over a dense stretch the span that fitted is kept: the capped node refuses once, not once per range', async () => {
    const rpc = await cappedRpc(10)
    try {
      const start = await publicClient().getBlockNumber()
      const expected = await emit(80) // one event per block
      const seen: Ping[] = []
      await followEvents(rpc.client, {
        abi: pingAbi,
        address: ping,
        fromBlock: start + 1n,
        batchSize: 20,
        onEvents: (events) => {
          seen.push(...events)
        },
      }).sync()
      expect(values(seen)).toEqual(expected)
      // 20 blocks hold 20 events: refused; 10 fit, and the next seven ranges are read 10 blocks at a time
      // (the old follower asked for 20 blocks, and was refused, for each of the four ranges).
      expect(rpc.refused.filter((blocks) => blocks === 20n)).toEqual([20n])
    } finally {
      await rpc.close()
    }
  })

  test('behavior: a node too slow to answer a dense range within the client time-out: the range is read in halves, nothing missed', async () => {
    const rpc = await cappedRpc(10, 'stall')
    try {
      const start = await publicClient().getBlockNumber()
      const expected = await emit(20) // one event per block
      const seen: Ping[] = []
      await followEvents(rpc.client, {
        abi: pingAbi,
        address: ping,
        fromBlock: start + 1n,
        batchSize: 20,
        onEvents: (events) => {
          seen.push(...events)
        },
      }).sync()
      expect(values(seen)).toEqual(expected)
      expect(rpc.refused.filter((blocks) => blocks === 20n)).toEqual([20n])
    } finally {
      await rpc.close()
    }
  })

  test('behavior: ranges without events are not each saved; a restart from the file resumes where the pass ended', async () => {
    const start = await publicClient().getBlockNumber()
    const expected = await emit(3, 60) // 3 events, 60 empty blocks after each
    const dir = await mkdtemp(join(tmpdir(), 'medvault-follow-sparse-'))
    const file = join(dir, 'checkpoint.json')
    try {
      const store = fileCheckpointStore(file)
      const saves: bigint[] = []
      let ranges = 0
      const seen: Ping[] = []
      const follower = followEvents(publicClient(), {
        abi: pingAbi,
        address: ping,
        fromBlock: start + 1n,
        batchSize: 2,
        checkpoint: {
          load: () => store.load(),
          save: async (checkpoint) => {
            saves.push(checkpoint.blockNumber)
            await store.save(checkpoint)
          },
        },
        onEvents: (events) => {
          seen.push(...events)
        },
        onProgress: (event) => {
          if (event.type === 'batch') ranges++
        },
      })
      const end = await follower.sync()
      expect(values(seen)).toEqual(expected)
      expect(ranges).toBeGreaterThan(90)
      // The three ranges with events, the end of the pass, and one save per second of reading in between.
      expect(saves.length).toBeLessThan(ranges / 2)
      expect(saves.at(-1)).toBe(end?.blockNumber)
      expect((await store.load())?.blockNumber).toBe(await publicClient().getBlockNumber())

      const again: Ping[] = []
      await followEvents(publicClient(), {
        abi: pingAbi,
        address: ping,
        fromBlock: start + 1n,
        checkpoint: fileCheckpointStore(file),
        onEvents: (events) => {
          again.push(...events)
        },
      }).sync()
      expect(again).toEqual([])
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('behavior: a live follower delivers new events, stops and resumes without a miss or a repeat', async () => {
    const start = await publicClient().getBlockNumber()
    const dir = await mkdtemp(join(tmpdir(), 'medvault-follow-'))
    const file = join(dir, 'checkpoint.json')
    const seen: Ping[] = []
    let wake: (() => void) | undefined
    const waitFor = async (n: number): Promise<void> => {
      while (seen.length < n) await new Promise<void>((r) => (wake = r))
    }
    const make = () =>
      followEvents(publicClient(), {
        abi: pingAbi,
        address: ping,
        fromBlock: start + 1n,
        batchSize: 4,
        pollingInterval: 20,
        checkpoint: fileCheckpointStore(file),
        onEvents: (events) => {
          seen.push(...events)
          wake?.()
        },
      })
    try {
      const first = make()
      await first.start()
      expect(first.isStarted()).toBe(true)
      const a = await emit(10)
      await waitFor(10)
      await first.stop()
      expect(first.isStarted()).toBe(false)
      const b = await emit(7) // while nobody follows
      const second = make() // a new follower, as after a restart: state comes only from the file
      await second.start()
      await waitFor(17)
      const c = await emit(5)
      await waitFor(22)
      await second.stop()
      expect(values(seen)).toEqual([...a, ...b, ...c])
      expect(await readdir(dir)).toEqual(['checkpoint.json']) // no temporary file left behind
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('behavior: a follower killed (SIGKILL) mid-range resumes from its file and misses nothing', async () => {
    const start = await publicClient().getBlockNumber()
    const expected = await emit(30)
    const dir = await mkdtemp(join(tmpdir(), 'medvault-follow-kill-'))
    const file = join(dir, 'checkpoint.json')
    const log = join(dir, 'delivered.txt')
    try {
      const modules = {
        follow: fileURLToPath(new URL('./follow-events.ts', import.meta.url)),
        checkpoint: fileURLToPath(new URL('./file-checkpoint-store.ts', import.meta.url)),
      }
      // The child records each range, and hangs (never returns) in the third one: it is killed there.
      const script = `
        import { appendFileSync } from 'node:fs'
        import { createPublicClient, http, parseAbi } from 'viem'
        const { followEvents } = await import(${JSON.stringify(modules.follow)})
        const { fileCheckpointStore } = await import(${JSON.stringify(modules.checkpoint)})
        let ranges = 0
        const follower = followEvents(createPublicClient({ transport: http(${JSON.stringify(anvil.rpcUrl)}) }), {
          abi: parseAbi(['event Ping(uint256 n)']),
          address: ${JSON.stringify(ping)},
          fromBlock: ${start + 1n}n,
          batchSize: 5,
          checkpoint: fileCheckpointStore(${JSON.stringify(file)}),
          onEvents: async (events) => {
            if (++ranges === 3) { process.stdout.write('hung\\n'); await new Promise(() => {}) }
            appendFileSync(${JSON.stringify(log)}, events.map((e) => e.args.n + '\\n').join(''))
          },
        })
        await follower.sync()
      `
      const child = spawn(process.execPath, ['--input-type=module', '-e', script], {
        cwd: fileURLToPath(new URL('.', import.meta.url)),
        stdio: ['ignore', 'pipe', 'inherit'],
      })
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (c: Buffer) => {
          if (c.toString().includes('hung')) resolve()
        })
        child.once('exit', (code) => reject(new Error(`child exited early (${code})`)))
      })
      const exited = new Promise((r) => child.once('exit', r))
      child.kill('SIGKILL')
      await exited
      const before = (await readFile(log, 'utf8')).trim().split('\n').map(BigInt)
      expect(before).toEqual(expected.slice(0, 10))

      const after: Ping[] = []
      await followEvents(publicClient(), {
        abi: pingAbi,
        address: ping,
        fromBlock: start + 1n,
        batchSize: 5,
        checkpoint: fileCheckpointStore(file),
        onEvents: (events) => {
          after.push(...events)
        },
      }).sync()
      expect([...before, ...values(after)]).toEqual(expected)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('behavior: a failing handler gets the same range again; nothing is skipped', async () => {
    const start = await publicClient().getBlockNumber()
    const expected = await emit(4)
    const seen: Ping[] = []
    const errors: Error[] = []
    let failures = 1
    const store = memoryCheckpointStore()
    const follower = followEvents(publicClient(), {
      abi: pingAbi,
      address: ping,
      fromBlock: start + 1n,
      pollingInterval: 10,
      checkpoint: store,
      onEvents: (events) => {
        if (failures-- > 0) throw new Error('sink unavailable')
        seen.push(...events)
      },
      onError: (err) => errors.push(err),
    })
    await expect(follower.sync()).rejects.toThrow('sink unavailable')
    expect(store.current).toBeUndefined()
    await follower.sync()
    expect(values(seen)).toEqual(expected)
  })

  test('behavior: the abort signal stops a started follower', async () => {
    const controller = new AbortController()
    const follower = followEvents(publicClient(), {
      abi: pingAbi,
      address: ping,
      pollingInterval: 10,
      onEvents: () => {},
      signal: controller.signal,
    })
    await follower.start()
    controller.abort()
    await follower.stop()
    expect(follower.isStarted()).toBe(false)
  })

  test('error: a reorganisation below the checkpoint stops delivery', async () => {
    const start = await publicClient().getBlockNumber()
    const snapshot = await testClient().snapshot()
    await emit(3)
    const seen: Ping[] = []
    const store = memoryCheckpointStore()
    const make = () =>
      followEvents(publicClient(), {
        abi: pingAbi,
        address: ping,
        fromBlock: start + 1n,
        checkpoint: store,
        onEvents: (events) => {
          seen.push(...events)
        },
      })
    await make().sync()
    expect(seen).toHaveLength(3)
    // Another branch from the snapshot: same heights, other blocks.
    await testClient().revert({ id: snapshot })
    await testClient().increaseTime({ seconds: 1 })
    await testClient().mine({ blocks: 5 })
    const err = await make()
      .sync()
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ChainReorgError)
    expect((err as ChainReorgError).blockNumber).toBe(store.current?.blockNumber)
    expect(seen).toHaveLength(3)
  })

  test('error: a corrupt checkpoint file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'medvault-follow-bad-'))
    try {
      const file = join(dir, 'checkpoint.json')
      await writeFile(file, '{"version":1,"blockNumber":"-3"}')
      const err = await fileCheckpointStore(file)
        .load()
        .catch((e: unknown) => e)
      expect(err).toBeInstanceOf(CheckpointCorruptError)
      expect((err as CheckpointCorruptError).shortMessage).toMatchInlineSnapshot(
        `"The checkpoint file "checkpoint.json" is not a valid checkpoint."`,
      )
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })
})
