/**
 * The owner's side of a vault against a real anvil devnet and a real embedded Helia store: put, get, stream,
 * update, history, rotate, concurrent puts from one account, and the failures a caller can cause.
 */
import { createDevnet, type Devnet } from '@medvault/chain/node'
import {
  createVault,
  InvalidOptionError,
  NotRecordOwnerError,
  RecordNotFoundError,
  type Vault,
} from '@medvault/sdk'
import { createStorage, type Storage } from '@medvault/storage'
import { http } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

let devnet: Devnet
let storage: Storage
let patient: Vault
let other: Vault

const open = (i: number) =>
  createVault({
    account: devnet.anvil.accounts[i]!.privateKey,
    chain: {
      transport: http(devnet.rpcUrl),
      addresses: devnet.addresses,
      chain: devnet.chain,
      deployBlock: devnet.deployBlock,
    },
    storage,
  })

beforeAll(async () => {
  devnet = await createDevnet()
  storage = await createStorage()
  patient = await open(1)
  other = await open(2)
})

afterAll(async () => {
  await storage?.stop()
  await devnet?.stop()
})

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe('records (owner)', () => {
  test('default: put JSON, get it back byte for byte, info opens the metadata', async () => {
    const observation = {
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'HbA1c' },
      valueQuantity: { value: 7.2, unit: 'mmol/L' },
    }
    const rec = await patient.records.put(observation, { tag: 'labs', name: 'HbA1c' })
    expect(rec.version).toBe(1)
    expect(rec.epoch).toBe(0)
    expect(rec.chainTag).toMatch(/^0x[0-9a-f]{16}$/)
    expect(JSON.parse(text(await patient.records.get(rec.id)))).toEqual(observation)
    const info = await patient.records.info(rec.id)
    expect(info).toMatchObject({
      mediaType: 'application/fhir+json',
      tag: 'labs',
      name: 'HbA1c',
      size: rec.size,
    })
  })

  test('behavior: streams in, streams out, progress reported', async () => {
    async function* chunks() {
      for (let i = 0; i < 5; i++) yield new Uint8Array(100_000).fill(i)
    }
    const events: string[] = []
    const rec = await patient.records.put(chunks(), {
      segmentSize: 64 * 1024,
      onProgress: (e) => events.push(e.type),
    })
    expect(rec.size).toBe(500_000)
    expect(events).toContain('records:put:bytes')
    expect(events).toContain('chain:transaction')
    const parts: Uint8Array[] = []
    for await (const chunk of patient.records.stream(rec.id)) parts.push(chunk)
    const all = new Uint8Array(parts.reduce((n, p) => n + p.length, 0))
    let total = 0
    for (const p of parts) {
      all.set(p, total)
      total += p.length
    }
    for (let i = 0; i < 5; i++)
      expect(all.subarray(i * 100_000, (i + 1) * 100_000).every((b) => b === i)).toBe(true)
    expect(total).toBe(500_000)
  })

  test('behavior: update adds a version linked to the last; history lists both', async () => {
    const rec = await patient.records.put('first', { mediaType: 'text/plain' })
    const v2 = await patient.records.update(rec.id, 'second')
    expect(v2.version).toBe(2)
    expect(v2.prev?.toString()).toBe(rec.cid.toString())
    expect(v2.mediaType).toBe('text/plain')
    expect(text(await patient.records.get(rec.id))).toBe('second')
    expect(text(await patient.records.get(rec.id, { version: 1 }))).toBe('first')
    const history = await patient.records.history(rec.id)
    expect(history.map((h) => [h.version, h.size, h.cid.toString()])).toEqual([
      [1, 5, rec.cid.toString()],
      [2, 6, v2.cid.toString()],
    ])
  })

  test('behavior: rotate makes a new data key under a new epoch, same content', async () => {
    const rec = await patient.records.put('rotate me', { tag: 'notes' })
    const { record, reissued } = await patient.records.rotate(rec.id)
    expect(record.epoch).toBe(1)
    expect(record.version).toBe(2)
    expect(record.tag).toBe('notes')
    expect(record.contentCid.toString()).not.toBe(rec.contentCid.toString())
    expect(reissued).toEqual([])
    expect(text(await patient.records.get(rec.id))).toBe('rotate me')
    const again = await patient.records.rotate(rec.id)
    expect(again.record.epoch).toBe(2)
    expect(text(await patient.records.get(rec.id))).toBe('rotate me')
  })

  test('behavior: concurrent puts from one account all land (no nonce collision)', async () => {
    const recs = await Promise.all(Array.from({ length: 6 }, (_, i) => patient.records.put(`record ${i}`)))
    expect(new Set(recs.map((r) => r.id)).size).toBe(6)
    const back = await Promise.all(recs.map((r) => patient.records.get(r.id)))
    expect(back.map(text)).toEqual(Array.from({ length: 6 }, (_, i) => `record ${i}`))
  })

  test('error: only the owner updates or rotates; unknown ids; bad options', async () => {
    const rec = await patient.records.put('mine')
    await expect(other.records.update(rec.id, 'theirs')).rejects.toBeInstanceOf(NotRecordOwnerError)
    await expect(other.records.rotate(rec.id)).rejects.toBeInstanceOf(NotRecordOwnerError)
    await expect(patient.records.get(`0x${'12'.repeat(32)}`)).rejects.toBeInstanceOf(RecordNotFoundError)
    await expect(patient.records.get('0x1234' as `0x${string}`)).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(patient.records.put('x', { segmentSize: 3 })).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(patient.records.put(42 as never)).rejects.toBeInstanceOf(InvalidOptionError)
  })

  test('error: an aborted put rejects with the signal’s reason and registers nothing', async () => {
    const registered = async () =>
      (await patient.audit.list()).filter((e) => e.kind === 'record-registered').length
    const before = await registered()
    const controller = new AbortController()
    async function* slow() {
      yield new Uint8Array(100_000)
      controller.abort(new Error('user cancelled'))
      yield new Uint8Array(100_000)
    }
    await expect(patient.records.put(slow(), { signal: controller.signal })).rejects.toThrow('user cancelled')
    expect(await registered()).toBe(before)
  })
})
