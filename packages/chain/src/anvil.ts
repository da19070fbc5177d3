import { type ChildProcess, spawn } from 'node:child_process'
import { pbkdf2Sync } from 'node:crypto'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type { Address, Hex } from 'viem'
import { HDKey, privateKeyToAddress } from 'viem/accounts'
import { AbortError, AnvilNotFoundError, AnvilStartError } from './errors.ts'

/** The mnemonic anvil (and Hardhat) use by default. Its keys are public: never send real value to them. */
export const DEFAULT_MNEMONIC = 'test test test test test test test test test test test junk'

export interface AnvilAccount {
  readonly address: Address
  /** A devnet key derived from a public mnemonic: never use it on a real network. */
  readonly privateKey: Hex
}

export interface StartAnvilOptions {
  /** TCP port on 127.0.0.1; `0` (the default) lets the OS pick a free one, so parallel devnets never collide. */
  port?: number
  /** Default 31337. */
  chainId?: number
  /** Number of funded accounts derived from `mnemonic`. Default 10. */
  accounts?: number
  /** Balance of each account in ether. Default 10000. */
  balance?: number
  /** Default {@link DEFAULT_MNEMONIC}. */
  mnemonic?: string
  /** Seconds between blocks; by default anvil mines one block per transaction (automine). */
  blockTime?: number
  /** Block gas limit. */
  gasLimit?: bigint
  /** Genesis timestamp in seconds since the epoch. */
  timestamp?: bigint
  /** Path of an anvil executable; default `MEDVAULT_ANVIL_BINARY`, then the one inside `@foundry-rs/anvil`. */
  binary?: string
  /** More command-line arguments for anvil. */
  args?: readonly string[]
  /** How long to wait for anvil to answer JSON-RPC. Default 30 s (generous for a loaded CI machine). */
  startTimeout?: number
  signal?: AbortSignal
}

export interface Anvil {
  /** `http://127.0.0.1:<port>` */
  readonly rpcUrl: string
  readonly host: string
  readonly port: number
  readonly chainId: number
  /** Process id of the anvil child process. */
  readonly pid: number
  readonly mnemonic: string
  /** The funded accounts, in anvil's order (index 0 is anvil's default sender). */
  readonly accounts: readonly AnvilAccount[]
  /** Stops anvil and waits until the process has exited. Idempotent. */
  stop(): Promise<void>
  [Symbol.asyncDispose](): Promise<void>
}

const HOST = '127.0.0.1'
const WATCHDOG =
  // Reads stdin; a clean stop writes a line first, while EOF without one means the parent died (even by
  // SIGKILL, which runs no exit handler), so the watchdog kills anvil rather than leave an orphan.
  'if ! read -r _; then kill -9 "$1" 2>/dev/null; fi'

const live = new Set<ChildProcess>()
let exitHookInstalled = false

function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  // `exit` handlers must be synchronous: a kill is all that can be done here.
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL')
  })
}

/**
 * Path of the anvil executable shipped in `@foundry-rs/anvil`'s per-platform optional package
 * (`@foundry-rs/anvil-linux-amd64`, …). Nothing is downloaded.
 *
 * @throws {AnvilNotFoundError} when no such package is installed for this platform.
 */
export function anvilBinaryPath(): string {
  const fromEnv = process.env.MEDVAULT_ANVIL_BINARY
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  const arch = { x64: 'amd64', arm64: 'arm64' }[process.arch as string]
  const platform = ['linux', 'darwin', 'win32'].includes(process.platform) ? process.platform : undefined
  if (arch === undefined || platform === undefined) {
    throw new AnvilNotFoundError({ platform: process.platform, arch: process.arch })
  }
  const name = `@foundry-rs/anvil-${platform}-${arch}`
  const exe = process.platform === 'win32' ? 'anvil.exe' : 'anvil'
  const require = createRequire(import.meta.url)
  let lastError: unknown
  // The platform package is an optional dependency of @foundry-rs/anvil: with pnpm's strict layout it
  // resolves only from there; a hoisted layout may also resolve it from here.
  for (const from of [() => require.resolve('@foundry-rs/anvil/package.json'), () => import.meta.url]) {
    try {
      const manifest = createRequire(from()).resolve(`${name}/package.json`)
      return join(dirname(manifest), 'bin', exe)
    } catch (err) {
      lastError = err
    }
  }
  throw new AnvilNotFoundError({ platform: process.platform, arch: process.arch, cause: lastError })
}

