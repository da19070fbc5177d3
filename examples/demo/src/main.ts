/**
 * `pnpm demo`: the main job on the embedded default. Everything is local and real — an anvil chain on
 * 127.0.0.1, an embedded Helia store in a temporary directory, Umbral, AES-GCM streams — and it all stops
 * and is removed at the end.
 */
import { runDemo } from './demo.ts'

console.log('medvault demo: a patient stores a record, grants a clinician access through 2-of-3 proxies,')
console.log('the clinician reads it, the patient revokes.\n')
const result = await runDemo({ log: (line) => console.log(line) })
const expected = ['CapsuleFragVerificationError', 'NotEnoughCapsuleFragsError']
const ok =
  result.roundTripOk &&
  result.refusals.length === 5 &&
  result.refusals.slice(0, 2).every((name, i) => name === expected[i]) &&
  result.refusals.slice(2).every((name) => name === 'GrantRevokedError')
console.log(`\nrecord ${result.recordId}\nenvelope ${result.envelopeCid}\ngrant ${result.grantId}`)
console.log(ok ? '\nDone: every step behaved as it should.' : '\nSomething did not behave as it should.')
process.exitCode = ok ? 0 : 1
