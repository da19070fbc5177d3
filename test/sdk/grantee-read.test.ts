/**
 * A grantee's read starts reading the likely grant's kfrag bundle, proxy set and grantor keys while the chain
 * is asked whether that grant holds. When the chain refuses it and an older grant is used, everything read
 * must be the older grant's. Real anvil, Helia and HTTP proxies.
 */
import { createLocalNetwork, type LocalNetwork, type Vault } from '@medvault/sdk'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

let net: LocalNetwork
let patient: Vault
let clinic: Vault

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 3 })
  ;[patient, clinic] = await Promise.all([net.vault(0), net.vault(1)])
})

afterAll(async () => {
  await net?.stop()
})

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe('grantee read', () => {
  test('error: the newest covering grant has expired: the read goes through the older grant with the older grant’s bundle and proxies', async () => {
    const rec = await patient.records.put('two grants')
    const older = await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 2,
    })
    const newer = await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1h',
      threshold: 3,
    })
    expect(text(await clinic.records.get(rec.id))).toBe('two grants')
    await net.devnet.testClient.increaseTime({ seconds: 3601 })
    await net.devnet.testClient.mine({ blocks: 1 })
    // The newer grant's bundle (another grant id, threshold 3) was being read while the chain was asked; used
    // for the older grant it would fail the bundle check and the read would throw an IntegrityError.
    expect(text(await clinic.records.get(rec.id))).toBe('two grants')
    expect(older.id).not.toBe(newer.id)
  })
})
