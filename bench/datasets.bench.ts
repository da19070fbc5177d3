/**
 * Research dataset builds against a floor measured in the same run: a plain `JSON.parse` of every record and
 * a `JSON.stringify` of every resource in it (what any NDJSON export costs at the least).
 *
 * 1. The steward's side alone, for 1,000 and 10,000 patients (each size in its own Node process, so its peak
 *    memory is its own): every patient's record (a transaction Bundle of 14 resources with names, addresses,
 *    phone numbers, identifiers and dates) is de-identified with Safe Harbor, flattened and streamed into the
 *    NDJSON files of a UnixFS directory in an on-disk store — the code `datasets.build` runs after each read.
 * 2. `vault.datasets.build` end to end on a local network (anvil, Helia, 3 HTTP proxies, 2-of-3): every patient
 *    a funded account of its own that stored its record and consented; the build finds the consents at a
 *    block, reads every record through the proxies, de-identifies, stores and registers. `DATASETS_E2E`
 *    patients (default 200): reading 10,000 patients through proxies means 10,000 accounts, records and
 *    grants to set up, more than one run of this bench can afford on the shared 2-core machine.
 *
 * Run: `npx -y pnpm@10 bench datasets` (or `npx -y pnpm@10 exec node bench/datasets.bench.ts` after a build).
 */
import { spawnSync } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setSteward } from '@medvault/chain'
import { safeHarbor } from '@medvault/fhir'
import { createLocalNetwork, createVault, type Vault } from '@medvault/sdk'
import { createStorage } from '@medvault/storage'
import { type Hex, http, parseEther } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { deidentifyRecord, NdjsonFiles } from '../packages/sdk/src/datasets.ts'
import { putDirectory } from '../packages/sdk/src/datasets-unixfs.ts'
import { peakRssMiB, printTable, type Row, type Table, writeResults } from './lib.ts'

const KEY = new TextEncoder().encode('benchmark dataset key, 32 bytes!')
const NOW = new Date('2026-01-01T00:00:00Z')
const encoder = new TextEncoder()
const decoder = new TextDecoder()

