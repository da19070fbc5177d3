/**
 * A registration that was sent, or may have been, keeps what it registers pinned (real anvil, real Helia). The
 * vault's transport hands `eth_sendRawTransaction` to the node and then answers the vault as an RPC time-out
 * would: anvil mines the transaction, the vault never hears of it. Unpinning then would leave the chain pointing
 * at an envelope the next gc deletes. A failure before anything is sent still unpins everything.
 */

import { consentRegistryAbi } from '@medvault/contracts'
import { createLocalNetwork, createVault, type LocalNetwork, type Vault } from '@medvault/sdk'
import { CID } from 'multiformats/cid'
import {
  createPublicClient,
  type Hash,
  type Hex,
  hexToBytes,
  http,
  parseEventLogs,
  RpcRequestError,
  TimeoutError,
  type Transport,
} from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { intercepting, losingSendAnswers } from './transports.ts'

let net: LocalNetwork
let vault: Vault
/** How the vault's transport treats the next calls. */
let mode: 'pass' | 'lose-send-answer' | 'resend' | 'resend-lagging' | 'abort-after-send' | 'fail-simulation' =
  'pass'
/** Hashes of the transactions the node accepted while the vault was told otherwise. */
const lost: Hash[] = []
const methods: string[] = []
let abortAfterSend: AbortController | undefined

const TEXT = 'blood pressure 120/80, sent but unanswered'
const TEXT_V2 = 'blood pressure 135/85, second version'

/** The vault's transport: real anvil underneath, with the faults `mode` asks for. */
function faulty(url: string): Transport {
  const direct = createPublicClient({ transport: http(url) })
  const lossy = losingSendAnswers(url, {
    // A provider whose backends disagree ('resend-lagging'): the one that took the first send answers as a
    // resend would be answered ("nonce too low"); later sends go through.
    lose: () =>
      mode === 'lose-send-answer' ||
      mode === 'resend' ||
      mode === 'abort-after-send' ||
      (mode === 'resend-lagging' && lost.length === 0),
    onSent: (hash) => {
      if (mode !== 'abort-after-send') lost.push(hash)
    },
    answer: (hash, args) => {
      if (mode === 'abort-after-send') {
        abortAfterSend?.abort(new Error('the caller gave up'))
        return hash
      }
      if (mode === 'resend-lagging') {
        throw new RpcRequestError({
          body: { method: args.method },
          error: { code: -32000, message: 'nonce too low' },
          url,
        })
      }
      if (mode === 'resend') {
        // What the client sees when its transport resends a send whose answer was lost (viem's http transport
        // retries a time-out): the node's answer to the same, already mined, transaction.
        return direct.request({ method: 'eth_sendRawTransaction', params: args.params as [Hex] })
      }
      // 'lose-send-answer': the time-out viem's http transport throws when the node's answer does not come.
      return undefined
    },
  })
  return intercepting(lossy, (args) => {
    methods.push(args.method)
    // The lagging provider's backend asked next has not seen the transaction yet.
    if (mode === 'resend-lagging' && args.method === 'eth_getTransactionByHash') return Promise.resolve(null)
    if (mode === 'fail-simulation' && args.method === 'eth_call') {
      return Promise.reject(new TimeoutError({ body: { method: args.method }, url }))
    }
    return undefined
  })
}

function freshVault(): Promise<Vault> {
  return createVault({
    account: net.accounts[0]!.privateKey,
    chain: {
      transport: http(net.devnet.rpcUrl),
      addresses: net.devnet.addresses,
      chain: net.devnet.chain,
      deployBlock: net.devnet.deployBlock,
    },
    storage: net.storage,
  })
}

/** The records and envelope CIDs a mined transaction registered (from its events). */
async function registeredBy(hash: Hash): Promise<{ recordId: Hex; cid: CID; version: number }[]> {
  const receipt = await net.devnet.publicClient.waitForTransactionReceipt({ hash })
  expect(receipt.status).toBe('success')
  return parseEventLogs({
    abi: consentRegistryAbi,
    logs: receipt.logs,
    eventName: ['RecordRegistered', 'RecordVersionAdded'],
  }).map((log) => ({
    recordId: log.args.recordId,
    cid: CID.decode(hexToBytes(log.args.cid)),
    version: log.eventName === 'RecordRegistered' ? 1 : log.args.version,
  }))
}

