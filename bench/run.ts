/**
 * `pnpm bench [name…]`: runs every `bench/*.bench.ts` (or those whose name contains an argument), each in
 * its own Node process so peak-memory figures are not polluted by the benches before it.
 */
import { spawnSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { join } from 'node:path'

const filters = process.argv.slice(2)
const files = readdirSync(import.meta.dirname)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => filters.length === 0 || filters.some((x) => f.includes(x)))
  .sort()

let failed = 0
for (const file of files) {
  console.log(`\n# ${file}`)
  const res = spawnSync(process.execPath, ['--expose-gc', join(import.meta.dirname, file)], {
    stdio: 'inherit',
  })
  if (res.status !== 0) failed++
}
if (failed > 0) {
  console.error(`\n${failed} bench file(s) failed`)
  process.exit(1)
}
