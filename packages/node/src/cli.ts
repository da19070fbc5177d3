/**
 * The `medvault-node` command line: `init`, `token create|revoke|list`, `start`, `proxy register`, `status`.
 * `runCli(argv)` is the whole program (the bin only calls it), so tests can drive it in-process too.
 *
 * Exit codes: 0 done, 1 failed while running, 2 a usage or configuration problem (each on its own line).
 *
 * @module
 */
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { createProxySet, getProxy, registerProxy, updateProxy } from '@medvault/chain'
import { deriveKeysFromPrivateKey, getPublicKey } from '@medvault/crypto'
import { Command, CommanderError, Option } from 'commander'
import {
  type Chain,
  createPublicClient,
  createWalletClient,
  type Hex,
  hexToBytes,
  http,
  isAddress,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { CONFIG_ENV, type ConfigFlags, defaultConfigFile, loadConfig, REPO_FILES } from './config.ts'
import type { DaemonStatus } from './daemon.ts'
import { InvalidNodeConfigError, KeystoreError, TokenNameError } from './daemon-errors.ts'
import type { ProxyIndexHealth } from './http.ts'
import { createKeystore, keystoreAddress, openKeystore, PASSPHRASE_ENV } from './keystore.ts'
import { createLogger } from './logger.ts'
import { createTokenStore } from './token-store.ts'

/** Where the program writes; replaceable in tests. */
export interface CliIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  env: NodeJS.ProcessEnv
  /** Reads a secret from the terminal without echo; undefined when there is no terminal. */
  promptSecret?: ((question: string) => Promise<string>) | undefined
}

const VERSION = '0.1.0'

const defaultIo = (): CliIo => ({
  stdout: (t) => process.stdout.write(t),
  stderr: (t) => process.stderr.write(t),
  env: process.env,
  promptSecret: process.stdin.isTTY ? promptHidden : undefined,
})

/** Runs the program with `argv` (without the node and script paths); resolves with the exit code. */
export async function runCli(argv: string[], io: CliIo = defaultIo()): Promise<number> {
  let code = 0
  const program = buildProgram(io, (c) => {
    code = c
  })
  try {
    await program.parseAsync(argv, { from: 'user' })
    return code
  } catch (err) {
    if (err instanceof CommanderError) return err.exitCode === 0 ? 0 : 2
    return report(err, io)
  }
}

function report(err: unknown, io: CliIo): number {
  if (err instanceof InvalidNodeConfigError) {
    io.stderr(`error: ${err.shortMessage}\n`)
    for (const p of err.problems) io.stderr(`  - ${p}\n`)
    return 2
  }
  if (err instanceof KeystoreError || err instanceof TokenNameError) {
    io.stderr(`error: ${err.shortMessage}\n`)
    return 2
  }
  const short = (err as { shortMessage?: unknown }).shortMessage
  const message = typeof short === 'string' ? short : err instanceof Error ? err.message : String(err)
  io.stderr(`error: ${message}\n`)
  return 1
}

const repoOption = (io: CliIo) =>
  new Option('--repo <dir>', 'the node repository (config, keystore, tokens, data)').default(
    io.env.MEDVAULT_NODE_REPO ?? join(homedir(), '.medvault-node'),
    '$MEDVAULT_NODE_REPO or ~/.medvault-node',
  )

