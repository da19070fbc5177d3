/**
 * FHIR records on a local network (real anvil, real Helia, three real HTTP proxies), on Synthea patient
 * Bundles from the Synthea fixtures (provenance in test/fhir/fixtures/synthea/README.md):
 * FHIR content is validated before anything is stored, a Bundle is stored whole or split into one record per
 * resource, and a grantee of one split Observation resolves its `subject` to the Patient's record — which it
 * cannot read without a grant of its own.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Bundle, Observation, Patient, Resource } from '@medplum/fhirtypes'
import {
  createLocalNetwork,
  FhirValidationError,
  InvalidOptionError,
  type LocalNetwork,
  loadFhirDefinitions,
  NoGrantError,
  type SplitBundleResult,
  type Vault,
} from '@medvault/sdk'
import type { CID } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

const SYNTHEA = join(import.meta.dirname, '..', 'fhir', 'fixtures', 'synthea')
const synthea = (file: string) => JSON.parse(readFileSync(join(SYNTHEA, file), 'utf8')) as Bundle
// 168 entries: Patient, Encounters, Observations, Claims, … with urn:uuid references between them.
const CAROLEE = 'fhir-r4-synthea/Carolee951_Sanford861_d88f994a-5efa-421d-9c40-5f116d2114a6.json'
// Another generator's: base64 clinical notes, conditional references to Practitioners outside the Bundle.
const BOB = 'fhir-r4-synthea-hiv/Bob965_Keeling57_3f6fd0bb-6cd3-eb3f-4401-cd38ace25f2b.json'

let net: LocalNetwork
let patient: Vault
let clinic: Vault
let family: Vault

beforeAll(async () => {
  // The R4 definitions take seconds to load on a busy machine; not on the first put's clock.
  loadFhirDefinitions()
  net = await createLocalNetwork({ proxies: 3 })
  ;[patient, clinic, family] = await Promise.all([net.vault(0), net.vault(1), net.vault(2)])
}, 180_000)

afterAll(async () => {
  await net?.stop()
})

/** What the store and the chain hold: pinned CIDs and the block height. */
async function snapshot(): Promise<{ pins: string[]; block: bigint }> {
  const pins: string[] = []
  for await (const cid of net.storage.listPins()) pins.push(cid.toString())
  // cacheTime 0: viem otherwise answers from its cache for a polling interval, and a put mined within it is missed.
  return { pins: pins.sort(), block: await net.devnet.publicClient.getBlockNumber({ cacheTime: 0 }) }
}

async function rawBlock(cid: CID): Promise<Uint8Array> {
  const got: unknown = await net.storage.helia.blockstore.get(cid)
  if (got instanceof Uint8Array) return got
  const chunks: Uint8Array[] = []
  for await (const c of got as AsyncIterable<Uint8Array>) chunks.push(c)
  return Buffer.concat(chunks)
}

const observation: Observation = {
  resourceType: 'Observation',
  status: 'final',
  code: { coding: [{ system: 'http://loinc.org', code: '4548-4', display: 'Hemoglobin A1c' }] },
  valueQuantity: { value: 6.1, unit: '%', system: 'http://unitsofmeasure.org', code: '%' },
}

