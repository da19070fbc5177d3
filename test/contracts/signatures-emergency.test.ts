import {
  consentRegistryAbi,
  eip712DomainInfo,
  grantTypes,
  purposeOfUse,
  revokeTypes,
  scopeKind,
} from '@medvault/contracts'
import { type Account, domainSeparator, getAddress, type Hex, zeroAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type ContractsDevnet,
  cid,
  createContractsDevnet,
  type GrantParams,
  id,
  revertOf,
  setUpProxies,
  zeroHash,
} from './devnet.ts'

let devnet: ContractsDevnet
let setId: number
let t0: number
const { TREAT, ETREAT } = purposeOfUse

beforeAll(async () => {
  devnet = await createContractsDevnet()
  setId = await setUpProxies(devnet)
  t0 = await devnet.now()
  const alice = devnet.as(devnet.accounts[1]!)
  await devnet.mined(
    alice.consent.write.registerRecords([
      alice.account.address,
      [
        { recordId: id('s1'), tag: '0x0000000000000000', cid: cid('s1') },
        { recordId: id('s2'), tag: '0x0000000000000000', cid: cid('s2') },
      ],
    ]),
  )
})
afterAll(async () => {
  await devnet?.stop()
})

const alice = () => devnet.accounts[1]!
const bob = () => devnet.accounts[2]!
const carol = () => devnet.accounts[3]!
const relayer = () => devnet.as(devnet.accounts[4]!)

function params(salt: string, overrides: Partial<GrantParams> = {}): GrantParams {
  return {
    grantee: bob().address,
    scopeKind: scopeKind.record,
    scopeTarget: id('s1'),
    records: [],
    purpose: TREAT,
    notBefore: 0,
    expiry: t0 + 30 * 24 * 3600,
    threshold: 1,
    proxySetId: setId,
    salt: id(salt),
    kfragsCid: cid(`kfrags ${salt}`),
    ...overrides,
  }
}

const domain = () => ({
  ...eip712DomainInfo,
  chainId: devnet.publicClient.chain.id,
  verifyingContract: devnet.addresses.consentRegistry,
})

async function signGrant(signer: Account, grantor: Hex, p: GrantParams, nonce: bigint, deadline: bigint) {
  return devnet.walletOf(signer).signTypedData({
    domain: domain(),
    types: grantTypes,
    primaryType: 'Grant',
    message: { grantor, ...p, nonce, deadline },
  })
}

async function signRevoke(signer: Account, grantId: Hex, nonce: bigint, deadline: bigint) {
  return devnet.walletOf(signer).signTypedData({
    domain: domain(),
    types: revokeTypes,
    primaryType: 'Revoke',
    message: { grantId, nonce, deadline },
  })
}

