/**
 * `pnpm demo`: the main job on the embedded default, with `@medvault/sdk`. Everything is local and real — an
 * anvil chain, an embedded Helia store, three HTTP re-encryption proxies on 127.0.0.1 — and it all stops and
 * is removed at the end. Exits 0 only if every step behaved as it says.
 */
import { runDemo } from './demo.ts'

console.log('medvault demo: a patient stores a record and grants a clinician access through 2-of-3 proxies;')
console.log(
  'the clinician reads it while proxies fail or lie; a stranger is refused; the patient revokes and rotates.\n',
)
const result = await runDemo({ log: (line) => console.log(line) })
console.log(
  result.ok ? '\nDone: every step behaved as it should.' : '\nSomething did not behave as it should.',
)
process.exitCode = result.ok ? 0 : 1