/**
 * Derives the first `count` accounts of a BIP-39 mnemonic on anvil's path `m/44'/60'/0'/0/i`.
 * The seed is computed once with node's native PBKDF2 (viem's `mnemonicToAccount` would redo it per account).
 */
export function deriveAccounts(mnemonic: string, count: number): AnvilAccount[] {
  const seed = pbkdf2Sync(mnemonic.normalize('NFKD'), 'mnemonic', 2048, 64, 'sha512')
  const root = HDKey.fromMasterSeed(seed)
  const accounts: AnvilAccount[] = []
  for (let i = 0; i < count; i++) {
    const key = root.derive(`m/44'/60'/0'/0/${i}`).privateKey
    if (key === null) throw new RangeError(`Could not derive account ${i}`)
    const privateKey = `0x${Buffer.from(key).toString('hex')}` as Hex
    accounts.push({ address: privateKeyToAddress(privateKey), privateKey })
  }
  return accounts
}

/**
 * Starts a real Foundry anvil node on 127.0.0.1 and resolves once it answers JSON-RPC.
 *
 * The node is stopped by `stop()`, killed when this process exits, and killed by a small watchdog if
 * this process dies without running exit handlers (SIGKILL), so no anvil outlives its parent.
 *
 * @example
 * ```ts
 * const anvil = await startAnvil()
 * const client = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl) })
 * await client.getBlockNumber()
 * await anvil.stop()
 * ```
 *
 * @throws {AnvilNotFoundError} no anvil binary for this platform.
 * @throws {AnvilStartError} anvil exited or did not answer within `startTimeout`.
 * @throws {AbortError} `signal` was aborted.
 */
export async function startAnvil(options: StartAnvilOptions = {}): Promise<Anvil> {
  const {
    port = 0,
    chainId = 31337,
    accounts: accountCount = 10,
    balance = 10_000,
    mnemonic = DEFAULT_MNEMONIC,
    startTimeout = 30_000,
    signal,
  } = options
  if (!Number.isInteger(port) || port < 0 || port > 65_535) throw new RangeError('port must be 0..65535')
  if (!Number.isInteger(accountCount) || accountCount < 1) throw new RangeError('accounts must be >= 1')
  if (signal?.aborted === true) throw new AbortError({ cause: signal.reason })
  const binary = options.binary ?? anvilBinaryPath()

  const args = [
    '--host',
    HOST,
    '--port',
    String(port),
    '--chain-id',
    String(chainId),
    '--accounts',
    String(accountCount),
    '--balance',
    String(balance),
    '--mnemonic',
    mnemonic,
    ...(options.blockTime === undefined ? [] : ['--block-time', String(options.blockTime)]),
    ...(options.gasLimit === undefined ? [] : ['--gas-limit', options.gasLimit.toString()]),
    ...(options.timestamp === undefined ? [] : ['--timestamp', options.timestamp.toString()]),
    ...(options.args ?? []),
  ]

  const child = spawn(binary, args, { stdio: ['ignore', 'pipe', 'pipe'] })
  installExitHook()
  live.add(child)

  let watchdog: ChildProcess | undefined
  if (process.platform !== 'win32' && child.pid !== undefined) {
    watchdog = spawn('sh', ['-c', WATCHDOG, 'medvault-anvil-watchdog', String(child.pid)], {
      stdio: ['pipe', 'ignore', 'ignore'],
    })
    // The watchdog must never keep this process alive on its own.
    watchdog.on('error', () => {})
    watchdog.unref()
    const stdin = watchdog.stdin as (NodeJS.WritableStream & { unref?: () => void }) | null
    stdin?.on('error', () => {})
    stdin?.unref?.()
  }

  const exited = new Promise<void>((resolve) => {
    child.once('exit', () => {
      live.delete(child)
      resolve()
    })
  })

  // Only the last stderr lines are kept, for diagnostics; stdout (the banner with the devnet keys, and one
  // line per request) is drained and dropped so the pipe never fills and blocks anvil.
  const stderrTail: string[] = []
  child.stderr?.setEncoding('utf8')
  child.stderr?.on('data', (chunk: string) => {
    stderrTail.push(...chunk.split('\n').filter((l) => l.trim() !== ''))
    stderrTail.splice(0, Math.max(0, stderrTail.length - 20))
  })

  const stop = async (): Promise<void> => {
    // A child that failed to spawn has no pid and may never emit `exit`.
    if (child.pid !== undefined && child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      const escalate = setTimeout(() => child.kill('SIGKILL'), 5_000)
      await exited
      clearTimeout(escalate)
    }
    live.delete(child)
    if (watchdog?.stdin !== null && watchdog?.stdin !== undefined && !watchdog.stdin.destroyed) {
      watchdog.stdin.end('\n')
    }
  }

  try {
    const listening = await waitForListening(child, exited, stderrTail, startTimeout, signal)
    const rpcUrl = `http://${listening.host}:${listening.port}`
    await waitForRpc(rpcUrl, chainId, exited, startTimeout, signal)
    const accounts = deriveAccounts(mnemonic, accountCount)
    return {
      rpcUrl,
      host: listening.host,
      port: listening.port,
      chainId,
      pid: child.pid as number,
      mnemonic,
      accounts,
      stop,
      [Symbol.asyncDispose]: stop,
    }
  } catch (err) {
    await stop()
    throw err
  }
}

