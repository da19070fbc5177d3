import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type AccessReceipt, accessReceiptTypedData, verifyReceipt } from '@medvault/protocol'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { afterEach, beforeEach, describe, expect, test } from 'vitest'
import { fileReceiptLog, memoryReceiptLog, RECEIPT_LOG_FILE, type SignedReceipt } from './receipt-log.ts'

const operator = privateKeyToAccount(generatePrivateKey())
const domain = { chainId: 31_337, verifyingContract: '0x5FbDB2315678afecb367f032d93F642f64180aa3' } as const

async function signed(n: number): Promise<SignedReceipt> {
  const receipt: AccessReceipt = {
    proxy: operator.address,
    grantId: `0x${n.toString(16).padStart(64, '0')}`,
    recordId: `0x${'11'.repeat(32)}`,
    requester: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8',
    capsuleHash: `0x${'22'.repeat(32)}`,
    requestHash: `0x${'33'.repeat(32)}`,
    at: 1_700_000_000 + n,
  }
  return { receipt, signature: await operator.signTypedData(accessReceiptTypedData(domain, receipt)) }
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

describe('memoryReceiptLog', () => {
  test('default', async () => {
    const log = memoryReceiptLog()
    await log.append(await signed(1))
    expect(await all(log.entries())).toEqual([await signed(1)])
  })
})
