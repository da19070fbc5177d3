import { appendFile, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AccessReceipt, accessReceiptTypedData, verifyReceipt } from '@medvault/protocol'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import {
  fileReceiptLog,
  memoryReceiptLog,
  RECEIPT_LOG_FILE,
  type ReceiptLog,
  type ReceiptQuery,
  type SignedReceipt,
} from './receipt-log.ts'

const operator = privateKeyToAccount(generatePrivateKey())
const domain = { chainId: 31_337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const

const hex32 = (n: number): `0x${string}` => `0x${n.toString(16).padStart(64, '0')}`

async function signed(
  n: number,
  fields: { grant?: number; record?: number; at?: number } = {},
): Promise<SignedReceipt> {
  const receipt: AccessReceipt = {
    proxy: operator.address,
    grantId: hex32(fields.grant ?? n),
    recordId: fields.record === undefined ? `0x${'11'.repeat(32)}` : hex32(fields.record),
    requester: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    capsuleHash: `0x${'22'.repeat(32)}`,
    requestHash: hex32(1_000_000 + n),
    at: fields.at ?? 1_700_000_000 + n,
  }
  return { receipt, signature: await operator.signTypedData(accessReceiptTypedData(domain, receipt)) }
}

/** A log of receipts under grants 1..4 and records 1..3, times mostly rising with a few out of order. */
async function history(): Promise<SignedReceipt[]> {
  const out: SignedReceipt[] = []
  for (let n = 0; n < 120; n++) {
    // every 7th a second early: two requests answered out of order, as concurrent answers may be
    const at = 1_700_000_000 + Math.floor(n / 3) - (n % 7 === 6 ? 1 : 0)
    out.push(await signed(n, { grant: 1 + (n % 4), record: 1 + (n % 3), at }))
  }
  return out
}

/** The reference answer: the whole log read in order and filtered. */
function expected(entries: SignedReceipt[], q: ReceiptQuery): SignedReceipt[] {
  const grants = new Set([...q.grantIds].map((g) => g.toLowerCase()))
  return entries
    .filter(
      (e) =>
        e.receipt.at > q.after &&
        grants.has(e.receipt.grantId.toLowerCase()) &&
        (q.recordId === undefined || e.receipt.recordId.toLowerCase() === q.recordId.toLowerCase()),
    )
    .slice(0, q.limit)
}

const queries: ReceiptQuery[] = [
  { grantIds: [hex32(1)], after: 0, limit: 1000 },
  { grantIds: [hex32(1), hex32(3)], after: 1_700_000_010, limit: 1000 },
  { grantIds: [hex32(2), hex32(3), hex32(4)], after: 1_700_000_020, limit: 7 },
  {
    grantIds: [hex32(1), hex32(2), hex32(3), hex32(4)],
    recordId: hex32(2),
    after: 1_700_000_005,
    limit: 1000,
  },
  { grantIds: [hex32(4)], recordId: hex32(1), after: 0, limit: 3 },
  { grantIds: [hex32(9)], after: 0, limit: 1000 },
  { grantIds: [], after: 0, limit: 1000 },
  { grantIds: [hex32(1)], after: 1_800_000_000, limit: 1000 },
]

async function checkQueries(log: ReceiptLog, entries: SignedReceipt[]): Promise<void> {
  for (const q of queries) expect(await log.query(q)).toEqual(expected(entries, q))
}

async function all(iterable: AsyncIterable<SignedReceipt>): Promise<SignedReceipt[]> {
  const out: SignedReceipt[] = []
  for await (const entry of iterable) out.push(entry)
  return out
}

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medvault-receipts-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('fileReceiptLog', () => {
  test('default: receipts are appended as JSON lines and read back in order, each verifying', async () => {
    const log = await fileReceiptLog(dir)
    const entries = [await signed(1), await signed(2), await signed(3)]
    await Promise.all(entries.map((e) => log.append(e)))
    await log.close()
    const text = await readFile(join(dir, RECEIPT_LOG_FILE), 'utf8')
    expect(text.split('\n')).toHaveLength(4)
    const reopened = await fileReceiptLog(dir)
    const read = await all(reopened.entries())
    expect(read).toEqual(entries)
    for (const { receipt, signature } of read) {
      expect(await verifyReceipt({ domain, receipt, signature })).toBe(operator.address)
    }
    await reopened.close()
  })

  test('behavior: a torn last line (crash mid-write) is skipped and the next receipt starts a line of its own', async () => {
    const log = await fileReceiptLog(dir)
    await log.append(await signed(1))
    await log.close()
    await appendFile(join(dir, RECEIPT_LOG_FILE), '{"v":1,"proxy":"0x')
    const again = await fileReceiptLog(dir)
    expect(await all(again.entries())).toEqual([await signed(1)])
    await again.append(await signed(2))
    expect((await all(again.entries())).map((e) => e.receipt.at)).toEqual([1_700_000_001, 1_700_000_002])
    await again.close()
  })

  test('error: a damaged line that is not the last throws ReceiptLogCorruptError', async () => {
    const first = JSON.stringify({ broken: true })
    await writeFile(join(dir, RECEIPT_LOG_FILE), `${first}\n`)
    const log = await fileReceiptLog(dir)
    await log.append(await signed(1))
    await expect(all(log.entries())).rejects.toMatchObject({
      name: 'ReceiptLogCorruptError',
      shortMessage: 'The receipt log receipts.ndjson is corrupt at line 1.',
    })
    await log.close()
  })
})

describe('query', () => {
  test('default: by grants, record and time, in log order, as a read of the whole log would answer', async () => {
    const entries = await history()
    const memory = memoryReceiptLog()
    const log = await fileReceiptLog(dir)
    for (const e of entries) {
      await memory.append(e)
      await log.append(e)
    }
    await checkQueries(memory, entries)
    await checkQueries(log, entries)
    await log.close()
    // The index is rebuilt from the file when the log opens again, and grows with new receipts.
    const reopened = await fileReceiptLog(dir)
    await checkQueries(reopened, entries)
    const more = await signed(500, { grant: 1, record: 1, at: 1_800_000_001 })
    await reopened.append(more)
    expect(await reopened.query({ grantIds: [hex32(1)], after: 1_800_000_000, limit: 10 })).toEqual([more])
    await reopened.close()
  })

  test('behavior: a query reads only the receipts it returns (receipts it skips may even be unreadable)', async () => {
    const entries = await history()
    const log = await fileReceiptLog(dir)
    for (const e of entries) await log.append(e)
    // Every receipt at or before the cut is overwritten in place with bytes that are not a receipt. A query
    // after the cut answers as before; a whole-log read, as the old route did, fails on the first of them.
    const cut = 1_700_000_030
    const text = await readFile(join(dir, RECEIPT_LOG_FILE), 'utf8')
    const handle = await open(join(dir, RECEIPT_LOG_FILE), 'r+')
    let offset = 0
    for (const line of text.split('\n').slice(0, -1)) {
      if ((JSON.parse(line) as { at: number }).at <= cut - 1) {
        await handle.write('x'.repeat(Buffer.byteLength(line)), offset)
      }
      offset += Buffer.byteLength(line) + 1
    }
    await handle.close()
    const q = { grantIds: [hex32(1), hex32(2), hex32(3), hex32(4)], after: cut, limit: 1000 }
    expect(await log.query(q)).toEqual(expected(entries, q))
    await expect(async () => {
      for await (const _ of log.entries());
    }).rejects.toMatchObject({ name: 'ReceiptLogCorruptError' })
    await log.close()
  })

  test('behavior: queries while appends are in flight answer whole receipts, each one already durable', async () => {
    const entries = await history()
    const log = await fileReceiptLog(dir)
    const q = { grantIds: [hex32(1), hex32(2), hex32(3), hex32(4)], after: 0, limit: 1000 }
    const appends: Array<Promise<void>> = []
    const answers: SignedReceipt[][] = []
    for (const e of entries) {
      appends.push(log.append(e))
      // A query between appends: the line after the last durable one may be half written right now.
      answers.push(await log.query(q))
    }
    await Promise.all(appends)
    for (const answer of answers) expect(answer).toEqual(entries.slice(0, answer.length))
    expect(await log.query(q)).toEqual(entries)
    await log.close()
  })

  test('behavior: a torn last line is skipped when the log opens; queries and appends go on', async () => {
    const entries = await history()
    const log = await fileReceiptLog(dir)
    for (const e of entries) await log.append(e)
    await log.close()
    await appendFile(join(dir, RECEIPT_LOG_FILE), '{"v":1,"proxy":"0x')
    const again = await fileReceiptLog(dir)
    await checkQueries(again, entries)
    const next = await signed(600, { grant: 2, record: 2, at: 1_800_000_002 })
    await again.append(next)
    expect(await again.query({ grantIds: [hex32(2)], after: 1_800_000_000, limit: 10 })).toEqual([next])
    await again.close()
  })

  test('error: a damaged line inside the log makes a query throw ReceiptLogCorruptError (never a partial answer)', async () => {
    await writeFile(join(dir, RECEIPT_LOG_FILE), `${JSON.stringify({ broken: true })}\n`)
    const log = await fileReceiptLog(dir)
    await log.append(await signed(1))
    await expect(log.query({ grantIds: [hex32(1)], after: 0, limit: 10 })).rejects.toMatchObject({
      name: 'ReceiptLogCorruptError',
      shortMessage: 'The receipt log receipts.ndjson is corrupt at line 1.',
    })
    await log.close()
  })
})

describe('memoryReceiptLog', () => {
  test('default', async () => {
    const log = memoryReceiptLog()
    await log.append(await signed(1))
    expect(await all(log.entries())).toEqual([await signed(1)])
  })
})
