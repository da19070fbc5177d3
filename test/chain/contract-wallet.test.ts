/**
 * `signGrant` / `signRevoke` for a smart-contract wallet (ERC-1271): the owner's key signs, `signer` names the
 * wallet, any relayer submits. The wallet is the `OwnerWallet` test fixture from packages/contracts.
 */
import { InvalidSignatureError } from '@medvault/chain'
import { createDevnet, type Devnet } from '@medvault/chain/node'
import { consentRegistryAbi } from '@medvault/contracts'
import { type Address, encodeFunctionData, getAddress } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import {
  ownerWalletAbi,
  ownerWalletBytecode,
} from '../../packages/contracts/test/fixtures/owner-wallet.generated.ts'
import { cid, compressedKey, id, testKey } from './helpers.ts'

let devnet: Devnet
const owner = () => devnet.walletClients[1]!
const doctor = () => devnet.walletClients[2]!
const relayer = () => devnet.walletClients[3]!
const operator = () => devnet.walletClients[4]!

async function deployWallet(): Promise<Address> {
  const hash = await devnet.walletClients[0]!.deployContract({
    abi: ownerWalletAbi,
    bytecode: ownerWalletBytecode,
    args: [owner().account.address],
  })
  const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash })
  return getAddress(receipt.contractAddress!)
}

let w1: Address
let w2: Address
let setId: number

beforeAll(async () => {
  devnet = await createDevnet({ accounts: 5 })
  w1 = await deployWallet()
  w2 = await deployWallet()
  await operator().registerProxy({ publicKey: compressedKey(testKey('op')), endpoint: 'https://p.example' })
  ;({ setId } = await owner().createProxySet({ members: [operator().account.address] }))
  // The wallet registers a record: its owner makes it call the ConsentRegistry.
  const hash = await owner().writeContract({
    address: w1,
    abi: ownerWalletAbi,
    functionName: 'execute',
    args: [
      devnet.addresses.consentRegistry,
      encodeFunctionData({
        abi: consentRegistryAbi,
        functionName: 'registerRecord',
        args: [id('wallet record'), '0x0000000000000000', cid('wallet record')],
      }),
    ],
  })
  await devnet.publicClient.waitForTransactionReceipt({ hash })
})
afterAll(async () => {
  await devnet?.stop()
})

describe('signGrant / signRevoke for a contract wallet', () => {
  test('default: the owner signs as the wallet; a relayer submits the grant and the revocation', async () => {
    const deadline = Math.floor(Date.now() / 1000) + 600
    const signed = await owner().signGrant({
      signer: w1,
      grantee: doctor().account.address,
      scope: { kind: 'record', recordId: id('wallet record') },
      purpose: 'TREAT',
      expiry: new Date(Date.now() + 86_400_000),
      threshold: 1,
      proxySetId: setId,
      kfragsCid: cid('kfrags'),
      deadline,
    })
    expect([signed.grantor, signed.signer]).toEqual([w1, w1])
    // Not the wallet's own ECDSA signature, so it is sent as the wallet's ERC-1271 check expects it: 65 bytes.
    expect(signed.signature.length).toBe(2 + 65 * 2)
    const { grantId } = await relayer().grantBySig({ signedGrant: signed })
    expect(grantId).toBe(signed.grantId)
    const access = {
      grantId,
      recordId: id('wallet record'),
      grantee: doctor().account.address,
      purpose: 'TREAT',
    } as const
    expect(await devnet.publicClient.isAccessAllowed(access)).toBe(true)

    const revocation = await owner().signRevoke({ signer: w1, grantId, deadline })
    expect(revocation.signer).toBe(w1)
    expect(revocation.nonce).toBe(await devnet.publicClient.getSignatureNonce({ signer: w1 }))
    // Relayed in the name of the owner's other wallet (whose ERC-1271 check would accept the signature): refused.
    const replay = await relayer()
      .revokeBySig({ signedRevoke: { ...revocation, signer: w2 } })
      .catch((e: unknown) => e)
    expect(replay).toBeInstanceOf(InvalidSignatureError)
    expect((replay as InvalidSignatureError).args).toEqual({ signer: w2 })
    await relayer().revokeBySig({ signedRevoke: revocation })
    expect(await devnet.publicClient.isAccessAllowed(access)).toBe(false)
  })
})