/** A synthetic patient: a transaction Bundle of 14 resources, every identifier Safe Harbor removes present. */
function patientBundle(i: number): Uint8Array {
  const hex = i.toString(16).padStart(8, '0')
  const uuid = (n: number) => `${hex}-${n.toString(16).padStart(4, '0')}-4000-8000-${hex}0000`
  const pid = uuid(0)
  const eid = uuid(1)
  const subject = { reference: `urn:uuid:${pid}`, display: `Given${i} Family${i}` }
  const day = (d: number) => `20${10 + (i % 10)}-0${1 + (d % 9)}-1${d % 10}`
  const entry: Record<string, unknown>[] = [
    {
      fullUrl: `urn:uuid:${pid}`,
      resource: {
        resourceType: 'Patient',
        id: pid,
        identifier: [
          { system: 'http://hospital.example/mrn', value: `MRN-${i}` },
          {
            system: 'http://hl7.org/fhir/sid/us-ssn',
            value: `999-${String(i % 100).padStart(2, '0')}-${String(i % 10000).padStart(4, '0')}`,
          },
        ],
        name: [{ use: 'official', family: `Family${i}`, given: [`Given${i}`] }],
        telecom: [{ system: 'phone', value: `555-${String(i % 1000).padStart(3, '0')}-0101`, use: 'home' }],
        gender: i % 2 === 0 ? 'female' : 'male',
        birthDate: `19${40 + (i % 60)}-0${1 + (i % 9)}-1${i % 10}`,
        address: [
          {
            line: [`${i} Main Street`],
            city: 'Springfield',
            state: 'MA',
            postalCode: '01801',
            country: 'US',
          },
        ],
      },
      request: { method: 'POST', url: 'Patient' },
    },
    {
      fullUrl: `urn:uuid:${eid}`,
      resource: {
        resourceType: 'Encounter',
        id: eid,
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'AMB' },
        subject,
        period: { start: `${day(1)}T08:00:00Z`, end: `${day(1)}T09:00:00Z` },
      },
      request: { method: 'POST', url: 'Encounter' },
    },
  ]
  for (let n = 0; n < 10; n++) {
    entry.push({
      fullUrl: `urn:uuid:${uuid(10 + n)}`,
      resource: {
        resourceType: 'Observation',
        id: uuid(10 + n),
        status: 'final',
        code: { coding: [{ system: 'http://loinc.org', code: '8867-4', display: 'Heart rate' }] },
        subject,
        encounter: { reference: `urn:uuid:${eid}` },
        effectiveDateTime: `${day(n)}T08:30:00Z`,
        valueQuantity: {
          value: 60 + ((i + n) % 40),
          unit: '/min',
          system: 'http://unitsofmeasure.org',
          code: '/min',
        },
      },
      request: { method: 'POST', url: 'Observation' },
    })
  }
  for (let n = 0; n < 2; n++) {
    entry.push({
      fullUrl: `urn:uuid:${uuid(30 + n)}`,
      resource: {
        resourceType: 'Condition',
        id: uuid(30 + n),
        clinicalStatus: {
          coding: [{ system: 'http://terminology.hl7.org/CodeSystem/condition-clinical', code: 'active' }],
        },
        code: { coding: [{ system: 'http://snomed.info/sct', code: '44054006', display: 'Diabetes' }] },
        subject,
        encounter: { reference: `urn:uuid:${eid}` },
        onsetDateTime: `${day(n)}T08:45:00Z`,
        note: [
          { text: `Seen with Given${i} Family${i}, call 555-${String(i % 1000).padStart(3, '0')}-0101.` },
        ],
      },
      request: { method: 'POST', url: 'Condition' },
    })
  }
  return encoder.encode(JSON.stringify({ resourceType: 'Bundle', type: 'transaction', entry }))
}

/** The floor: parse every record, stringify every resource of it. */
function floor(patients: number): { ms: number; resources: number } {
  let ms = 0
  let resources = 0
  for (let i = 0; i < patients; i++) {
    const bytes = patientBundle(i)
    const start = performance.now()
    const bundle = JSON.parse(decoder.decode(bytes)) as { entry: { resource: unknown }[] }
    let length = 0
    for (const e of bundle.entry) length += JSON.stringify(e.resource).length + 1
    ms += performance.now() - start
    resources += bundle.entry.length
    if (length === 0) throw new Error('unreachable')
  }
  return { ms, resources }
}

