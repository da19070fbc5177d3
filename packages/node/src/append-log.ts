/**
 * An append-only JSON-lines file, as the receipt log and the grant index keep theirs: opened for appending
 * after cutting off a torn last line (a crash mid-write), written one `write` + `datasync` per group of
 * batches (those that arrived during the previous flush), and read line by line.
 *
 * A torn line is always safe to cut: a batch is acknowledged only after its `datasync`, so the line was
 * never acknowledged (no answer was sent for that receipt; no checkpoint followed those index operations).
 *
 * @module
 */
import type { createReadStream } from 'node:fs'
import { type FileHandle, mkdir, open } from 'node:fs/promises'
import { dirname } from 'node:path'
import { createInterface } from 'node:readline'

export interface AppendLog {
  /**
   * Appends the lines (no newlines inside) whole and in call order, and resolves once they are flushed to disk
   * (`datasync`). Appends made while a flush is under way share the next write and flush.
   */
  append(lines: readonly string[]): Promise<void>
  close(): Promise<void>
}

export interface OpenAppendLogOptions {
  /** Opens the file (default `fs.promises.open`); tests pass one that injects disk faults. */
  open?: (path: string, flags: string) => Promise<FileHandle>
}

/** Opens `path` for appending (creating it and its directory), first cutting off a torn last line. */
export async function openAppendLog(path: string, options: OpenAppendLogOptions = {}): Promise<AppendLog> {
  await mkdir(dirname(path), { recursive: true })
  const handle = await (options.open ?? open)(path, 'a+')
  // The file's length after the last group that landed whole: a failed group is cut back to it, so that no
  // later line follows a torn one.
  let size: number
  try {
    await cutTornTail(handle)
    size = (await handle.stat()).size
  } catch (err) {
    await handle.close()
    throw err
  }
  // Appends are serialised: each batch lands whole and in call order. Group commit: the batches that arrive
  // while a write + datasync is under way go out together in the next one, and each resolves only after the
  // datasync that covers its own lines — the same guarantee as one datasync per batch, with one flush per
  // group instead of one per caller when many answer at once.
  let waiting: { text: string; done: { resolve: () => void; reject: (err: unknown) => void }[] } | undefined
  let tail: Promise<void> = Promise.resolve()
  const flush = async (group: NonNullable<typeof waiting>): Promise<void> => {
    const bytes = Buffer.from(group.text, 'utf8')
    try {
      // One write(2) may take only part of the bytes (a disk filling up) without an error: write the rest, or
      // fail; never report a group durable that is not all on disk.
      let written = 0
      while (written < bytes.length) {
        const { bytesWritten } = await handle.write(bytes, written, bytes.length - written)
        if (bytesWritten <= 0) throw new Error('the log file accepted no more bytes')
        written += bytesWritten
      }
      await handle.datasync()
      size += bytes.length
    } catch (err) {
      await handle.truncate(size).catch(() => {})
      for (const d of group.done) d.reject(err)
      return
    }
    for (const d of group.done) d.resolve()
  }
  return {
    append(lines) {
      const text = lines.map((line) => `${line}\n`).join('')
      return new Promise<void>((resolve, reject) => {
        if (waiting !== undefined) {
          waiting.text += text
          waiting.done.push({ resolve, reject })
          return
        }
        const group = { text, done: [{ resolve, reject }] }
        waiting = group
        tail = tail.then(() => {
          // From here on, later appends start the next group.
          if (waiting === group) waiting = undefined
          return flush(group)
        })
      })
    },
    async close() {
      await tail
      await handle.close()
    },
  }
}

/** Truncates the file after its last newline. */
async function cutTornTail(handle: FileHandle): Promise<void> {
  const { size } = await handle.stat()
  const chunk = Buffer.alloc(4096)
  let end = size
  while (end > 0) {
    const start = Math.max(0, end - chunk.length)
    const { bytesRead } = await handle.read(chunk, 0, end - start, start)
    const at = chunk.subarray(0, bytesRead).lastIndexOf(0x0a)
    if (at >= 0) {
      const keep = start + at + 1
      if (keep < size) await handle.truncate(keep)
      return
    }
    end = start
  }
  if (size > 0) await handle.truncate(0)
}

/**
 * The lines of `path` with their 1-based numbers, blank lines skipped; none when the file does not exist.
 * The last line may be incomplete when a writer is appending at the same time: callers tolerate that one.
 */
export async function* readLines(
  path: string,
): AsyncIterable<{ line: string; number: number; last: boolean }> {
  let input: ReturnType<typeof createReadStream>
  try {
    const handle = await open(path, 'r')
    input = handle.createReadStream({ encoding: 'utf8' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return
    throw err
  }
  const lines = createInterface({ input, crlfDelay: Number.POSITIVE_INFINITY })
  let number = 0
  let pending: { line: string; number: number } | undefined
  for await (const line of lines) {
    number++
    if (pending !== undefined) yield { ...pending, last: false }
    pending = line === '' ? undefined : { line, number }
  }
  if (pending !== undefined) yield { ...pending, last: true }
}

/** Makes a rename (or a truncation that follows one) in `dir` durable: without it a power cut can keep the old name. */
export async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r')
  try {
    await handle.sync()
  } finally {
    await handle.close()
  }
}