/** Every message along the cause chain, where a key or plaintext must never appear. */
function messages(error: unknown): string {
  const out: string[] = []
  for (let e: unknown = error; e instanceof Error; e = e.cause) out.push(e.message, String(e))
  return out.join('\n')
}

async function pins(): Promise<string[]> {
  const out: string[] = []
  for await (const cid of net.storage.listPins()) out.push(cid.toString())
  return out.sort()
}

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 1 })
  vault = await createVault({
    account: net.accounts[0]!.privateKey,
    proxySet: net.proxySet,
    chain: {
      transport: faulty(net.devnet.rpcUrl),
      addresses: net.devnet.addresses,
      chain: net.devnet.chain,
      deployBlock: net.devnet.deployBlock,
    },
    storage: net.storage,
  })
}, 60_000)

afterAll(async () => {
  await net?.stop()
})

describe('registration sent, answer lost', () => {
  test('behavior: put: the record is registered, nothing was unpinned, gc keeps it, a fresh vault reads it back', async () => {
    lost.length = 0
    mode = 'lose-send-answer'
    const error = await vault.records.put(TEXT).catch((e: unknown) => e)
    mode = 'pass'
    expect(lost).toHaveLength(1)
    const [registered] = await registeredBy(lost[0]!)
    await net.storage.gc()
    // The envelope the chain points at, and the content it links to, survive the gc.
    expect(await net.storage.isPinned(registered!.cid)).toBe(true)
    expect((await net.storage.stat(registered!.cid)).local).toBe(true)
    const fresh = await freshVault()
    const info = await fresh.records.info(registered!.recordId)
    expect((await net.storage.stat(info.contentCid)).local).toBe(true)
    expect(new TextDecoder().decode(await fresh.records.get(registered!.recordId))).toBe(TEXT)

    expect(error).toMatchObject({
      name: 'RegistrationUnknownError',
      // The node's answer never came, but the transaction was signed before it was sent: its hash is known.
      hash: lost[0],
      recordId: registered!.recordId,
      records: [{ id: registered!.recordId }],
    })
    expect(String((error as { records: { cid: CID }[] }).records[0]!.cid)).toBe(registered!.cid.toString())
    const text = messages(error)
    expect(text).toContain(registered!.recordId)
    expect(text).toContain('records.info')
    expect(text).not.toContain(TEXT)
    expect(text.toLowerCase()).not.toContain(net.accounts[0]!.privateKey.slice(2).toLowerCase())
    expect(
      (error as Error).message.replace(registered!.recordId, '<record id>').replace(lost[0]!, '<hash>'),
    ).toMatchInlineSnapshot(`
      "Record <record id> may be registered: its registration (transaction <hash>) may have been sent, but no answer said whether it was mined.

      Nothing was unpinned: its envelope and content stay stored.
      Check later with vault.records.info(id) or wait for the transaction: once it is registered, info
      shows this version's cid. If it never is, put or update again (and unpin \`records[].cid\` and \`contentCid\`)."
    `)
  })

  test('behavior: update: the new version is registered and kept, the old one still reads', async () => {
    const rec = await vault.records.put(TEXT)
    lost.length = 0
    mode = 'lose-send-answer'
    const error = await vault.records.update(rec.id, TEXT_V2).catch((e: unknown) => e)
    mode = 'pass'
    expect(lost).toHaveLength(1)
    const [registered] = await registeredBy(lost[0]!)
    expect(registered).toMatchObject({ recordId: rec.id, version: 2 })
    await net.storage.gc()
    expect(await net.storage.isPinned(registered!.cid)).toBe(true)
    const fresh = await freshVault()
    expect(new TextDecoder().decode(await fresh.records.get(rec.id))).toBe(TEXT_V2)
    expect(new TextDecoder().decode(await fresh.records.get(rec.id, { version: 1 }))).toBe(TEXT)
    // The vault that threw reads the chain's current version too.
    expect((await vault.records.info(rec.id)).version).toBe(2)

    expect(error).toMatchObject({ name: 'RegistrationUnknownError', hash: lost[0], recordId: rec.id })
    const text = messages(error)
    expect(text).not.toContain(TEXT_V2)
    expect(text.toLowerCase()).not.toContain(net.accounts[0]!.privateKey.slice(2).toLowerCase())
  })

  test('behavior: a split Bundle: every record is registered and kept', async () => {
    const bundle = {
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        {
          fullUrl: 'urn:uuid:0d5a3f63-7d0c-4a53-9d40-9f2f3c8a1b01',
          resource: { resourceType: 'Patient', gender: 'female' },
        },
        {
          fullUrl: 'urn:uuid:0d5a3f63-7d0c-4a53-9d40-9f2f3c8a1b02',
          resource: {
            resourceType: 'Observation',
            status: 'final',
            code: { text: 'heart rate' },
            subject: { reference: 'urn:uuid:0d5a3f63-7d0c-4a53-9d40-9f2f3c8a1b01' },
            valueQuantity: { value: 61, unit: '/min' },
          },
        },
      ],
    }
    lost.length = 0
    mode = 'lose-send-answer'
    const error = await vault.records.put(bundle as never, { bundle: 'split' }).catch((e: unknown) => e)
    mode = 'pass'
    expect(lost).toHaveLength(1)
    const registered = await registeredBy(lost[0]!)
    expect(registered).toHaveLength(2)
    await net.storage.gc()
    const fresh = await freshVault()
    for (const r of registered) {
      expect(await net.storage.isPinned(r.cid)).toBe(true)
      expect((await fresh.records.getResource(r.recordId)).resource.resourceType).toMatch(
        /^(Patient|Observation)$/,
      )
    }
    // Everything was stored before the registration was filled: the send signs it, so its hash never came.
    expect(error).toMatchObject({ name: 'RegistrationUnknownError', hash: undefined })
    expect((error as { records: { id: Hex }[] }).records.map((r) => r.id)).toEqual(
      registered.map((r) => r.recordId),
    )
  })

  test('behavior: rotate: the re-keyed version is registered and kept', async () => {
    const rec = await vault.records.put(TEXT)
    lost.length = 0
    mode = 'lose-send-answer'
    const error = await vault.records.rotate(rec.id).catch((e: unknown) => e)
    mode = 'pass'
    expect(error).toMatchObject({ name: 'RegistrationUnknownError', recordId: rec.id })
    expect(lost).toHaveLength(1)
    const [registered] = await registeredBy(lost[0]!)
    expect(registered).toMatchObject({ recordId: rec.id, version: 2 })
    await net.storage.gc()
    const fresh = await freshVault()
    expect(await fresh.records.info(rec.id)).toMatchObject({ version: 2, epoch: 1 })
    expect(new TextDecoder().decode(await fresh.records.get(rec.id))).toBe(TEXT)
  })

  test('behavior: a registration that returned is never unpinned, even if onProgress then throws', async () => {
    let recordCid: CID | undefined
    const error = await vault.records
      .put(TEXT, {
        onProgress: (event) => {
          if (event.type === 'records:stored') recordCid = event.cid
          if (event.type === 'chain:transaction') throw new Error('the app failed to show progress')
        },
      })
      .catch((e: unknown) => e)
    expect((error as Error).message).toBe('the app failed to show progress')
    await net.storage.gc()
    expect(await net.storage.isPinned(recordCid!)).toBe(true)
    expect((await net.storage.stat(recordCid!)).local).toBe(true)
  })

  test('behavior: a resent transaction answered "nonce too low" is the one that went out: the put succeeds, registered once', async () => {
    lost.length = 0
    mode = 'resend'
    const before = await net.devnet.publicClient.getTransactionCount({ address: net.accounts[0]!.address })
    const rec = await vault.records.put(TEXT).finally(() => {
      mode = 'pass'
    })
    expect(lost).toHaveLength(1)
    // One transaction: not filled and sent anew (a second registration would revert and undo the first).
    expect(await net.devnet.publicClient.getTransactionCount({ address: net.accounts[0]!.address })).toBe(
      before + 1,
    )
    const [registered] = await registeredBy(lost[0]!)
    expect(registered!.recordId).toBe(rec.id)
    await net.storage.gc()
    const fresh = await freshVault()
    expect(new TextDecoder().decode(await fresh.records.get(rec.id))).toBe(TEXT)
  })

  test('attack: a lagging provider denies the first send, so another is sent and reverts: outcome unknown, nothing unpinned', async () => {
    lost.length = 0
    mode = 'resend-lagging'
    const error = await vault.records.put(TEXT).catch((e: unknown) => e)
    mode = 'pass'
    expect(lost).toHaveLength(1)
    // The first transaction registered the record; the one sent in its place reverted ("already registered").
    const [registered] = await registeredBy(lost[0]!)
    expect(error).toMatchObject({ name: 'RegistrationUnknownError', hash: lost[0] })
    await net.storage.gc()
    const fresh = await freshVault()
    expect(new TextDecoder().decode(await fresh.records.get(registered!.recordId))).toBe(TEXT)
  })

  test('behavior: aborted after the send: the same error, with the hash, and nothing unpinned', async () => {
    abortAfterSend = new AbortController()
    mode = 'abort-after-send'
    const error = await vault.records.put(TEXT, { signal: abortAfterSend.signal }).catch((e: unknown) => e)
    mode = 'pass'
    expect(error).toMatchObject({ name: 'RegistrationUnknownError' })
    const { hash, recordId } = error as { hash: Hash; recordId: Hex }
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/)
    const [registered] = await registeredBy(hash)
    expect(registered!.recordId).toBe(recordId)
    await net.storage.gc()
    const fresh = await freshVault()
    expect(new TextDecoder().decode(await fresh.records.get(recordId))).toBe(TEXT)
  })

  test('behavior: grants.create: the grant is created, its kfrag bundle kept through gc, the grantee reads', async () => {
    const rec = await vault.records.put('granted, answer lost')
    const clinic = await net.vault(1)
    lost.length = 0
    mode = 'lose-send-answer'
    const error = await vault.grants
      .create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '1d' })
      .catch((e: unknown) => e)
    mode = 'pass'
    expect(lost).toHaveLength(1)
    expect(error).toMatchObject({ name: 'GrantOutcomeUnknownError' })
    const { grantId, bundleCid } = error as { grantId: Hex; bundleCid: CID }
    expect((await net.devnet.publicClient.waitForTransactionReceipt({ hash: lost[0]! })).status).toBe(
      'success',
    )
    await net.storage.gc()
    // A grant whose bundle was unpinned and collected would open nothing.
    expect(await net.storage.isPinned(bundleCid)).toBe(true)
    expect((await vault.grants.list({ given: true })).map((g) => g.id)).toContain(grantId)
    expect(new TextDecoder().decode(await clinic.records.get(rec.id))).toBe('granted, answer lost')
  })

  test('behavior: grants.create whose progress callback throws once the grant is mined keeps the bundle; the grant works', async () => {
    const rec = await vault.records.put('granted, then the app threw')
    const clinic = await net.vault(1)
    const error = await vault.grants
      .create({
        to: clinic.address,
        records: [rec.id],
        purpose: 'TREAT',
        expiresIn: '1d',
        onProgress: (event) => {
          if (event.type === 'chain:transaction') throw new Error('the app’s progress bar broke')
        },
      })
      .catch((e: unknown) => e)
    expect((error as Error).message).toContain('progress bar broke')
    const [grant] = (await vault.grants.list({ given: true })).filter(
      (g) => 'records' in g.scope && g.scope.records.includes(rec.id),
    )
    const { bundleCid } = grant!
    await net.storage.gc()
    expect(await net.storage.isPinned(bundleCid)).toBe(true)
    expect(new TextDecoder().decode(await clinic.records.get(rec.id))).toBe('granted, then the app threw')
  })

  test('error: a failure before the send (the simulation cannot reach the node): nothing sent, registered or left pinned', async () => {
    const before = await pins()
    methods.length = 0
    mode = 'fail-simulation'
    const error = await vault.records.put('never registered').catch((e: unknown) => e)
    mode = 'pass'
    expect(error).toBeInstanceOf(Error)
    expect((error as Error).name).not.toBe('RegistrationUnknownError')
    expect(methods).not.toContain('eth_sendRawTransaction')
    expect(await pins()).toEqual(before)
  })
})
