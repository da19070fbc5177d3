/**
 * `grants.records(grantId)` on a local network (real anvil, Helia, HTTP proxies): a payer with a tag grant lists
 * the records it covers from chain data and reads each; records of another tag or another patient are not
 * listed; records-list and all-records grants list exactly theirs; a revoked or expired grant lists nothing.
 */
import {
  createLocalNetwork,
  GrantExpiredError,
  GrantNotFoundError,
  GrantRevokedError,
  type LocalNetwork,
  type Vault,
} from '@medvault/sdk'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

let net: LocalNetwork
let patient: Vault
let insurer: Vault
let otherPatient: Vault

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 3 })
  ;[patient, insurer, otherPatient] = await Promise.all([net.vault(0), net.vault(1), net.vault(2)])
})

afterAll(async () => {
  await net?.stop()
})

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

describe('grants.records', () => {
  test('default: a tag grantee lists the records of the tag, later ones too, and reads each', async () => {
    const before = await patient.records.put('claim 1: MRI', { tag: 'claims' })
    const labs = await patient.records.put('lipid panel', { tag: 'labs' })
    const untagged = await patient.records.put('a note')
    // The same category name at another patient is another tag on chain, and another owner.
    const foreign = await otherPatient.records.put('claim of someone else', { tag: 'claims' })
    const grant = await patient.grants.create({
      to: insurer.address,
      tag: 'claims',
      purpose: 'HPAYMT',
      expiresIn: '90d',
      threshold: 2,
    })
    const after = await patient.records.put('claim 2: physiotherapy', { tag: 'claims' })

    const listed = await insurer.grants.records(grant.id)
    expect(listed.map((r) => r.id)).toEqual([before.id, after.id])
    expect(listed[0]).toMatchObject({ owner: patient.address, chainTag: before.chainTag })
    for (const id of [labs.id, untagged.id, foreign.id]) expect(listed.map((r) => r.id)).not.toContain(id)
    expect(await Promise.all(listed.map(async (r) => text(await insurer.records.get(r.id))))).toEqual([
      'claim 1: MRI',
      'claim 2: physiotherapy',
    ])
    // The patient sees the same list for the grant it gave.
    expect((await patient.grants.records(grant.id)).map((r) => r.id)).toEqual([before.id, after.id])

    // Revoked: it covers nothing any more.
    await patient.grants.revoke(grant.id)
    await expect(insurer.grants.records(grant.id)).rejects.toBeInstanceOf(GrantRevokedError)
  })

  test('behavior: records-list and all-records grants list exactly their records', async () => {
    const mine = await Promise.all([
      otherPatient.records.put('a', { tag: 'x' }),
      otherPatient.records.put('b'),
      otherPatient.records.put('c', { tag: 'y' }),
    ])
    const list = await otherPatient.grants.create({
      to: insurer.address,
      records: [mine[2].id, mine[0].id],
      purpose: 'HPAYMT',
      expiresIn: '1d',
    })
    expect((await insurer.grants.records(list.id)).map((r) => r.id).sort()).toEqual(
      [mine[0].id, mine[2].id].sort(),
    )
    const one = await otherPatient.grants.create({
      to: insurer.address,
      records: [mine[1].id],
      purpose: 'HPAYMT',
      expiresIn: '1d',
    })
    expect(await insurer.grants.records(one.id)).toEqual([
      expect.objectContaining({ id: mine[1].id, chainTag: undefined }),
    ])
    const all = await otherPatient.grants.create({
      to: insurer.address,
      all: true,
      purpose: 'TREAT',
      expiresIn: '1d',
    })
    const ids = (await insurer.grants.records(all.id)).map((r) => r.id)
    for (const r of mine) expect(ids).toContain(r.id)
    expect(ids.length).toBe(4) // the three above and the foreign claim of the first test
  })

  test('error: an unknown grant, and an expired one', async () => {
    const unknown = `0x${'ab'.repeat(32)}` as const
    await expect(insurer.grants.records(unknown)).rejects.toBeInstanceOf(GrantNotFoundError)
    const grant = await patient.grants.create({
      to: insurer.address,
      tag: 'claims',
      purpose: 'HPAYMT',
      expiresIn: '1h',
    })
    expect((await insurer.grants.records(grant.id)).length).toBe(2)
    await net.devnet.testClient.increaseTime({ seconds: 3601 })
    await net.devnet.testClient.mine({ blocks: 1 })
    await expect(insurer.grants.records(grant.id)).rejects.toBeInstanceOf(GrantExpiredError)
    await expect(insurer.grants.records('0x12' as `0x${string}`)).rejects.toMatchInlineSnapshot(
      `[InvalidOptionError: Invalid option \`grantId\`: expected a grant id: 0x and 64 hex digits.]`,
    )
  })
})
