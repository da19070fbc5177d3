/**
 * The `medvault` executable, run as a user runs it: the built `dist/bin.js` in child processes, against a real
 * `medvault devnet` process (anvil, contracts, HTTP proxies, the shared store) and real store directories.
 */
import type { ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { type RunOptions, runCli, startDevnetProcess } from './process.ts'

const PASSPHRASE = 'correct horse battery staple'
const PRIVATE_KEY = /0x[0-9a-fA-F]{64}(?![0-9a-fA-F])/

/** `medvault args…` with the test passphrase; stdout as latin1, so binary output compares byte for byte. */
const run = (args: string[], options: RunOptions = {}) =>
  runCli(args, {
    ...options,
    env: { MEDVAULT_PASSPHRASE: PASSPHRASE, ...options.env },
    stdoutEncoding: 'latin1',
  })

// Each spawned command loads Node and its modules; on a shared, loaded machine that takes seconds.
vi.setConfig({ testTimeout: 180_000 })

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medvault-cli-test-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('medvault identity', () => {
  it('new and show print the address and never the private key; --reveal prints it; the file holds it encrypted', async () => {
    const home = join(dir, 'id-a')
    const created = await run(['--home', home, 'identity', 'new', '--json'])
    expect(created.code).toBe(0)
    const { address, keystore } = JSON.parse(created.stdout) as { address: string; keystore: string }
    expect(address).toMatch(/^0x[0-9a-fA-F]{40}$/)
    expect(created.stdout + created.stderr).not.toMatch(PRIVATE_KEY)

    const shown = await run(['--home', home, 'identity', 'show'], { env: { MEDVAULT_PASSPHRASE: undefined } })
    expect(shown.code).toBe(0)
    expect(shown.stdout).toContain(address)
    expect(shown.stdout + shown.stderr).not.toMatch(PRIVATE_KEY)

    const revealed = await run(['--home', home, 'identity', 'show', '--reveal', '--json'])
    expect(revealed.code).toBe(0)
    const { privateKey } = JSON.parse(revealed.stdout) as { privateKey: string }
    expect(privateKey).toMatch(PRIVATE_KEY)
    const file = await readFile(keystore, 'utf8')
    expect(file.toLowerCase()).not.toContain(privateKey.slice(2).toLowerCase())

    // A second `new` does not silently replace the key.
    const again = await run(['--home', home, 'identity', 'new'])
    expect(again.code).toBe(2)
    expect(again.stderr).toMatch(/already exists/)
  })

  it('a wrong passphrase is one clear line and exit code 3, without the passphrase or a key', async () => {
    const home = join(dir, 'id-b')
    expect((await run(['--home', home, 'identity', 'new'])).code).toBe(0)
    const wrong = await run(['--home', home, 'identity', 'show', '--reveal'], {
      env: { MEDVAULT_PASSPHRASE: 'not the passphrase' },
    })
    expect(wrong.code).toBe(3)
    expect(wrong.stdout).toBe('')
    expect(wrong.stderr.trim().split('\n')).toHaveLength(1)
    expect(wrong.stderr).toMatch(/^medvault: Wrong passphrase for keystore /)
    expect(wrong.stderr).not.toContain('not the passphrase')
    expect(wrong.stderr).not.toMatch(PRIVATE_KEY)
  })

  it('a keystore whose address was edited does not open (the header is authenticated)', async () => {
    const home = join(dir, 'id-c')
    const created = JSON.parse((await run(['--home', home, 'identity', 'new', '--json'])).stdout) as {
      keystore: string
    }
    const body = JSON.parse(await readFile(created.keystore, 'utf8')) as { address: string }
    body.address = '0x000000000000000000000000000000000000dEaD'
    await writeFile(created.keystore, JSON.stringify(body))
    const opened = await run(['--home', home, 'identity', 'show', '--reveal'])
    expect(opened.code).toBe(3)
    expect(opened.stdout).toBe('')
  })

  it('import keeps the given key; no passphrase and no terminal is exit code 3', async () => {
    const home = join(dir, 'id-d')
    const key = `0x${'11'.repeat(32)}`
    const imported = await run(['--home', home, 'identity', 'import', '--json'], { input: `${key}\n` })
    expect(imported.code).toBe(0)
    expect(imported.stdout).not.toContain(key)
    const revealed = JSON.parse(
      (await run(['--home', home, 'identity', 'show', '--reveal', '--json'])).stdout,
    ) as {
      privateKey: string
    }
    expect(revealed.privateKey).toBe(key)
    const noPassphrase = await run(['--home', home, 'identity', 'show', '--reveal'], {
      env: { MEDVAULT_PASSPHRASE: undefined },
    })
    expect(noPassphrase.code).toBe(3)
    expect(noPassphrase.stderr).toMatch(/MEDVAULT_PASSPHRASE/)
  })
})

describe('bad arguments', () => {
  it('usage errors exit 2 with one line (plus the pointer to --help), a missing keystore exits 4', async () => {
    const home = join(dir, 'bad')
    for (const args of [
      ['put'], // missing <file>
      ['frobnicate'],
      ['ls', '--no-such-option'],
      ['get', 'not-a-record-id', '--addresses', join(dir, 'nowhere.json')],
      ['grant', `0x${'ab'.repeat(32)}`, '--tag', 'labs', '--to', `0x${'cd'.repeat(20)}`],
      ['grant', '--tag', 'labs', '--to', 'nobody'],
      ['devnet', '--addresses', join(dir, 'x.json'), '--proxies', '0'],
    ]) {
      const r = await run(['--home', home, ...args])
      expect(r.code, args.join(' ')).toBe(2)
      expect(r.stdout, args.join(' ')).toBe('')
      expect(r.stderr.trim().split('\n').length, args.join(' ')).toBeLessThanOrEqual(3)
    }
    const noNetwork = await run(['--home', home, 'ls'])
    expect(noNetwork.code).toBe(2)
    expect(noNetwork.stderr).toMatch(/--addresses/)

    const noKeystore = await run(['--home', home, 'identity', 'show'])
    expect(noKeystore.code).toBe(4)
    expect(noKeystore.stderr).toMatch(/identity new/)
  })

  it('every command has --help with examples', async () => {
    for (const command of [
      'identity new',
      'identity show',
      'identity publish',
      'devnet',
      'put',
      'get',
      'read',
      'ls',
      'history',
      'grant',
      'revoke',
      'grants',
      'rotate',
      'audit',
      'demo',
    ]) {
      const r = await run([...command.split(' '), '--help'])
      expect(r.code, command).toBe(0)
      expect(r.stdout, command).toMatch(/Examples:\n {2}\$ medvault /)
    }
  })
})

describe('against a devnet process', () => {
  let devnet: ChildProcess
  let addresses: string
  const as = (who: string, args: string[], options: Parameters<typeof run>[1] = {}) =>
    run(['--home', join(dir, who), '--addresses', addresses, ...args], options)

  beforeAll(async () => {
    addresses = join(dir, 'net.json')
    devnet = await startDevnetProcess(addresses)
    for (const who of ['patient', 'clinic', 'stranger'])
      expect((await run(['--home', join(dir, who), 'identity', 'new'])).code).toBe(0)
  }, 180_000)

  afterAll(async () => {
    if (devnet.exitCode === null) {
      const exited = new Promise((r) => devnet.once('exit', r))
      devnet.kill('SIGTERM')
      await exited
    }
    // A stopped devnet removes its network file: nobody is pointed at a chain that is gone.
    expect(
      await readFile(addresses, 'utf8').then(
        () => true,
        () => false,
      ),
    ).toBe(false)
  }, 60_000)

  it('put → get round trip: a 300 KB binary file and FHIR JSON from stdin, byte for byte', async () => {
    const bytes = randomBytes(300 * 1024)
    const file = join(dir, 'scan.bin')
    await writeFile(file, bytes)
    const put = await as('patient', [
      'put',
      file,
      '--tag',
      'imaging',
      '--type',
      'application/octet-stream',
      '--json',
    ])
    expect(put.code, put.stderr).toBe(0)
    const info = JSON.parse(put.stdout) as { id: string; size: number; tag: string; mediaType: string }
    expect(info).toMatchObject({ size: bytes.length, tag: 'imaging', mediaType: 'application/octet-stream' })

    const out = join(dir, 'scan.out')
    const got = await as('patient', ['get', info.id, '-o', out])
    expect(got.code, got.stderr).toBe(0)
    expect(Buffer.compare(await readFile(out), bytes)).toBe(0)

    const observation = JSON.stringify({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'HbA1c' },
    })
    const fromStdin = await as('patient', ['put', '-', '--json'], { input: observation })
    expect(fromStdin.code, fromStdin.stderr).toBe(0)
    const { id } = JSON.parse(fromStdin.stdout) as { id: string }
    const toStdout = await as('patient', ['get', id])
    expect(toStdout.code).toBe(0)
    expect(toStdout.stdout).toBe(observation)

    const listed = JSON.parse((await as('patient', ['ls', '--json'])).stdout) as { id: string }[]
    expect(listed.map((r) => r.id).sort()).toEqual([info.id, id].sort())

    const missing = await as('patient', ['get', `0x${'00'.repeat(31)}01`])
    expect(missing.code).toBe(4)
  }, 240_000)

  it('grant → read as the grantee → revoke → read refused (exit 5); a stranger is refused', async () => {
    const content = JSON.stringify({
      resourceType: 'Condition',
      code: { text: 'synthetic' },
      subject: { reference: 'Patient/synthetic' },
    })
    const file = join(dir, 'condition.json')
    await writeFile(file, content)
    const put = await as('patient', ['put', file, '--json'])
    expect(put.code, put.stderr).toBe(0)
    const record = (JSON.parse(put.stdout) as { id: string; mediaType: string }).id
    expect((JSON.parse(put.stdout) as { mediaType: string }).mediaType).toBe('application/fhir+json')
    const clinic = (
      JSON.parse((await as('clinic', ['identity', 'show', '--json'])).stdout) as { address: string }
    ).address
    // A grantee publishes its keys once before anyone can grant to it.
    const published = await as('clinic', ['identity', 'publish'])
    expect(published.code, published.stderr).toBe(0)

    const grant = await as('patient', [
      'grant',
      record,
      '--to',
      clinic,
      '--purpose',
      'TREAT',
      '--expires',
      '30d',
      '--threshold',
      '2',
      '--json',
    ])
    expect(grant.code, grant.stderr).toBe(0)
    const { id: grantId, threshold } = JSON.parse(grant.stdout) as { id: string; threshold: number }
    expect(threshold).toBe(2)

    const read = await as('clinic', ['read', record])
    expect(read.code, read.stderr).toBe(0)
    expect(read.stdout).toBe(content)

    const received = JSON.parse((await as('clinic', ['grants', '--received', '--json'])).stdout) as {
      id: string
      active: boolean
    }[]
    expect(received).toEqual([expect.objectContaining({ id: grantId, active: true })])

    const stranger = await as('stranger', ['read', record])
    expect(stranger.code).toBe(5)
    expect(stranger.stdout).toBe('')
    expect(stranger.stderr.trim().split('\n')).toHaveLength(1)

    const revoked = await as('patient', ['revoke', grantId])
    expect(revoked.code, revoked.stderr).toBe(0)
    const refused = await as('clinic', ['read', record])
    expect(refused.code).toBe(5)
    expect(refused.stdout).toBe('')
    expect(refused.stderr).toMatch(/^medvault: Grant 0x[0-9a-f]{64} was revoked/)
    expect(refused.stderr).not.toContain('synthetic')

    const audited = await as('patient', ['audit', record, '--json'])
    expect(audited.code, audited.stderr).toBe(0)
    const audit = JSON.parse(audited.stdout) as { kind: string; reader?: string }[]
    // Chain events in order; the clinic's read as the receipts of the proxies that answered it (M or more).
    expect(audit.filter((e) => e.kind !== 'read').map((e) => e.kind)).toEqual([
      'record-registered',
      'grant',
      'revocation',
    ])
    const reads = audit.filter((e) => e.kind === 'read')
    expect(reads.length).toBeGreaterThanOrEqual(2)
    for (const r of reads) expect(r.reader?.toLowerCase()).toBe(clinic.toLowerCase())
  }, 300_000)

  it('reads a plain deployment record { chainId, deployBlock, addresses } too (RPC from --rpc)', async () => {
    const net = JSON.parse(await readFile(addresses, 'utf8')) as {
      chainId: number
      rpcUrl: string
      deployBlock: string
      addresses: Record<string, string>
    }
    const plain = join(dir, 'deployment.json')
    await writeFile(
      plain,
      JSON.stringify({ chainId: net.chainId, deployBlock: net.deployBlock, addresses: net.addresses }),
    )
    const home = ['--home', join(dir, 'patient'), '--addresses', plain]
    const grants = await run([...home, '--rpc', net.rpcUrl, 'grants', '--json'])
    expect(grants.code, grants.stderr).toBe(0)
    expect(Array.isArray(JSON.parse(grants.stdout))).toBe(true)
    // The plain record names no RPC URL: the command says what to pass.
    const noRpc = await run([...home, 'grants'])
    expect(noRpc.code).toBe(2)
    expect(noRpc.stderr).toMatch(/^medvault: No RPC URL: .*deployment\.json names none; pass --rpc URL/)
    // A file for another chain is refused before anything is sent.
    const other = join(dir, 'other-chain.json')
    await writeFile(
      other,
      JSON.stringify({ chainId: net.chainId + 1, deployBlock: '0', addresses: net.addresses }),
    )
    const wrong = await run([
      '--home',
      join(dir, 'patient'),
      '--addresses',
      other,
      '--rpc',
      net.rpcUrl,
      'grants',
    ])
    expect(wrong.code).toBe(2)
    expect(wrong.stderr).toContain(`the addresses file is for chain ${net.chainId + 1}`)
  }, 240_000)

  it('ls --grant: a tag grantee lists the records of the tag and reads them; revoked → exit 5', async () => {
    const put = async (content: string, tag: string) => {
      const r = await as('patient', ['put', '-', '--tag', tag, '--type', 'text/plain', '--json'], {
        input: content,
      })
      expect(r.code, r.stderr).toBe(0)
      return (JSON.parse(r.stdout) as { id: string }).id
    }
    // The keystore names its address in the clear: no command needed to learn it.
    const payer = (
      JSON.parse(await readFile(join(dir, 'clinic', 'keystore.json'), 'utf8')) as { address: string }
    ).address
    expect((await as('clinic', ['identity', 'publish'])).code).toBe(0)
    const claim1 = await put('claim 1', 'claims')
    const labs = await put('lipids', 'labs')
    const grant = await as('patient', [
      'grant',
      '--tag',
      'claims',
      '--to',
      payer,
      '--purpose',
      'HPAYMT',
      '--json',
    ])
    expect(grant.code, grant.stderr).toBe(0)
    const { id: grantId } = JSON.parse(grant.stdout) as { id: string }
    // Registered after the grant: a tag grant covers it too.
    const claim2 = await put('claim 2', 'claims')

    const ls = await as('clinic', ['ls', '--grant', grantId, '--json'])
    expect(ls.code, ls.stderr).toBe(0)
    const listed = (JSON.parse(ls.stdout) as { id: string }[]).map((r) => r.id)
    expect(listed).toEqual([claim1, claim2])
    expect(listed).not.toContain(labs)
    const read = await as('clinic', ['read', claim2, '--purpose', 'HPAYMT'])
    expect(read.code, read.stderr).toBe(0)
    expect(read.stdout).toBe('claim 2')

    expect((await as('patient', ['revoke', grantId])).code).toBe(0)
    const refused = await as('clinic', ['ls', '--grant', grantId])
    expect(refused.code).toBe(5)
    expect(refused.stdout).toBe('')
    const unknown = await as('clinic', ['ls', '--grant', `0x${'ab'.repeat(32)}`])
    expect(unknown.code).toBe(4)
  }, 480_000)
})
