import { randomBytes } from 'node:crypto'
import { link, mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises'
import { hostname } from 'node:os'
import { join, resolve } from 'node:path'
import { StorageLockedError } from './errors.ts'

/** Lock files held, or being taken, by this process (one storage per directory here too). */
const held = new Set<string>()

/**
 * Takes the store directory's lock file, `<directory>/lock`, holding the owner's pid and host name.
 *
 * Why: two storages on one directory corrupt each other (one's gc deletes the blocks of the other's put in
 * progress, which its in-process lock cannot see). A lock held by a live process is refused with
 * {@link StorageLockedError}; one whose pid is dead (a crash, SIGKILL) or unreadable is taken over. A lock
 * written on another host is never taken over: a pid means nothing outside its own pid namespace (two
 * containers sharing a volume both run as pid 1).
 *
 * The lock file is written whole under a temporary name and then hard-linked into place: `link` fails if the
 * name exists, so exactly one opener wins, and nobody ever reads a half-written lock.
 *
 * Limits: a pid reused by an unrelated process after a crash keeps the lock until that process ends, and a
 * host that crashed keeps its lock: remove the file by hand. Containers sharing a volume must have distinct
 * host names.
 *
 * @returns a function that releases the lock (only if the file is still ours)
 */
export async function lockDirectory(directory: string): Promise<() => Promise<void>> {
  const dir = resolve(directory)
  const path = join(dir, 'lock')
  if (held.has(path)) throw new StorageLockedError({ pid: process.pid, path })
  // Claimed before the first await, so a second storage of this process starting at the same moment is
  // refused here rather than mistaking this process's fresh lock file for a stale one.
  held.add(path)
  let acquired = false
  const host = hostname()
  const token = `${process.pid}\n${host}\n${randomBytes(8).toString('hex')}\n`
  const temp = join(dir, `.lock.${process.pid}.${randomBytes(4).toString('hex')}`)
  try {
    await mkdir(dir, { recursive: true })
    await writeFile(temp, token)
    for (let attempt = 0; attempt < 5; attempt++) {
      try {
        await link(temp, path)
        acquired = true
        return async () => {
          held.delete(path)
          if ((await readFile(path, 'utf8').catch(() => '')) === token) await unlink(path).catch(() => {})
        }
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
      }
      const current = await readFile(path, 'utf8').catch(() => undefined)
      if (current === undefined) continue // removed meanwhile: try again
      const [pidLine = '', hostLine] = current.split('\n')
      const pid = Number.parseInt(pidLine, 10)
      const valid = Number.isSafeInteger(pid) && pid > 0
      if (valid && hostLine !== undefined && hostLine !== '' && hostLine !== host) {
        throw new StorageLockedError({ pid, path, host: hostLine })
      }
      if (valid && pid !== process.pid && isAlive(pid)) {
        throw new StorageLockedError({ pid, path })
      }
      await takeOver(path, current)
    }
    throw new StorageLockedError({ pid: undefined, path })
  } finally {
    if (!acquired) held.delete(path)
    await unlink(temp).catch(() => {})
  }
}

/**
 * Removes a stale lock file, unless another opener replaced it meanwhile: the file is first renamed aside
 * (atomic), and if what was moved is not the stale lock that was read, it is linked back (never over a newer
 * lock) for its owner.
 */
async function takeOver(path: string, stale: string): Promise<void> {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`
  try {
    await rename(path, aside)
  } catch {
    return // already gone
  }
  const moved = await readFile(aside, 'utf8').catch(() => undefined)
  if (moved !== stale) await link(aside, path).catch(() => {})
  await unlink(aside).catch(() => {})
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0) // signal 0: only checks that the process exists
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM' // exists, owned by another user
  }
}
