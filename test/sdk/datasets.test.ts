/**
 * Research datasets on a local network (real anvil, Helia, HTTP proxies): which patients a build takes (active
 * consent of the purpose at the snapshot block, and still readable), determinism, encryption to a research
 * platform, and what `fetch` refuses (unregistered, another steward, a manifest or a directory that is not
 * the one registered).
 */

import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { unixfs } from '@helia/unixfs'
import { grantAccess, registerDataset, registerRecordVersion, setSteward } from '@medvault/chain'
import { deidentify, InvalidRuleSetError, loadAnonymizerConfig, safeHarbor } from '@medvault/fhir'
import { parseRecordEnvelope } from '@medvault/protocol'
import {
  createLocalNetwork,
  createVault,
  DatasetIntegrityError,
  DatasetNotRegisteredError,
  EmptyDatasetError,
  type FetchedDataset,
  InvalidOptionError,
  type LocalNetwork,
  NotDatasetRecipientError,
  NotStewardError,
  ruleSetHash,
  type Vault,
} from '@medvault/sdk'
import { CID } from '@medvault/storage'
import { createPublicClient, type Hash, http, keccak256 } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { decodeDirectory, putDirectory } from '../../packages/sdk/src/datasets-unixfs.ts'
import { losingSendAnswers } from './transports.ts'

let net: LocalNetwork
let steward: Vault
let platform: Vault
let outsider: Vault
/** Patients: a consents, b consents then revokes, c consents for an hour, d never consents, e consents for TREAT. */
let a: Vault, b: Vault, c: Vault, d: Vault, e: Vault
const KEY = new TextEncoder().encode('a dataset key of 32 bytes, fixed')
let firstBlock: bigint
let grantB: `0x${string}`

/** A small transaction Bundle: a Patient (with identifiers) and an Observation whose value marks the patient. */
function bundle(marker: number, name: string) {
  const hex = String(marker).padStart(8, '0')
  const pid = `${hex}-0000-4000-8000-000000000000`
  const oid = `${hex}-1111-4111-8111-111111111111`
  return {
    resourceType: 'Bundle',
    type: 'transaction',
    entry: [
      {
        fullUrl: `urn:uuid:${pid}`,
        resource: {
          resourceType: 'Patient',
          id: pid,
          name: [{ family: name, given: ['Testy'] }],
          telecom: [{ system: 'phone', value: '555-010-0000' }],
          birthDate: '1970-03-04',
        },
        request: { method: 'POST', url: 'Patient' },
      },
      {
        fullUrl: `urn:uuid:${oid}`,
        resource: {
          resourceType: 'Observation',
          id: oid,
          status: 'final',
          code: { text: 'marker' },
          subject: { reference: `urn:uuid:${pid}` },
          effectiveDateTime: '2020-05-06T07:08:09Z',
          valueQuantity: { value: marker, unit: 'mg' },
        },
        request: { method: 'POST', url: 'Observation' },
      },
    ],
  }
}

async function markers(dataset: FetchedDataset): Promise<number[]> {
  const out: number[] = []
  for await (const { type, resource } of dataset.resources()) {
    if (type === 'Observation') out.push((resource.valueQuantity as { value: number }).value)
  }
  return out.sort((x, y) => x - y)
}

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 3, accounts: 16 })
  // Account 0 deployed the contracts: it is the DatasetRegistry's admin (and gets no vault here).
  const vaults = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => net.vault(i)))
  ;[steward, platform, outsider, a, b, c, d, e] = vaults as [
    Vault,
    Vault,
    Vault,
    Vault,
    Vault,
    Vault,
    Vault,
    Vault,
  ]
  await setSteward(net.devnet.walletClients[0]!, {
    addresses: net.devnet.addresses,
    steward: steward.address,
    approved: true,
  })
  const put = (v: Vault, marker: number, tag = 'research') =>
    v.records.put(bundle(marker, `Family${marker}`), { tag })
  await Promise.all([put(a, 101), put(a, 901, 'private'), put(b, 102), put(c, 103), put(d, 104), put(e, 105)])
  const consent = (v: Vault, purpose: 'HRESCH' | 'TREAT', expiresIn = '30d') =>
    v.grants.create({ to: steward.address, tag: 'research', purpose, expiresIn, threshold: 2 })
  const [, gb] = await Promise.all([
    consent(a, 'HRESCH'),
    consent(b, 'HRESCH'),
    consent(c, 'HRESCH', '1h'),
    consent(e, 'TREAT'),
  ])
  grantB = gb.id
  // A build's snapshot is the block before the latest: let the last consent settle into it.
  await net.devnet.testClient.mine({ blocks: 1 })
}, 180_000)

