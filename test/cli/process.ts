/**
 * The `medvault` executable as the CLI tests run it: the built `dist/bin.js` in a child process, and a
 * `medvault devnet` process that the tests share (it writes its addresses file once it serves).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'

export const BIN = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url))

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

export interface RunOptions {
  /** Added to (or, as undefined, removed from) the environment. */
  env?: Record<string, string | undefined>
  input?: Uint8Array | string
  /** latin1 keeps binary output byte for byte. @default 'utf8' */
  stdoutEncoding?: BufferEncoding
}

/** Runs `medvault args…` to the end. */
export function runCli(args: string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string | undefined> = { ...process.env, ...options.env }
    for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key]
    const child = spawn(process.execPath, [BIN, ...args], {
      env: env as NodeJS.ProcessEnv,
      stdio: ['pipe', 'pipe', 'pipe'],
    })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.on('error', reject)
    child.on('close', (code) =>
      resolve({
        code,
        stdout: Buffer.concat(out).toString(options.stdoutEncoding ?? 'utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      }),
    )
    child.stdin.end(options.input ?? '')
  })
}

/** Starts `medvault devnet` with three proxies and resolves once its addresses file is written. */
export async function startDevnetProcess(addresses: string, timeoutMs = 150_000): Promise<ChildProcess> {
  const devnet = spawn(process.execPath, [BIN, 'devnet', '--addresses', addresses, '--proxies', '3'], {
    stdio: 'ignore',
  })
  const deadline = Date.now() + timeoutMs
  for (;;) {
    if (
      await readFile(addresses, 'utf8').then(
        () => true,
        () => false,
      )
    )
      return devnet
    if (devnet.exitCode !== null || Date.now() > deadline) {
      devnet.kill('SIGKILL')
      throw new Error('medvault devnet did not start')
    }
    await new Promise((r) => setTimeout(r, 250))
  }
}
