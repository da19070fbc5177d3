/**
 * Break-glass through the SDK on a local network (real anvil, Helia, HTTP proxies): the patient pre-authorises
 * emergency access, the grantee reads only inside a window it opened, outsiders and closed windows are refused,
 * the patient halts and re-authorises, and the audit trail shows every window.
 */
import {
  BreakGlassRefusedError,
  createLocalNetwork,
  EmergencyAccessClosedError,
  InvalidOptionError,
  type LocalNetwork,
  NoGrantError,
  type Vault,
} from '@medvault/sdk'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

let net: LocalNetwork
let patient: Vault
let clinic: Vault
let outsider: Vault

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 3 })
  ;[patient, clinic, outsider] = await Promise.all([net.vault(0), net.vault(1), net.vault(2)])
})

afterAll(async () => {
  await net?.stop()
})

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)

async function advance(seconds: number): Promise<void> {
  await net.devnet.testClient.increaseTime({ seconds })
  await net.devnet.testClient.mine({ blocks: 1 })
}

describe('break-glass', () => {
  test('default: read only inside a window the grantee opened; the audit shows the window', async () => {
    const record = await patient.records.put('allergies: penicillin', { tag: 'allergies' })
    const grant = await patient.breakGlass.authorize({
      to: clinic.address,
      records: [record.id],
      purpose: 'ETREAT',
      expiresIn: '30d',
      maxWindow: '1h',
      threshold: 2,
    })
    expect(grant.breakGlass).toEqual({ maxDuration: 3600 })
    expect(grant.active).toBe(true)
    const received = await clinic.grants.list({ received: true })
    expect(received.find((g) => g.id === grant.id)?.breakGlass).toEqual({ maxDuration: 3600 })

    // Dormant until a window opens.
    await expect(clinic.records.get(record.id)).rejects.toBeInstanceOf(EmergencyAccessClosedError)
    expect(await clinic.breakGlass.status({ grant: grant.id, record: record.id })).toMatchObject({
      open: false,
      endsAt: 0,
      halted: false,
      maxWindow: 3600,
      windowsOpened: 0,
    })

    // Only the grantee opens one; an outsider holds no grant either.
    const refused = await outsider.breakGlass
      .open({ grant: grant.id, record: record.id, reason: 'ETREAT' })
      .catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(BreakGlassRefusedError)
    expect((refused as BreakGlassRefusedError).reason).toBe('not-grantee')
    await expect(outsider.records.get(record.id)).rejects.toBeInstanceOf(NoGrantError)

    const events: string[] = []
    const window = await clinic.breakGlass.open({
      grant: grant.id,
      record: record.id,
      reason: 'ETREAT',
      onProgress: (e) => events.push(e.type),
    })
    expect(events).toContain('chain:transaction')
    expect(window).toMatchObject({
      grantId: grant.id,
      recordId: record.id,
      grantor: patient.address,
      grantee: clinic.address,
      window: 1,
      reason: 'ETREAT',
    })
    expect(window.endsAt - window.startedAt).toBe(3600)
    expect(text(await clinic.records.get(record.id, { purpose: 'ETREAT' }))).toBe('allergies: penicillin')
    expect((await clinic.breakGlass.status({ grant: grant.id, record: record.id })).open).toBe(true)

    // A second window on the same record while one runs is refused.
    const again = await clinic.breakGlass
      .open({ grant: grant.id, record: record.id })
      .catch((e: unknown) => e)
    expect((again as BreakGlassRefusedError).reason).toBe('already-open')

    // The patient sees the window, and the read under it.
    const trail = await patient.audit.list({ grant: grant.id })
    const glass = trail.filter((e) => e.kind === 'break-glass')
    expect(glass).toEqual([
      expect.objectContaining({
        grantId: grant.id,
        recordId: record.id,
        grantee: clinic.address,
        reason: 'ETREAT',
        startedAt: window.startedAt,
        endsAt: window.endsAt,
        endedAt: undefined,
      }),
    ])
    expect(trail.filter((e) => e.kind === 'read').length).toBeGreaterThanOrEqual(2)
    expect(await patient.breakGlass.list({ grant: grant.id })).toEqual([
      expect.objectContaining({ window: 1, grantee: clinic.address, endsAt: window.endsAt }),
    ])
    expect((await clinic.breakGlass.list({ as: 'grantee' })).map((w) => w.grantId)).toContain(grant.id)

    // Once the window has run out, the read is refused again (chain time).
    await advance(3601)
    await expect(clinic.records.get(record.id)).rejects.toBeInstanceOf(EmergencyAccessClosedError)
    expect((await clinic.breakGlass.status({ grant: grant.id, record: record.id })).open).toBe(false)
  })

  test('behavior: the patient ends a window and halts the record until re-authorising it', async () => {
    const record = await patient.records.put('discharge letter', { tag: 'letters' })
    const grant = await patient.breakGlass.authorize({
      to: clinic.address,
      tag: 'letters',
      purpose: 'BTG',
      expiresIn: '7d',
      maxWindow: '30m',
    })
    await clinic.breakGlass.open({ grant: grant.id, record: record.id, reason: 'BTG' })
    expect(text(await clinic.records.get(record.id))).toBe('discharge letter')

    await patient.breakGlass.end({ grant: grant.id, record: record.id })
    await expect(clinic.records.get(record.id)).rejects.toBeInstanceOf(EmergencyAccessClosedError)
    expect((await clinic.breakGlass.status({ grant: grant.id, record: record.id })).halted).toBe(true)
    const halted = await clinic.breakGlass
      .open({ grant: grant.id, record: record.id })
      .catch((e: unknown) => e)
    expect((halted as BreakGlassRefusedError).reason).toBe('halted')
    const [ended] = await patient.breakGlass.list({ grant: grant.id })
    expect(ended?.endedBy).toBe(patient.address)
    expect(ended?.endedAt).toBeGreaterThanOrEqual(ended?.startedAt ?? Number.POSITIVE_INFINITY)

    // Only the patient lifts the halt.
    const lift = await clinic.breakGlass
      .reauthorize({ grant: grant.id, record: record.id })
      .catch((e: unknown) => e)
    expect((lift as BreakGlassRefusedError).reason).toBe('not-allowed')
    await patient.breakGlass.reauthorize({ grant: grant.id, record: record.id })
    const second = await clinic.breakGlass.open({ grant: grant.id, record: record.id, reason: 'BTG' })
    expect(second.window).toBe(2)
    expect(text(await clinic.records.get(record.id))).toBe('discharge letter')

    // The grantee closes its own window early: no halt, but the read is refused.
    await clinic.breakGlass.end({ grant: grant.id, record: record.id })
    await expect(clinic.records.get(record.id)).rejects.toBeInstanceOf(EmergencyAccessClosedError)
    expect((await clinic.breakGlass.status({ grant: grant.id, record: record.id })).halted).toBe(false)
  })

  test('behavior: a record outside the grant and a plain grant are refused with their reason', async () => {
    const inScope = await patient.records.put('in scope', { tag: 'cardio' })
    const other = await patient.records.put('out of scope', { tag: 'derm' })
    const grant = await patient.breakGlass.authorize({
      to: clinic.address,
      tag: 'cardio',
      purpose: 'ETREAT',
      expiresIn: '1d',
      maxWindow: 600,
    })
    const out = await clinic.breakGlass.open({ grant: grant.id, record: other.id }).catch((e: unknown) => e)
    expect((out as BreakGlassRefusedError).reason).toBe('record-out-of-scope')
    const plain = await patient.grants.create({
      to: clinic.address,
      records: [inScope.id],
      purpose: 'TREAT',
      expiresIn: '1d',
    })
    expect(plain.breakGlass).toBeUndefined()
    const notGlass = await clinic.breakGlass
      .open({ grant: plain.id, record: inScope.id })
      .catch((e: unknown) => e)
    expect((notGlass as BreakGlassRefusedError).reason).toBe('not-break-glass')
    await expect(clinic.breakGlass.status({ grant: plain.id, record: inScope.id })).rejects.toMatchObject({
      name: 'BreakGlassRefusedError',
      reason: 'not-break-glass',
    })
  })

  test('error: bad terms are refused before anything is stored or sent', async () => {
    const record = await patient.records.put('x')
    await expect(
      patient.breakGlass.authorize({
        to: clinic.address,
        records: [record.id],
        purpose: 'ETREAT',
        expiresIn: '1d',
        maxWindow: '8d',
      }),
    ).rejects.toBeInstanceOf(InvalidOptionError)
    await expect(
      clinic.breakGlass.open({ grant: '0x1234', record: record.id }),
    ).rejects.toMatchInlineSnapshot(
      `[InvalidOptionError: Invalid option \`grant\`: expected a grant id: 0x and 64 hex digits.]`,
    )
  })
})
