/**
 * medvault-node as operators run it: real `medvault-node` processes on 127.0.0.1 (the built bin), a real
 * anvil devnet, and a patient writing through the SDK into their own networked IPFS store.
 *
 * - Three daemons follow the chain and pin what the patient registers. One is SIGKILLed in the middle of
 *   its sync and started again: every envelope, content and kfrag bundle ends up pinned on all three,
 *   exactly once each, and every block of every DAG is served whole and verifies (nothing half-written).
 * - One daemon replicates its followed pins to a fourth daemon that runs only the Pinning Service API (the
 *   "remote pinning service"), which fetches them from the first through the `origins` it was given.
 * - SIGTERM stops every daemon cleanly; no log line holds the passphrase or a token.
 */
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { psaValidators } from '@medvault/node'
import { type CID, createStorage } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { type DaemonProcess, freePort, PASSPHRASE, runNode, startDaemon } from './daemon-process.ts'
import { createWorld, type World, waitFor } from './world.ts'

let world: World
let root: string
let addressesFile: string
let remoteToken: string
const repos: Record<'a' | 'b' | 'c' | 'r', string> = { a: '', b: '', c: '', r: '' }
const ports: Record<'a' | 'b' | 'c' | 'r', number> = { a: 0, b: 0, c: 0, r: 0 }
const daemons: Partial<Record<'a' | 'b' | 'c' | 'r', DaemonProcess>> = {}
const envelopes: CID[] = []
const env = { MEDVAULT_NODE_PASSPHRASE: PASSPHRASE }

function followerArgs(): string[] {
  return [
    '--services',
    'pinning,gateway,follower',
    '--rpc',
    world.devnet.rpcUrl,
    '--addresses',
    addressesFile,
    '--peers',
    world.storage.multiaddrs().join(','),
  ]
}

async function editConfig(repo: string, edit: (config: Record<string, unknown>) => void): Promise<void> {
  const path = join(repo, 'config.json')
  const config = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>
  edit(config)
  await writeFile(path, JSON.stringify(config, null, 2))
}

beforeAll(async () => {
  world = await createWorld()
  root = await mkdtemp(join(tmpdir(), 'mvn-daemons-'))
  addressesFile = join(root, 'deployment.json')
  await writeFile(
    addressesFile,
    JSON.stringify({ addresses: world.devnet.addresses, deployBlock: world.devnet.deployBlock.toString() }),
  )
  for (const name of ['a', 'b', 'c', 'r'] as const) {
    repos[name] = join(root, name)
    ports[name] = await freePort()
  }
  // The operators' `init`s, as they would type them (in parallel: scrypt takes a moment).
  const inits = await Promise.all(
    (['a', 'b', 'c', 'r'] as const).map((name) =>
      runNode(['init', '--repo', repos[name], '--listen', '/ip4/127.0.0.1/tcp/0'], env),
    ),
  )
  for (const r of inits) {
    expect(r.code, r.stderr).toBe(0)
    expect(r.stdout.trim()).toMatch(/^0x[0-9a-fA-F]{40}$/)
  }
  for (const name of ['a', 'b', 'c'] as const) {
    await editConfig(repos[name], (c) => {
      c.chain = { pollingIntervalMs: 200 }
      c.storage = { ...(c.storage as object), blockTimeoutMs: 3000 }
    })
  }
  // The remote pinning service hands node A a token; A reads it from a file named in its config.
  const token = await runNode(['token', 'create', 'node-a', '--repo', repos.r])
  expect(token.code, token.stderr).toBe(0)
  remoteToken = token.stdout.trim()
  await mkdir(repos.a, { recursive: true })
  await writeFile(join(repos.a, 'remote-r.token'), `${remoteToken}\n`, { mode: 0o600 })
  await editConfig(repos.a, (c) => {
    c.replication = {
      intervalMs: 300,
      remotes: [{ name: 'r', endpoint: `http://127.0.0.1:${ports.r}`, tokenFile: 'remote-r.token' }],
    }
  })
}, 300_000)

afterAll(async () => {
  for (const d of Object.values(daemons)) d?.kill('SIGKILL')
  await Promise.all(Object.values(daemons).map((d) => d?.exited))
  await world?.stop()
  await rm(root, { recursive: true, force: true })
}, 60_000)

const EXPECTED = { queued: 0, pinning: 0, pinned: 13, failed: 0 }