function buildProgram(io: CliIo, setCode: (code: number) => void): Command {
  const program = new Command('medvault-node')
    .version(VERSION)
    .description(
      'The medvault node daemon: pins what patients register on chain, serves it over the IPFS Pinning Service API and a trustless gateway, replicates it to remote pinning services, and runs the re-encryption proxy.',
    )
    .exitOverride()
    .configureOutput({ writeOut: io.stdout, writeErr: io.stderr })
    .showHelpAfterError('(add --help for usage)')
    .addHelpText(
      'after',
      `
Examples:
  $ export ${PASSPHRASE_ENV}='a long passphrase'     # or answer the prompt
  $ medvault-node init --repo /var/lib/medvault-node
  $ medvault-node token create kubo --repo /var/lib/medvault-node
  $ medvault-node start --repo /var/lib/medvault-node --http 127.0.0.1:5080 \\
      --services pinning,gateway,follower,proxy --rpc https://rpc.example.org --addresses deployment.json
  $ medvault-node proxy register --endpoint https://node-a.example.org --repo /var/lib/medvault-node
  $ medvault-node proxy set --members 0xA…,0xB…,0xC… --repo /var/lib/medvault-node
  $ medvault-node status --repo /var/lib/medvault-node --json

Environment: ${PASSPHRASE_ENV}, MEDVAULT_NODE_REPO, ${Object.values(CONFIG_ENV).join(', ')}.
The operator key is never taken on the command line.`,
    )

  program
    .command('init')
    .description(
      'create a node repository: config.json and the operator keystore (scrypt); prints the operator address',
    )
    .addOption(repoOption(io))
    .option('--http <host:port>', 'HTTP listener written to config.json', '127.0.0.1:5080')
    .option('--listen <multiaddrs>', 'libp2p listen addresses written to config.json, comma-separated')
    .option(
      '--import-key-env <name>',
      'take the operator key from this environment variable instead of generating one',
    )
    .addHelpText(
      'after',
      '\nExample:\n  $ MEDVAULT_NODE_PASSPHRASE=... medvault-node init --repo ./node-a --http 127.0.0.1:5080',
    )
    .action(async (opts: { repo: string; http: string; listen?: string; importKeyEnv?: string }) => {
      const repo = resolve(opts.repo)
      const passphrase = await passphraseFor(io, true)
      await mkdir(join(repo, REPO_FILES.state), { recursive: true, mode: 0o700 })
      const config = defaultConfigFile()
      config.http = opts.http
      if (opts.listen !== undefined) config.storage!.listen = opts.listen.split(',').map((s) => s.trim())
      let privateKey: Hex | undefined
      if (opts.importKeyEnv !== undefined) {
        const value = io.env[opts.importKeyEnv]
        if (value === undefined || !/^0x[0-9a-fA-F]{64}$/.test(value)) {
          throw new Error(
            `the environment variable ${opts.importKeyEnv} does not hold a 0x-prefixed 32-byte private key`,
          )
        }
        privateKey = value as Hex
      }
      const address = await createKeystore(join(repo, REPO_FILES.keystore), passphrase, {
        ...(privateKey === undefined ? {} : { privateKey }),
      })
      try {
        await writeFile(join(repo, REPO_FILES.config), `${JSON.stringify(config, null, 2)}\n`, { flag: 'wx' })
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
        io.stderr(`note: ${REPO_FILES.config} exists already; left as it is\n`)
      }
      io.stdout(`${address}\n`)
    })

  const token = program.command('token').description('Pinning Service API access tokens (stored hashed)')
  token
    .command('create')
    .argument('<name>', 'a name for the token: the client or device it is for')
    .description('create a bearer token and print it on stdout (the only time it is shown)')
    .addOption(repoOption(io))
    .addHelpText('after', '\nExample:\n  $ medvault-node token create kubo --repo ./node-a > kubo.token')
    .action(async (name: string, opts: { repo: string }) => {
      const value = await createTokenStore(join(resolve(opts.repo), REPO_FILES.tokens)).create(name)
      io.stdout(`${value}\n`)
    })
  token
    .command('revoke')
    .argument('<name>', 'the token to revoke')
    .description('revoke a token; a running node refuses it from the next request')
    .addOption(repoOption(io))
    .addHelpText('after', '\nExample:\n  $ medvault-node token revoke kubo --repo ./node-a')
    .action(async (name: string, opts: { repo: string }) => {
      await createTokenStore(join(resolve(opts.repo), REPO_FILES.tokens)).revoke(name)
      io.stdout(`revoked ${name}\n`)
    })
  token
    .command('list')
    .description('list token names and dates (never the tokens)')
    .addOption(repoOption(io))
    .addHelpText('after', '\nExample:\n  $ medvault-node token list --repo ./node-a')
    .action(async (opts: { repo: string }) => {
      for (const t of await createTokenStore(join(resolve(opts.repo), REPO_FILES.tokens)).list()) {
        io.stdout(
          `${t.name}\tcreated ${t.created}${t.revoked === undefined ? '' : `\trevoked ${t.revoked}`}\n`,
        )
      }
    })

  program
    .command('start')
    .description(
      'run the node until SIGTERM or SIGINT (then it finishes requests in flight and saves its state)',
    )
    .addOption(repoOption(io))
    .option(
      '--http <host:port>',
      `the one HTTP listener: Pinning Service API, gateway, re-encryption proxy, health and metrics (${CONFIG_ENV.http})`,
    )
    .option('--services <list>', `comma-separated: pinning,gateway,proxy,follower (${CONFIG_ENV.services})`)
    .option('--rpc <url>', `JSON-RPC URL of the chain, for follower and proxy (${CONFIG_ENV.rpc})`)
    .option(
      '--addresses <file>',
      `the deployment's contract addresses (JSON), for follower and proxy (${CONFIG_ENV.addresses})`,
    )
    .option('--peers <multiaddrs>', `libp2p peers to keep connected, comma-separated (${CONFIG_ENV.peers})`)
    .option('--listen <multiaddrs>', `libp2p listen addresses, comma-separated (${CONFIG_ENV.listen})`)
    .option(
      '--log-level <level>',
      `fatal, error, warn, info, debug, trace or silent (${CONFIG_ENV.logLevel})`,
    )
    .addHelpText(
      'after',
      '\nExample:\n  $ medvault-node start --repo ./node-a --http 127.0.0.1:5080 --services pinning,gateway,follower \\\n      --rpc http://127.0.0.1:8545 --addresses ./deployment.json',
    )
    .action(async (opts: ConfigFlags & { repo: string }) => {
      const { repo, ...flags } = opts
      const config = await loadConfig(resolve(repo), flags, io.env)
      const logger = createLogger({ level: config.log.level })
      // In the log like everything else the daemon says (one JSON object per line, for log shippers).
      for (const warning of config.warnings) logger.warn({ config: 'warning' }, warning)
      const operatorKey = config.services.includes('proxy')
        ? await openKeystore(join(config.repo, REPO_FILES.keystore), await passphraseFor(io, false))
        : undefined
      // Loaded here only: the daemon's dependency graph (libp2p, Helia, Fastify) is large and the other
      // commands do not need it.
      const { createDaemon } = await import('./daemon.ts')
      const daemon = await createDaemon({ config, operatorKey, logger, version: VERSION })
      let stopping: Promise<void> | undefined
      const done = new Promise<void>((resolveDone) => {
        const shutdown = (signal: string) => {
          if (stopping !== undefined) return
          logger.info({ signal }, 'stopping')
          stopping = daemon.stop().finally(resolveDone)
        }
        process.once('SIGTERM', () => shutdown('SIGTERM'))
        process.once('SIGINT', () => shutdown('SIGINT'))
      })
      try {
        await daemon.start()
      } catch (err) {
        logger.error({ error: err instanceof Error ? err.name : 'unknown' }, 'start failed')
        await daemon.stop()
        throw err
      }
      await done
      setCode(0)
    })

  const proxy = program.command('proxy').description('the re-encryption proxy')
  proxy
    .command('register')
    .description(
      "register (or update) this node's proxy on chain: operator address, ECIES public key, endpoint",
    )
    .requiredOption(
      '--endpoint <url>',
      "the public URL clients reach the proxy at: the node's http listener (its /v1 routes), usually behind TLS",
    )
    .addOption(repoOption(io))
    .option('--rpc <url>', `JSON-RPC URL (${CONFIG_ENV.rpc})`)
    .option('--addresses <file>', `the deployment's addresses (${CONFIG_ENV.addresses})`)
    .addHelpText(
      'after',
      '\nExample:\n  $ medvault-node proxy register --endpoint https://proxy-a.example.org --repo ./node-a --rpc https://rpc.example.org --addresses deployment.json',
    )
    .action(async (opts: { endpoint: string; repo: string; rpc?: string; addresses?: string }) => {
      let endpoint: URL
      try {
        endpoint = new URL(opts.endpoint)
      } catch {
        throw new InvalidNodeConfigError({ problems: ['--endpoint: expected an http:// or https:// URL'] })
      }
      if (endpoint.protocol !== 'http:' && endpoint.protocol !== 'https:') {
        throw new InvalidNodeConfigError({ problems: ['--endpoint: expected an http:// or https:// URL'] })
      }
      const config = await loadConfig(
        resolve(opts.repo),
        { rpc: opts.rpc, addresses: opts.addresses, services: 'proxy' },
        io.env,
      )
      const chain = config.chain!
      const key = await openKeystore(join(config.repo, REPO_FILES.keystore), await passphraseFor(io, false))
      const account = privateKeyToAccount(key)
      const publicClient = createPublicClient({ transport: http(chain.rpc) })
      const chainId = await publicClient.getChainId()
      const wallet = createWalletClient({
        account,
        transport: http(chain.rpc),
        chain: chainFor(chainId, chain.rpc),
      })
      const publicKey = getPublicKey(deriveKeysFromPrivateKey(hexToBytes(key)).eciesSecretKey)
      const url = endpoint.toString().replace(/\/$/, '')
      const known = await getProxy(publicClient, { addresses: chain.addresses, operator: account.address })
      const parameters = { addresses: chain.addresses, publicKey, endpoint: url }
      const result =
        known === undefined ? await registerProxy(wallet, parameters) : await updateProxy(wallet, parameters)
      io.stdout(
        `${known === undefined ? 'registered' : 'updated'} ${account.address} ${url} ${result.hash}\n`,
      )
    })

  proxy
    .command('set')
    .description(
      "create a proxy set on chain from registered proxies (yours and other operators'); prints its id, which patients' apps grant through",
    )
    .requiredOption('--members <addresses>', 'operator addresses of registered proxies, comma-separated')
    .addOption(repoOption(io))
    .option('--rpc <url>', `JSON-RPC URL (${CONFIG_ENV.rpc})`)
    .option('--addresses <file>', `the deployment's addresses (${CONFIG_ENV.addresses})`)
    .addHelpText(
      'after',
      "\nThe transaction is signed (and paid) by this node's operator key; the set does not change afterwards.\n\nExample:\n  $ medvault-node proxy set --members 0xA…,0xB…,0xC… --repo ./node-a --rpc https://rpc.example.org --addresses deployment.json",
    )
    .action(async (opts: { members: string; repo: string; rpc?: string; addresses?: string }) => {
      const members = opts.members
        .split(',')
        .map((m) => m.trim())
        .filter((m) => m !== '')
      const bad = members.filter((m) => !isAddress(m))
      if (members.length === 0 || bad.length > 0) {
        throw new InvalidNodeConfigError({
          problems: [
            members.length === 0
              ? '--members: expected one or more operator addresses, comma-separated'
              : `--members: not an address: ${bad.map((m) => JSON.stringify(m.slice(0, 42))).join(', ')}`,
          ],
        })
      }
      const config = await loadConfig(
        resolve(opts.repo),
        { rpc: opts.rpc, addresses: opts.addresses, services: 'proxy' },
        io.env,
      )
      const chain = config.chain!
      const key = await openKeystore(join(config.repo, REPO_FILES.keystore), await passphraseFor(io, false))
      const publicClient = createPublicClient({ transport: http(chain.rpc) })
      const wallet = createWalletClient({
        account: privateKeyToAccount(key),
        transport: http(chain.rpc),
        chain: chainFor(await publicClient.getChainId(), chain.rpc),
      })
      const { setId, hash } = await createProxySet(wallet, {
        addresses: chain.addresses,
        members: members as `0x${string}`[],
      })
      io.stdout(`${setId} ${hash}\n`)
    })

  program
    .command('status')
    .description('ask the running node for its status (services, readiness, pins, follower, replication)')
    .addOption(repoOption(io))
    .option('--json', 'print the status as JSON')
    .option('--http <host:port>', 'where the node listens (default: from config.json)')
    .addHelpText(
      'after',
      '\nExit code 0 when the node answers, 1 when nothing does.\n\nExample:\n  $ medvault-node status --repo ./node-a --json',
    )
    .action(async (opts: { repo: string; json?: boolean; http?: string }) => {
      const repo = resolve(opts.repo)
      const url = `http://${await statusAddress(repo, opts.http, io.env)}`
      const address = await keystoreAddress(join(repo, REPO_FILES.keystore)).catch(() => null)
      let status: DaemonStatus | undefined
      try {
        const res = await fetch(`${url}/status`, { signal: AbortSignal.timeout(3000) })
        if (res.ok) status = (await res.json()) as DaemonStatus
      } catch {
        status = undefined
      }
      if (opts.json === true) {
        io.stdout(
          `${JSON.stringify({ running: status !== undefined, url, operator: address, status: status ?? null }, null, 2)}\n`,
        )
      } else if (status === undefined) {
        io.stdout(`not running (nothing answers at ${url})\noperator ${address ?? 'unknown (no keystore)'}\n`)
      } else {
        io.stdout(formatStatus(status, address))
      }
      setCode(status === undefined ? 1 : 0)
    })

  return program
}

