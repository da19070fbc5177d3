/**
 * Real local services for the portal's end-to-end test, each a child process or server on 127.0.0.1 that the
 * test stops: `medvault devnet` (the CLI binary), `medvault-node` daemons as a proxy set, the portal built by
 * Vite and served by `vite preview`, and CLI commands run to their end. Processes are spawned and awaited by
 * the helpers the node daemon's tests use (test/node-daemon/daemon-process.ts).
 */
import type { ChildProcess } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { build, type PreviewServer, preview } from 'vite'
import { rpc } from '../../examples/patient-portal/src/session.ts'
import {
  type CliResult,
  type DaemonProcess,
  daemonAddress,
  freePort,
  PASSPHRASE,
  runBin,
  runNode,
  spawnService,
  startDaemon,
} from '../node-daemon/daemon-process.ts'

export { freePort }

export const CLI = fileURLToPath(new URL('../../packages/cli/dist/bin.js', import.meta.url))
export const PORTAL = fileURLToPath(new URL('../../examples/patient-portal/', import.meta.url))

export type Run = CliResult

/** Runs one `medvault` command to its end. */
export function runCli(args: string[], env: NodeJS.ProcessEnv): Promise<Run> {
  return runBin(CLI, args, env)
}

/** The addresses file `medvault devnet` writes (`medvault-network/1`). */
export interface NetworkFile {
  format: string
  chainId: number
  rpcUrl: string
  addresses: Record<string, string>
  deployBlock: string
  proxySet: number
  store?: string
  devnet?: boolean
}

export interface Devnet {
  readonly child: ChildProcess
  readonly file: string
  readonly network: NetworkFile
  stop(): Promise<void>
}

/** `medvault devnet --addresses FILE --proxies N`, resolved once the addresses file is written. */
export async function startDevnet(file: string, proxies: number): Promise<Devnet> {
  const service = spawnService(CLI, ['devnet', '--addresses', file, '--proxies', String(proxies)])
  // Generous: on a loaded 2-core machine anvil, the contracts and three proxies take a while.
  await service.waitUntil(
    'medvault devnet writes its addresses file',
    async () => (await readFile(file, 'utf8').catch(() => undefined)) !== undefined,
    180_000,
  )
  const network = JSON.parse(await readFile(file, 'utf8')) as NetworkFile
  return { child: service.child, file, network, stop: () => service.stop() }
}

/** `medvault-node` operators registered as re-encryption proxies on the devnet, in one proxy set. */
export interface ProxyNodes {
  readonly proxySet: number
  readonly repos: string[]
  readonly ports: number[]
  readonly daemons: DaemonProcess[]
  /**
   * `medvault-node start` for each with the gateway, proxy and follower services, libp2p on `ws://127.0.0.1`.
   * Resolves once all are ready, with each one's WebSocket multiaddr.
   */
  start(): Promise<string[]>
  stop(): Promise<void>
}

/**
 * Sets up `count` nodes as their operators would, from the command line: `init` with an imported (funded)
 * key and a loopback WebSocket listener, `proxy register` with the node's HTTP endpoint, and one `proxy set`.
 */
export async function setUpProxyNodes(root: string, devnet: Devnet, count: number): Promise<ProxyNodes> {
  const { rpcUrl } = devnet.network
  const repos = Array.from({ length: count }, (_, i) => join(root, `node-${i}`))
  const ports = await Promise.all(repos.map(() => freePort()))
  const keys = repos.map(() => generatePrivateKey())
  const chainArgs = ['--rpc', rpcUrl, '--addresses', devnet.file]
  const env = (i: number) => ({ MEDVAULT_NODE_PASSPHRASE: PASSPHRASE, OPERATOR_KEY: keys[i]! })
  const must = (what: string, r: CliResult) => {
    if (r.code !== 0) throw new Error(`medvault-node ${what} exited ${r.code}: ${r.stderr}`)
    return r.stdout
  }
  await Promise.all(
    repos.map(async (repo, i) => {
      await rpc(rpcUrl, 'anvil_setBalance', [privateKeyToAddress(keys[i]!), `0x${(10n ** 20n).toString(16)}`])
      must(
        'init',
        await runNode(
          ['init', '--repo', repo, '--listen', '/ip4/127.0.0.1/tcp/0/ws', '--import-key-env', 'OPERATOR_KEY'],
          env(i),
        ),
      )
      const configPath = join(repo, 'config.json')
      const config = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>
      // A devnet mines on demand: poll it often so the follower sees a registration at once.
      config.chain = { ...(config.chain as object), pollingIntervalMs: 200 }
      config.storage = {
        ...(config.storage as object),
        blockTimeoutMs: 3000,
        // A node joining a devnet follows it from its deployment: records stored before it joined are in
        // the devnet's shared store, which it reads as a trustless gateway.
        ...(devnet.network.store === undefined ? {} : { gateways: [devnet.network.store] }),
      }
      await writeFile(configPath, JSON.stringify(config, null, 2))
      must(
        'proxy register',
        await runNode(
          ['proxy', 'register', '--repo', repo, '--endpoint', `http://127.0.0.1:${ports[i]}`, ...chainArgs],
          env(i),
        ),
      )
    }),
  )
  const members = keys.map((k) => privateKeyToAddress(k)).join(',')
  const set = must(
    'proxy set',
    await runNode(['proxy', 'set', '--members', members, '--repo', repos[0]!, ...chainArgs], env(0)),
  )
  const daemons: DaemonProcess[] = []
  return {
    proxySet: Number(set.split(' ')[0]),
    repos,
    ports,
    daemons,
    async start() {
      for (const [i, repo] of repos.entries()) {
        daemons.push(
          startDaemon(repo, ports[i]!, ['--services', 'gateway,proxy,follower', ...chainArgs], env(i)),
        )
      }
      // Opening the keystore (scrypt) and the store take a while on a loaded machine.
      await Promise.all(daemons.map((d) => d.waitReady(240_000)))
      return Promise.all(daemons.map((d) => daemonAddress(d, '/ws/')))
    },
    async stop() {
      for (const d of daemons) d.kill('SIGTERM')
      const timer = setTimeout(() => {
        for (const d of daemons) d.kill('SIGKILL')
      }, 10_000)
      await Promise.all(daemons.map((d) => d.exited))
      clearTimeout(timer)
    },
  }
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