describe('FHIR records', () => {
  test('default: a resource is validated, stored as FHIR, and read back typed', async () => {
    const rec = await patient.records.put(observation, { tag: 'labs' })
    expect(rec.mediaType).toBe('application/fhir+json')
    expect(rec.fhir).toEqual({
      resourceType: 'Observation',
      id: undefined,
      fullUrl: undefined,
      references: {},
    })
    const got = await patient.records.getResource<Observation>(rec.id)
    expect(got.resource).toEqual(observation)
    expect(got.record.fhir.resourceType).toBe('Observation')
    expect((await patient.records.info(rec.id)).fhir?.resourceType).toBe('Observation')
  })

  test('error: invalid FHIR is refused with the path and the rule, no patient data; nothing stored or registered', async () => {
    const before = await snapshot()
    const invalid = {
      resourceType: 'Patient',
      name: [{ family: 'Zyxwvutsrq', given: ['Qponmlkji'] }],
      birthDate: '31/12/1970',
    }
    const err = await patient.records.put(invalid).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(FhirValidationError)
    const issues = (err as FhirValidationError).issues
    expect(issues).toContainEqual(expect.objectContaining({ path: 'Patient.birthDate', rule: 'format' }))
    const told = `${(err as Error).message}\n${JSON.stringify(issues)}`
    for (const secret of ['Zyxwvutsrq', 'Qponmlkji', '31/12/1970']) expect(told).not.toContain(secret)

    // The same inside a Bundle, as bytes with the FHIR media type, whole or split.
    const bundle = synthea(CAROLEE)
    const entry = bundle.entry?.findIndex((e) => e.resource?.resourceType === 'Observation') ?? -1
    const broken = bundle.entry?.[entry]?.resource as Partial<Observation>
    delete broken.code
    broken.valueString = 'Zyxwvutsrq'
    const bytes = new TextEncoder().encode(JSON.stringify(bundle))
    for (const bundleMode of ['whole', 'split'] as const) {
      const inBundle = await patient.records
        .put(bytes, { mediaType: 'application/fhir+json', bundle: bundleMode } as never)
        .catch((e: unknown) => e)
      expect(inBundle).toBeInstanceOf(FhirValidationError)
      expect((inBundle as FhirValidationError).issues).toContainEqual(
        expect.objectContaining({ path: `Bundle.entry[${entry}].resource.code`, rule: 'cardinality' }),
      )
      expect((inBundle as Error).message).not.toContain('Zyxwvutsrq')
    }
    // Not JSON at all, said to be FHIR.
    await expect(
      patient.records.put('Zyxwvutsrq', { mediaType: 'application/fhir+json' }),
    ).rejects.toBeInstanceOf(FhirValidationError)
    // An update of a FHIR record is validated as a put is.
    const rec = await patient.records.put(observation)
    const afterPut = await snapshot()
    await expect(
      patient.records.update(rec.id, { ...observation, status: 42 } as unknown as Resource),
    ).rejects.toBeInstanceOf(FhirValidationError)
    expect(await snapshot()).toEqual(afterPut)
    expect((await patient.records.history(rec.id)).length).toBe(1)

    // Only the valid put above reached the store and the chain.
    expect(before.block).toBeLessThan(afterPut.block)
    const added = afterPut.pins.filter((p) => !before.pins.includes(p))
    expect(added).toHaveLength(2) // its envelope and its content
  })

  test('default: a Synthea Bundle stored whole reads back equal as parsed JSON', async () => {
    const bundle = synthea(BOB)
    const rec = await patient.records.put(bundle)
    expect(rec.fhir?.resourceType).toBe('Bundle')
    const got = await patient.records.getResource<Bundle>(rec.id)
    expect(got.resource).toEqual(bundle)
    // Bytes as given are stored as given.
    const text = readFileSync(join(SYNTHEA, CAROLEE))
    const fromBytes = await patient.records.put(new Uint8Array(text))
    expect(fromBytes.mediaType).toBe('application/fhir+json')
    expect(Buffer.from(await patient.records.get(fromBytes.id)).equals(text)).toBe(true)
  })

  test('error: split is for Bundles only, and stores nothing otherwise', async () => {
    const before = await snapshot()
    await expect(patient.records.put(observation, { bundle: 'split' } as never)).rejects.toBeInstanceOf(
      InvalidOptionError,
    )
    await expect(patient.records.put('not FHIR', { bundle: 'split' } as never)).rejects.toBeInstanceOf(
      InvalidOptionError,
    )
    expect(await snapshot()).toEqual(before)
  })
})

describe('a split stopped midway', () => {
  test('error: aborted after some records were stored, it leaves nothing stored or registered', async () => {
    const before = await snapshot()
    const controller = new AbortController()
    const err = await patient.records
      .put(synthea(CAROLEE), {
        bundle: 'split',
        signal: controller.signal,
        onProgress: (e) => {
          if (e.type === 'records:split' && e.stored === 5) controller.abort(new Error('user cancelled'))
        },
      })
      .catch((e: unknown) => e)
    expect((err as Error).message).toBe('user cancelled')
    expect(await snapshot()).toEqual(before)
  })
})