describe('default', () => {
  test('three daemons pin what a patient registers; one SIGKILLed mid-sync and restarted: nothing missed, nothing doubled', async () => {
    daemons.r = startDaemon(repos.r, ports.r, ['--services', 'pinning'], env)
    for (const name of ['a', 'b', 'c'] as const)
      daemons[name] = startDaemon(repos[name], ports[name], followerArgs(), env)
    await Promise.all(Object.values(daemons).map((d) => d!.waitReady(90_000)))

    // First half: three records and a grant.
    for (let i = 0; i < 3; i++) {
      const rec = await world.patient.records.put({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'synthetic' },
        valueString: `v${i}`,
      })
      envelopes.push(rec.cid)
    }
    await world.patient.grants.create({
      to: world.doctor.address,
      all: true,
      purpose: 'TREAT',
      expiresIn: '30d',
      threshold: 1,
    })
    // Kill C as soon as its sync has started (some, not all, of its pins are done).
    await waitFor(
      () => daemons.c!.status(),
      (s) => s.pins.follower.pinned + s.pins.follower.pinning + s.pins.follower.queued > 0,
      60_000,
    )
    daemons.c!.kill('SIGKILL')
    expect(await daemons.c!.exited).toBeNull()

    // Second half while C is down.
    for (let i = 3; i < 6; i++) {
      const rec = await world.patient.records.put({
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'synthetic' },
        valueString: `v${i}`,
      })
      envelopes.push(rec.cid)
    }
    daemons.c = startDaemon(repos.c, ports.c, followerArgs(), env)
    await daemons.c.waitReady(90_000)

    // 6 envelopes + 6 contents + 1 kfrag bundle, on each daemon, each exactly once.
    for (const name of ['a', 'b', 'c'] as const) {
      const status = await waitFor(
        () => daemons[name]!.status(),
        (s) => s.pins.follower.pinned === 13,
        90_000,
      )
      expect({ name, pins: status.pins.follower }).toEqual({ name, pins: EXPECTED })
    }
    // Every DAG is served whole by every daemon: each CAR is imported into a fresh store, which verifies
    // every block against its CID and, pinning, refuses a CAR that does not hold the complete DAG.
    for (const name of ['a', 'b', 'c'] as const) {
      const check = await createStorage()
      try {
        for (const cid of envelopes) {
          const res = await fetch(`${daemons[name]!.url}/ipfs/${cid}?format=car`)
          expect({ name, cid: cid.toString(), status: res.status }).toEqual({
            name,
            cid: cid.toString(),
            status: 200,
          })
          const roots = await check.importCar([new Uint8Array(await res.arrayBuffer())], { pin: true })
          expect(roots.map(String)).toEqual([cid.toString()])
          expect((await check.stat(cid)).local).toBe(true)
        }
      } finally {
        await check.stop()
      }
    }
    // The follower's lag is reported as a metric.
    const metrics = await (await fetch(`${daemons.a!.url}/metrics`)).text()
    expect(metrics).toMatch(/^medvault_follower_lag_blocks \d+/m)
    expect(metrics).toMatch(/^medvault_pins\{status="pinned",owner="follower"\} 13/m)
  }, 400_000)

  test('node A replicates every followed pin to a remote Pinning Service API (a fourth daemon)', async () => {
    const status = await waitFor(
      () => daemons.a!.status(),
      (s) => (s.replication as Record<string, Record<string, number>>).r?.pinned === 13,
      120_000,
    )
    expect((status.replication as Record<string, Record<string, number>>).r).toEqual({
      ...EXPECTED,
      missing: 0,
    })
    // Seen from the remote: 13 pinned requests made by node A, the answer as the spec's schema says.
    const res = await fetch(
      `${daemons.r!.url}/pins?status=pinned&limit=100&meta=${encodeURIComponent(JSON.stringify({ source: 'medvault-node' }))}`,
      { headers: { authorization: `Bearer ${remoteToken}` } },
    )
    const listed = (await res.json()) as {
      count: number
      results: Array<{ pin: { cid: string; origins?: string[] } }>
    }
    expect(psaValidators().pinResults(listed)).toBe(true)
    expect(listed.count).toBe(13)
    const cids = new Set(listed.results.map((r) => r.pin.cid))
    for (const cid of envelopes) expect(cids.has(cid.toString())).toBe(true)
    expect(listed.results.every((r) => (r.pin.origins ?? []).some((o) => o.includes('/p2p/')))).toBe(true)
  }, 180_000)

  test('SIGTERM stops every daemon cleanly; no log line holds the passphrase or a token', async () => {
    for (const d of Object.values(daemons)) d!.kill('SIGTERM')
    const codes = await Promise.all(Object.values(daemons).map((d) => d!.exited))
    expect(codes).toEqual([0, 0, 0, 0])
    for (const d of Object.values(daemons)) {
      expect(d!.lines.some((l) => l.includes('"msg":"medvault-node stopped"'))).toBe(true)
      const all = d!.lines.join('\n')
      expect(all).not.toContain(PASSPHRASE)
      expect(all).not.toContain(remoteToken)
      // Every line is JSON (pino).
      for (const line of d!.lines.filter((l) => l.trim() !== '')) expect(() => JSON.parse(line)).not.toThrow()
    }
  }, 60_000)
})