describe('ConsentRegistry EIP-712', () => {
  test('default: the domain matches EIP-5267 and viem', async () => {
    const r = relayer()
    const [, name, version, chainId, verifyingContract] = await r.consent.read.eip712Domain()
    expect({ name, version, chainId, verifyingContract }).toEqual({
      name: 'MedVault',
      version: '1',
      chainId: BigInt(devnet.publicClient.chain.id),
      verifyingContract: devnet.addresses.consentRegistry,
    })
    expect(await r.consent.read.DOMAIN_SEPARATOR()).toBe(domainSeparator({ domain: domain() }))
  })

  test('default: a relayer submits a patient-signed grant and revocation; the patient pays nothing', async () => {
    const r = relayer()
    const deadline = BigInt(t0 + 3600)
    const p = params('sig grant')
    const balance = await devnet.publicClient.getBalance({ address: alice().address })
    const signature = await signGrant(alice(), alice().address, p, 0n, deadline)
    await devnet.mined(
      r.consent.write.grantBySig([alice().address, p, alice().address, 0n, deadline, signature]),
    )
    const grantId = await r.consent.read.grantIdOf([alice().address, id('sig grant')])
    expect((await r.consent.read.getGrant([grantId])).grantor).toBe(alice().address)
    expect(await r.consent.read.isAccessAllowed([grantId, id('s1'), bob().address, TREAT])).toBe(true)
    expect(await r.consent.read.nonces([alice().address])).toBe(1n)

    // Replaying the same signature: the nonce is used.
    expect(
      await revertOf(
        r.consent.simulate.grantBySig([alice().address, p, alice().address, 0n, deadline, signature], {
          account: r.account,
        }),
      ),
    ).toEqual({ errorName: 'InvalidNonce', args: [alice().address, 1n, 0n] })

    const revokeSig = await signRevoke(alice(), grantId, 1n, deadline)
    await devnet.mined(r.consent.write.revokeBySig([grantId, alice().address, 1n, deadline, revokeSig]))
    expect(await r.consent.read.isAccessAllowed([grantId, id('s1'), bob().address, TREAT])).toBe(false)
    const [revoked] = await r.consent.getEvents.AccessRevoked({ grantId }, { fromBlock: 0n })
    expect(revoked?.args.revokedBy).toBe(alice().address)
    expect(
      await revertOf(
        r.consent.simulate.revokeBySig([grantId, alice().address, 1n, deadline, revokeSig], {
          account: r.account,
        }),
      ),
    ).toEqual({ errorName: 'InvalidNonce', args: [alice().address, 2n, 1n] })
    expect(await devnet.publicClient.getBalance({ address: alice().address })).toBe(balance)
  })

  test('error: expired deadline, bad nonce, wrong signer, tampered terms, zero signer, malformed signature', async () => {
    const r = relayer()
    const a = { account: r.account }
    const nonce = await r.consent.read.nonces([alice().address])
    const deadline = BigInt(t0 + 3600)
    const p = params('sig errors')
    const submit = (grantor: Hex, terms: GrantParams, signer: Hex, n: bigint, d: bigint, sig: Hex) =>
      revertOf(r.consent.simulate.grantBySig([grantor, terms, signer, n, d, sig], a))

    const stale = BigInt((await devnet.now()) - 1)
    const expired = await submit(
      alice().address,
      p,
      alice().address,
      nonce,
      stale,
      await signGrant(alice(), alice().address, p, nonce, stale),
    )
    expect(expired.errorName).toBe('SignatureExpired')
    expect(expired.args[0]).toBe(stale)

    const ahead = await signGrant(alice(), alice().address, p, nonce + 5n, deadline)
    expect(await submit(alice().address, p, alice().address, nonce + 5n, deadline, ahead)).toEqual({
      errorName: 'InvalidNonce',
      args: [alice().address, nonce, nonce + 5n],
    })

    const byCarol = await signGrant(carol(), alice().address, p, nonce, deadline)
    expect(await submit(alice().address, p, alice().address, nonce, deadline, byCarol)).toEqual({
      errorName: 'InvalidSignature',
      args: [alice().address],
    })

    const good = await signGrant(alice(), alice().address, p, nonce, deadline)
    expect(
      await submit(
        alice().address,
        { ...p, grantee: carol().address },
        alice().address,
        nonce,
        deadline,
        good,
      ),
    ).toEqual({ errorName: 'InvalidSignature', args: [alice().address] })
    expect(await submit(alice().address, p, alice().address, nonce, deadline + 1n, good)).toEqual({
      errorName: 'InvalidSignature',
      args: [alice().address],
    })
    expect(await submit(alice().address, p, zeroAddress, nonce, deadline, good)).toEqual({
      errorName: 'ZeroAddress',
      args: ['signer'],
    })
    expect(await submit(zeroAddress, p, alice().address, nonce, deadline, good)).toEqual({
      errorName: 'ZeroAddress',
      args: ['grantor'],
    })
    expect(
      await submit(alice().address, p, alice().address, nonce, deadline, good.slice(0, 130) as Hex),
    ).toEqual({
      errorName: 'InvalidSignature',
      args: [alice().address],
    })
    // The malleable twin (s' = n - s, v flipped) of a valid signature is refused.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const s = BigInt(`0x${good.slice(66, 130)}`)
    const v = Number.parseInt(good.slice(130), 16)
    const twin =
      `${good.slice(0, 66)}${(n - s).toString(16).padStart(64, '0')}${(v === 27 ? 28 : 27).toString(16)}` as Hex
    expect(await submit(alice().address, p, alice().address, nonce, deadline, twin)).toEqual({
      errorName: 'InvalidSignature',
      args: [alice().address],
    })
    // A valid signature of someone who may not grant for alice.
    const carolNonce = await r.consent.read.nonces([carol().address])
    const carolSigned = await signGrant(carol(), alice().address, p, carolNonce, deadline)
    expect(await submit(alice().address, p, carol().address, carolNonce, deadline, carolSigned)).toEqual({
      errorName: 'Unauthorized',
      args: [carol().address, alice().address, 2],
    })
  })

  test('behavior: a grant delegate signs for the patient with its own nonce', async () => {
    const r = relayer()
    const guardian = devnet.accounts[5]!
    const term = (await devnet.now()) + 3600
    await devnet.mined(devnet.as(alice()).consent.write.appointDelegate([guardian.address, 2 | 4, term]))
    const deadline = BigInt(t0 + 3600)
    // Signed, but lasting past the guardian's term: refused however it is submitted.
    const long = params('guardian signed too long')
    const longSig = await signGrant(guardian, alice().address, long, 0n, deadline)
    expect(
      await revertOf(
        r.consent.simulate.grantBySig([alice().address, long, guardian.address, 0n, deadline, longSig], {
          account: r.account,
        }),
      ),
    ).toEqual({ errorName: 'GrantOutlivesDelegation', args: [guardian.address, long.expiry, term] })
    const p = params('guardian signed', { expiry: term })
    const signature = await signGrant(guardian, alice().address, p, 0n, deadline)
    await devnet.mined(
      r.consent.write.grantBySig([alice().address, p, guardian.address, 0n, deadline, signature]),
    )
    const grantId = await r.consent.read.grantIdOf([alice().address, id('guardian signed')])
    expect((await r.consent.read.getGrant([grantId])).grantor).toBe(alice().address)
    expect(await r.consent.read.nonces([guardian.address])).toBe(1n)

    const revokeSig = await signRevoke(guardian, grantId, 1n, deadline)
    await devnet.mined(r.consent.write.revokeBySig([grantId, guardian.address, 1n, deadline, revokeSig]))
    expect((await r.consent.read.getGrant([grantId])).flags & 1).toBe(1)
  })

  test('error: revokeBySig with an expired deadline, a wrong signer or an unauthorised signer', async () => {
    const r = relayer()
    const a = { account: r.account }
    await devnet.mined(devnet.as(alice()).consent.write.grant([params('revoke sig errors')]))
    const grantId = await r.consent.read.grantIdOf([alice().address, id('revoke sig errors')])
    const nonce = await r.consent.read.nonces([alice().address])
    const stale = BigInt((await devnet.now()) - 1)
    const expired = await revertOf(
      r.consent.simulate.revokeBySig(
        [grantId, alice().address, nonce, stale, await signRevoke(alice(), grantId, nonce, stale)],
        a,
      ),
    )
    expect(expired.errorName).toBe('SignatureExpired')
    const deadline = BigInt(t0 + 3600)
    expect(
      await revertOf(
        r.consent.simulate.revokeBySig(
          [grantId, alice().address, nonce, deadline, await signRevoke(bob(), grantId, nonce, deadline)],
          a,
        ),
      ),
    ).toEqual({ errorName: 'InvalidSignature', args: [alice().address] })
    const bobNonce = await r.consent.read.nonces([bob().address])
    expect(
      await revertOf(
        r.consent.simulate.revokeBySig(
          [grantId, bob().address, bobNonce, deadline, await signRevoke(bob(), grantId, bobNonce, deadline)],
          a,
        ),
      ),
    ).toEqual({ errorName: 'Unauthorized', args: [bob().address, alice().address, 4] })
  })
})

