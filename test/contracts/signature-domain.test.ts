import {
  consentRegistryAbi,
  consentRegistryBytecode,
  eip712DomainInfo,
  grantTypes,
  purposeOfUse,
  revokeTypes,
  scopeKind,
} from '@medvault/contracts'
import { type Account, type Address, domainSeparator, getAddress, getContract, type Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  type ContractsDevnet,
  cid,
  createContractsDevnet,
  type GrantParams,
  id,
  revertOf,
  setUpProxies,
} from './devnet.ts'

// An EIP-712 signature binds the chain id and the verifying contract: the same signed grant or revocation,
// valid where it was made for, must be refused anywhere else with the typed InvalidSignature(signer) (not a
// later, unrelated check). Each case keeps everything else identical (grant id, nonce, deadline, signer), and
// a control shows the signature itself is good where it belongs. Own devnet: the last test changes the chain id.
let devnet: ContractsDevnet
let t0: number
/** A second ConsentRegistry on the same chain, over the same ProxyRegistry. */
let other: Address
const { TREAT } = purposeOfUse

const alice = () => devnet.accounts[1]!
const bob = () => devnet.accounts[2]!
const relayerAccount = () => devnet.accounts[4]!
const dave = () => devnet.accounts[5]!

function registry(address: Address) {
  return getContract({
    abi: consentRegistryAbi,
    address,
    client: { public: devnet.publicClient, wallet: devnet.walletOf(relayerAccount()) },
  })
}

/** Records and a proxy set live in the ConsentRegistry, so each registry gets its own (same ids). */
async function prepare(address: Address, owner: Account, record: string, setId: number): Promise<void> {
  const asOwner = getContract({
    abi: consentRegistryAbi,
    address,
    client: { public: devnet.publicClient, wallet: devnet.walletOf(owner) },
  })
  await devnet.mined(asOwner.write.registerRecord([id(record), '0x0000000000000000', cid(record)]))
  const operators = devnet.accounts.slice(7, 10).map((a) => a.address)
  const count = await asOwner.read.proxySetCount()
  if (count < setId) await devnet.mined(asOwner.write.createProxySet([operators]))
}

function params(salt: string, record = 'd1', setId = 1): GrantParams {
  return {
    grantee: bob().address,
    scopeKind: scopeKind.record,
    scopeTarget: id(record),
    records: [],
    purpose: TREAT,
    notBefore: 0,
    expiry: t0 + 30 * 24 * 3600,
    threshold: 1,
    proxySetId: setId,
    salt: id(salt),
    kfragsCid: cid(`kfrags ${salt}`),
  }
}

function signGrant(signer: Account, domain: { chainId: number; verifyingContract: Address }, p: GrantParams) {
  const deadline = BigInt(t0 + 3600)
  return devnet
    .walletOf(signer)
    .signTypedData({
      domain: { ...eip712DomainInfo, ...domain },
      types: grantTypes,
      primaryType: 'Grant',
      message: { grantor: signer.address as Hex, signer: signer.address as Hex, ...p, deadline },
    })
    .then((signature) => ({ signature, deadline }))
}

function signRevoke(
  signer: Account,
  domain: { chainId: number; verifyingContract: Address },
  grantId: Hex,
  nonce: bigint,
) {
  const deadline = BigInt(t0 + 3600)
  return devnet
    .walletOf(signer)
    .signTypedData({
      domain: { ...eip712DomainInfo, ...domain },
      types: revokeTypes,
      primaryType: 'Revoke',
      message: { signer: signer.address as Hex, grantId, nonce, deadline },
    })
    .then((signature) => ({ signature, deadline }))
}

