/**
 * Reading and writing deployment files on disk (Node only).
 *
 * @module
 */
import { randomBytes } from 'node:crypto'
import { readFile, rename, rm, writeFile } from 'node:fs/promises'
import { type NetworkFile, NetworkFileError, parseNetworkFile, stringifyNetworkFile } from './network-file.ts'

/**
 * Reads a deployment file (`medvault-network/1`, or the plain `{ chainId?, deployBlock, addresses }` record).
 *
 * @throws {NetworkFileError} the file is not a deployment file; a missing or unreadable file rejects with the
 *   `fs` error (`code` `ENOENT`, …).
 */
export async function readNetworkFile(path: string): Promise<NetworkFile> {
  return parseNetworkFile(await readFile(path, 'utf8'), path)
}

/** Writes a deployment as `medvault-network/1`, atomically (a reader never sees half a file). */
export async function writeNetworkFile(path: string, file: NetworkFile): Promise<void> {
  const text = stringifyNetworkFile(file)
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(temporary, text)
    await rename(temporary, path)
  } catch (err) {
    await rm(temporary, { force: true })
    throw err
  }
}

export { NetworkFileError }