describe('ConsentRegistry ERC-1271 signers', () => {
  // Hand-assembled runtime code: a "wallet" whose isValidSignature answers the magic value 0x1626ba7e for
  // anything, and one that answers zero. They stand in for smart-contract wallets (e.g. a Safe).
  const approving = '0x631626ba7e60e01b60005260206000f3' as const
  const refusing = '0x60206000f3' as const

  test('behavior: a contract signer is checked with isValidSignature', async () => {
    const r = relayer()
    const wallet = getAddress('0x00000000000000000000000000000000000a11ce')
    const deadline = BigInt(t0 + 3600)
    await devnet.testClient.setCode({ address: wallet, bytecode: approving })
    // The wallet registers a record (impersonated: it has no key), then grants over it by "signature".
    await devnet.testClient.impersonateAccount({ address: wallet })
    await devnet.testClient.setBalance({ address: wallet, value: 10n ** 18n })
    const walletClient = devnet.walletOf({ address: wallet, type: 'json-rpc' })
    await devnet.mined(
      walletClient.writeContract({
        address: devnet.addresses.consentRegistry,
        abi: consentRegistryAbi,
        functionName: 'registerRecord',
        args: [id('wallet record'), '0x0000000000000000', cid('wallet record')],
      }),
    )
    await devnet.testClient.stopImpersonatingAccount({ address: wallet })
    const p = params('wallet grant', { scopeTarget: id('wallet record') })
    await devnet.mined(r.consent.write.grantBySig([wallet, p, wallet, 0n, deadline, '0x1234']))
    const grantId = await r.consent.read.grantIdOf([wallet, id('wallet grant')])
    expect((await r.consent.read.getGrant([grantId])).grantor).toBe(wallet)
    expect(await r.consent.read.nonces([wallet])).toBe(1n)

    const refuser = getAddress('0x00000000000000000000000000000000000b0b00')
    await devnet.testClient.setCode({ address: refuser, bytecode: refusing })
    expect(
      await revertOf(
        r.consent.simulate.grantBySig([refuser, params('refused'), refuser, 0n, deadline, '0x1234'], {
          account: r.account,
        }),
      ),
    ).toEqual({ errorName: 'InvalidSignature', args: [refuser] })
  })
})