function waitForListening(
  child: ChildProcess,
  exited: Promise<void>,
  stderrTail: string[],
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    let buffered = ''
    let done = false
    const finish = (fn: () => void): void => {
      if (done) return
      done = true
      clearTimeout(timer)
      signal?.removeEventListener('abort', onAbort)
      fn()
    }
    const timer = setTimeout(
      () => finish(() => reject(new AnvilStartError(`no "Listening on" line within ${timeoutMs} ms`))),
      timeoutMs,
    )
    const onAbort = (): void => finish(() => reject(new AbortError({ cause: signal?.reason })))
    signal?.addEventListener('abort', onAbort, { once: true })
    child.once('error', (err) =>
      finish(() => reject(new AnvilStartError('the process could not be spawned', { cause: err }))),
    )
    void exited.then(() =>
      finish(() =>
        reject(
          new AnvilStartError(`the process exited (code ${child.exitCode}, signal ${child.signalCode})`, {
            ...(stderrTail.length > 0 ? { details: stderrTail.join('\n') } : {}),
          }),
        ),
      ),
    )
    child.stdout?.setEncoding('utf8')
    child.stdout?.on('data', (chunk: string) => {
      if (done) return
      buffered += chunk
      const match = /Listening on ([0-9.]+):(\d+)/.exec(buffered)
      if (match !== null) {
        finish(() => resolve({ host: match[1] as string, port: Number(match[2]) }))
      } else if (buffered.length > 1_000_000) {
        buffered = buffered.slice(-1000)
      }
    })
    // Keep draining after the match: see the comment on stderrTail.
    child.stdout?.resume()
  })
}

async function waitForRpc(
  rpcUrl: string,
  chainId: number,
  exited: Promise<void>,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<void> {
  let hasExited = false
  void exited.then(() => {
    hasExited = true
  })
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    if (signal?.aborted === true) throw new AbortError({ cause: signal.reason })
    if (hasExited) throw new AnvilStartError('the process exited before answering JSON-RPC')
    try {
      const res = await fetch(rpcUrl, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'eth_chainId', params: [] }),
        ...(signal === undefined ? {} : { signal }),
      })
      const body = (await res.json()) as { result?: string }
      if (body.result !== undefined && Number(body.result) === chainId) return
      lastError = new Error(`unexpected eth_chainId answer (HTTP ${res.status})`)
    } catch (err) {
      lastError = err
    }
    if (Date.now() > deadline) {
      throw new AnvilStartError(`no JSON-RPC answer within ${timeoutMs} ms`, { cause: lastError })
    }
    await new Promise((r) => setTimeout(r, 10))
  }
}
