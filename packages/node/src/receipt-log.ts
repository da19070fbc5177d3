/**
 * The proxy's receipt log: every answered request's signed receipt, appended before the answer leaves, so
 * an answer the grantee holds is always in the log. On disk it is one JSON line per receipt
 * (`accessReceiptBody`), appended and `fsync`ed; without a directory it lives in memory.
 *
 * Queries (`GET /v1/receipts`: a grantor's receipts after a time, optionally of one record) go through an
 * index kept in memory and rebuilt from the file when the log opens: per grant and per record, the receipts'
 * line numbers and times in log order, and per line its byte offset. A query finds its first receipt by
 * binary search and reads only the lines it returns, so it costs what it answers, not the size of the log.
 * The index holds about 80 bytes per receipt and no receipt content.
 *
 * @module
 */
import { type FileHandle, open } from 'node:fs/promises'
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

/** Which receipts a {@link ReceiptLog.query} returns. */
export interface ReceiptQuery {
  /** Receipts under these grants only (a grantor's grants). */
  grantIds: Iterable<Hex>
  /** Only receipts of this record. */
  recordId?: Hex | undefined
  /** Only receipts with `at` greater than this (Unix seconds). */
  after: number
  /** At most this many. */
  limit: number
}

export interface ReceiptLog {
  /** Appends one receipt; resolves once it is durable (fsync'd) on disk, or kept in memory. */
  append(entry: SignedReceipt): Promise<void>
  /** Every receipt, oldest first. */
  entries(): AsyncIterable<SignedReceipt>
  /**
   * The receipts the query selects, in log order (the order they were answered), at most `limit`. Costs what
   * it returns: it never reads the receipts it skips.
   *
   * @throws {ReceiptLogCorruptError} when the log has a damaged line (other than a torn last one).
   */
  query(query: ReceiptQuery): Promise<SignedReceipt[]>
  close(): Promise<void>
}

/** The file name inside the receipts directory. */
export const RECEIPT_LOG_FILE = 'receipts.ndjson'

/** A receipt log in memory. */
export function memoryReceiptLog(): ReceiptLog {
  const list: SignedReceipt[] = []
  const index = new ReceiptIndex()
  return {
    async append(entry) {
      index.add(list.length, entry.receipt)
      list.push(entry)
    },
    async *entries() {
      yield* list.slice()
    },
    async query(query) {
      return index.select(query).map((line) => list[line]!)
    },
    async close() {},
  }
}

/**
 * A receipt log in `dir/receipts.ndjson`. Appends are serialised, each one `write` then `datasync`, so a crash
 * leaves at most a torn last line (cut off when the log is opened again), never a lost or reordered receipt
 * that was answered. Opening reads the whole file once to build the query index.
 */
