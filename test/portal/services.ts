/**
 * Real local services for the portal's end-to-end test, each a child process or server on 127.0.0.1 that the
 * test stops: `medvault devnet` (the CLI binary), the portal built by Vite and served by `vite preview`, and
 * CLI commands run to their end.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { readFile } from 'node:fs/promises'
import { createServer } from 'node:net'
import { fileURLToPath } from 'node:url'
import { build, type PreviewServer, preview } from 'vite'

export const CLI = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url))
export const PORTAL = fileURLToPath(new URL('../../examples/patient-portal/', import.meta.url))

export interface Run {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs one `medvault` command to its end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
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

export interface Devnet {
  readonly child: ChildProcess
  readonly file: string
  readonly network: { rpcUrl: string; store: string; proxySet: number; chainId: number }
  stop(): Promise<void>
}

/** `medvault devnet --addresses FILE --proxies N`, resolved once the addresses file is written. */
export async function startDevnet(file: string, proxies: number): Promise<Devnet> {
  const child = spawn(process.execPath, [CLI, 'devnet', '--addresses', file, '--proxies', String(proxies)], {
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let output = ''
  child.stdout!.on('data', (d) => {
    output += d
  })
  child.stderr!.on('data', (d) => {
    output += d
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM')
      // A devnet that does not stop in time is killed: the test must leave no process behind.
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000)
      await exited
      clearTimeout(timer)
    }
  }
  try {
    // Generous: on a loaded 2-core machine anvil, the contracts and three proxies take a while.
    const deadline = Date.now() + 180_000
    for (;;) {
      if (child.exitCode !== null) throw new Error(`medvault devnet exited early:\n${output}`)
      const text = await readFile(file, 'utf8').catch(() => undefined)
      if (text !== undefined) return { child, file, network: JSON.parse(text), stop }
      if (Date.now() > deadline)
        throw new Error(`medvault devnet wrote no addresses file in 180 s:\n${output}`)
      await new Promise((r) => setTimeout(r, 100))
    }
  } catch (err) {
    await stop()
    throw err
  }
}

/** A free TCP port on 127.0.0.1. */
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

const configFile = `${PORTAL}vite.config.ts`

/** Builds the portal with its own vite.config.ts into `outDir`: a production build, as users deploy it. */
export async function buildPortal(outDir: string): Promise<void> {
  await build({ root: PORTAL, configFile, logLevel: 'error', build: { outDir, emptyOutDir: true } })
}

/**
 * Serves a built portal with `vite preview` on 127.0.0.1; its dev plugin answers the configuration from
 * `addressesFile` and forwards the devnet's store. (Not the dev server: its dependency optimizer may reload the
 * page half way through a test.)
 */
export async function previewPortal(outDir: string, addressesFile: string): Promise<PreviewServer> {
  process.env.MEDVAULT_ADDRESSES = addressesFile
  return preview({
    root: PORTAL,
    configFile,
    logLevel: 'error',
    build: { outDir },
    preview: { host: '127.0.0.1', port: await freePort(), strictPort: true, open: false },
  })
}
