/**
 * The append-only log the receipt log and the grant index write through: appends made at once share a write
 * and a flush (group commit), yet each lands whole, in call order, and resolves only once it is on disk.
 */
import { type FileHandle, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, test } from 'vitest'
import { openAppendLog } from './append-log.ts'

let dir: string | undefined
afterEach(async () => {
  if (dir !== undefined) await rm(dir, { recursive: true, force: true })
  dir = undefined
})

describe('openAppendLog', () => {
  test('behavior: 500 appends at once (groups of lines and single lines) land whole and in call order; each resolves with its lines in the file', async () => {
    dir = await mkdtemp(join(tmpdir(), 'append-log-'))
    const path = join(dir, 'log.ndjson')
    const log = await openAppendLog(path)
    const expected: string[] = []
    const appends: Promise<void>[] = []
    for (let i = 0; i < 500; i++) {
      const lines = i % 7 === 0 ? [`${i}a`, `${i}b`] : [`${i}`]
      expected.push(...lines)
      appends.push(
        log.append(lines).then(async () => {
          // Resolved means written: the file holds this append's lines already.
          const text = await readFile(path, 'utf8')
          for (const line of lines) expect(text.split('\n')).toContain(line)
        }),
      )
    }
    await Promise.all(appends)
    await log.append(['last'])
    await log.close()
    expect((await readFile(path, 'utf8')).split('\n')).toEqual([...expected, 'last', ''])
  })

  test('behavior: a torn last line is cut when the log opens; appends follow the last whole line', async () => {
    dir = await mkdtemp(join(tmpdir(), 'append-log-'))
    const path = join(dir, 'log.ndjson')
    await writeFile(path, 'one\ntwo\nthr')
    const log = await openAppendLog(path)
    await Promise.all([log.append(['three']), log.append(['four'])])
    await log.close()
    expect(await readFile(path, 'utf8')).toBe('one\ntwo\nthree\nfour\n')
  })

  test('error: when a write fails, every append of its group rejects, and later appends are still tried', async () => {
    dir = await mkdtemp(join(tmpdir(), 'append-log-'))
    const path = join(dir, 'log.ndjson')
    const log = await openAppendLog(path)
    await log.close()
    // The handle is closed: every write fails. None may resolve as if it were durable.
    const results = await Promise.allSettled([log.append(['a']), log.append(['b']), log.append(['c'])])
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected', 'rejected'])
    await expect(log.append(['d'])).rejects.toThrow()
  })

  test('attack: a disk that takes only part of a write (it fills up) neither loses the rest nor leaves a torn line before the next', async () => {
    dir = await mkdtemp(join(tmpdir(), 'append-log-'))
    const path = join(dir, 'log.ndjson')
    let mode: 'short' | 'short-then-fail' | 'fail-flush' | 'normal' = 'normal'
    // The real file, whose writes take at most 5 bytes each (as write(2) may), and then, once asked, fail.
    const faulty = async (file: string, flags: string): Promise<FileHandle> => {
      const handle = await open(file, flags)
      return new Proxy(handle, {
        get(target, key) {
          if (key === 'write') {
            return async (buffer: Uint8Array, offset = 0, length = buffer.length - offset) => {
              if (mode === 'normal') return target.write(buffer, offset, length)
              const part = await target.write(buffer, offset, Math.min(5, length))
              if (mode === 'short-then-fail') mode = 'fail-flush'
              return part
            }
          }
          if (key === 'datasync' && mode === 'fail-flush') {
            return async () => {
              mode = 'normal'
              throw Object.assign(new Error('no space left on device'), { code: 'ENOSPC' })
            }
          }
          const value = Reflect.get(target, key)
          return typeof value === 'function' ? value.bind(target) : value
        },
      })
    }
    const log = await openAppendLog(path, { open: faulty })
    await log.append(['first'])
    mode = 'short'
    await log.append(['a line longer than five bytes', 'and another'])
    expect(await readFile(path, 'utf8')).toBe('first\na line longer than five bytes\nand another\n')
    // A group whose flush fails is cut back: the next group follows the last whole line.
    mode = 'short-then-fail'
    await expect(log.append(['lost, and never acknowledged'])).rejects.toThrow('no space left')
    await log.append(['after'])
    await log.close()
    expect(await readFile(path, 'utf8')).toBe('first\na line longer than five bytes\nand another\nafter\n')
  })
})