/** The steward's side of a build, timed without the generation of the input. */
async function pipeline(patients: number): Promise<{ ms: number; resources: number; files: number }> {
  const dir = await mkdtemp(join(tmpdir(), 'medvault-bench-datasets-'))
  const storage = await createStorage({ directory: dir })
  try {
    let ms = 0
    let resources = 0
    const files = new NdjsonFiles(storage, undefined, undefined)
    for (let i = 0; i < patients; i++) {
      const bytes = patientBundle(i)
      const start = performance.now()
      const out = deidentifyRecord(bytes, safeHarbor, KEY, NOW)
      if (out === undefined) throw new Error('a record was refused')
      await files.add(out)
      ms += performance.now() - start
      resources += out.length
    }
    const start = performance.now()
    const { links } = await files.close([])
    await putDirectory(storage, links, undefined)
    ms += performance.now() - start
    return { ms, resources, files: links.length }
  } finally {
    await storage.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/** One size in this process: prints one JSON line (run as a child, so peak RSS is this size's alone). */
async function child(patients: number): Promise<void> {
  const f = floor(patients)
  const afterFloor = peakRssMiB()
  const p = await pipeline(patients)
  console.log(
    JSON.stringify({ patients, floor: f, pipeline: p, rssFloorMiB: afterFloor, rssMiB: peakRssMiB() }),
  )
}

async function endToEnd(patients: number): Promise<Row> {
  await using net = await createLocalNetwork({ proxies: 3, accounts: 6 })
  const steward = await net.vault(1)
  await setSteward(net.devnet.walletClients[0]!, {
    addresses: net.devnet.addresses,
    steward: steward.address,
    approved: true,
  })
  const setupStart = performance.now()
  // Patients beyond the devnet's accounts: fresh keys, funded by the test client.
  const queue = Array.from({ length: patients }, (_, i) => i)
  const worker = async () => {
    for (let i = queue.shift(); i !== undefined; i = queue.shift()) {
      const privateKey: Hex = generatePrivateKey()
      await net.devnet.testClient.setBalance({
        address: privateKeyToAccount(privateKey).address,
        value: parseEther('10'),
      })
      const vault: Vault = await createVault({
        account: privateKey,
        chain: {
          transport: http(net.devnet.rpcUrl),
          addresses: net.devnet.addresses,
          chain: net.devnet.chain,
          deployBlock: net.devnet.deployBlock,
        },
        storage: net.storage,
        proxySet: net.proxySet,
      })
      // As bytes: the bench times the build, not the validation a FHIR put runs first.
      await vault.records.put(patientBundle(i), { tag: 'research' })
      await vault.grants.create({
        to: steward.address,
        tag: 'research',
        purpose: 'HRESCH',
        expiresIn: '30d',
        threshold: 2,
      })
    }
  }
  await Promise.all([worker(), worker(), worker(), worker()])
  await net.devnet.testClient.mine({ blocks: 1 })
  const setupMs = performance.now() - setupStart

  const f = floor(patients)
  const start = performance.now()
  const built = await steward.datasets.build({ purpose: 'HRESCH', key: KEY, concurrency: 8 })
  const ms = performance.now() - start
  if (built.manifest.records !== patients)
    throw new Error(`built ${built.manifest.records} of ${patients} records`)
  return {
    patients,
    resources: built.manifest.resources,
    'setup s (not timed)': setupMs / 1000,
    'build s': ms / 1000,
    'ms/patient': ms / patients,
    'floor ms': f.ms,
    '× floor': ms / f.ms,
  }
}

const arg = process.argv.indexOf('--child')
if (arg !== -1) {
  await child(Number(process.argv[arg + 1]))
} else {
  const rows: Row[] = []
  for (const patients of [1_000, 10_000]) {
    const res = spawnSync(process.execPath, [import.meta.filename, '--child', String(patients)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    })
    if (res.status !== 0) throw new Error(`child for ${patients} patients failed:\n${res.stderr}`)
    const r = JSON.parse(res.stdout.trim().split('\n').pop() as string)
    rows.push({
      patients,
      resources: r.pipeline.resources,
      'build ms': r.pipeline.ms,
      'resources/s': (r.pipeline.resources / r.pipeline.ms) * 1000,
      'floor ms': r.floor.ms,
      '× floor': r.pipeline.ms / r.floor.ms,
      'peak RSS MiB': r.rssMiB,
      'RSS after floor MiB': r.rssFloorMiB,
    })
  }
  const local: Table = {
    title: "Dataset build, steward's side (de-identify + NDJSON + UnixFS store), vs JSON parse+stringify",
    rows,
    notes: [
      'Safe Harbor rules; 14-resource synthetic patients; on-disk store. Each size in its own process: peak RSS is its own.',
    ],
  }
  printTable(local)
  const e2ePatients = Number(process.env.DATASETS_E2E ?? 200)
  const e2e: Table = {
    title:
      'vault.datasets.build end to end (consents at a block, reads through 2-of-3 HTTP proxies, registration)',
    rows: [await endToEnd(e2ePatients)],
    notes: [
      'Local network on loopback; reads 8 at a time. Setup (accounts, records, grants) is not in the build time.',
    ],
  }
  printTable(e2e)
  console.log(`\n${writeResults('datasets', [local, e2e])}`)
}
