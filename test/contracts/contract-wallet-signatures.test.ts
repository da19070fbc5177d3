/**
 * Signed grants and revocations from smart-contract wallets (ERC-1271), with a real wallet contract: the
 * `OwnerWallet` fixture (packages/contracts/test/fixtures), whose `isValidSignature` accepts its owner's ECDSA
 * signature of the digest as given, as many deployed wallets do. Two such wallets of one owner accept the same
 * signature, so the signed message must name the signer or one wallet's signature works for the other.
 */
import { eip712DomainInfo, grantTypes, purposeOfUse, revokeTypes, scopeKind } from '@medvault/contracts'
import { type Address, encodeFunctionData, getAddress, type Hex, hashTypedData, parseEventLogs } from 'viem'
import type { PrivateKeyAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  ownerWalletAbi,
  ownerWalletBytecode,
} from '../../packages/contracts/test/fixtures/owner-wallet.generated.ts'
import {
  type ContractsDevnet,
  cid,
  createContractsDevnet,
  type GrantParams,
  id,
  revertOf,
  setUpProxies,
} from './devnet.ts'

let devnet: ContractsDevnet
let setId: number
let t0: number
/** Two wallets of the same owner, and one of another owner. */
let w1: Address
let w2: Address
let w3: Address

const alice = () => devnet.accounts[1]!
const bob = () => devnet.accounts[2]!
const owner = () => devnet.accounts[5]!
const otherOwner = () => devnet.accounts[6]!
const relayer = () => devnet.as(devnet.accounts[4]!)
const { TREAT } = purposeOfUse

async function deployWallet(walletOwner: PrivateKeyAccount): Promise<Address> {
  const hash = await devnet.walletOf(devnet.accounts[0]!).deployContract({
    abi: ownerWalletAbi,
    bytecode: ownerWalletBytecode,
    args: [walletOwner.address],
  })
  const receipt = await devnet.mined(hash)
  return getAddress(receipt.contractAddress!)
}

/** The wallet's owner makes the wallet call the ConsentRegistry. */
async function viaWallet(wallet: Address, data: Hex, walletOwner = owner()) {
  return devnet.mined(
    devnet.walletOf(walletOwner).writeContract({
      address: wallet,
      abi: ownerWalletAbi,
      functionName: 'execute',
      args: [devnet.addresses.consentRegistry, data],
    }),
  )
}

const domain = () => ({
  ...eip712DomainInfo,
  chainId: devnet.publicClient.chain.id,
  verifyingContract: devnet.addresses.consentRegistry,
})

/** `key` signs (plain ECDSA over the EIP-712 digest) a Grant meant to be submitted with `signer` named. */
function signGrant(
  key: PrivateKeyAccount,
  grantor: Address,
  signer: Address,
  p: GrantParams,
  deadline: bigint,
) {
  return devnet.walletOf(key).signTypedData({
    domain: domain(),
    types: grantTypes,
    primaryType: 'Grant',
    message: { grantor, signer, ...p, deadline },
  })
}

/** `key` signs a Revoke meant to be submitted with `signer` named. */
function signRevoke(key: PrivateKeyAccount, signer: Address, grantId: Hex, nonce: bigint, deadline: bigint) {
  return devnet.walletOf(key).signTypedData({
    domain: domain(),
    types: revokeTypes,
    primaryType: 'Revoke',
    message: { signer, grantId, nonce, deadline },
  })
}

