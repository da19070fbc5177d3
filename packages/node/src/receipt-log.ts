/**
 * The proxy's receipt log: every answered request's signed receipt, appended before the answer leaves, so
 * an answer the grantee holds is always in the log. On disk it is one JSON line per receipt
 * (`accessReceiptBody`), appended and `fsync`ed; without a directory it lives in memory.
 *
 * @module
 */
import { join } from 'node:path'
import { type AccessReceipt, accessReceiptBody, parseAccessReceiptBody } from '@medvault/protocol'
import type { Hex } from 'viem'
import { openAppendLog, readLines } from './append-log.ts'
import { ReceiptLogCorruptError } from './errors.ts'

/** A receipt with its operator signature. */
export interface SignedReceipt {
  receipt: AccessReceipt
  signature: Hex
}

export interface ReceiptLog {
  /** Appends one receipt; resolves once it is durable (fsync'd) on disk, or kept in memory. */
  append(entry: SignedReceipt): Promise<void>
  /** Every receipt, oldest first. */
  entries(): AsyncIterable<SignedReceipt>
  close(): Promise<void>
}

/** The file name inside the receipts directory. */
export const RECEIPT_LOG_FILE = 'receipts.ndjson'

/** A receipt log in memory. */
export function memoryReceiptLog(): ReceiptLog {
  const list: SignedReceipt[] = []
  return {
    async append(entry) {
      list.push(entry)
    },
    async *entries() {
      yield* list.slice()
    },
    async close() {},
  }
}

/**
 * A receipt log in `dir/receipts.ndjson`. Appends are serialised, each one `write` then `datasync`, so a crash
 * leaves at most a torn last line (cut off when the log is opened again), never a lost or reordered receipt
 * that was answered.
 */
export async function fileReceiptLog(dir: string): Promise<ReceiptLog> {
  const path = join(dir, RECEIPT_LOG_FILE)
  const log = await openAppendLog(path)
  return {
    append: (entry) => log.append([JSON.stringify(accessReceiptBody(entry.receipt, entry.signature))]),
    entries: () => readReceipts(path),
    close: () => log.close(),
  }
}

/** Reads a receipt log file without opening it for writing. */
export async function* readReceipts(path: string): AsyncIterable<SignedReceipt> {
  for await (const { line, number, last } of readLines(path)) {
    try {
      yield parseAccessReceiptBody(line)
    } catch (err) {
      // The last line may be one being written right now; anywhere else a bad line is damage.
      if (last) return
      throw new ReceiptLogCorruptError({ file: RECEIPT_LOG_FILE, line: number, cause: err })
    }
  }
}
