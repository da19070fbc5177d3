/**
 * `medvault demo`: the main story on a throw-away local network, each step checked: a patient stores a FHIR
 * Observation, grants a clinic TREAT through 2 of 3 proxies, the clinic reads it byte for byte (also with a
 * proxy down), a stranger is refused, the patient revokes, the clinic is refused, the patient rotates.
 *
 * @module
 */
import { createLocalNetwork, GrantRevokedError, NoGrantError } from '@medvault/sdk'
import { emit } from './io.ts'

export async function runDemo({ json }: { json: boolean }): Promise<boolean> {
  const steps: { step: string; ok: boolean }[] = []
  const check = (step: string, ok: boolean) => {
    steps.push({ step, ok })
    if (!json) process.stdout.write(`${ok ? 'ok  ' : 'FAIL'} ${step}\n`)
  }
  await using net = await createLocalNetwork({ proxies: 3 })
  const patient = await net.vault(0)
  const clinic = await net.vault(1)
  const stranger = await net.vault(2)
  // A synthetic observation: no real patient data.
  const content = new TextEncoder().encode(
    JSON.stringify({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'HbA1c' },
      valueQuantity: { value: 5.4, unit: '%' },
    }),
  )
  const rec = await patient.records.put(content, { mediaType: 'application/fhir+json', tag: 'labs' })
  check(`patient stored record ${rec.id}`, true)
  const grant = await patient.grants.create({
    to: clinic.address,
    records: [rec.id],
    purpose: 'TREAT',
    expiresIn: '30d',
    threshold: 2,
  })
  check(`patient granted ${clinic.address} TREAT for 30 days, 2 of 3 proxies`, true)
  const same = (a: Uint8Array) => Buffer.from(a).equals(Buffer.from(content))
  check('clinic read it byte for byte', same(await clinic.records.get(rec.id)))
  await net.proxies[0]?.stop()
  check('clinic read it with a proxy down', same(await clinic.records.get(rec.id)))
  await net.proxies[0]?.start()
  check(
    'a stranger is refused',
    await stranger.records.get(rec.id).then(
      () => false,
      (e) => e instanceof NoGrantError,
    ),
  )
  await patient.grants.revoke(grant.id)
  check(
    'after revoke, the clinic is refused',
    await clinic.records.get(rec.id).then(
      () => false,
      (e) => e instanceof GrantRevokedError,
    ),
  )
  const { record } = await patient.records.rotate(rec.id)
  check(`patient rotated the record to key epoch ${record.epoch}`, record.epoch === 1)
  const ok = steps.every((s) => s.ok)
  if (json) emit(true, { ok, steps }, () => [])
  return ok
}
