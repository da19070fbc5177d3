/**
 * The proxy's receipt log: every answered request's signed receipt, appended before the answer leaves, so
 * an answer the grantee holds is always in the log. On disk it is one JSON line per receipt
 * (`accessReceiptBody`), appended and `fsync`ed; without a directory it lives in memory.
 *
 * @module
 */
import { createReadStream } from 'node:fs'
import { mkdir, open } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { type AccessReceipt, accessReceiptBody, parseAccessReceiptBody } from '@medvault/protocol'
import type { Hex } from 'viem'
import { ReceiptLogCorruptError } from './errors.ts'

/** A receipt with its operator signature. */
export interface SignedReceipt {
  receipt: AccessReceipt
  signature: Hex
}

export interface ReceiptLog {
  /** Appends one receipt; resolves once it is durable (fsync'd) on disk, or kept in memory. */
  append(entry: SignedReceipt): Promise<void>
  /** Every receipt, oldest first (a torn last line, from a crash mid-write, is skipped). */
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
 * A receipt log in `dir/receipts.ndjson`. Appends are serialised and each is written with one `write` and
 * then `datasync`ed, so a crash leaves at most a torn last line, never a reordered or lost receipt that was
 * answered.
 */
export async function fileReceiptLog(dir: string): Promise<ReceiptLog> {
  await mkdir(dir, { recursive: true })
  const path = join(dir, RECEIPT_LOG_FILE)
  const handle = await open(path, 'a')
  let tail: Promise<void> = Promise.resolve()
  let torn = await endsTorn(path)

  const write = async (line: string): Promise<void> => {
    // A torn line left by a crash is closed off first so the new receipt starts a line of its own.
    const text = torn ? `\n${line}\n` : `${line}\n`
    torn = false
    await handle.write(text)
    await handle.datasync()
  }

  return {
    append(entry) {
      const line = JSON.stringify(accessReceiptBody(entry.receipt, entry.signature))
      const next = tail.then(() => write(line))
      tail = next.catch(() => {})
      return next
    },
    entries: () => readLog(path),
    async close() {
      await tail
      await handle.close()
    },
  }
}

async function* readLog(path: string): AsyncIterable<SignedReceipt> {
  const lines = createInterface({
    input: createReadStream(path, 'utf8'),
    crlfDelay: Number.POSITIVE_INFINITY,
  })
  let number = 0
  let pending: { line: string; number: number } | undefined
  for await (const line of lines) {
    number++
    if (pending !== undefined) yield parseLine(pending.line, pending.number, false)
    pending = line === '' ? undefined : { line, number }
  }
  if (pending !== undefined) {
    const last = parseLine(pending.line, pending.number, true)
    if (last !== undefined) yield last
  }
}

function parseLine(line: string, number: number, last: true): SignedReceipt | undefined
function parseLine(line: string, number: number, last: false): SignedReceipt
function parseLine(line: string, number: number, last: boolean): SignedReceipt | undefined {
  try {
    return parseAccessReceiptBody(line)
  } catch (err) {
    // Only the last line can be torn by a crash; anywhere else it is damage.
    if (last) return undefined
    throw new ReceiptLogCorruptError({ file: RECEIPT_LOG_FILE, line: number, cause: err })
  }
}

async function endsTorn(path: string): Promise<boolean> {
  const handle = await open(path, 'r')
  try {
    const { size } = await handle.stat()
    if (size === 0) return false
    const { buffer } = await handle.read(Buffer.alloc(1), 0, 1, size - 1)
    return buffer[0] !== 0x0a
  } finally {
    await handle.close()
  }
}
