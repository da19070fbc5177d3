/**
 * Runs the real `medvault-node` executable (the built `dist/bin.js`, as an operator would) as child
 * processes on 127.0.0.1, and talks to them over HTTP only.
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

/** Runs one `medvault-node` command to its end. */
export function runNode(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, ...args], {
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
  const child = spawn(
    process.execPath,
    [BIN, 'start', '--repo', repo, '--http', `127.0.0.1:${port}`, ...args],
    {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
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
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)))
  const url = `http://127.0.0.1:${port}`
  return {
    child,
    url,
    lines,
    exited,
    async waitReady(ms = 60_000) {
      const until = Date.now() + ms
      let exitedEarly = false
      void exited.then(() => {
        exitedEarly = true
      })
      for (;;) {
        if (exitedEarly) throw new Error(`the daemon exited before it was ready:\n${lines.join('\n')}`)
        try {
          const res = await fetch(`${url}/readyz`, { signal: AbortSignal.timeout(1000) })
          await res.arrayBuffer()
          if (res.status === 200) return
        } catch {
          // not listening yet
        }
        if (Date.now() > until) throw new Error(`the daemon was not ready in ${ms} ms:\n${lines.join('\n')}`)
        await new Promise((r) => setTimeout(r, 200))
      }
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
