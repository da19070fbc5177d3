/**
 * Replication against a real remote: a second node's Pinning Service API over HTTP on 127.0.0.1 with its
 * own networked Helia store. The remote is down at first, then cannot reach the content (its request
 * fails), then forgets a request: the replicator backs off, replaces the failed request, asks again for the
 * forgotten one, and ends with every pin `pinned` at the remote, with its state kept across a restart.
 */
import { appendFile, mkdtemp, readFile, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createStorage, type Storage } from '@medvault/storage'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { createHttpServer, type HttpServer } from './http-server.ts'
import { createMetrics } from './metrics.ts'
import { createPinStore, type PinRecord, type PinStore } from './pin-store.ts'
import { createPinner, type Pinner } from './pinner.ts'
import { createPinningService } from './pinning-service.ts'
import { createReplication } from './replication.ts'
import { createTokenStore } from './token-store.ts'

let root: string
let local: { storage: Storage; pins: PinStore; pinner: Pinner }
let remote: { storage: Storage; pins: PinStore; pinner: Pinner; http: HttpServer; token: string } | undefined
let remotePort = 0

async function startRemote(): Promise<NonNullable<typeof remote>> {
  const dir = join(root, 'remote')
  const storage = await createStorage({ directory: join(dir, 'ipfs'), network: {}, blockTimeoutMs: 500 })
  const pins = createPinStore({ dir })
  await pins.open()
  const pinner = createPinner({ attempts: 1 }, { storage, pins })
  const tokens = createTokenStore(join(dir, 'tokens.json'))
  const http = createHttpServer({ port: remotePort })
  const service = createPinningService({}, { http, pins, pinner, tokens, storage })
  await pinner.start()
  await service.start()
  await http.start()
  remotePort = Number(new URL(http.url).port)
  const token = (await tokens.list()).length === 0 ? await tokens.create('node-a') : (remote?.token ?? '')
  return { storage, pins, pinner, http, token }
}

async function stopRemote(): Promise<void> {
  await remote?.http.stop()
  await remote?.pinner.stop()
  await remote?.pins.close()
  await remote?.storage.stop()
}

