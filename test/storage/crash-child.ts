/**
 * Child process for durability.test.ts: writes two files, reports their CIDs, then starts a 200 MiB put and
 * reports progress until the parent kills it with SIGKILL. Run with Node 24 (type stripping).
 */
import { createStorage } from '@medvault/storage'
import { det } from './helpers.ts'

const MiB = 1_048_576
const directory = process.argv[2]
if (directory === undefined) throw new Error('usage: crash-child.ts <directory>')
const storage = await createStorage({ directory })
const small = await storage.putBytes(new TextEncoder().encode('written before the crash'))
const big = await storage.putStream(det(3 * MiB + 5, 'before-crash'))
process.stdout.write(`early ${small} ${big}\n`)
let next = 0
await storage.putStream(det(200 * MiB, 'crash'), {
  onProgress: (e) => {
    if (e.bytes >= next) {
      process.stdout.write(`progress ${e.bytes}\n`)
      next += 4 * MiB
    }
  },
})
process.stdout.write('done\n')
await storage.stop()
