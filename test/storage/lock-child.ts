/**
 * Child process for directory-lock.test.ts: opens a persistent storage, reports `ready <pid>`, then holds it
 * open until its stdin closes (the parent ends it, or kills it with SIGKILL). Run with Node 24.
 */
import { createStorage } from '@medvault/storage'

const directory = process.argv[2]
if (directory === undefined) throw new Error('usage: lock-child.ts <directory>')
const storage = await createStorage({ directory })
await storage.putBytes(new TextEncoder().encode('written by the child'))
process.stdout.write(`ready ${process.pid}\n`)
process.stdin.resume()
process.stdin.on('end', () => {
  void storage.stop().then(() => process.exit(0))
})