/**
 * Where the running node listens: `--http`, else `MEDVAULT_NODE_HTTP`, else config.json's `http`, else the
 * default. Read directly (not through `loadConfig`), so a setting `start` would refuse, or a secret missing
 * from this shell's environment, does not stop `status` from finding the node.
 */
async function statusAddress(
  repo: string,
  flag: string | undefined,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  if (flag !== undefined) return flag
  const fromEnv = env[CONFIG_ENV.http]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  try {
    const file = JSON.parse(await readFile(join(repo, REPO_FILES.config), 'utf8')) as { http?: unknown }
    if (typeof file.http === 'string') return file.http
  } catch {
    // no readable config: the default
  }
  return '127.0.0.1:5080'
}

/** A viem chain for an RPC that is not one of viem's known chains. */
function chainFor(id: number, rpc: string): Chain {
  return {
    id,
    name: `chain ${id}`,
    nativeCurrency: { name: 'Ether', symbol: 'ETH', decimals: 18 },
    rpcUrls: { default: { http: [rpc] } },
  }
}

function formatStatus(s: DaemonStatus, operator: string | null): string {
  const lines = [
    `running   medvault-node ${s.version} at ${s.http} (${s.ready ? 'ready' : `waiting for ${s.waiting.join(', ')}`})`,
    `services  ${s.services.join(', ')}`,
    `operator  ${operator ?? s.operator ?? 'unknown'}`,
    `peer      ${s.storage.peerId ?? 'none'}`,
    ...s.storage.addresses.map((a) => `          ${a}`),
    `pins      api ${describeCounts(s.pins.api)}; follower ${describeCounts(s.pins.follower)}`,
  ]
  if (s.follower !== null)
    lines.push(
      `follower  block ${s.follower.block ?? '-'} of ${s.follower.head ?? '-'} (lag ${s.follower.lag ?? '-'}); ${s.follower.storedBytes} bytes stored`,
    )
  if (s.proxy !== null)
    lines.push(
      `proxy     ${s.proxy.url} as ${s.proxy.address}, grant index at block ${s.proxy.indexedBlock ?? '-'}${describeIndex(s.proxy.index)}`,
    )
  for (const [remote, counts] of Object.entries(s.replication))
    lines.push(`remote    ${remote}: ${describeCounts(counts)}`)
  return `${lines.join('\n')}\n`
}