describe('ConsentRegistry break-glass', () => {
  async function authorize(salt: string, maxDuration = 3600, overrides: Partial<GrantParams> = {}) {
    const a = devnet.as(alice())
    const p = params(salt, {
      grantee: carol().address,
      purpose: ETREAT,
      scopeKind: scopeKind.all,
      scopeTarget: zeroHash,
      ...overrides,
    })
    await devnet.mined(a.consent.write.authorizeBreakGlass([alice().address, p, maxDuration]))
    return a.consent.read.grantIdOf([alice().address, id(salt)])
  }

  test('default: dormant until the glass is broken; time-boxed, evented with who/which/why, endable by the patient', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const grantId = await authorize('er')
    expect((await a.consent.read.getGrant([grantId])).flags).toBe(2)
    expect(await a.consent.read.breakGlassDuration([grantId])).toBe(3600)
    expect(await a.consent.read.isAccessAllowed([grantId, id('s1'), carol().address, ETREAT])).toBe(false)
    expect(await revertOf(a.consent.read.checkAccess([grantId, id('s1'), carol().address, ETREAT]))).toEqual({
      errorName: 'EmergencyAccessNotActive',
      args: [grantId, id('s1')],
    })

    const receipt = await devnet.mined(
      c.consent.write.breakGlass([grantId, id('s1'), 'unconscious on arrival, ER']),
    )
    const started = await a.consent.getEvents.EmergencyAccessStarted(
      { grantor: alice().address },
      { fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber },
    )
    const block = await devnet.publicClient.getBlock({ blockNumber: receipt.blockNumber })
    expect(started[0]?.args).toEqual({
      grantor: alice().address,
      grantee: carol().address,
      recordId: id('s1'),
      grantId,
      endsAt: Number(block.timestamp) + 3600,
      reason: 'unconscious on arrival, ER',
    })
    expect(await a.consent.read.emergencyAccessEndsAt([grantId, id('s1')])).toBe(
      Number(block.timestamp) + 3600,
    )
    expect(await a.consent.read.isAccessAllowed([grantId, id('s1'), carol().address, ETREAT])).toBe(true)
    // Per record: breaking the glass for s1 does not open s2.
    expect(await a.consent.read.isAccessAllowed([grantId, id('s2'), carol().address, ETREAT])).toBe(false)

    const ended = await devnet.mined(a.consent.write.endEmergencyAccess([grantId, id('s1')]))
    expect(await a.consent.read.isAccessAllowed([grantId, id('s1'), carol().address, ETREAT])).toBe(false)
    const endEvents = await a.consent.getEvents.EmergencyAccessEnded(
      { grantor: alice().address },
      { fromBlock: ended.blockNumber, toBlock: ended.blockNumber },
    )
    expect(endEvents[0]?.args).toEqual({
      grantor: alice().address,
      recordId: id('s1'),
      grantId,
      endedBy: alice().address,
    })
    expect(
      await revertOf(a.consent.simulate.endEmergencyAccess([grantId, id('s1')], { account: alice() })),
    ).toEqual({
      errorName: 'EmergencyAccessNotActive',
      args: [grantId, id('s1')],
    })
  })

  test('behavior: an emergency access lapses at its time box', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const grantId = await authorize('er lapses', 600)
    await devnet.mined(c.consent.write.breakGlass([grantId, id('s2'), 'stroke alert']))
    expect(await a.consent.read.isAccessAllowed([grantId, id('s2'), carol().address, ETREAT])).toBe(true)
    await devnet.advance(700)
    expect(await a.consent.read.isAccessAllowed([grantId, id('s2'), carol().address, ETREAT])).toBe(false)
    t0 = await devnet.now()
  })

  test('error: every misuse of break-glass reverts with its reason', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const asCarol = { account: carol() }
    const grantId = await authorize('er errors')
    expect(
      await revertOf(a.consent.simulate.breakGlass([grantId, id('s1'), 'curious'], { account: bob() })),
    ).toEqual({
      errorName: 'NotGrantee',
      args: [grantId, bob().address],
    })
    expect(await revertOf(c.consent.simulate.breakGlass([grantId, id('s1'), ''], asCarol))).toEqual({
      errorName: 'InvalidReasonLength',
      args: [0n, 256n],
    })
    expect(
      await revertOf(c.consent.simulate.breakGlass([grantId, id('s1'), 'x'.repeat(257)], asCarol)),
    ).toEqual({
      errorName: 'InvalidReasonLength',
      args: [257n, 256n],
    })
    expect(await revertOf(c.consent.simulate.breakGlass([grantId, id('nowhere'), 'why'], asCarol))).toEqual({
      errorName: 'RecordNotFound',
      args: [id('nowhere')],
    })
    expect(await revertOf(c.consent.simulate.breakGlass([id('no grant'), id('s1'), 'why'], asCarol))).toEqual(
      {
        errorName: 'GrantNotFound',
        args: [id('no grant')],
      },
    )
    await devnet.mined(a.consent.write.grant([params('plain', { grantee: carol().address })]))
    const plain = await a.consent.read.grantIdOf([alice().address, id('plain')])
    expect(await revertOf(c.consent.simulate.breakGlass([plain, id('s1'), 'why'], asCarol))).toEqual({
      errorName: 'NotBreakGlassGrant',
      args: [plain],
    })
    const narrow = await authorize('er narrow', 3600, { scopeKind: scopeKind.record, scopeTarget: id('s1') })
    expect(await revertOf(c.consent.simulate.breakGlass([narrow, id('s2'), 'why'], asCarol))).toEqual({
      errorName: 'RecordOutOfScope',
      args: [narrow, id('s2')],
    })
    await devnet.mined(a.consent.write.revoke([narrow]))
    expect(await revertOf(c.consent.simulate.breakGlass([narrow, id('s1'), 'why'], asCarol))).toEqual({
      errorName: 'GrantRevoked',
      args: [narrow],
    })
    await devnet.mined(c.consent.write.breakGlass([grantId, id('s1'), 'chest pain']))
    expect(
      await revertOf(a.consent.simulate.endEmergencyAccess([grantId, id('s1')], { account: bob() })),
    ).toEqual({
      errorName: 'Unauthorized',
      args: [bob().address, alice().address, 4],
    })
    expect(
      await revertOf(a.consent.simulate.endEmergencyAccess([id('no grant'), id('s1')], { account: alice() })),
    ).toEqual({ errorName: 'GrantNotFound', args: [id('no grant')] })
    // The grantee may end its own access early.
    await devnet.mined(c.consent.write.endEmergencyAccess([grantId, id('s1')]))

    const p = params('er bad', { grantee: carol().address, purpose: ETREAT })
    expect(
      await revertOf(a.consent.simulate.authorizeBreakGlass([alice().address, p, 0], { account: alice() })),
    ).toEqual({ errorName: 'InvalidBreakGlassDuration', args: [0, 604800] })
    expect(
      await revertOf(
        a.consent.simulate.authorizeBreakGlass([alice().address, p, 604801], { account: alice() }),
      ),
    ).toEqual({ errorName: 'InvalidBreakGlassDuration', args: [604801, 604800] })
    expect(
      await revertOf(a.consent.simulate.authorizeBreakGlass([alice().address, p, 60], { account: bob() })),
    ).toEqual({ errorName: 'Unauthorized', args: [bob().address, alice().address, 2] })
    expect(
      await revertOf(a.consent.simulate.authorizeBreakGlass([zeroAddress, p, 60], { account: bob() })),
    ).toEqual({
      errorName: 'ZeroAddress',
      args: ['grantor'],
    })

    // Not yet valid, then expired.
    const start = (await devnet.now()) + 500
    const later = await authorize('er later', 3600, { notBefore: start, expiry: start + 500 })
    expect(await revertOf(c.consent.simulate.breakGlass([later, id('s1'), 'why'], asCarol))).toEqual({
      errorName: 'GrantNotYetValid',
      args: [later, start],
    })
    await devnet.advance(1200)
    expect(await revertOf(c.consent.simulate.breakGlass([later, id('s1'), 'why'], asCarol))).toEqual({
      errorName: 'GrantExpired',
      args: [later, start + 500],
    })
  })
})