async function waitFor<T>(fn: () => T | Promise<T>, ok: (v: T) => boolean, ms = 30_000): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await fn()
    if (ok(v)) return v
    if (Date.now() > until) throw new Error(`timed out; last value ${JSON.stringify(v)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'mvn-repl-'))
  const storage = await createStorage({ network: {} })
  const pins = createPinStore({ dir: join(root, 'local') })
  await pins.open()
  const pinner = createPinner({}, { storage, pins })
  await pinner.start()
  local = { storage, pins, pinner }
})

afterAll(async () => {
  await stopRemote()
  await local?.pinner.stop()
  await local?.pins.close()
  await local?.storage.stop()
  await rm(root, { recursive: true, force: true })
})

test('default: down, unreachable, forgetful remote; every pin ends pinned there; state survives a restart', async () => {
  // Two pins the chain follower made on this node.
  const cids = [
    await local.storage.putBytes(new TextEncoder().encode('record one'), { pin: false }),
    await local.storage.putBytes(new TextEncoder().encode('record two'), { pin: false }),
  ]
  const records: PinRecord[] = []
  for (const [i, cid] of cids.entries()) {
    const r = await local.pins.add({
      owner: 'follower',
      cid: cid.toString(),
      name: `envelope:${i}`,
      meta: { kind: 'envelope' },
    })
    local.pinner.enqueue(r.requestid)
    records.push(r)
  }
  await local.pinner.idle()
  // An API pin on this node is not replicated: only the follower's.
  const apiPin = await local.pins.add({ owner: 'token:someone', cid: cids[0]!.toString() })

  // The remote's port is reserved now; it starts later.
  remote = await startRemote()
  const token = remote.token
  await stopRemote()
  let origins: string[] = []
  const metrics = createMetrics()
  const stateFile = join(root, 'local', 'replication.json')
  const make = () =>
    createReplication(
      {
        remotes: [{ name: 'r', endpoint: `http://127.0.0.1:${remotePort}`, token }],
        stateFile,
        intervalMs: 100,
        timeoutMs: 2000,
        auditIntervalMs: 200,
        auditGraceMs: 0,
      },
      { pins: local.pins, pinner: local.pinner, origins: () => origins, metrics },
    )
  let replication = make()

  // 1. Remote down: errors are counted, nothing breaks, nothing is recorded as asked.
  await replication.reconcile()
  expect(replication.summary().r).toEqual({ queued: 0, pinning: 0, pinned: 0, failed: 0, missing: 2 })
  expect(await metrics.registry.getSingleMetricAsString('medvault_replication_errors_total')).toMatch(
    /medvault_replication_errors_total\{remote="r"\} 1/,
  )

  // 2. Remote up but without a way to this node (no origins, not connected): its requests fail.
  remote = await startRemote()
  await replication.start()
  await waitFor(
    () => [...remote!.pins.all()].map((r) => r.status),
    (s) => s.length === 2 && s.every((x) => x === 'failed'),
  )

  // 3. Now this node tells the remote where it is: the failed requests are replaced and pinned.
  origins = local.storage.multiaddrs()
  await waitFor(
    () => replication.summary().r,
    (s) => s?.pinned === 2,
    60_000,
  )
  for (const cid of cids) expect(await remote.storage.isPinned(cid)).toBe(true)
  expect(replication.entry('r', apiPin.requestid)).toBeUndefined()

  // 4. The remote forgets one (even a pinned one): the next audit notices and it is asked for again.
  const forgotten = replication.entry('r', records[0]!.requestid)!
  const del = await fetch(`${remote.http.url}/pins/${forgotten.requestid}`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${token}` },
  })
  expect(del.status).toBe(202)
  const again = await waitFor(
    () => replication.entry('r', records[0]!.requestid),
    (e) => e !== undefined && e.requestid !== forgotten.requestid && e.status === 'pinned',
    60_000,
  )
  expect(await remote.storage.isPinned(cids[0]!)).toBe(true)

  // 5. The state is kept across a restart: nothing is asked twice.
  await replication.stop()
  const before = remote.pins.size
  replication = make()
  await replication.reconcile()
  expect(replication.entry('r', records[0]!.requestid)?.requestid).toBe(again!.requestid)
  expect(remote.pins.size).toBe(before)
})

test('behavior: a pass writes only the entries it changed (a journal); a torn journal line is cut; the journal is folded into the snapshot once it outgrows it; nothing is asked twice', async () => {
  // The remote of the test above is still running.
  const { token } = remote!
  for (let i = 0; i < 12; i++) {
    const cid = await local.storage.putBytes(new TextEncoder().encode(`journal ${i}`), { pin: false })
    const r = await local.pins.add({ owner: 'follower', cid: cid.toString(), meta: { kind: 'envelope' } })
    local.pinner.enqueue(r.requestid)
  }
  await local.pinner.idle()
  const followed = [...local.pins.all()].filter((r) => r.owner === 'follower' && r.status === 'pinned')
  const stateFile = join(root, 'local', 'journal', 'replication.json')
  const journal = `${stateFile}.journal`
  const make = (batch: number, journalMaxBytes?: number) =>
    createReplication(
      {
        remotes: [{ name: 'j', endpoint: `http://127.0.0.1:${remotePort}`, token }],
        stateFile,
        batch,
        intervalMs: 3_600_000,
        auditIntervalMs: 3_600_000,
        journalMaxBytes,
      },
      { pins: local.pins, pinner: local.pinner, origins: () => local.storage.multiaddrs() },
    )
  const lines = async () => (await readFile(journal, 'utf8')).split('\n').filter((l) => l !== '')
  const asked = () => remote!.pins.size
  const entries = (replication: ReturnType<typeof make>) =>
    new Map(followed.map((r) => [r.requestid, replication.entry('j', r.requestid)?.requestid]))

  let replication = make(4)
  const before = asked()
  await replication.reconcile()
  // One line per entry the pass made, no snapshot yet.
  expect(await lines()).toHaveLength(4)
  await expect(stat(stateFile)).rejects.toMatchObject({ code: 'ENOENT' })
  expect(asked()).toBe(before + 4)
  const first = [...entries(replication)].filter(([, remoteId]) => remoteId !== undefined)
  expect(first).toHaveLength(4)

  // A crash mid-append tears the last line: it is cut, the entries before it stand and are not asked again.
  await appendFile(journal, '{"r":"j","id":"')
  replication = make(100, 1)
  await replication.reconcile()
  const second = entries(replication)
  for (const [local, remoteId] of first) expect(second.get(local)).toBe(remoteId)
  expect([...second.values()].every((id) => id !== undefined)).toBe(true)
  expect(asked()).toBe(before + followed.length)
  // This pass's journal outgrew its limit: folded into the snapshot, the journal emptied.
  expect(await lines()).toHaveLength(0)
  const snapshot = JSON.parse(await readFile(stateFile, 'utf8')) as { remotes: Record<string, object> }
  expect(Object.keys(snapshot.remotes.j!)).toHaveLength(followed.length)

  // From the snapshot alone (a pass with no calls to spend): the same entries.
  replication = make(0)
  await replication.reconcile()
  expect(entries(replication)).toEqual(second)
  expect(asked()).toBe(before + followed.length)
})