afterAll(async () => {
  await net?.stop()
})

describe('datasets', () => {
  let first: Awaited<ReturnType<Vault['datasets']['build']>>

  test('default: a build takes exactly the records under active consent of its purpose, and registers it', async () => {
    const events: string[] = []
    first = await steward.datasets.build({
      purpose: 'HRESCH',
      key: KEY,
      onProgress: (ev) => events.push(ev.type),
    })
    firstBlock = BigInt(first.manifest.consent.block)
    expect(first.manifest.consent).toMatchObject({ grants: 3, patients: 3 })
    expect(first.manifest.consent.commitments).toHaveLength(3)
    expect(first.manifest.records).toBe(3)
    expect(first.manifest.output.map((o) => [o.type, o.count])).toEqual([
      ['Observation', 3],
      ['Patient', 3],
    ])
    expect(first.excluded).toEqual([])
    expect(first.registration?.transactionHash).toMatch(/^0x/)
    expect(events).toContain('datasets:consent')
    expect(events).toContain('datasets:stored')
    expect(events).toContain('chain:transaction')

    const fetched = await platform.datasets.fetch(first.cid, { steward: steward.address })
    expect(fetched.registration.steward).toBe(steward.address)
    expect(fetched.registration.consentSnapshotBlock).toBe(firstBlock)
    expect(fetched.datasetId).toBe(keccak256(first.cid.bytes))
    // a (101), b (102) and c (103); not d (never consented), e (TREAT, not HRESCH), nor a's untagged record
    expect(await markers(fetched)).toEqual([101, 102, 103])
  })

  test('behavior: a registration whose answer is lost keeps the directory pinned (DatasetRegistrationUnknownError); the dataset is registered and fetches after gc', async () => {
    const url = net.devnet.rpcUrl
    const direct = createPublicClient({ transport: http(url) })
    const lost: Hash[] = []
    // The node mines the registration; the steward's client hears an RPC time-out instead.
    const lossy = await createVault({
      account: net.accounts[1]!.privateKey,
      proxySet: net.proxySet,
      chain: {
        transport: losingSendAnswers(url, { onSent: (hash) => lost.push(hash) }),
        addresses: net.devnet.addresses,
        chain: net.devnet.chain,
        deployBlock: net.devnet.deployBlock,
      },
      storage: net.storage,
    })
    expect(lossy.address).toBe(steward.address)
    // No key given: a fresh one, so this is another dataset than the first build's.
    const error = await lossy.datasets
      .build({ purpose: 'HRESCH', atBlock: firstBlock })
      .catch((e: unknown) => e)
    expect(error).toMatchObject({ name: 'DatasetRegistrationUnknownError' })
    expect(lost).toHaveLength(1)
    expect((await direct.waitForTransactionReceipt({ hash: lost[0]! })).status).toBe('success')
    const { cid } = error as { cid: string }
    await net.storage.gc()
    expect(await net.storage.isPinned(CID.parse(cid))).toBe(true)
    const fetched = await platform.datasets.fetch(CID.parse(cid), { steward: steward.address })
    expect(await markers(fetched)).toEqual([101, 102, 103])
  })

  test('behavior: a build whose progress callback throws once the registration is mined keeps its directory', async () => {
    let stored: CID | undefined
    const error = await steward.datasets
      .build({
        purpose: 'HRESCH',
        atBlock: firstBlock,
        onProgress: (event) => {
          if (event.type === 'datasets:stored') stored = event.cid
          if (event.type === 'chain:transaction') throw new Error('the app’s progress bar broke')
        },
      })
      .catch((e: unknown) => e)
    expect((error as Error).message).toContain('progress bar broke')
    await net.storage.gc()
    expect(await net.storage.isPinned(stored!)).toBe(true)
    const fetched = await platform.datasets.fetch(stored!, { steward: steward.address })
    expect(await markers(fetched)).toEqual([101, 102, 103])
  })

  test('behavior: the files are Bulk Data NDJSON, de-identified, references resolving, in a UnixFS directory', async () => {
    const fetched = await platform.datasets.fetch(first.cid)
    const all: Record<string, unknown>[] = []
    for await (const { resource } of fetched.resources()) all.push(resource)
    const text = JSON.stringify(all)
    for (const identifier of ['Family101', 'Testy', '555-010-0000', '1970-03-04', '2020-05-06']) {
      expect(text).not.toContain(identifier)
    }
    const ids = new Set(all.map((r) => `${r.resourceType as string}/${r.id as string}`))
    const subjects = all
      .filter((r) => r.resourceType === 'Observation')
      .map((r) => (r.subject as { reference: string }).reference)
    expect(subjects).toHaveLength(3)
    for (const s of subjects) expect(ids.has(s)).toBe(true)
    // Same as de-identifying the records one by one with the key: the build adds nothing and drops nothing.
    const direct = deidentify(bundle(101, 'Family101'), safeHarbor, {
      key: KEY,
      now: new Date(first.manifest.transactionTime),
    })
    const patient = (direct.entry as { resource: { id: string } }[])[0]!.resource
    expect(ids.has(`Patient/${patient.id}`)).toBe(true)

    // Any UnixFS implementation lists the directory and reads the files.
    const fs = unixfs(net.storage.helia)
    const names: string[] = []
    for await (const entry of fs.ls(first.cid)) names.push(entry.name)
    expect(names.sort()).toEqual(['Observation.ndjson', 'Patient.ndjson', 'manifest.json'])
    let manifest = ''
    for await (const chunk of fs.cat(first.cid, { path: 'manifest.json' }))
      manifest += new TextDecoder().decode(chunk)
    expect(JSON.parse(manifest)).toEqual(first.manifest)
  })

  test('behavior: same input, key and block give the same dataset; publishing it again sends nothing', async () => {
    const again = await steward.datasets.build({ purpose: 'HRESCH', key: KEY, atBlock: firstBlock })
    expect(again.cid.toString()).toBe(first.cid.toString())
    expect(again.manifestHash).toBe(first.manifestHash)
    expect(again.registration?.transactionHash).toBeUndefined()
    const other = await steward.datasets.build({ purpose: 'HRESCH', atBlock: firstBlock, publish: false })
    expect(other.cid.toString()).not.toBe(first.cid.toString())
  })

  test('behavior: revoked, expired and never-given consent leave the patient out of every later build', async () => {
    await b.grants.revoke(grantB)
    await net.devnet.testClient.increaseTime({ seconds: 7200 })
    await net.devnet.testClient.mine({ blocks: 1 })
    const later = await steward.datasets.build({ purpose: 'HRESCH', key: KEY })
    expect(await markers(await platform.datasets.fetch(later.cid))).toEqual([101])
    expect(later.manifest.consent).toMatchObject({ grants: 1, patients: 1 })

    // Even a build that states the old block: the snapshot still lists b and c, but their records no longer
    // open, so they are left out (and said so to the steward, not in the dataset).
    const stale = await steward.datasets.build({
      purpose: 'HRESCH',
      key: KEY,
      atBlock: firstBlock,
      publish: false,
    })
    expect(stale.excluded.map((x) => x.reason).sort()).toEqual(['expired', 'revoked'])
    expect(stale.manifest.records).toBe(1)
    expect(stale.manifest.consent.patients).toBe(1)

    // The dataset published before the revocation stays as it was, and still verifies.
    expect(await markers(await platform.datasets.fetch(first.cid))).toEqual([101, 102, 103])
  })

  test('behavior: encrypted to a research platform, it opens for the platform and the steward only', async () => {
    const built = await steward.datasets.build({ purpose: 'HRESCH', recipient: platform.address })
    expect(built.manifest.encryption?.recipients).toEqual([platform.address, steward.address])
    const fetched = await platform.datasets.fetch(built.cid, { steward: steward.address })
    expect(await markers(fetched)).toEqual([101])
    expect(await markers(await steward.datasets.fetch(built.cid))).toEqual([101])
    await expect(outsider.datasets.fetch(built.cid)).rejects.toThrow(NotDatasetRecipientError)
    // Without the key nothing readable is stored: the directory holds ciphertext and the wrapped keys.
    const fs = unixfs(net.storage.helia)
    const names: string[] = []
    for await (const entry of fs.ls(built.cid)) names.push(entry.name)
    expect(names.sort()).toEqual([
      'Observation.ndjson.enc',
      'Patient.ndjson.enc',
      'manifest.json.enc',
      'recipients.json',
    ])
    let raw = ''
    for await (const chunk of fs.cat(built.cid, { path: 'Observation.ndjson.enc' }))
      raw += Buffer.from(chunk).toString('latin1')
    expect(raw).not.toContain('Observation')
  })

  test('behavior: fetch writes verified NDJSON files and the manifest to a directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'medvault-dataset-'))
    try {
      const fetched = await platform.datasets.fetch(first.cid, { outDir: dir })
      expect(fetched.files?.length).toBe(3)
      expect((await readdir(dir)).sort()).toEqual(['Observation.ndjson', 'Patient.ndjson', 'manifest.json'])
      const lines = (await readFile(join(dir, 'Observation.ndjson'), 'utf8')).trimEnd().split('\n')
      expect(lines.map((l) => JSON.parse(l).valueQuantity.value).sort()).toEqual([101, 102, 103])
      // Existing files are not overwritten.
      await expect(platform.datasets.fetch(first.cid, { outDir: dir })).rejects.toThrow(/outDir/)
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  test('behavior: a Microsoft anonymizer configuration as rules; its keys are not in the rule-set hash', async () => {
    const config = (key: string) => ({
      fhirVersion: 'R4',
      fhirPathRules: [
        { path: "nodesByType('HumanName')", method: 'redact' },
        { path: "nodesByType('ContactPoint')", method: 'redact' },
        { path: 'Resource.id', method: 'cryptoHash' },
        { path: "nodesByType('date')", method: 'dateShift' },
        { path: "nodesByType('dateTime')", method: 'dateShift' },
      ],
      parameters: { dateShiftKey: key, cryptoHashKey: key },
    })
    // Keys no hex hash or base32 CID can hold (upper case, a hyphen): '123' was once found at the end of a
    // consent commitment's hex.
    const built = await steward.datasets.build({
      purpose: 'HRESCH',
      rules: config('Key-One'),
      publish: false,
    })
    const fetchedText = JSON.stringify(built.manifest)
    expect(fetchedText).not.toContain('Key-One')
    expect(built.manifest.deidentification.ruleSetHash).toBe(
      await ruleSetHash(loadAnonymizerConfig(config('Key-One'))),
    )
    expect(await ruleSetHash(loadAnonymizerConfig(config('Key-Two')))).toBe(
      built.manifest.deidentification.ruleSetHash,
    )
    expect(built.manifest.deidentification.ruleSetHash).not.toBe(await ruleSetHash(safeHarbor))
    // A configuration that cannot run is refused before any record is read.
    await expect(
      steward.datasets.build({
        purpose: 'HRESCH',
        rules: { fhirPathRules: [{ path: 'Patient.name', method: 'scramble' }] },
        onProgress: (e) => {
          if (e.type === 'datasets:record') throw new Error('a record was read')
        },
      }),
    ).rejects.toThrow(InvalidRuleSetError)
  })

  test('error: nothing under consent, an account that is not a steward, an unregistered CID', async () => {
    await expect(outsider.datasets.build({ purpose: 'HRESCH' })).rejects.toThrow(EmptyDatasetError)
    await expect(steward.datasets.build({ purpose: 'PUBHLTH' })).rejects.toThrow(EmptyDatasetError)
    // The outsider gets a consent, builds, and may not register.
    await a.grants.create({
      to: outsider.address,
      tag: 'research',
      purpose: 'HRESCH',
      expiresIn: '1d',
      threshold: 2,
    })
    await net.devnet.testClient.mine({ blocks: 1 })
    const err = await outsider.datasets.build({ purpose: 'HRESCH' }).catch((x: unknown) => x)
    expect(err).toBeInstanceOf(NotStewardError)
    expect((err as NotStewardError).shortMessage).toBe(
      `${outsider.address} is not an approved data steward of the DatasetRegistry.`,
    )
    const unpublished = await outsider.datasets.build({ purpose: 'HRESCH', publish: false })
    await expect(platform.datasets.fetch(unpublished.cid)).rejects.toThrow(DatasetNotRegisteredError)
    await expect(platform.datasets.fetch(first.cid, { steward: outsider.address })).rejects.toThrow(
      DatasetIntegrityError,
    )
  })

  test('error: a registration whose manifest hash is not the manifest’s is refused', async () => {
    const built = await steward.datasets.build({ purpose: 'HRESCH', publish: false })
    await registerDataset(net.devnet.walletClients[1]!, {
      addresses: net.devnet.addresses,
      cid: built.cid.bytes,
      manifestHash: keccak256(new Uint8Array([1])),
      ruleSetHash: built.manifest.deidentification.ruleSetHash,
      consentSnapshotBlock: BigInt(built.manifest.consent.block),
      licence: 'CC-BY-4.0',
    })
    await expect(platform.datasets.fetch(built.cid)).rejects.toThrow(/manifest is not the one registered/)
  })

  test('error: a directory with a file the manifest does not name is refused, even with the manifest registered', async () => {
    // An attacker (or a careless steward) adds an NDJSON file to a registered dataset's directory and
    // registers the new directory with the original, honest manifest.
    const built = await steward.datasets.build({ purpose: 'HRESCH', publish: false })
    const root = await collect(net.storage.helia.blockstore.get(built.cid))
    const links = decodeDirectory(root)
    const extra = await net.storage.putBytes(
      new TextEncoder().encode('{"resourceType":"Patient","name":[{"family":"Leaked"}]}\n'),
    )
    const forged = await putDirectory(
      net.storage,
      [...links, { name: 'Extra.ndjson', cid: extra, tsize: 60 }],
      undefined,
    )
    await steward.datasets.publish(built) // the honest one
    await registerDataset(net.devnet.walletClients[1]!, {
      addresses: net.devnet.addresses,
      cid: forged.cid.bytes,
      manifestHash: built.manifestHash,
      ruleSetHash: built.manifest.deidentification.ruleSetHash,
      consentSnapshotBlock: BigInt(built.manifest.consent.block),
      licence: 'CC-BY-4.0',
    })
    await expect(platform.datasets.fetch(forged.cid)).rejects.toThrow(/a file the manifest does not name/)
    await expect(platform.datasets.fetch(built.cid)).resolves.toBeDefined()
  })

  test('attack: a grantor whose envelope claims 2^52 bytes, or whose grant needs a broken proxy set, is left out; the build goes on', async () => {
    // Anyone can give a steward a research grant. f registers a version whose envelope claims 2^52 bytes (a
    // build used to allocate that up front); g's grant needs all 3 proxies, and one of them lies.
    // h registers a version whose envelope no store holds; k grants with a kfrag bundle that is not one.
    const [f, g, h, k] = await Promise.all([net.vault(9), net.vault(10), net.vault(0), net.vault(12)])
    const [rf, rg, rh, rk] = await Promise.all([
      f.records.put(bundle(106, 'Family106'), { tag: 'research' }),
      g.records.put(bundle(107, 'Family107'), { tag: 'research' }),
      h.records.put(bundle(108, 'Family108'), { tag: 'research' }),
      k.records.put(bundle(110, 'Family110'), { tag: 'research' }),
    ])
    const consent = { to: steward.address, tag: 'research', purpose: 'HRESCH', expiresIn: '30d' } as const
    await Promise.all([
      f.grants.create({ ...consent, threshold: 2 }),
      g.grants.create({ ...consent, threshold: 3 }),
      h.grants.create({ ...consent, threshold: 2 }),
    ])
    const { timestamp } = await net.devnet.publicClient.getBlock()
    await grantAccess(net.devnet.walletClients[12]!, {
      addresses: net.devnet.addresses,
      grantee: steward.address,
      scope: { kind: 'record', recordId: rk.id },
      purpose: 'HRESCH',
      expiry: Number(timestamp) + 30 * 86_400,
      threshold: 2,
      proxySetId: net.proxySet,
      kfragsCid: (await net.storage.putBytes(new TextEncoder().encode('not a kfrag bundle'))).bytes,
    })
    const envelope = parseRecordEnvelope(await net.storage.getEnvelope(rf.cid))
    const huge = await net.storage.putEnvelope({ ...envelope, size: 2 ** 52, prev: rf.cid })
    await registerRecordVersion(net.devnet.walletClients[9]!, {
      addresses: net.devnet.addresses,
      recordId: rf.id,
      cid: huge,
    })
    const missing = rh.cid.bytes.slice()
    missing[missing.length - 1]! ^= 0x01
    await registerRecordVersion(net.devnet.walletClients[0]!, {
      addresses: net.devnet.addresses,
      recordId: rh.id,
      cid: CID.decode(missing),
    })
    await net.devnet.testClient.mine({ blocks: 1 })
    net.proxies[2]!.lie(true)
    try {
      const built = await steward.datasets.build({ purpose: 'HRESCH', key: KEY })
      expect(built.excluded).toEqual(
        expect.arrayContaining([
          { recordId: rf.id, reason: 'too-large' },
          { recordId: rg.id, reason: 'proxies-unavailable' },
          { recordId: rh.id, reason: 'unavailable' },
          { recordId: rk.id, reason: 'integrity' },
        ]),
      )
      // The honest patient is in; the hostile ones are neither in the dataset nor in its consent count.
      const got = await markers(await platform.datasets.fetch(built.cid))
      expect(got).toContain(101)
      expect(got).not.toContain(106)
      expect(got).not.toContain(107)
      expect(got).not.toContain(108)
      expect(got).not.toContain(110)
      expect(built.manifest.consent.patients).toBe(got.length)
    } finally {
      net.proxies[2]!.lie(false)
    }
  }, 120_000)

  test('attack: a record whose snapshot consent was revoked is not read in under a consent given after the snapshot', async () => {
    const p = await net.vault(11)
    const rec = await p.records.put(bundle(109, 'Family109'), { tag: 'research' })
    const consent = { to: steward.address, tag: 'research', purpose: 'HRESCH', expiresIn: '30d' } as const
    const old = await p.grants.create({ ...consent, threshold: 2 })
    await net.devnet.testClient.mine({ blocks: 1 })
    const snapshot = await net.devnet.publicClient.getBlockNumber({ cacheTime: 0 })
    await p.grants.revoke(old.id)
    const renewed = await p.grants.create({ ...consent, threshold: 2 })
    await net.devnet.testClient.mine({ blocks: 1 })
    // The snapshot holds only the revoked grant: the newer grant opens the record, but it is no consent of
    // the snapshot, and the manifest's commitments could only name the revoked one.
    const built = await steward.datasets.build({
      purpose: 'HRESCH',
      key: KEY,
      atBlock: snapshot,
      publish: false,
    })
    expect(built.excluded).toContainEqual({ recordId: rec.id, reason: 'consent-changed' })
    expect(built.consent.map((c) => c.grantId)).not.toContain(old.id.toLowerCase())
    // At a later block the new consent is in the snapshot, and the record is in.
    const later = await steward.datasets.build({ purpose: 'HRESCH', key: KEY, publish: false })
    expect(later.consent.map((c) => c.grantId)).toContain(renewed.id.toLowerCase())
    expect(later.excluded.map((x) => x.recordId)).not.toContain(rec.id)
  }, 120_000)

  test('attack: publishing by CID needs the dataset key, and a manifest naming this steward whose consents do not open with it is refused', async () => {
    // An attacker stores a dataset whose manifest names the steward (a field anyone can write), with
    // consent commitments of its own, and asks the steward to publish the CID.
    const honest = await steward.datasets.build({ purpose: 'HRESCH', key: KEY, publish: false })
    const links = decodeDirectory(await collect(net.storage.helia.blockstore.get(honest.cid)))
    const manifest = {
      ...honest.manifest,
      consent: { ...honest.manifest.consent, commitments: [keccak256(new Uint8Array([7]))], grants: 1 },
    }
    const manifestCid = await net.storage.putBytes(
      new TextEncoder().encode(`${JSON.stringify(manifest, null, 2)}\n`),
    )
    const forged = await putDirectory(
      net.storage,
      links.map((l) => (l.name === 'manifest.json' ? { ...l, cid: manifestCid } : l)),
      undefined,
    )
    await expect(steward.datasets.publish(forged.cid)).rejects.toThrow(InvalidOptionError)
    await expect(steward.datasets.publish(forged.cid, { key: KEY })).rejects.toThrow(
      /does not open with this key to a consent this account held/,
    )
    // The honest build publishes by CID with its key, not with another key.
    await expect(
      steward.datasets.publish(honest.cid, {
        key: new TextEncoder().encode('another key of sixteen+ bytes'),
      }),
    ).rejects.toThrow(DatasetIntegrityError)
    const published = await steward.datasets.publish(honest.cid, { key: KEY })
    expect(published.datasetId).toBe(keccak256(honest.cid.bytes))
    await expect(platform.datasets.fetch(forged.cid)).rejects.toThrow(DatasetNotRegisteredError)
  }, 120_000)
})

async function collect(got: unknown): Promise<Uint8Array> {
  const value = await got
  if (value instanceof Uint8Array) return value
  const chunks: Uint8Array[] = []
  for await (const c of value as AsyncIterable<Uint8Array>) chunks.push(c)
  return Buffer.concat(chunks)
}
