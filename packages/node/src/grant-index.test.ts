/**
 * The grant index over a real devnet: grants, revocations, record versions and proxy sets as the chain's
 * events describe them; kept in a file that a new index replays and follows on from, without reading any
 * range twice.
 */
import { access, appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDevnet, type Devnet, type DevnetWalletClient } from '@medvault/chain/node'
import { bytesToHex, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  createGrantIndex,
  GRANT_INDEX_COMPACTING_FILE,
  GRANT_INDEX_FILE,
  type GrantIndex,
} from './grant-index.ts'

let devnet: Devnet
let dir: string
let setId: number
const patient = () => devnet.walletClients[1] as DevnetWalletClient
const doctor = () => devnet.walletClients[2] as DevnetWalletClient
const cid = (n: number): Hex => `0x01711220${n.toString(16).padStart(64, '0')}`
const random32 = (): Hex => bytesToHex(crypto.getRandomValues(new Uint8Array(32)))

beforeAll(async () => {
  devnet = await createDevnet({ accounts: 4 })
  dir = await mkdtemp(join(tmpdir(), 'medvault-index-'))
  await devnet.walletClients[3]!.registerProxy({
    publicKey: `0x02${'11'.repeat(32)}`,
    endpoint: 'http://127.0.0.1:1',
  })
  ;({ setId } = await patient().createProxySet({ members: [devnet.accounts[3]!.address] }))
})
afterAll(async () => {
  await devnet?.stop()
  await rm(dir, { recursive: true, force: true })
})

const index = (path?: string, compactAtBytes?: number): GrantIndex =>
  createGrantIndex(devnet.publicClient, {
    addresses: devnet.addresses,
    fromBlock: devnet.deployBlock,
    pollingInterval: 3_600_000,
    dir: path,
    compactAtBytes,
  })

const fileLines = async (path: string) =>
  (await readFile(join(path, GRANT_INDEX_FILE), 'utf8'))
    .trim()
    .split('\n')
    .map((l) => JSON.parse(l) as { t: string; grantId?: string })

/** What an index holds about these grants and records, for comparing two indexes. */
const view = (idx: GrantIndex, grants: Hex[], records: Hex[]) => ({
  grants: grants.map((g) => idx.grant(g)),
  records: records.map((r) => idx.record(r)),
  grantsOf: idx.grantsOf(patient().account.address).map((g) => g.grantId),
  set: idx.proxySet(setId),
  counts: idx.counts,
})

async function grantFor(recordId: Hex, kind: 'record' | 'records' | 'all' = 'record') {
  const now = Number((await devnet.publicClient.getBlock()).timestamp)
  const scope =
    kind === 'record'
      ? ({ kind, recordId } as const)
      : kind === 'records'
        ? ({ kind, recordIds: [recordId] } as const)
        : ({ kind } as const)
  return patient().grantAccess({
    grantee: doctor().account.address,
    scope,
    purpose: 'TREAT',
    expiry: now + 3600,
    threshold: 1,
    proxySetId: setId,
    kfragsCid: cid(99),
  })
}

