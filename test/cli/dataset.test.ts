/**
 * `medvault dataset build|publish|fetch`, run as a user runs them: the built `dist/bin.js` in child processes
 * against a real `medvault devnet` process. A patient consents by tag; the steward (approved by the registry's
 * admin) builds a dataset encrypted to a research platform and registers it; the platform fetches and verifies
 * it into a directory; another identity is refused.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setSteward } from '@medvault/chain'
import { type Address, createWalletClient, type Hex, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, expect, it, vi } from 'vitest'
import { runCli, startDevnetProcess } from './process.ts'

// Anvil's first default account: the devnet deploys with it, so it is the DatasetRegistry's admin.
const ADMIN_KEY: Hex = '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80'

const run = (args: string[], input = '') =>
  runCli(args, { input, env: { MEDVAULT_PASSPHRASE: 'dataset test passphrase' } })

// Each spawned command loads Node and its modules; on a shared, loaded machine that takes seconds.
vi.setConfig({ testTimeout: 600_000 })

let dir: string
let addresses: string
let devnet: ChildProcess
const who: Record<string, Address> = {}
let rpcUrl: string
const rpc = async (method: string, params: unknown[]) => {
  const res = await fetch(rpcUrl, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method, params }),
  })
  expect(res.ok).toBe(true)
}
const as = (name: string, args: string[]) =>
  run(['--home', join(dir, name), '--addresses', addresses, ...args])

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medvault-cli-dataset-'))
  addresses = join(dir, 'net.json')
  devnet = await startDevnetProcess(addresses)
  const names = ['patient', 'steward', 'platform', 'stranger']
  const created = await Promise.all(
    names.map((n) => run(['--home', join(dir, n), 'identity', 'new', '--json'])),
  )
  for (const [i, r] of created.entries()) {
    expect(r.code, r.stderr).toBe(0)
    who[names[i] as string] = (JSON.parse(r.stdout) as { address: Address }).address
  }
  const net = JSON.parse(await readFile(addresses, 'utf8')) as {
    rpcUrl: string
    addresses: Parameters<typeof setSteward>[1]['addresses']
  }
  rpcUrl = net.rpcUrl
  const admin = createWalletClient({ account: privateKeyToAccount(ADMIN_KEY), transport: http(net.rpcUrl) })
  await setSteward(admin, { addresses: net.addresses, steward: who.steward as Address, approved: true })
}, 240_000)

afterAll(async () => {
  if (devnet !== undefined && devnet.exitCode === null) {
    const exited = new Promise((r) => devnet.once('exit', r))
    devnet.kill('SIGTERM')
    await exited
  }
  await rm(dir, { recursive: true, force: true })
}, 60_000)

const BUNDLE = {
  resourceType: 'Bundle',
  type: 'transaction',
  entry: [
    {
      fullUrl: 'urn:uuid:0a0b0c0d-0000-4000-8000-000000000001',
      resource: {
        resourceType: 'Patient',
        id: '0a0b0c0d-0000-4000-8000-000000000001',
        name: [{ family: 'Quixotefamily', given: ['Dulcinea'] }],
        birthDate: '1961-02-03',
      },
      request: { method: 'POST', url: 'Patient' },
    },
    {
      fullUrl: 'urn:uuid:0a0b0c0d-0000-4000-8000-000000000002',
      resource: {
        resourceType: 'Observation',
        id: '0a0b0c0d-0000-4000-8000-000000000002',
        status: 'final',
        code: { text: 'marker' },
        subject: { reference: 'urn:uuid:0a0b0c0d-0000-4000-8000-000000000001' },
        valueQuantity: { value: 4242, unit: 'mg' },
      },
      request: { method: 'POST', url: 'Observation' },
    },
  ],
}
let cid: string

// Spawned commands are sequential where one needs the other: each step is one test, so a slow machine
// shows which step was slow.
it('a patient stores a Bundle and consents to research by tag', async () => {
  const file = join(dir, 'bundle.json')
  await writeFile(file, JSON.stringify(BUNDLE))
  const first = await Promise.all([
    as('steward', ['identity', 'publish']),
    as('platform', ['identity', 'publish']),
    as('patient', ['put', file, '--tag', 'research', '--json']),
  ])
  for (const r of first) expect(r.code, r.stderr).toBe(0)
  const grant = await as('patient', [
    'grant',
    '--tag',
    'research',
    '--to',
    who.steward as string,
    '--purpose',
    'HRESCH',
    '--expires',
    '30d',
    '--threshold',
    '2',
  ])
  expect(grant.code, grant.stderr).toBe(0)
  // The snapshot is the block before the latest: one more block puts the consent in it.
  await rpc('evm_mine', [])
})

it('dataset build (encrypted to the platform, key file written) and dataset publish', async () => {
  const keyFile = join(dir, 'dataset.key')
  const built = await as('steward', [
    'dataset',
    'build',
    '--purpose',
    'HRESCH',
    '--recipient',
    who.platform as string,
    '--key-file',
    keyFile,
    '--no-publish',
    '--json',
  ])
  expect(built.code, built.stderr).toBe(0)
  const b = JSON.parse(built.stdout) as { cid: string; records: number; patients: number; datasetId: null }
  expect(b).toMatchObject({ records: 1, patients: 1, datasetId: null })
  cid = b.cid
  expect((await stat(keyFile)).mode & 0o777).toBe(0o600)
  const key = await readFile(keyFile, 'utf8')
  expect(key).toMatch(/^0x[0-9a-f]{64}\n$/)
  expect(built.stdout + built.stderr).not.toContain(key.trim().slice(2))

  const pub = await as('steward', [
    'dataset',
    'publish',
    cid,
    '--key-file',
    keyFile,
    '--licence',
    'CC-BY-4.0',
    '--json',
  ])
  expect(pub.code, pub.stderr).toBe(0)
  expect((JSON.parse(pub.stdout) as { transactionHash: string }).transactionHash).toMatch(/^0x/)
})

it('dataset fetch: the platform gets verified, de-identified NDJSON files; another identity is refused (exit 5)', async () => {
  const out = join(dir, 'study')
  const [fetched, stranger] = await Promise.all([
    as('platform', ['dataset', 'fetch', cid, '--steward', who.steward as string, '-o', out, '--json']),
    as('stranger', ['dataset', 'fetch', cid, '-o', join(dir, 'stranger')]),
  ])
  expect(fetched.code, fetched.stderr).toBe(0)
  const f = JSON.parse(fetched.stdout) as { licence: string; counts: Record<string, number> }
  expect(f.licence).toBe('CC-BY-4.0')
  expect(f.counts).toEqual({ Observation: 1, Patient: 1 })
  const observation = JSON.parse(await readFile(join(out, 'Observation.ndjson'), 'utf8')) as {
    valueQuantity: { value: number }
  }
  expect(observation.valueQuantity.value).toBe(4242)
  const patient = await readFile(join(out, 'Patient.ndjson'), 'utf8')
  expect(patient).not.toContain('Quixotefamily')
  expect(patient).not.toContain('1961-02-03')

  expect(stranger.code).toBe(5)
  expect(stranger.stderr).toMatch(/^medvault: Dataset .* is encrypted to other accounts/)
})