beforeAll(async () => {
  devnet = await createContractsDevnet()
  const setId = await setUpProxies(devnet)
  expect(setId).toBe(1)
  t0 = await devnet.now()
  const receipt = await devnet.mined(
    devnet.walletOf(devnet.accounts[0]!).deployContract({
      abi: consentRegistryAbi,
      bytecode: consentRegistryBytecode,
      args: [devnet.addresses.proxyRegistry],
    }),
  )
  other = getAddress(receipt.contractAddress!)
  expect(other).not.toBe(devnet.addresses.consentRegistry)
  await prepare(devnet.addresses.consentRegistry, alice(), 'd1', 1)
  // A grantor used only against both registries, so its revocation nonce is 0 in each.
  await prepare(devnet.addresses.consentRegistry, dave(), 'e1', 1)
  await prepare(other, dave(), 'e1', 1)
})
afterAll(async () => {
  await devnet?.stop()
})

describe('ConsentRegistry EIP-712 domain binding', () => {
  test('error: a grantBySig signature made for another chain id is refused with InvalidSignature', async () => {
    const r = registry(devnet.addresses.consentRegistry)
    const as = { account: relayerAccount() }
    const here = {
      chainId: devnet.publicClient.chain.id,
      verifyingContract: devnet.addresses.consentRegistry,
    }
    const p = params('other chain grant')
    for (const chainId of [1, 10, here.chainId + 1]) {
      const { signature, deadline } = await signGrant(alice(), { ...here, chainId }, p)
      expect(
        await revertOf(r.simulate.grantBySig([alice().address, p, alice().address, deadline, signature], as)),
      ).toEqual({ errorName: 'InvalidSignature', args: [alice().address] })
    }
    // Control: the same message signed for this chain goes through.
    const { signature, deadline } = await signGrant(alice(), here, p)
    await devnet.mined(r.write.grantBySig([alice().address, p, alice().address, deadline, signature]))
    const grantId = await r.read.grantIdOf([alice().address, id('other chain grant')])
    expect(await r.read.isAccessAllowed([grantId, id('d1'), bob().address, TREAT])).toBe(true)
  })

  test('error: a revokeBySig signature made for another chain id is refused with InvalidSignature', async () => {
    const r = registry(devnet.addresses.consentRegistry)
    const as = { account: relayerAccount() }
    const here = {
      chainId: devnet.publicClient.chain.id,
      verifyingContract: devnet.addresses.consentRegistry,
    }
    const p = params('other chain revoke')
    await devnet.mined(
      getContract({
        abi: consentRegistryAbi,
        address: devnet.addresses.consentRegistry,
        client: { public: devnet.publicClient, wallet: devnet.walletOf(alice()) },
      }).write.grant([p]),
    )
    const grantId = await r.read.grantIdOf([alice().address, id('other chain revoke')])
    const nonce = await r.read.nonces([alice().address])
    for (const chainId of [1, 10, here.chainId + 1]) {
      const { signature, deadline } = await signRevoke(alice(), { ...here, chainId }, grantId, nonce)
      expect(
        await revertOf(r.simulate.revokeBySig([grantId, alice().address, nonce, deadline, signature], as)),
      ).toEqual({ errorName: 'InvalidSignature', args: [alice().address] })
    }
    // Refused without side effects: the nonce did not move and the grant still holds.
    expect(await r.read.nonces([alice().address])).toBe(nonce)
    expect(await r.read.isAccessAllowed([grantId, id('d1'), bob().address, TREAT])).toBe(true)
    const { signature, deadline } = await signRevoke(alice(), here, grantId, nonce)
    await devnet.mined(r.write.revokeBySig([grantId, alice().address, nonce, deadline, signature]))
    expect(await r.read.isAccessAllowed([grantId, id('d1'), bob().address, TREAT])).toBe(false)
  })

  test('error: grantBySig and revokeBySig signatures made for another ConsentRegistry are refused with InvalidSignature', async () => {
    const first = registry(devnet.addresses.consentRegistry)
    const second = registry(other)
    const as = { account: relayerAccount() }
    const chainId = devnet.publicClient.chain.id
    const p = params('other registry', 'e1')
    // The grant id depends on grantor and salt only, so it is the same id in both registries.
    const grantId = await first.read.grantIdOf([dave().address, id('other registry')])
    expect(await second.read.grantIdOf([dave().address, id('other registry')])).toBe(grantId)

    const forSecond = await signGrant(dave(), { chainId, verifyingContract: other }, p)
    expect(
      await revertOf(
        first.simulate.grantBySig(
          [dave().address, p, dave().address, forSecond.deadline, forSecond.signature],
          as,
        ),
      ),
    ).toEqual({ errorName: 'InvalidSignature', args: [dave().address] })
    // Control: where it was signed for, it works; then the same grant exists in the first via its own signature.
    await devnet.mined(
      second.write.grantBySig([dave().address, p, dave().address, forSecond.deadline, forSecond.signature]),
    )
    const forFirst = await signGrant(
      dave(),
      { chainId, verifyingContract: devnet.addresses.consentRegistry },
      p,
    )
    await devnet.mined(
      first.write.grantBySig([dave().address, p, dave().address, forFirst.deadline, forFirst.signature]),
    )

    // Revocation: same grant id, and both registries expect the same nonce from alice.
    const nonce = 0n
    expect(await first.read.nonces([dave().address])).toBe(nonce)
    expect(await second.read.nonces([dave().address])).toBe(nonce)
    const revokeForSecond = await signRevoke(dave(), { chainId, verifyingContract: other }, grantId, nonce)
    expect(
      await revertOf(
        first.simulate.revokeBySig(
          [grantId, dave().address, nonce, revokeForSecond.deadline, revokeForSecond.signature],
          as,
        ),
      ),
    ).toEqual({ errorName: 'InvalidSignature', args: [dave().address] })
    await devnet.mined(
      second.write.revokeBySig([
        grantId,
        dave().address,
        nonce,
        revokeForSecond.deadline,
        revokeForSecond.signature,
      ]),
    )
    expect(await second.read.isAccessAllowed([grantId, id('e1'), bob().address, TREAT])).toBe(false)
    // Revoked in the second only: the first registry's grant is untouched.
    expect(await first.read.isAccessAllowed([grantId, id('e1'), bob().address, TREAT])).toBe(true)
    expect(await first.read.nonces([dave().address])).toBe(nonce)
  })

  // Last in the file: it changes the devnet's chain id (as a chain split would).
  test('behavior: after the chain id changes, signatures made for the old chain id are refused', async () => {
    const r = registry(devnet.addresses.consentRegistry)
    const as = { account: relayerAccount() }
    const oldChainId = devnet.publicClient.chain.id
    const newChainId = oldChainId + 1000
    const before = await r.read.DOMAIN_SEPARATOR()
    await devnet.testClient.request({ method: 'anvil_setChainId', params: [newChainId] } as never)
    expect(await devnet.publicClient.getChainId()).toBe(newChainId)
    const after = await r.read.DOMAIN_SEPARATOR()
    expect(after).not.toBe(before)
    expect(after).toBe(
      domainSeparator({
        domain: {
          ...eip712DomainInfo,
          chainId: newChainId,
          verifyingContract: devnet.addresses.consentRegistry,
        },
      }),
    )
    const p = params('after the split')
    const old = await signGrant(
      alice(),
      { chainId: oldChainId, verifyingContract: devnet.addresses.consentRegistry },
      p,
    )
    expect(
      await revertOf(
        r.simulate.grantBySig([alice().address, p, alice().address, old.deadline, old.signature], as),
      ),
    ).toEqual({ errorName: 'InvalidSignature', args: [alice().address] })
    // Control (a call, since the devnet's wallet clients sign transactions for the old chain id).
    const current = await signGrant(
      alice(),
      { chainId: newChainId, verifyingContract: devnet.addresses.consentRegistry },
      p,
    )
    const { result } = await r.simulate.grantBySig(
      [alice().address, p, alice().address, current.deadline, current.signature],
      as,
    )
    expect(result).toBe(await r.read.grantIdOf([alice().address, id('after the split')]))
  })
})
