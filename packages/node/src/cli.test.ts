/**
 * The command line in-process (`runCli` is the whole program): help with examples, usage errors (exit 2),
 * tokens, configuration problems one per line, no passphrase without a terminal, and `status` against a
 * real daemon on 127.0.0.1 and against nothing.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type CliIo, runCli } from './cli.ts'
import { loadConfig } from './config.ts'
import { createDaemon } from './daemon.ts'

let dir: string

function io(env: NodeJS.ProcessEnv = {}): CliIo & { out: string; err: string } {
  const result = {
    out: '',
    err: '',
    env,
    promptSecret: undefined,
    stdout: (t: string) => {
      result.out += t
    },
    stderr: (t: string) => {
      result.err += t
    },
  }
  return result
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mvn-cli-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('default', () => {
  test('--help lists every command with examples; each command has its own help', async () => {
    const top = io()
    expect(await runCli(['--help'], top)).toBe(0)
    for (const word of [
      'init',
      'token',
      'start',
      'proxy',
      'status',
      'Examples:',
      'MEDVAULT_NODE_PASSPHRASE',
    ]) {
      expect(top.out).toContain(word)
    }
    const start = io()
    expect(await runCli(['start', '--help'], start)).toBe(0)
    for (const flag of ['--repo', '--http', '--services', '--rpc', '--addresses', '--peers', 'Example']) {
      expect(start.out).toContain(flag)
    }
  })

  test('token create, list and revoke; the token appears only on stdout of create', async () => {
    const repo = join(dir, 'tokens')
    const create = io()
    expect(await runCli(['token', 'create', 'kubo', '--repo', repo], create)).toBe(0)
    const token = create.out.trim()
    expect(token).toMatch(/^mvn_/)
    const list = io()
    expect(await runCli(['token', 'list', '--repo', repo], list)).toBe(0)
    expect(list.out).toMatch(/^kubo\tcreated /)
    expect(list.out).not.toContain(token)
    expect(await readFile(join(repo, 'tokens.json'), 'utf8')).not.toContain(token)
    const revoke = io()
    expect(await runCli(['token', 'revoke', 'kubo', '--repo', repo], revoke)).toBe(0)
    const again = io()
    expect(await runCli(['token', 'revoke', 'kubo', '--repo', repo], again)).toBe(2)
    expect(again.err).toMatch(/No live token named "kubo"/)
  })

  test('status --json against a running node, and against nothing', async () => {
    const repo = join(dir, 'status')
    const init = io({ MEDVAULT_NODE_PASSPHRASE: 'a passphrase for the test' })
    // init writes the config and a keystore (scrypt at full cost: a few seconds).
    expect(
      await runCli(
        ['init', '--repo', repo, '--http', '127.0.0.1:0', '--listen', '/ip4/127.0.0.1/tcp/0'],
        init,
      ),
    ).toBe(0)
    const config = await loadConfig(repo, { services: 'pinning,gateway' }, {})
    const daemon = await createDaemon({ config })
    await daemon.start()
    try {
      const port = new URL(daemon.url).port
      const status = io()
      expect(await runCli(['status', '--repo', repo, '--json', '--http', `127.0.0.1:${port}`], status)).toBe(
        0,
      )
      const parsed = JSON.parse(status.out)
      expect(parsed.running).toBe(true)
      expect(parsed.operator).toBe(init.out.trim())
      expect(parsed.status.ready).toBe(true)
      expect(parsed.status.services).toEqual(['pinning', 'gateway'])
      const text = io()
      expect(await runCli(['status', '--repo', repo, '--http', `127.0.0.1:${port}`], text)).toBe(0)
      expect(text.out).toMatch(/^running {3}medvault-node .* \(ready\)$/m)
    } finally {
      await daemon.stop()
    }
    const down = io()
    expect(await runCli(['status', '--repo', repo, '--http', '127.0.0.1:9'], down)).toBe(1)
    expect(down.out).toMatch(/^not running/)
  }, 120_000)
})

describe('error', () => {
  test('unknown commands and options, and a passphrase flag, are usage errors (exit 2)', async () => {
    for (const argv of [
      ['bogus'],
      ['start', '--passphrase', 'x'],
      ['token', 'create'],
      ['proxy', 'register'],
    ]) {
      const r = io()
      expect({ argv, code: await runCli(argv, r) }).toEqual({ argv, code: 2 })
      expect(r.err).not.toBe('')
    }
  })

  test('proxy set: help with an example; members that are not addresses are exit 2 before anything is opened', async () => {
    const help = io()
    expect(await runCli(['proxy', 'set', '--help'], help)).toBe(0)
    expect(help.out).toContain('--members')
    expect(help.out).toContain('Example')
    for (const members of ['nope', '0x1234', ',']) {
      const r = io()
      expect(await runCli(['proxy', 'set', '--members', members, '--repo', join(dir, 'none')], r)).toBe(2)
      expect(r.err).toMatch(/^error: .*\n {2}- --members: /)
    }
  })

  test('start with a bad configuration: exit 2, one line per problem', async () => {
    const repo = join(dir, 'bad')
    const init = io({ MEDVAULT_NODE_PASSPHRASE: 'a passphrase for the test' })
    expect(await runCli(['init', '--repo', repo], init)).toBe(0)
    const config = JSON.parse(await readFile(join(repo, 'config.json'), 'utf8'))
    config.storage.peers = ['not-a-multiaddr']
    await writeFile(join(repo, 'config.json'), JSON.stringify(config))
    const r = io()
    expect(
      await runCli(['start', '--repo', repo, '--services', 'pinning,follower', '--http', '127.0.0.1:x'], r),
    ).toBe(2)
    const lines = r.err.trim().split('\n')
    expect(lines[0]).toBe('error: The node configuration has 4 problems.')
    expect(lines.slice(1)).toEqual([
      '  - http (--http): expected HOST:PORT such as 127.0.0.1:5080',
      '  - storage.peers (config.json): "not-a-multiaddr" is not a multiaddr',
      '  - chain.rpc: the follower service needs a JSON-RPC URL (--rpc URL or MEDVAULT_NODE_RPC)',
      "  - chain.addresses: the follower and proxy services need the deployment's addresses file (--addresses FILE or MEDVAULT_NODE_ADDRESSES)",
    ])
  }, 60_000)

  test('no passphrase and no terminal: init refuses, saying how to give one', async () => {
    const r = io()
    expect(await runCli(['init', '--repo', join(dir, 'nopass')], r)).toBe(1)
    expect(r.err).toMatch(/set MEDVAULT_NODE_PASSPHRASE or run in a terminal/)
  })
})
