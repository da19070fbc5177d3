/**
 * audit.list on a network reached over HTTP only (no in-process receipt source): reads come from every
 * proxy's `GET /v1/receipts`, signed for by the owner, each receipt checked against its proxy's signature.
 */
import { createLocalNetwork, createVault, type LocalNetwork, ProxyError, type Vault } from '@medvault/sdk'
import { http } from 'viem'
import { afterAll, beforeAll, expect, test } from 'vitest'

let net: LocalNetwork
let patient: Vault
let patientOverHttp: Vault
let clinic: Vault

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 3 })
  ;[patient, patientOverHttp, clinic] = await Promise.all([
    net.vault(0),
    // The same account as a plain vault of a real network: no in-process receipt source.
    createVault({
      proxySet: net.proxySet,
      account: net.accounts[0]!.privateKey,
      chain: {
        transport: http(net.devnet.rpcUrl),
        addresses: net.devnet.addresses,
        chain: net.devnet.chain,
        deployBlock: net.devnet.deployBlock,
      },
      storage: net.storage,
    }),
    net.vault(1),
  ])
})

afterAll(async () => {
  await net?.stop()
})

test('default: audit.list over HTTP shows the same reads as the proxies’ own logs, each signed by its proxy', async () => {
  const rec = await patient.records.put('audited over http')
  const other = await patient.records.put('another record')
  await patient.grants.create({
    to: clinic.address,
    records: [rec.id, other.id],
    purpose: 'TREAT',
    expiresIn: '1d',
    threshold: 2,
  })
  await clinic.records.get(rec.id)
  await clinic.records.get(rec.id)
  await clinic.records.get(other.id)
  const reads = async (v: Vault, record?: `0x${string}`) =>
    (await v.audit.list(record === undefined ? {} : { record })).filter((e) => e.kind === 'read')
  const overHttp = await reads(patientOverHttp, rec.id)
  const inProcess = await reads(patient, rec.id)
  // Two reads at threshold 2: at least four receipts (a hedged read may ask a third proxy).
  expect(overHttp.length).toBeGreaterThanOrEqual(4)
  const key = (e: { receiptHash?: string }) => e.receiptHash
  expect(overHttp.map(key).sort()).toEqual(inProcess.map(key).sort())
  expect(
    overHttp.every((e) => e.kind === 'read' && e.recordId === rec.id && e.reader === clinic.address),
  ).toBe(true)
  const everything = await reads(patientOverHttp)
  expect(everything.map(key).sort()).toEqual((await reads(patient)).map(key).sort())
  expect(
    everything.filter((e) => e.kind === 'read' && e.recordId === other.id).length,
  ).toBeGreaterThanOrEqual(2)
  // The clinician granted nothing: its own audit has no reads, and it cannot ask for the patient's.
  expect(await reads(clinic)).toEqual([])
})

test('error: a proxy that does not answer fails the audit with its ProxyError instead of a silently shorter trail', async () => {
  const rec = await patient.records.put('audited while a proxy is down')
  await patient.grants.create({
    to: clinic.address,
    records: [rec.id],
    purpose: 'TREAT',
    expiresIn: '1d',
    threshold: 2,
  })
  await clinic.records.get(rec.id)
  const down = net.proxies[0]!
  await down.stop()
  try {
    const err = await patientOverHttp.audit.list({ record: rec.id }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ProxyError)
    expect(err).toMatchObject({ code: 'unreachable', proxy: down.address })
  } finally {
    await down.start()
  }
})
