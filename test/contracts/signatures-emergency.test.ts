import {
  consentRegistryAbi,
  eip712DomainInfo,
  grantTypes,
  purposeOfUse,
  revokeTypes,
  scopeKind,
} from '@medvault/contracts'
import {
  type Account,
  domainSeparator,
  getAddress,
  type Hex,
  parseSignature,
  serializeCompactSignature,
  signatureToCompactSignature,
  zeroAddress,
} from 'viem'
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
const { TREAT, ETREAT, BTG } = purposeOfUse

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

/** A signed Grant has no nonce: its salt is its single-use nonce (the grant id it makes exists only once). */
async function signGrant(signer: Account, grantor: Hex, p: GrantParams, deadline: bigint) {
  return devnet.walletOf(signer).signTypedData({
    domain: domain(),
    types: grantTypes,
    primaryType: 'Grant',
    message: { grantor, signer: signer.address as Hex, ...p, deadline },
  })
}

/** The 64-byte EIP-2098 form (r, yParity ‖ s) of a 65-byte signature. */
function compact(signature: Hex): Hex {
  return serializeCompactSignature(signatureToCompactSignature(parseSignature(signature)))
}

async function signRevoke(signer: Account, grantId: Hex, nonce: bigint, deadline: bigint) {
  return devnet.walletOf(signer).signTypedData({
    domain: domain(),
    types: revokeTypes,
    primaryType: 'Revoke',
    message: { signer: signer.address as Hex, grantId, nonce, deadline },
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
    const a = { account: r.account }
    const deadline = BigInt(t0 + 3600)
    const p = params('sig grant')
    const balance = await devnet.publicClient.getBalance({ address: alice().address })
    const revokeNonce = await r.consent.read.nonces([alice().address])
    const signature = await signGrant(alice(), alice().address, p, deadline)
    await devnet.mined(r.consent.write.grantBySig([alice().address, p, alice().address, deadline, signature]))
    const grantId = await r.consent.read.grantIdOf([alice().address, id('sig grant')])
    expect((await r.consent.read.getGrant([grantId])).grantor).toBe(alice().address)
    expect(await r.consent.read.isAccessAllowed([grantId, id('s1'), bob().address, TREAT])).toBe(true)
    // A signed grant consumes no nonce: the revocation nonce is untouched.
    expect(await r.consent.read.nonces([alice().address])).toBe(revokeNonce)

    // Replaying the same signature, in either encoding: the salt (its nonce) made a grant id that exists.
    for (const replay of [signature, compact(signature)]) {
      expect(
        await revertOf(
          r.consent.simulate.grantBySig([alice().address, p, alice().address, deadline, replay], a),
        ),
      ).toEqual({ errorName: 'GrantAlreadyExists', args: [grantId] })
    }

    const revokeSig = await signRevoke(alice(), grantId, revokeNonce, deadline)
    await devnet.mined(
      r.consent.write.revokeBySig([grantId, alice().address, revokeNonce, deadline, revokeSig]),
    )
    expect(await r.consent.read.isAccessAllowed([grantId, id('s1'), bob().address, TREAT])).toBe(false)
    const [revoked] = await r.consent.getEvents.AccessRevoked({ grantId }, { fromBlock: 0n })
    expect(revoked?.args.revokedBy).toBe(alice().address)
    expect(
      await revertOf(
        r.consent.simulate.revokeBySig([grantId, alice().address, revokeNonce, deadline, revokeSig], a),
      ),
    ).toEqual({ errorName: 'InvalidNonce', args: [alice().address, revokeNonce + 1n, revokeNonce] })
    // Even with the nonce left aside, the grant stays revoked (and stays in the record): replaying the grant
    // signature after the revocation cannot bring it back.
    expect(
      await revertOf(
        r.consent.simulate.grantBySig([alice().address, p, alice().address, deadline, signature], a),
      ),
    ).toEqual({ errorName: 'GrantAlreadyExists', args: [grantId] })
    expect(await devnet.publicClient.getBalance({ address: alice().address })).toBe(balance)
  })

  test('behavior: signatures are unordered (any number outstanding) and a 64-byte EIP-2098 signature is accepted', async () => {
    const r = relayer()
    const deadline = BigInt(t0 + 3600)
    const first = params('unordered 1')
    const second = params('unordered 2')
    const firstSig = await signGrant(alice(), alice().address, first, deadline)
    const secondSig = await signGrant(alice(), alice().address, second, deadline)
    // Submitted in the opposite order to signing, the second one in the compact form.
    await devnet.mined(
      r.consent.write.grantBySig([alice().address, second, alice().address, deadline, compact(secondSig)]),
    )
    await devnet.mined(
      r.consent.write.grantBySig([alice().address, first, alice().address, deadline, firstSig]),
    )
    for (const salt of ['unordered 1', 'unordered 2']) {
      const grantId = await r.consent.read.grantIdOf([alice().address, id(salt)])
      expect(await r.consent.read.isAccessAllowed([grantId, id('s1'), bob().address, TREAT])).toBe(true)
    }
  })

  test('behavior: cancelGrantSalt voids an unused signature with a tombstone that grants nothing', async () => {
    const r = relayer()
    const a = { account: r.account }
    const deadline = BigInt(t0 + 3600)
    const p = params('cancelled salt')
    const signature = await signGrant(alice(), alice().address, p, deadline)
    const grantId = await r.consent.read.grantIdOf([alice().address, id('cancelled salt')])
    const hash = await devnet
      .as(alice())
      .consent.write.cancelGrantSalt([alice().address, id('cancelled salt')])
    await devnet.mined(hash)
    const [event] = await r.consent.getEvents.GrantSaltCancelled({ grantId }, { fromBlock: 0n })
    expect(event?.args).toEqual({
      grantId,
      grantor: alice().address,
      salt: id('cancelled salt'),
      cancelledBy: alice().address,
    })
    for (const sig of [signature, compact(signature)]) {
      expect(
        await revertOf(
          r.consent.simulate.grantBySig([alice().address, p, alice().address, deadline, sig], a),
        ),
      ).toEqual({ errorName: 'GrantIdCancelled', args: [grantId] })
    }
    // Nor can the patient herself use the salt any more, and the tombstone is no grant to anyone.
    expect(await revertOf(devnet.as(alice()).consent.simulate.grant([p], { account: alice() }))).toEqual({
      errorName: 'GrantIdCancelled',
      args: [grantId],
    })
    expect(await revertOf(r.consent.read.getGrant([grantId]))).toEqual({
      errorName: 'GrantIdCancelled',
      args: [grantId],
    })
    expect(await r.consent.read.isAccessAllowed([grantId, id('s1'), zeroAddress, 0])).toBe(false)
    expect(await r.consent.read.isAccessAllowed([grantId, id('s1'), bob().address, TREAT])).toBe(false)
    expect(await revertOf(r.consent.read.checkAccess([grantId, id('s1'), zeroAddress, 0]))).toEqual({
      errorName: 'GrantIdCancelled',
      args: [grantId],
    })
    expect(
      await revertOf(devnet.as(alice()).consent.simulate.revoke([grantId], { account: alice() })),
    ).toEqual({
      errorName: 'GrantIdCancelled',
      args: [grantId],
    })
    expect(
      await revertOf(
        devnet.as(bob()).consent.simulate.breakGlass([grantId, id('s1'), BTG, zeroHash], { account: bob() }),
      ),
    ).toEqual({ errorName: 'NotBreakGlassGrant', args: [grantId] })
  })

  test('error: cancelGrantSalt by a stranger, of the zero grantor, of an existing grant, twice', async () => {
    const al = devnet.as(alice())
    await devnet.mined(al.consent.write.grant([params('cancel errors existing')]))
    const existing = await al.consent.read.grantIdOf([alice().address, id('cancel errors existing')])
    expect(
      await revertOf(
        al.consent.simulate.cancelGrantSalt([alice().address, id('cancel errors existing')], {
          account: alice(),
        }),
      ),
    ).toEqual({ errorName: 'GrantAlreadyExists', args: [existing] })
    expect(
      await revertOf(
        devnet
          .as(carol())
          .consent.simulate.cancelGrantSalt([alice().address, id('cancel errors')], { account: carol() }),
      ),
    ).toEqual({ errorName: 'Unauthorized', args: [carol().address, alice().address, 2] })
    expect(
      await revertOf(
        al.consent.simulate.cancelGrantSalt([zeroAddress, id('cancel errors')], { account: alice() }),
      ),
    ).toEqual({ errorName: 'ZeroAddress', args: ['grantor'] })
    await devnet.mined(al.consent.write.cancelGrantSalt([alice().address, id('cancel errors')]))
    const cancelled = await al.consent.read.grantIdOf([alice().address, id('cancel errors')])
    expect(
      await revertOf(
        al.consent.simulate.cancelGrantSalt([alice().address, id('cancel errors')], { account: alice() }),
      ),
    ).toEqual({ errorName: 'GrantIdCancelled', args: [cancelled] })
  })

  test('error: expired deadline, wrong signer, tampered terms, zero signer, malformed signature', async () => {
    const r = relayer()
    const a = { account: r.account }
    const deadline = BigInt(t0 + 3600)
    const p = params('sig errors')
    const submit = (grantor: Hex, terms: GrantParams, signer: Hex, d: bigint, sig: Hex) =>
      revertOf(r.consent.simulate.grantBySig([grantor, terms, signer, d, sig], a))

    const stale = BigInt((await devnet.now()) - 1)
    const expired = await submit(
      alice().address,
      p,
      alice().address,
      stale,
      await signGrant(alice(), alice().address, p, stale),
    )
    expect(expired.errorName).toBe('SignatureExpired')
    expect(expired.args[0]).toBe(stale)

    const byCarol = await signGrant(carol(), alice().address, p, deadline)
    expect(await submit(alice().address, p, alice().address, deadline, byCarol)).toEqual({
      errorName: 'InvalidSignature',
      args: [alice().address],
    })
    expect(await submit(alice().address, p, alice().address, deadline, compact(byCarol))).toEqual({
      errorName: 'InvalidSignature',
      args: [alice().address],
    })

    const good = await signGrant(alice(), alice().address, p, deadline)
    expect(
      await submit(alice().address, { ...p, grantee: carol().address }, alice().address, deadline, good),
    ).toEqual({ errorName: 'InvalidSignature', args: [alice().address] })
    // The salt is signed: a relayer cannot move a signature to another grant id.
    expect(
      await submit(
        alice().address,
        { ...p, salt: id('another salt') },
        alice().address,
        deadline,
        compact(good),
      ),
    ).toEqual({ errorName: 'InvalidSignature', args: [alice().address] })
    expect(await submit(alice().address, p, alice().address, deadline + 1n, good)).toEqual({
      errorName: 'InvalidSignature',
      args: [alice().address],
    })
    expect(await submit(alice().address, p, zeroAddress, deadline, good)).toEqual({
      errorName: 'ZeroAddress',
      args: ['signer'],
    })
    expect(await submit(zeroAddress, p, alice().address, deadline, good)).toEqual({
      errorName: 'ZeroAddress',
      args: ['grantor'],
    })
    expect(await submit(alice().address, p, alice().address, deadline, good.slice(0, 128) as Hex)).toEqual({
      errorName: 'InvalidSignature',
      args: [alice().address],
    })
    // The malleable twin (s' = n - s, v flipped) of a valid signature is refused, in both encodings.
    const n = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n
    const s = BigInt(`0x${good.slice(66, 130)}`)
    const v = Number.parseInt(good.slice(130), 16)
    const highS = (n - s).toString(16).padStart(64, '0')
    const twin = `${good.slice(0, 66)}${highS}${(v === 27 ? 28 : 27).toString(16)}` as Hex
    expect(await submit(alice().address, p, alice().address, deadline, twin)).toEqual({
      errorName: 'InvalidSignature',
      args: [alice().address],
    })
    // The twin squeezed into EIP-2098 (top bit = parity): refused too, whatever s the contract reads from it.
    const compactTwin = `${good.slice(0, 66)}${(BigInt(`0x${highS}`) | (1n << 255n)).toString(16)}` as Hex
    expect(await submit(alice().address, p, alice().address, deadline, compactTwin)).toEqual({
      errorName: 'InvalidSignature',
      args: [alice().address],
    })
    // A valid signature of someone who may not grant for alice.
    const carolSigned = await signGrant(carol(), alice().address, p, deadline)
    expect(await submit(alice().address, p, carol().address, deadline, carolSigned)).toEqual({
      errorName: 'Unauthorized',
      args: [carol().address, alice().address, 2],
    })
    // None of the refusals used the salt up: the good signature still works once.
    await devnet.mined(
      r.consent.write.grantBySig([alice().address, p, alice().address, deadline, compact(good)]),
    )
  })

  test('behavior: a grant delegate signs for the patient and can cancel what it signed', async () => {
    const r = relayer()
    const guardian = devnet.accounts[5]!
    const term = (await devnet.now()) + 3600
    await devnet.mined(devnet.as(alice()).consent.write.appointDelegate([guardian.address, 2 | 4, term]))
    const deadline = BigInt(t0 + 3600)
    // Signed, but lasting past the guardian's term: refused however it is submitted.
    const long = params('guardian signed too long')
    const longSig = await signGrant(guardian, alice().address, long, deadline)
    expect(
      await revertOf(
        r.consent.simulate.grantBySig([alice().address, long, guardian.address, deadline, longSig], {
          account: r.account,
        }),
      ),
    ).toEqual({ errorName: 'GrantOutlivesDelegation', args: [guardian.address, long.expiry, term] })
    const p = params('guardian signed', { expiry: term })
    const signature = await signGrant(guardian, alice().address, p, deadline)
    await devnet.mined(
      r.consent.write.grantBySig([alice().address, p, guardian.address, deadline, signature]),
    )
    const grantId = await r.consent.read.grantIdOf([alice().address, id('guardian signed')])
    expect((await r.consent.read.getGrant([grantId])).grantor).toBe(alice().address)

    // The guardian voids another signature it gave out; the grant id is the patient's.
    const unused = params('guardian unused', { expiry: term })
    const unusedSig = await signGrant(guardian, alice().address, unused, deadline)
    await devnet.mined(
      devnet.as(guardian).consent.write.cancelGrantSalt([alice().address, id('guardian unused')]),
    )
    const unusedId = await r.consent.read.grantIdOf([alice().address, id('guardian unused')])
    expect(
      await revertOf(
        r.consent.simulate.grantBySig([alice().address, unused, guardian.address, deadline, unusedSig], {
          account: r.account,
        }),
      ),
    ).toEqual({ errorName: 'GrantIdCancelled', args: [unusedId] })

    const revokeNonce = await r.consent.read.nonces([guardian.address])
    const revokeSig = await signRevoke(guardian, grantId, revokeNonce, deadline)
    await devnet.mined(
      r.consent.write.revokeBySig([grantId, guardian.address, revokeNonce, deadline, revokeSig]),
    )
    expect((await r.consent.read.getGrant([grantId])).flags & 1).toBe(1)
    expect(await r.consent.read.nonces([guardian.address])).toBe(revokeNonce + 1n)
  })

  test('error: revokeBySig with an expired deadline, a wrong signer, an unauthorised signer, a bad nonce, another grant', async () => {
    const r = relayer()
    const a = { account: r.account }
    await devnet.mined(devnet.as(alice()).consent.write.grant([params('revoke sig errors')]))
    await devnet.mined(devnet.as(alice()).consent.write.grant([params('revoke sig other')]))
    const grantId = await r.consent.read.grantIdOf([alice().address, id('revoke sig errors')])
    const otherId = await r.consent.read.grantIdOf([alice().address, id('revoke sig other')])
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
    const ahead = await signRevoke(alice(), grantId, nonce + 5n, deadline)
    expect(
      await revertOf(
        r.consent.simulate.revokeBySig([grantId, alice().address, nonce + 5n, deadline, ahead], a),
      ),
    ).toEqual({ errorName: 'InvalidNonce', args: [alice().address, nonce, nonce + 5n] })
    // The revocation is bound to its grant id: it cannot revoke another grant.
    const good = await signRevoke(alice(), grantId, nonce, deadline)
    expect(
      await revertOf(r.consent.simulate.revokeBySig([otherId, alice().address, nonce, deadline, good], a)),
    ).toEqual({ errorName: 'InvalidSignature', args: [alice().address] })
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
    await devnet.mined(r.consent.write.grantBySig([wallet, p, wallet, deadline, '0x1234']))
    const grantId = await r.consent.read.grantIdOf([wallet, id('wallet grant')])
    expect((await r.consent.read.getGrant([grantId])).grantor).toBe(wallet)
    // Replay protection does not depend on the signature scheme: the grant id is taken.
    expect(
      await revertOf(
        r.consent.simulate.grantBySig([wallet, p, wallet, deadline, '0x1234'], { account: r.account }),
      ),
    ).toEqual({ errorName: 'GrantAlreadyExists', args: [grantId] })

    const refuser = getAddress('0x00000000000000000000000000000000000b0b00')
    await devnet.testClient.setCode({ address: refuser, bytecode: refusing })
    // Neither a 65-byte nor a 64-byte blob that is no ECDSA signature of the refuser gets past ERC-1271.
    for (const sig of ['0x1234', `0x${'11'.repeat(64)}`, `0x${'11'.repeat(65)}`] as const) {
      expect(
        await revertOf(
          r.consent.simulate.grantBySig([refuser, params('refused'), refuser, deadline, sig], {
            account: r.account,
          }),
        ),
      ).toEqual({ errorName: 'InvalidSignature', args: [refuser] })
    }
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

  test('default: dormant until the glass is broken; time-boxed, evented with who/which/why, endable (and halted) by the patient', async () => {
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

    // The why is a code plus an opaque reference (here standing for the digest of an encrypted note kept off
    // chain): nothing in the public event can carry clinical text.
    const reasonRef = id('digest of an encrypted note')
    const receipt = await devnet.mined(c.consent.write.breakGlass([grantId, id('s1'), ETREAT, reasonRef]))
    const started = await a.consent.getEvents.EmergencyAccessStarted(
      { grantor: alice().address },
      { fromBlock: receipt.blockNumber, toBlock: receipt.blockNumber },
    )
    const block = await devnet.publicClient.getBlock({ blockNumber: receipt.blockNumber })
    expect(started[0]?.args).toEqual({
      grantId,
      recordId: id('s1'),
      grantor: alice().address,
      grantee: carol().address,
      endsAt: Number(block.timestamp) + 3600,
      window: 1,
      reasonCode: ETREAT,
      reasonRef,
    })
    // Fixed-size data only (grantee, endsAt, window, code, ref): no dynamic field where free text could hide.
    expect(started[0]?.data.length).toBe(2 + 5 * 64)
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
    // The patient's end halted the record for this grant: ending again has nothing left to do.
    expect(
      await revertOf(a.consent.simulate.endEmergencyAccess([grantId, id('s1')], { account: alice() })),
    ).toEqual({
      errorName: 'EmergencyAccessHalted',
      args: [grantId, id('s1')],
    })
  })

  test('behavior: an emergency access lapses at its time box', async () => {
    const a = devnet.as(alice())
    const c = devnet.as(carol())
    const grantId = await authorize('er lapses', 600)
    await devnet.mined(c.consent.write.breakGlass([grantId, id('s2'), BTG, zeroHash]))
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
      await revertOf(a.consent.simulate.breakGlass([grantId, id('s1'), BTG, zeroHash], { account: bob() })),
    ).toEqual({
      errorName: 'NotGrantee',
      args: [grantId, bob().address],
    })
    expect(await revertOf(c.consent.simulate.breakGlass([grantId, id('s1'), 0, zeroHash], asCarol))).toEqual({
      errorName: 'InvalidPurpose',
      args: [0],
    })
    expect(await revertOf(c.consent.simulate.breakGlass([grantId, id('s1'), 33, zeroHash], asCarol))).toEqual(
      {
        errorName: 'InvalidPurpose',
        args: [33],
      },
    )
    expect(
      await revertOf(c.consent.simulate.breakGlass([grantId, id('nowhere'), BTG, zeroHash], asCarol)),
    ).toEqual({
      errorName: 'RecordNotFound',
      args: [id('nowhere')],
    })
    expect(
      await revertOf(c.consent.simulate.breakGlass([id('no grant'), id('s1'), BTG, zeroHash], asCarol)),
    ).toEqual({
      errorName: 'GrantNotFound',
      args: [id('no grant')],
    })
    await devnet.mined(a.consent.write.grant([params('plain', { grantee: carol().address })]))
    const plain = await a.consent.read.grantIdOf([alice().address, id('plain')])
    expect(await revertOf(c.consent.simulate.breakGlass([plain, id('s1'), BTG, zeroHash], asCarol))).toEqual({
      errorName: 'NotBreakGlassGrant',
      args: [plain],
    })
    const narrow = await authorize('er narrow', 3600, { scopeKind: scopeKind.record, scopeTarget: id('s1') })
    expect(await revertOf(c.consent.simulate.breakGlass([narrow, id('s2'), BTG, zeroHash], asCarol))).toEqual(
      {
        errorName: 'RecordOutOfScope',
        args: [narrow, id('s2')],
      },
    )
    await devnet.mined(a.consent.write.revoke([narrow]))
    expect(await revertOf(c.consent.simulate.breakGlass([narrow, id('s1'), BTG, zeroHash], asCarol))).toEqual(
      {
        errorName: 'GrantRevoked',
        args: [narrow],
      },
    )
    await devnet.mined(c.consent.write.breakGlass([grantId, id('s1'), BTG, zeroHash]))
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
    expect(await revertOf(c.consent.simulate.breakGlass([later, id('s1'), BTG, zeroHash], asCarol))).toEqual({
      errorName: 'GrantNotYetValid',
      args: [later, start],
    })
    await devnet.advance(1200)
    expect(await revertOf(c.consent.simulate.breakGlass([later, id('s1'), BTG, zeroHash], asCarol))).toEqual({
      errorName: 'GrantExpired',
      args: [later, start + 500],
    })
  })
})