export async function fileReceiptLog(dir: string): Promise<ReceiptLog> {
  const path = join(dir, RECEIPT_LOG_FILE)
  const log = await openAppendLog(path)
  let reader: FileHandle
  let built: Awaited<ReturnType<typeof buildIndex>>
  try {
    reader = await open(path, 'r')
    built = await buildIndex(reader)
  } catch (err) {
    await log.close()
    throw err
  }
  const { index, offsets, lengths, damaged } = built
  let end = built.end
  let lines = offsets.length
  let broken: unknown
  return {
    append(entry) {
      if (broken !== undefined) return Promise.reject(broken)
      const text = JSON.stringify(accessReceiptBody(entry.receipt, entry.signature))
      // Offsets are taken in call order, which is the order the append log writes in.
      const line = lines++
      const offset = end
      const length = Buffer.byteLength(text)
      end += length + 1
      return log.append([text]).then(
        () => {
          // Written after an append that failed: its offset may be wrong, so it is not indexed either.
          if (broken !== undefined) throw broken
          offsets[line] = offset
          lengths[line] = length
          index.add(line, entry.receipt)
        },
        (err: unknown) => {
          // The file may now end in part of this line: the offsets after it would be wrong. Refuse every
          // later receipt (the proxy then refuses to answer) rather than index lines that are not there.
          broken = err
          throw err
        },
      )
    },
    entries: () => readReceipts(path),
    async query(query) {
      if (damaged !== undefined) throw damaged
      const selected = index.select(query)
      const out: SignedReceipt[] = []
      for (const line of selected) {
        // Lengths are kept, not derived from the next offset: the next line may still be being written.
        const bytes = Buffer.alloc(lengths[line]!)
        await reader.read(bytes, 0, bytes.length, offsets[line]!)
        try {
          out.push(parseAccessReceiptBody(bytes.toString('utf8')))
        } catch (err) {
          throw new ReceiptLogCorruptError({ file: RECEIPT_LOG_FILE, line: line + 1, cause: err })
        }
      }
      return out
    },
    async close() {
      await log.close()
      await reader.close()
    },
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

/**
 * One pass over the file (its torn tail already cut by `openAppendLog`): the byte offset of every line and
 * the index. A damaged line is remembered, not thrown: the proxy still starts and appends, and a query (like
 * `entries()`) reports the damage instead of answering without the receipts it may hide.
 */
async function buildIndex(handle: FileHandle): Promise<{
  index: ReceiptIndex
  offsets: number[]
  lengths: number[]
  end: number
  damaged: ReceiptLogCorruptError | undefined
}> {
  const index = new ReceiptIndex()
  const offsets: number[] = []
  const lengths: number[] = []
  let damaged: ReceiptLogCorruptError | undefined
  let position = 0
  let carry: Buffer = Buffer.alloc(0)
  const chunk = Buffer.alloc(1 << 20)
  const take = (bytes: Buffer, start: number): void => {
    const line = offsets.length
    offsets.push(start)
    lengths.push(bytes.length)
    if (bytes.length === 0 || damaged !== undefined) return
    try {
      index.add(line, parseAccessReceiptBody(bytes.toString('utf8')).receipt)
    } catch (err) {
      damaged = new ReceiptLogCorruptError({ file: RECEIPT_LOG_FILE, line: line + 1, cause: err })
    }
  }
  for (;;) {
    const { bytesRead } = await handle.read(chunk, 0, chunk.length, position)
    if (bytesRead === 0) break
    const data =
      carry.length === 0 ? chunk.subarray(0, bytesRead) : Buffer.concat([carry, chunk.subarray(0, bytesRead)])
    const dataStart = position - carry.length
    let from = 0
    for (let at = data.indexOf(0x0a); at >= 0; at = data.indexOf(0x0a, from)) {
      take(data.subarray(from, at), dataStart + from)
      from = at + 1
    }
    carry = Buffer.from(data.subarray(from))
    position += bytesRead
  }
  // `openAppendLog` cut any torn tail, so the file ends with a newline: nothing is carried over here.
  return { index, offsets, lengths, end: position, damaged }
}

/** Line numbers and times of one grant's or one record's receipts, in log order. */
class Postings {
  readonly key: string
  readonly lines: number[] = []
  readonly at: number[] = []
  /** The greatest `at` up to each position: monotone, so a binary search finds the first `at > after`. */
  readonly maxAt: number[] = []
  /** Grant of each receipt (record postings only, to check the grantor). */
  readonly grants: string[] = []

  constructor(key: string) {
    this.key = key
  }

  push(line: number, at: number, grant?: string): void {
    const max = this.maxAt.length === 0 ? at : Math.max(this.maxAt[this.maxAt.length - 1]!, at)
    this.lines.push(line)
    this.at.push(at)
    this.maxAt.push(max)
    if (grant !== undefined) this.grants.push(grant)
  }

  /** The first position whose receipt may have `at > after` (every one before has `at <= after`). */
  start(after: number): number {
    let lo = 0
    let hi = this.maxAt.length
    while (lo < hi) {
      const mid = (lo + hi) >>> 1
      if (this.maxAt[mid]! > after) hi = mid
      else lo = mid + 1
    }
    return lo
  }
}

/** The query index: receipts by grant and by record. */
class ReceiptIndex {
  readonly #byGrant = new Map<string, Postings>()
  readonly #byRecord = new Map<string, Postings>()

  add(line: number, receipt: AccessReceipt): void {
    const grant = receipt.grantId.toLowerCase()
    const record = receipt.recordId.toLowerCase()
    let grantPostings = this.#byGrant.get(grant)
    if (grantPostings === undefined) {
      grantPostings = new Postings(grant)
      this.#byGrant.set(grant, grantPostings)
    }
    grantPostings.push(line, receipt.at)
    let recordPostings = this.#byRecord.get(record)
    if (recordPostings === undefined) {
      recordPostings = new Postings(record)
      this.#byRecord.set(record, recordPostings)
    }
    // The grant postings' own key: one copy of each grant id however many receipts name it.
    recordPostings.push(line, receipt.at, grantPostings.key)
  }

  /** The line numbers of the receipts `query` selects, in log order. */
  select(query: ReceiptQuery): number[] {
    const grants = new Set<string>()
    for (const id of query.grantIds) grants.add(id.toLowerCase())
    const out: number[] = []
    if (query.limit <= 0 || grants.size === 0) return out
    if (query.recordId !== undefined) {
      // One record: its own postings, kept when under one of the grants.
      const postings = this.#byRecord.get(query.recordId.toLowerCase())
      if (postings === undefined) return out
      for (let i = postings.start(query.after); i < postings.lines.length && out.length < query.limit; i++) {
        if (postings.at[i]! > query.after && grants.has(postings.grants[i]!)) out.push(postings.lines[i]!)
      }
      return out
    }
    // Several grants: a merge of their postings by line number, from each one's first receipt after `after`.
    const heap = new CursorHeap()
    for (const grant of grants) {
      const postings = this.#byGrant.get(grant)
      if (postings === undefined) continue
      const cursor = { postings, at: postings.start(query.after) }
      if (advance(cursor, query.after)) heap.push(cursor)
    }
    while (out.length < query.limit) {
      const cursor = heap.pop()
      if (cursor === undefined) break
      out.push(cursor.postings.lines[cursor.at]!)
      cursor.at++
      if (advance(cursor, query.after)) heap.push(cursor)
    }
    return out
  }
}

interface Cursor {
  postings: Postings
  at: number
}

/** Moves the cursor to its next receipt with `at > after`; false when there is none. */
function advance(cursor: Cursor, after: number): boolean {
  const { postings } = cursor
  while (cursor.at < postings.lines.length && postings.at[cursor.at]! <= after) cursor.at++
  return cursor.at < postings.lines.length
}

/** A min-heap of cursors by their current line number. */
class CursorHeap {
  readonly #items: Cursor[] = []

  push(cursor: Cursor): void {
    const items = this.#items
    items.push(cursor)
    let i = items.length - 1
    while (i > 0) {
      const parent = (i - 1) >>> 1
      if (line(items[parent]!) <= line(items[i]!)) break
      ;[items[parent], items[i]] = [items[i]!, items[parent]!]
      i = parent
    }
  }

  pop(): Cursor | undefined {
    const items = this.#items
    const top = items[0]
    const last = items.pop()
    if (top === undefined || last === undefined || items.length === 0) return top
    items[0] = last
    let i = 0
    for (;;) {
      const left = 2 * i + 1
      const right = left + 1
      let smallest = i
      if (left < items.length && line(items[left]!) < line(items[smallest]!)) smallest = left
      if (right < items.length && line(items[right]!) < line(items[smallest]!)) smallest = right
      if (smallest === i) break
      ;[items[smallest], items[i]] = [items[i]!, items[smallest]!]
      i = smallest
    }
    return top
  }
}

function line(cursor: Cursor): number {
  return cursor.postings.lines[cursor.at]!
}