/** The index's liveness; an older node's status has none (its `medvault-node` may be another version). */
function describeIndex(index: ProxyIndexHealth | undefined): string {
  if (index === undefined) return ''
  if (index.live) return ' (live)'
  return index.syncAgeMs === null
    ? ' (not live: no pass has reached the head yet)'
    : ` (not live: its last pass reached the head ${Math.round(index.syncAgeMs / 1000)} s ago)`
}

function describeCounts(counts: Record<string, number>): string {
  return Object.entries(counts)
    .map(([k, v]) => `${v} ${k}`)
    .join(', ')
}

async function passphraseFor(io: CliIo, confirm: boolean): Promise<string> {
  const fromEnv = io.env[PASSPHRASE_ENV]
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv
  if (io.promptSecret === undefined) {
    throw new Error(`no passphrase: set ${PASSPHRASE_ENV} or run in a terminal to be asked`)
  }
  const first = await io.promptSecret('Keystore passphrase: ')
  if (confirm) {
    const second = await io.promptSecret('Repeat the passphrase: ')
    if (first !== second) throw new Error('the passphrases differ')
  }
  return first
}

/** Reads a line from the terminal with echo off. */
function promptHidden(question: string): Promise<string> {
  return new Promise((resolvePrompt, reject) => {
    const stdin = process.stdin
    process.stderr.write(question)
    stdin.setRawMode(true)
    stdin.resume()
    let value = ''
    const onData = (chunk: Buffer) => {
      for (const char of chunk.toString('utf8')) {
        if (char === '\r' || char === '\n') {
          finish()
          resolvePrompt(value)
          return
        }
        if (char === '\u0003') {
          finish()
          reject(new Error('cancelled'))
          return
        }
        if (char === '\u007f' || char === '\b') value = value.slice(0, -1)
        else value += char
      }
    }
    const finish = () => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      process.stderr.write('\n')
    }
    stdin.on('data', onData)
  })
}
