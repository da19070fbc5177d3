/**
 * The main job on the embedded default, with the SDK: a local network (anvil + contracts, an embedded IPFS
 * store, three HTTP re-encryption proxies on 127.0.0.1); a patient stores a FHIR Bundle and grants a
 * clinician TREAT access 2-of-3; the clinician reads it, also with a proxy stopped and with a proxy lying;
 * a stranger is refused; the patient revokes (refused), then rotates the record's key.
 */
import { readFile } from 'node:fs/promises'
import {
  createLocalNetwork,
  GrantRevokedError,
  NoGrantError,
  type ReadOptions,
  type VaultProgressEvent,
} from '@medvault/sdk'

export interface DemoOptions {
  /** Where each step is told; default: nothing. Never given record content, keys or record ids. */
  log?: (line: string) => void
  /** The record to store; default: the synthetic Synthea patient Bundle in ../data. */
  recordFile?: string
}

export interface DemoResult {
  /** Every step behaved as it says. */
  ok: boolean
  steps: { step: string; ok: boolean }[]
  plaintextBytes: number
  envelopeCid: string
}

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const steps: DemoResult['steps'] = []
  const check = (step: string, ok: boolean) => {
    steps.push({ step, ok })
    options.log?.(`${ok ? '✓' : '✗'} ${step}`)
  }
  const refused = (read: Promise<unknown>, type: new (...args: never[]) => Error) =>
    read.then(
      () => false,
      (err: unknown) => err instanceof type,
    )
  const file = options.recordFile ?? new URL('../data/patient-bundle.json', import.meta.url)
  const bundle = new Uint8Array(await readFile(file))

  await using net = await createLocalNetwork({ proxies: 3 })
  const [patient, clinic, stranger] = await Promise.all([net.vault(0), net.vault(1), net.vault(2)])
  options.log?.(
    `local network: anvil, an embedded IPFS store, proxies at ${net.proxies.map((p) => p.url).join(', ')}`,
  )

  const rec = await patient.records.put(bundle, { mediaType: 'application/fhir+json', tag: 'summary' })
  check(`patient stored a ${rec.size}-byte FHIR Bundle, encrypted (envelope ${rec.cid})`, true)
  const terms = { records: [rec.id], purpose: 'TREAT', expiresIn: '30d', threshold: 2 } as const
  const grant = await patient.grants.create({ to: clinic.address, ...terms })
  check('patient granted the clinician TREAT access, 2 of 3 proxies, 30 days', grant.active)
  const read = async (opts: ReadOptions = {}) =>
    Buffer.compare(await clinic.records.get(rec.id, opts), bundle) === 0
  check('clinician read it through the proxies, byte for byte', await read())

  await net.proxies[0]!.stop()
  check('with proxy 1 stopped, the clinician still reads it', await read())
  await net.proxies[0]!.start()
  net.proxies[1]!.lie()
  let caught = false
  let ok = true
  const onProgress = (e: VaultProgressEvent) => {
    caught ||= e.type === 'access:answer' && e.code === 'bad_cfrag'
  }
  for (let i = 0; i < 10 && !caught; i++) ok &&= await read({ onProgress })
  check('with proxy 2 lying, its answer fails its proof and the clinician still reads it', ok && caught)
  net.proxies[1]!.lie(false)

  check('a stranger is refused', await refused(stranger.records.get(rec.id), NoGrantError))
  await patient.grants.revoke(grant.id)
  check('after the patient revokes, the clinician is refused', await refused(read(), GrantRevokedError))
  const { record } = await patient.records.rotate(rec.id)
  check(
    `patient rotated the record's key (epoch ${record.epoch}): revoked kfrags open nothing new`,
    record.epoch === 1,
  )
  return { ok: steps.every((s) => s.ok), steps, plaintextBytes: rec.size, envelopeCid: rec.cid.toString() }
}
