/**
 * Two processes must never open the same store: one's gc would delete the other's fresh, not yet pinned
 * blocks. A lock file with the owner's pid refuses the second opener; a lock left by a dead process is taken
 * over.
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import type { Readable, Writable } from 'node:stream'
import { createStorage } from '@medvault/storage'
import { afterEach, expect, test } from 'vitest'
import { concat, det, sha256Hex, tempDir } from './helpers.ts'

const MiB = 1_048_576

const cleanups: Array<() => Promise<void>> = []
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c()
})

async function startChild(directory: string): Promise<{
  child: ChildProcessByStdio<Writable, Readable, Readable>
  exited: Promise<unknown>
}> {
  const child = spawn(process.execPath, [join(import.meta.dirname, 'lock-child.ts'), directory], {
    stdio: ['pipe', 'pipe', 'pipe'],
  })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => {
    stderr += d.toString()
  })
  const exited = new Promise((resolve) => child.on('exit', resolve))
  cleanups.push(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    await exited
  })
  for await (const line of createInterface({ input: child.stdout })) {
    if (line.startsWith('ready ')) return { child, exited }
  }
  throw new Error(`the child ended before it was ready: ${stderr}`)
}

test('error: a store open in another live process is refused with StorageLockedError; a dead holder is taken over', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const { child, exited } = await startChild(dir.path)
  const err = await createStorage({ directory: dir.path }).catch((e: unknown) => e)
  expect(err).toMatchObject({ name: 'StorageLockedError', pid: child.pid })
  expect((err as Error).message).toContain(String(child.pid))

  child.kill('SIGKILL')
  await exited
  // the lock file still names the dead child: it is stale and taken over
  expect((await readFile(join(dir.path, 'lock'), 'utf8')).split('\n')[0]).toBe(String(child.pid))
  const storage = await createStorage({ directory: dir.path })
  cleanups.push(() => storage.stop())
  expect((await readFile(join(dir.path, 'lock'), 'utf8')).split('\n')[0]).toBe(String(process.pid))
  const pins: string[] = []
  for await (const c of storage.listPins()) pins.push(c.toString())
  expect(pins).toHaveLength(1)
  expect(new TextDecoder().decode(await concat(storage.get(pins[0]!)))).toBe('written by the child')
})

test('behavior: a child that stops its storage releases the lock', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const { child, exited } = await startChild(dir.path)
  child.stdin.end()
  expect(await exited).toBe(0)
  const storage = await createStorage({ directory: dir.path })
  await storage.stop()
})

test('error: the same directory opened twice in one process is refused; stop releases it', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const first = await createStorage({ directory: dir.path })
  await expect(createStorage({ directory: join(dir.path, '.') })).rejects.toMatchObject({
    name: 'StorageLockedError',
    pid: process.pid,
  })
  await first.stop()
  const second = await createStorage({ directory: dir.path })
  await second.stop()
  // a start after a stop takes the lock again
  await second.start()
  await expect(createStorage({ directory: dir.path })).rejects.toMatchObject({ name: 'StorageLockedError' })
  await second.stop()
})

test('behavior: a lock file that names no live process (or nothing readable) is taken over', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  await writeFile(join(dir.path, 'lock'), 'not a pid\n')
  const storage = await createStorage({ directory: dir.path })
  // taken over: the lock now names this process
  expect((await readFile(join(dir.path, 'lock'), 'utf8')).split('\n')[0]).toBe(String(process.pid))
  await storage.stop()
})

async function reopenedTooEarly(storage: unknown): Promise<void> {
  await (storage as { stop(): Promise<void> }).stop()
}

test('behavior: stop() lets a put in progress finish before it gives up the directory', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const storage = await createStorage({ directory: dir.path })
  let stopping: Promise<void> | undefined
  let secondOpener: unknown
  async function* source(): AsyncGenerator<Uint8Array> {
    let i = 0
    for await (const chunk of det(6 * MiB, 'stop-mid-put')) {
      if (i === 1) stopping = storage.stop()
      if (i === 4) {
        secondOpener = await createStorage({ directory: dir.path }).catch((e: unknown) => e)
        if (secondOpener instanceof Object && 'stop' in secondOpener)
          cleanups.push(() => reopenedTooEarly(secondOpener))
      }
      i++
      yield chunk
    }
  }
  const cid = await storage.putStream(source())
  await stopping
  expect(secondOpener).toMatchObject({ name: 'StorageLockedError', pid: process.pid })
  expect(storage.status).toBe('stopped')
  const reopened = await createStorage({ directory: dir.path })
  cleanups.push(() => reopened.stop())
  expect(await reopened.stat(cid)).toMatchObject({ local: true, pinned: true })
  expect(await sha256Hex(reopened.get(cid))).toEqual(await sha256Hex(det(6 * MiB, 'stop-mid-put')))
})

test('error: a lock taken on another host is never taken over, even when its pid is free or equal to ours here', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  for (const pid of [2 ** 22 + 12345, process.pid]) {
    // e.g. two containers sharing a volume: each has its own pid namespace, so the pid proves nothing
    await writeFile(join(dir.path, 'lock'), `${pid}\nsome-other-host\n0123456789abcdef\n`)
    const err = await createStorage({ directory: dir.path }).catch((e: unknown) => e)
    expect(err).toMatchObject({ name: 'StorageLockedError', pid, host: 'some-other-host' })
    expect((err as Error).message).toContain('some-other-host')
  }
})

test('error: two storages started at the same moment on one directory: exactly one opens it', async () => {
  const dir = await tempDir()
  cleanups.push(dir.remove)
  const results = await Promise.allSettled([
    createStorage({ directory: dir.path }),
    createStorage({ directory: dir.path }),
    createStorage({ directory: dir.path }),
  ])
  const opened = results.filter((r) => r.status === 'fulfilled')
  for (const r of opened) cleanups.push(() => r.value.stop())
  expect(opened).toHaveLength(1)
  for (const r of results.filter((r) => r.status === 'rejected')) {
    expect(r.reason).toMatchObject({ name: 'StorageLockedError' })
  }
})
