import { randomBytes } from 'node:crypto'
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import type { Hex } from 'viem'
import { CheckpointCorruptError } from '../errors.ts'
import type { CheckpointStore } from './checkpoint.ts'

interface CheckpointFile {
  version: 1
  blockNumber: string
  blockHash?: Hex
}

/**
 * A checkpoint kept in a JSON file, written atomically: a temporary file in the same directory is written,
 * flushed to disk and renamed over the old one, so a crash at any point leaves either the old or the new
 * checkpoint, never a torn one.
 *
 * @throws {CheckpointCorruptError} from `load()` when the file exists but is not a checkpoint.
 */
export function fileCheckpointStore(path: string): CheckpointStore {
  return {
    async load() {
      let text: string
      try {
        text = await readFile(path, 'utf8')
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
        throw err
      }
      let parsed: Partial<CheckpointFile>
      try {
        parsed = JSON.parse(text) as Partial<CheckpointFile>
      } catch (err) {
        throw new CheckpointCorruptError(basename(path), { cause: err })
      }
      // JSON that is not an object (`null`, a number, an array) is as corrupt as bad JSON.
      if (
        typeof parsed !== 'object' ||
        parsed === null ||
        Array.isArray(parsed) ||
        parsed.version !== 1 ||
        typeof parsed.blockNumber !== 'string' ||
        !/^\d+$/.test(parsed.blockNumber)
      ) {
        throw new CheckpointCorruptError(basename(path))
      }
      return {
        blockNumber: BigInt(parsed.blockNumber),
        ...(typeof parsed.blockHash === 'string' ? { blockHash: parsed.blockHash } : {}),
      }
    },
    async save(checkpoint) {
      const body: CheckpointFile = {
        version: 1,
        blockNumber: checkpoint.blockNumber.toString(),
        ...(checkpoint.blockHash === undefined ? {} : { blockHash: checkpoint.blockHash }),
      }
      const dir = dirname(path)
      await mkdir(dir, { recursive: true })
      const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
      try {
        const handle = await open(tmp, 'w')
        try {
          await handle.writeFile(`${JSON.stringify(body)}\n`)
          await handle.sync()
        } finally {
          await handle.close()
        }
        await rename(tmp, path)
      } catch (err) {
        await rm(tmp, { force: true })
        throw err
      }
    },
  }
}
