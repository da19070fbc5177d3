/**
 * Runs the real `medvault-node` executable (the built `dist/bin.js`, as an operator would) as child
 * processes on 127.0.0.1, and talks to them over HTTP only. The process helpers (`runBin`, `spawnService`,
 * `freePort`) also run the `medvault` CLI for the portal tests.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../packages/node/dist/bin.js', import.meta.url))

export const PASSPHRASE = 'a test passphrase, never a real one'

export interface CliResult {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs `node BIN args…` (a built medvault executable) to its end. */
export function runBin(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [bin, ...args], {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => {
      stdout += d
    })
    child.stderr.on('data', (d) => {
      stderr += d
    })
    child.on('error', reject)
    child.on('close', (code) => resolve({ code, stdout, stderr }))
  })
}

/** Runs one `medvault-node` command to its end. */
export function runNode(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runBin(BIN, args, env)
}

/** A long-running `node BIN args…` (a daemon, `medvault devnet`), its output kept line by line. */
export interface ServiceProcess {
  readonly child: ChildProcess
  /** Every line the process wrote (stdout and stderr). */
  readonly lines: string[]
  readonly exited: Promise<number | null>
  /**
   * Polls `ready` until it is true. Throws, with the process's output, if the process exits first or `ms`
   * pass (then the process is killed: a test must leave none behind).
   */
  waitUntil(what: string, ready: () => Promise<boolean>, ms: number): Promise<void>
  /** SIGTERM, then SIGKILL after `graceMs`; resolves once the process is gone. */
  stop(graceMs?: number): Promise<void>
}

export function spawnService(bin: string, args: string[], env: NodeJS.ProcessEnv = {}): ServiceProcess {
  const child = spawn(process.execPath, [bin, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const lines: string[] = []
  const collect = (stream: NodeJS.ReadableStream) => {
    let buffer = ''
    stream.on('data', (d: Buffer) => {
      buffer += d.toString('utf8')
      const parts = buffer.split('\n')
      buffer = parts.pop()!
      lines.push(...parts)
    })
  }
  collect(child.stdout!)
  collect(child.stderr!)
  let gone = false
  const exited = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      gone = true
      resolve(code)
    }),
  )
  const stop = async (graceMs = 10_000) => {
    if (!gone) {
      child.kill('SIGTERM')
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
      await exited
      clearTimeout(timer)
    }
  }
  return {
    child,
    lines,
    exited,
    stop,
    async waitUntil(what, ready, ms) {
      const until = Date.now() + ms
      for (;;) {
        if (gone) throw new Error(`${what}: the process exited first:\n${lines.join('\n')}`)
        if (await ready().catch(() => false)) return
        if (Date.now() > until) {
          await stop(0)
          throw new Error(`${what}: not in ${ms} ms:\n${lines.join('\n')}`)
        }
        await new Promise((r) => setTimeout(r, 200))
      }
    },
  }
}

/** A free TCP port on 127.0.0.1 (bound and released; good enough for a test on one machine). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      const address = server.address()
      server.close(() => resolve(typeof address === 'object' && address !== null ? address.port : 0))
    })
  })
}

/** Pin counts by status, as `/status` reports them. */
export interface PinCounts {
  queued: number
  pinning: number
  pinned: number
  failed: number
}

export interface DaemonProcess {
  readonly child: ChildProcess
  readonly url: string
  /** Every line the process wrote (stdout and stderr). */
  readonly lines: string[]
  readonly exited: Promise<number | null>
  waitReady(ms?: number): Promise<void>
  status(): Promise<Record<string, unknown> & { pins: { follower: PinCounts; api: PinCounts } }>
  /** Signals the process by its pid. */
  kill(signal: NodeJS.Signals): void
}

/** Starts `medvault-node start --repo REPO --http 127.0.0.1:PORT …args`. */
export function startDaemon(
  repo: string,
  port: number,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): DaemonProcess {
  const service = spawnService(BIN, ['start', '--repo', repo, '--http', `127.0.0.1:${port}`, ...args], env)
  const { child } = service
  const url = `http://127.0.0.1:${port}`
  return {
    child,
    url,
    lines: service.lines,
    exited: service.exited,
    async waitReady(ms = 60_000) {
      await service.waitUntil(
        'the daemon is ready',
        async () => {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })
          await res.arrayBuffer()
          return res.status === 200
        },
        ms,
      )
    },
    async status() {
      const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(5000) })
      return (await res.json()) as Awaited<ReturnType<DaemonProcess['status']>>
    },
    kill(signal) {
      if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, signal)
    },
  }
}

/** The daemon's first libp2p address (with `/p2p/<peer id>`) containing `part`, e.g. `/ws/`. */
export async function daemonAddress(daemon: DaemonProcess, part: string): Promise<string> {
  const status = (await daemon.status()) as { storage?: { addresses?: string[] } }
  const address = status.storage?.addresses?.find((a) => a.includes(part) && a.includes('/p2p/'))
  if (address === undefined) {
    throw new Error(`the daemon at ${daemon.url} has no ${part} address: ${JSON.stringify(status.storage)}`)
  }
  return address
}