describe('createGrantIndex', () => {
  test('default: grants, revocations, records and versions, proxy sets, as the chain says', async () => {
    const idx = index()
    const { recordId } = await patient().registerRecord({ cid: cid(1), tag: '0x0102030405060708' })
    const { grantId } = await grantFor(recordId)
    const { grantId: listed } = await grantFor(recordId, 'records')
    await idx.start()
    try {
      expect(idx.grant(grantId)).toEqual({
        grantId: grantId.toLowerCase(),
        grantor: patient().account.address,
        grantee: doctor().account.address,
        scopeKind: 'record',
        scopeTarget: recordId.toLowerCase(),
        records: [],
        purpose: 1,
        notBefore: expect.any(Number),
        expiry: expect.any(Number),
        threshold: 1,
        proxySetId: setId,
        kfragsCid: cid(99),
        revoked: false,
      })
      expect(idx.grant(listed)?.records).toEqual([recordId.toLowerCase()])
      expect(idx.record(recordId)).toEqual({
        recordId: recordId.toLowerCase(),
        owner: patient().account.address,
        tag: '0x0102030405060708',
        version: 1,
        cid: cid(1),
      })
      expect(idx.proxySet(setId)).toEqual([devnet.accounts[3]!.address])

      await patient().registerRecordVersion({ recordId, cid: cid(2) })
      await patient().revokeAccess({ grantId })
      await idx.catchUp()
      expect(idx.record(recordId)).toMatchObject({ version: 2, cid: cid(2) })
      expect(idx.grant(grantId)?.revoked).toBe(true)
      expect(idx.grant(random32())).toBeUndefined()
      expect(idx.indexedBlock).toBe(await devnet.publicClient.getBlockNumber())
    } finally {
      await idx.stop()
    }
  })

  test('behavior: concurrent catch-ups share passes and all see the head they were called at', async () => {
    const idx = index()
    await idx.start()
    try {
      const { recordId } = await patient().registerRecord({ cid: cid(3) })
      const g1 = await grantFor(recordId)
      const first = idx.catchUp()
      // mined while the first pass may still be reading: the later callers must see it
      const g2 = await grantFor(recordId)
      const later = Array.from({ length: 10 }, () => idx.catchUp())
      await Promise.all([first, ...later])
      for (const { grantId } of [g1, g2]) expect(idx.grant(grantId)).toBeDefined()
    } finally {
      await idx.stop()
    }
  })

  test('behavior: a file index is replayed by a new instance, which reads on from its checkpoint', async () => {
    const path = join(dir, 'resume')
    const first = index(path)
    const { recordId } = await patient().registerRecord({ cid: cid(4) })
    const { grantId: g1 } = await grantFor(recordId)
    await first.start()
    await first.stop()

    const { grantId: g2 } = await grantFor(recordId, 'all')
    await patient().revokeAccess({ grantId: g1 })
    const second = index(path)
    await second.start()
    try {
      expect(second.grant(g1)?.revoked).toBe(true)
      expect(second.grant(g2)?.scopeKind).toBe('all')
      const ops = (await readFile(join(path, GRANT_INDEX_FILE), 'utf8'))
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { t: string; grantId?: string })
      expect(ops.filter((o) => o.t === 'grant' && o.grantId === g1.toLowerCase())).toHaveLength(1)
      expect(ops.filter((o) => o.t === 'grant' && o.grantId === g2.toLowerCase())).toHaveLength(1)
    } finally {
      await second.stop()
    }
  })

  test('behavior: a range delivered twice (a crash before its checkpoint) changes nothing; a torn last line is cut', async () => {
    const path = join(dir, 'twice')
    const first = index(path)
    const { recordId } = await patient().registerRecord({ cid: cid(5) })
    const { grantId } = await grantFor(recordId)
    await patient().revokeAccess({ grantId })
    await patient().registerRecordVersion({ recordId, cid: cid(6) })
    await first.start()
    await first.stop()
    const file = join(path, GRANT_INDEX_FILE)
    const lines = (await readFile(file, 'utf8')).trim().split('\n')
    // the operations again, as a crash between them and their checkpoint would leave them, then a torn line
    const ops = lines.filter((l) => !l.includes('"checkpoint"'))
    await appendFile(file, `${ops.join('\n')}\n{"t":"gra`)
    const second = index(path)
    await second.start()
    try {
      expect(second.grant(grantId)?.revoked).toBe(true)
      expect(second.record(recordId)).toMatchObject({ version: 2, cid: cid(6) })
      expect((await readFile(file, 'utf8')).endsWith('\n')).toBe(true)
    } finally {
      await second.stop()
    }
  })

  test('error: a damaged line inside the file throws GrantIndexCorruptError', async () => {
    const path = join(dir, 'corrupt')
    await rm(path, { recursive: true, force: true })
    const first = index(path)
    await first.start()
    await first.stop()
    await writeFile(
      join(path, GRANT_INDEX_FILE),
      `not json\n${await readFile(join(path, GRANT_INDEX_FILE), 'utf8')}`,
    )
    await expect(index(path).start()).rejects.toMatchObject({
      name: 'GrantIndexCorruptError',
      shortMessage: 'The grant index log grant-index.ndjson is corrupt at line 1.',
    })
  })

  test('behavior: grantsOf lists every grant of a grantor, revoked ones too', async () => {
    const idx = index()
    const { recordId } = await patient().registerRecord({ cid: cid(7) })
    const { grantId: a } = await grantFor(recordId)
    const { grantId: b } = await grantFor(recordId, 'all')
    await patient().revokeAccess({ grantId: a })
    await idx.start()
    try {
      const mine = idx.grantsOf(patient().account.address).map((g) => g.grantId)
      expect(mine).toEqual(expect.arrayContaining([a.toLowerCase(), b.toLowerCase()]))
      expect(idx.grantsOf(doctor().account.address)).toEqual([])
    } finally {
      await idx.stop()
    }
  })
})