function params(salt: string, overrides: Partial<GrantParams> = {}): GrantParams {
  return {
    grantee: bob().address,
    scopeKind: scopeKind.record,
    scopeTarget: id('alice record'),
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

beforeAll(async () => {
  devnet = await createContractsDevnet()
  setId = await setUpProxies(devnet)
  t0 = await devnet.now()
  w1 = await deployWallet(owner())
  w2 = await deployWallet(owner())
  w3 = await deployWallet(otherOwner())
  const a = devnet.as(alice())
  await devnet.mined(a.consent.write.registerRecord([id('alice record'), '0x0000000000000000', cid('alice')]))
  // Each wallet owns a record of its own, registered through the wallet.
  for (const [wallet, label] of [
    [w1, 'w1 record'],
    [w2, 'w2 record'],
  ] as const) {
    await viaWallet(
      wallet,
      encodeFunctionData({
        abi: devnet.as(alice()).consent.abi,
        functionName: 'registerRecord',
        args: [id(label), '0x0000000000000000', cid(label)],
      }),
    )
  }
})
afterAll(async () => {
  await devnet?.stop()
})

describe('ERC-1271 wallet signers (OwnerWallet fixture)', () => {
  test('default: the fixture is a real ERC-1271 wallet: it accepts its owner’s signature of a digest, nobody else’s', async () => {
    const digest = hashTypedData({
      domain: domain(),
      types: revokeTypes,
      primaryType: 'Revoke',
      message: { signer: w1, grantId: id('any'), nonce: 0n, deadline: 1n },
    })
    const read = (wallet: Address, signature: Hex) =>
      devnet.publicClient.readContract({
        address: wallet,
        abi: ownerWalletAbi,
        functionName: 'isValidSignature',
        args: [digest, signature],
      })
    const byOwner = await owner().sign({ hash: digest })
    expect(await read(w1, byOwner)).toBe('0x1626ba7e')
    // The weakness the contracts must withstand: the owner's other wallet accepts the very same signature.
    expect(await read(w2, byOwner)).toBe('0x1626ba7e')
    expect(await read(w3, byOwner)).toBe('0xffffffff')
  })

  test('default: a wallet grants and revokes by signature; a relayer submits', async () => {
    const r = relayer()
    const deadline = BigInt(t0 + 3600)
    const p = params('w1 grant', { scopeTarget: id('w1 record') })
    const grantSig = await signGrant(owner(), w1, w1, p, deadline)
    await devnet.mined(r.consent.write.grantBySig([w1, p, w1, deadline, grantSig]))
    const grantId = await r.consent.read.grantIdOf([w1, id('w1 grant')])
    expect((await r.consent.read.getGrant([grantId])).grantor).toBe(w1)
    expect(await r.consent.read.isAccessAllowed([grantId, id('w1 record'), bob().address, TREAT])).toBe(true)

    const nonce = await r.consent.read.nonces([w1])
    const revokeSig = await signRevoke(owner(), w1, grantId, nonce, deadline)
    const mined = await devnet.mined(r.consent.write.revokeBySig([grantId, w1, nonce, deadline, revokeSig]))
    const [revoked] = parseEventLogs({ abi: r.consent.abi, eventName: 'AccessRevoked', logs: mined.logs })
    expect(revoked?.args.revokedBy).toBe(w1)
    expect(await r.consent.read.nonces([w1])).toBe(nonce + 1n)
  })

  test('attack: a revocation signed for one wallet is replayed as the owner’s other wallet: refused, its nonce untouched', async () => {
    const r = relayer()
    const a = devnet.as(alice())
    const term = t0 + 60 * 24 * 3600
    // Two fresh wallets of the owner (equal nonces), both alice's revoke delegates.
    const [w1, w2] = [await deployWallet(owner()), await deployWallet(owner())]
    await devnet.mined(a.consent.write.appointDelegate([w1, 4, term]))
    await devnet.mined(a.consent.write.appointDelegate([w2, 4, term]))
    await devnet.mined(a.consent.write.grant([params('revoke replay')]))
    const grantId = await r.consent.read.grantIdOf([alice().address, id('revoke replay')])
    const deadline = BigInt(t0 + 3600)
    const n1 = await r.consent.read.nonces([w1])
    const n2 = await r.consent.read.nonces([w2])
    expect(n2).toBe(n1)
    const forW1 = await signRevoke(owner(), w1, grantId, n1, deadline)

    // Submitted naming w2 (same nonce): w2's isValidSignature would say yes to the owner's signature, so only
    // the signed message naming w1 stops it. Had it passed, it would have spent w2's nonce and voided w2's own
    // pending revocation, and revoked in the name of a wallet that signed nothing.
    expect(
      await revertOf(
        r.consent.simulate.revokeBySig([grantId, w2, n2, deadline, forW1], { account: r.account }),
      ),
    ).toEqual({ errorName: 'InvalidSignature', args: [w2] })
    expect(await r.consent.read.nonces([w2])).toBe(n2)
    expect(await r.consent.read.isAccessAllowed([grantId, id('alice record'), bob().address, TREAT])).toBe(
      true,
    )

    // Named as intended, it works, attributed to w1.
    const mined = await devnet.mined(r.consent.write.revokeBySig([grantId, w1, n1, deadline, forW1]))
    const [revoked] = parseEventLogs({ abi: r.consent.abi, eventName: 'AccessRevoked', logs: mined.logs })
    expect(revoked?.args.revokedBy).toBe(w1)
  })

  test('attack: a grant signed for one wallet is replayed as the owner’s other wallet (after the first lost its delegation): refused', async () => {
    const r = relayer()
    const a = devnet.as(alice())
    const term = t0 + 60 * 24 * 3600
    const [d1, d2] = [await deployWallet(owner()), await deployWallet(owner())]
    await devnet.mined(a.consent.write.appointDelegate([d1, 2, term]))
    await devnet.mined(a.consent.write.appointDelegate([d2, 2, term]))
    const deadline = BigInt(t0 + 3600)
    const p = params('grant replay', { expiry: term })
    const forD1 = await signGrant(owner(), alice().address, d1, p, deadline)
    // Alice removes d1: its outstanding signature must no longer create anything.
    await devnet.mined(a.consent.write.removeDelegate([d1]))
    expect(
      await revertOf(
        r.consent.simulate.grantBySig([alice().address, p, d1, deadline, forD1], { account: r.account }),
      ),
    ).toEqual({ errorName: 'Unauthorized', args: [d1, alice().address, 2] })
    // Replayed naming d2, which is still a delegate and whose isValidSignature accepts the owner's signature.
    expect(
      await revertOf(
        r.consent.simulate.grantBySig([alice().address, p, d2, deadline, forD1], { account: r.account }),
      ),
    ).toEqual({ errorName: 'InvalidSignature', args: [d2] })
    const grantId = await r.consent.read.grantIdOf([alice().address, id('grant replay')])
    expect(await revertOf(r.consent.read.getGrant([grantId]))).toEqual({
      errorName: 'GrantNotFound',
      args: [grantId],
    })

    // A wallet's own grant cannot be replayed as the owner's other wallet's either (the grantor is signed).
    const own = params('own grant', { scopeTarget: id('w1 record') })
    const ownSig = await signGrant(owner(), w1, w1, own, deadline)
    const asW2 = { ...own, scopeTarget: id('w2 record') }
    expect(
      await revertOf(r.consent.simulate.grantBySig([w2, asW2, w2, deadline, ownSig], { account: r.account })),
    ).toEqual({ errorName: 'InvalidSignature', args: [w2] })
    expect(
      await revertOf(r.consent.simulate.grantBySig([w2, own, w2, deadline, ownSig], { account: r.account })),
    ).toEqual({ errorName: 'InvalidSignature', args: [w2] })
  })

  test('error: a signature by someone other than the wallet’s owner is refused, for grants and revocations', async () => {
    const r = relayer()
    const deadline = BigInt(t0 + 3600)
    const p = params('wrong owner', { scopeTarget: id('w1 record') })
    // otherOwner owns w3, not w1; alice is no owner of any wallet.
    for (const key of [otherOwner(), alice()]) {
      const sig = await signGrant(key, w1, w1, p, deadline)
      expect(
        await revertOf(r.consent.simulate.grantBySig([w1, p, w1, deadline, sig], { account: r.account })),
      ).toEqual({ errorName: 'InvalidSignature', args: [w1] })
    }
    await devnet.mined(
      r.consent.write.grantBySig([w1, p, w1, deadline, await signGrant(owner(), w1, w1, p, deadline)]),
    )
    const grantId = await r.consent.read.grantIdOf([w1, id('wrong owner')])
    const nonce = await r.consent.read.nonces([w1])
    for (const key of [otherOwner(), alice()]) {
      const sig = await signRevoke(key, w1, grantId, nonce, deadline)
      expect(
        await revertOf(
          r.consent.simulate.revokeBySig([grantId, w1, nonce, deadline, sig], { account: r.account }),
        ),
      ).toEqual({ errorName: 'InvalidSignature', args: [w1] })
    }
    // And w3 (another owner's wallet, not a delegate of w1) cannot revoke w1's grant with its owner's signature.
    const w3Nonce = await r.consent.read.nonces([w3])
    const byW3 = await signRevoke(otherOwner(), w3, grantId, w3Nonce, deadline)
    expect(
      await revertOf(
        r.consent.simulate.revokeBySig([grantId, w3, w3Nonce, deadline, byW3], { account: r.account }),
      ),
    ).toEqual({ errorName: 'Unauthorized', args: [w3, w1, 4] })
    // The wallet's owner may only act through the wallet's signature: as an EOA it is nobody's delegate.
    expect(
      await revertOf(
        r.consent.simulate.revokeBySig(
          [
            grantId,
            owner().address,
            0n,
            deadline,
            await signRevoke(owner(), owner().address, grantId, 0n, deadline),
          ],
          { account: r.account },
        ),
      ),
    ).toEqual({ errorName: 'Unauthorized', args: [owner().address, w1, 4] })
  })
})
