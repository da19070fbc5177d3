/**
 * A research dataset built from every Synthea patient of the fixtures (test/fhir/fixtures/synthea) (16 Bundles from two generators,
 * each stored by its own patient and consented to the steward), fetched by a research platform: no identifier
 * of the input is left in it (searched for the way the de-identification tests do, Base64 decoded), resource
 * counts are those of the input, and every reference between resources still resolves inside the dataset.
 */
import { setSteward } from '@medvault/chain'
import { createLocalNetwork, type JsonValue, type LocalNetwork, type Vault } from '@medvault/sdk'
import { afterAll, beforeAll, expect, test } from 'vitest'
import {
  countTypes,
  entries,
  identifiersIn,
  identifierValues,
  type Json,
  leftIn,
  patients,
  referenceTargets,
  searchable,
} from '../fhir/helpers.ts'

let net: LocalNetwork
let steward: Vault
let platform: Vault
const KEY = new TextEncoder().encode('synthea dataset key, 32 bytes ok')

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 3, accounts: patients.length + 6 })
  steward = await net.vault(1)
  platform = await net.vault(2)
  await setSteward(net.devnet.walletClients[0]!, {
    addresses: net.devnet.addresses,
    steward: steward.address,
    approved: true,
  })
  // One patient at a time: each put is a large Bundle, and the machine is shared.
  for (const [i, { bundle }] of patients.entries()) {
    const patient = await net.vault(3 + i)
    await patient.records.put(bundle as { [key: string]: JsonValue }, { tag: 'research' })
    await patient.grants.create({
      to: steward.address,
      tag: 'research',
      purpose: 'HRESCH',
      expiresIn: '30d',
      threshold: 2,
    })
  }
  await net.devnet.testClient.mine({ blocks: 1 })
}, 600_000)

afterAll(async () => {
  await net?.stop()
})

test('behavior: the Synthea patients as a dataset — no identifier left, counts and references kept', async () => {
  const built = await steward.datasets.build({ purpose: 'HRESCH', key: KEY, concurrency: 2 })
  expect(built.manifest.consent).toMatchObject({ grants: patients.length, patients: patients.length })
  expect(built.manifest.records).toBe(patients.length)
  expect(built.manifest.skipped).toBe(0)

  const fetched = await platform.datasets.fetch(built.cid, { steward: steward.address })
  const all: Json[] = []
  for await (const { resource } of fetched.resources()) all.push(resource)

  // Counts: every entry of every Bundle is one line of its type's file.
  const expected: Record<string, number> = {}
  for (const { bundle } of patients) {
    for (const [type, n] of Object.entries(countTypes(bundle))) {
      if (!type.startsWith('contained ')) expected[type] = (expected[type] ?? 0) + n
    }
  }
  const got: Record<string, number> = {}
  for (const r of all) got[r.resourceType as string] = (got[r.resourceType as string] ?? 0) + 1
  expect(got).toEqual(expected)
  expect(Object.fromEntries(fetched.manifest.output.map((o) => [o.type, o.count]))).toEqual(expected)

  // References: as many resolve inside the dataset (Type/id) as resolved inside the input Bundles (fullUrl).
  const inputResolved = patients.reduce((n, { bundle }) => n + referenceTargets(bundle).flat().length, 0)
  expect(inputResolved).toBeGreaterThan(1000)
  const ids = new Set(all.map((r) => `${r.resourceType as string}/${r.id as string}`))
  let resolved = 0
  const walk = (v: unknown, key: string) => {
    if (key === 'reference' && typeof v === 'string' && ids.has(v)) resolved++
    else if (Array.isArray(v)) for (const x of v) walk(x, key)
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, k)
  }
  walk(all, '')
  expect(resolved).toBe(inputResolved)
  // Organizations and practitioners that several patients' Bundles carry appear once per Bundle, in the
  // input as in the dataset: as many distinct resources on both sides.
  const inputIds = new Set(
    patients.flatMap(({ bundle }) =>
      entries(bundle).map((e) => `${e.resource.resourceType as string}/${e.resource.id as string}`),
    ),
  )
  expect(ids.size).toBe(inputIds.size)

  // Identifiers: collected from the raw input, searched for in the output with Base64 decoded.
  const text = searchable({ all } as Json)
  // Only identifiers all of whose words occur in the output can occur in it: the exact check runs on those.
  const words = new Set(text.split(/[^A-Za-z0-9]+/))
  let collected = 0
  const candidates: string[] = []
  for (const { bundle } of patients) {
    expect(entries(bundle).length).toBeGreaterThan(0)
    for (const id of identifiersIn(bundle)) {
      collected++
      if (id.split(/[^A-Za-z0-9]+/).every((w) => w === '' || words.has(w))) candidates.push(id)
    }
  }
  expect(collected).toBeGreaterThan(16 * 50)
  expect(leftIn(text, candidates)).toEqual([])
  expect(identifierValues(all)).toEqual([])
  expect(text).not.toMatch(/\d{4}-\d{2}-\d{2}/)
}, 600_000)