describe('compaction', () => {
  test('behavior: a grown file is compacted to a snapshot that rebuilds the same index; a restart follows on from it', async () => {
    const path = join(dir, 'compact')
    const idx = index(path, 1)
    const { recordId } = await patient().registerRecord({ cid: cid(10), tag: '0x0a0b0c0d0e0f0102' })
    const grants: Hex[] = []
    await idx.start()
    let passes = 1
    try {
      // History: versions replacing versions, grants revoked, a records list, a checkpoint line per pass.
      for (let i = 0; i < 4; i++) {
        await patient().registerRecordVersion({ recordId, cid: cid(11 + i) })
        const { grantId } = await grantFor(recordId, i % 2 === 0 ? 'records' : 'record')
        grants.push(grantId)
        if (i < 2) await patient().revokeAccess({ grantId })
        await idx.catchUp()
        passes++
      }
      const reference = index()
      await reference.start()
      const expected = view(reference, grants, [recordId])
      await reference.stop()
      expect(view(idx, grants, [recordId])).toEqual(expected)
      expect(expected.records[0]).toMatchObject({ version: 5, cid: cid(14) })

      // Passes over new blocks until the file has doubled since the snapshot taken at start and is compacted
      // again: without compaction every pass leaves its checkpoint line there.
      const checkpoints = async () => (await fileLines(path)).filter((o) => o.t === 'checkpoint').length
      while ((await checkpoints()) === passes && passes < 1000) {
        await devnet.testClient.mine({ blocks: 1 })
        await idx.catchUp()
        passes++
      }
      expect(await checkpoints()).toBeLessThan(passes)
      expect(view(idx, grants, [recordId])).toEqual(expected)
      const ops = await fileLines(path)
      for (const g of grants)
        expect(ops.filter((o) => o.t === 'grant' && o.grantId === g.toLowerCase())).toHaveLength(1)
      await expect(access(join(path, GRANT_INDEX_COMPACTING_FILE))).rejects.toMatchObject({ code: 'ENOENT' })
      await idx.stop()

      const restarted = index(path)
      await restarted.start()
      try {
        expect(view(restarted, grants, [recordId])).toEqual(expected)
        const { grantId: later } = await grantFor(recordId, 'all')
        await restarted.catchUp()
        expect(restarted.grant(later)?.scopeKind).toBe('all')
      } finally {
        await restarted.stop()
      }
    } finally {
      await idx.stop()
    }
  })

  test('behavior: a crash mid-compaction (its temporary file left behind) loses nothing; the file is deleted on restart', async () => {
    const path = join(dir, 'compact-crash')
    const first = index(path)
    const { recordId } = await patient().registerRecord({ cid: cid(20) })
    const { grantId } = await grantFor(recordId)
    await patient().revokeAccess({ grantId })
    await patient().registerRecordVersion({ recordId, cid: cid(21) })
    await first.start()
    const expected = view(first, [grantId], [recordId])
    await first.stop()
    const log = await readFile(join(path, GRANT_INDEX_FILE), 'utf8')
    // A snapshot cut off mid-write: some operations, no checkpoint, a torn line.
    const temp = join(path, GRANT_INDEX_COMPACTING_FILE)
    await writeFile(temp, `${log.split('\n').slice(0, 2).join('\n')}\n{"t":"grant","gra`)

    const second = index(path, 1)
    await second.start()
    try {
      expect(view(second, [grantId], [recordId])).toEqual(expected)
      // Every line of the log reads: nothing of the torn snapshot reached it.
      expect((await fileLines(path)).length).toBeGreaterThan(0)
      const { grantId: later } = await grantFor(recordId, 'all')
      await second.catchUp()
      expect(second.grant(later)?.scopeKind).toBe('all')
    } finally {
      await second.stop()
    }
    await expect(access(temp)).rejects.toMatchObject({ code: 'ENOENT' })
    const third = index(path)
    await third.start()
    try {
      expect(third.grant(grantId)?.revoked).toBe(true)
      expect(third.record(recordId)).toMatchObject({ version: 2, cid: cid(21) })
    } finally {
      await third.stop()
    }
  })
})