describe('a split Bundle', () => {
  let bundle: Bundle
  let split: SplitBundleResult
  let patientEntry: number
  let obsEntry: number

  beforeAll(async () => {
    bundle = synthea(CAROLEE)
    const events: number[] = []
    split = await patient.records.put(bundle, {
      bundle: 'split',
      tag: 'carolee-summary',
      onProgress: (e) => {
        if (e.type === 'records:split') events.push(e.stored)
      },
    })
    expect(events.at(-1)).toBe(bundle.entry?.length)
    patientEntry = bundle.entry?.findIndex((e) => e.resource?.resourceType === 'Patient') ?? -1
    obsEntry = bundle.entry?.findIndex((e) => e.resource?.resourceType === 'Observation') ?? -1
  }, 120_000)

  test('default: one record per entry, in order, each the entry resource unchanged', async () => {
    const entries = bundle.entry ?? []
    expect(split.entries).toHaveLength(entries.length)
    expect(new Set(split.entries.map((e) => e.record.id)).size).toBe(entries.length)
    split.entries.forEach((e, i) => {
      expect(e).toMatchObject({
        index: i,
        fullUrl: entries[i]?.fullUrl,
        resourceType: entries[i]?.resource?.resourceType,
        id: entries[i]?.resource?.id,
      })
      expect(split.references[entries[i]?.fullUrl as string]).toBe(e.record.id)
      expect(e.record.tag).toBe('carolee-summary')
    })
    for (const i of [patientEntry, obsEntry, entries.length - 1]) {
      const got = await patient.records.getResource(split.entries[i]!.record.id)
      expect(got.resource).toEqual(entries[i]?.resource)
    }
  })

  test('behavior: every reference between entries resolves to the record of the entry it names', () => {
    const byUrl = new Map((bundle.entry ?? []).map((e, i) => [e.fullUrl, i]))
    let checked = 0
    split.entries.forEach((e, i) => {
      const refs = JSON.stringify(bundle.entry?.[i]?.resource).match(/"reference":"urn:uuid:[^"]+"/g) ?? []
      for (const r of refs) {
        const target = r.slice('"reference":"'.length, -1)
        expect(e.record.fhir?.references[target]).toBe(split.entries[byUrl.get(target)!]!.record.id)
        checked++
      }
    })
    expect(checked).toBeGreaterThan(500)
  })

  test('behavior: a grantee of one Observation resolves its subject to the Patient record, and cannot read it', async () => {
    const obsRecord = split.entries[obsEntry]!.record
    const patientRecord = split.entries[patientEntry]!.record
    await patient.grants.create({
      to: clinic.address,
      records: [obsRecord.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 2,
    })
    const got = await clinic.records.getResource<Observation>(obsRecord.id)
    expect(got.resource).toEqual(bundle.entry?.[obsEntry]?.resource)
    const subject = got.resource.subject?.reference
    expect(subject).toBe(bundle.entry?.[patientEntry]?.fullUrl)
    expect(got.references[subject as string]).toBe(patientRecord.id)
    // The links name only what this Observation refers to, nothing else of the Bundle.
    expect(Object.keys(got.references).sort()).toEqual(
      [...new Set(JSON.stringify(got.resource).match(/urn:uuid:[0-9a-f-]{36}/g))].sort(),
    )
    await expect(clinic.records.getResource(patientRecord.id)).rejects.toBeInstanceOf(NoGrantError)
    await expect(clinic.records.get(patientRecord.id)).rejects.toBeInstanceOf(NoGrantError)
  })

  test('behavior: one tag grant covers every record of the Bundle', async () => {
    await patient.grants.create({
      to: family.address,
      tag: 'carolee-summary',
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 2,
    })
    const last = split.entries.length - 1
    for (const i of [patientEntry, obsEntry, last]) {
      const got = await family.records.getResource(split.entries[i]!.record.id)
      expect(got.resource).toEqual(bundle.entry?.[i]?.resource)
    }
    const p = await family.records.getResource<Patient>(split.entries[patientEntry]!.record.id)
    expect(p.resource.resourceType).toBe('Patient')
  })

  test('behavior: what is public — chain and envelopes — names no resource type, id or reference', async () => {
    const forbidden = ['Observation', 'Patient', 'Encounter', 'fhir', 'urn:uuid', 'resourceType']
    const sample = [patientEntry, obsEntry, split.entries.length - 1].map((i) => split.entries[i]!.record)
    for (const rec of sample) {
      const onChain = await net.devnet.publicClient.getRecord({ recordId: rec.id })
      expect(JSON.stringify(onChain, (_, v) => (typeof v === 'bigint' ? v.toString() : v))).not.toMatch(
        /Observation|Patient|fhir/,
      )
      const envelope = Buffer.from(await rawBlock(rec.cid)).toString('latin1')
      for (const word of forbidden) expect(envelope).not.toContain(word)
      // The content block is ciphertext: the resource's id is not in it either.
      const content = Buffer.from(await rawBlock(rec.contentCid)).toString('latin1')
      expect(content).not.toContain(bundle.entry?.[patientEntry]?.resource?.id as string)
    }
  })

  test('behavior: a new version of a split resource keeps its links', async () => {
    const obsRecord = split.entries[obsEntry]!.record
    const amended = { ...(bundle.entry?.[obsEntry]?.resource as Observation), status: 'amended' as const }
    const v2 = await patient.records.update(obsRecord.id, amended)
    expect(v2.version).toBe(2)
    expect(v2.fhir?.references).toEqual(obsRecord.fhir?.references)
    const got = await clinic.records.getResource<Observation>(obsRecord.id)
    expect(got.resource.status).toBe('amended')
    expect(got.references[got.resource.subject?.reference as string]).toBe(
      split.entries[patientEntry]!.record.id,
    )
  })
})
