// The README's example, step for step, with assertions in place of its console.log calls.
import { buildReceiptTree, GrantRevokedError, signGrant } from '@medvault/chain'
import { createDevnet, type DevnetWalletClient as W } from '@medvault/chain/node'
import { ContractFunctionRevertedError, keccak256, toHex } from 'viem'
import { expect, test } from 'vitest'

test('default: the README example', async () => {
  await using devnet = await createDevnet()
  // (The tuple type only satisfies this repository's noUncheckedIndexedAccess.)
  const [, patient, doctor, relayer, proxyA, proxyB] = devnet.walletClients as readonly [W, W, W, W, W, W]
  const key = (n: number) => `0x02${n.toString(16).padStart(64, '0')}` as const

  await proxyA.registerProxy({ publicKey: key(1), endpoint: 'https://proxy-a.example' })
  await proxyB.registerProxy({ publicKey: key(2), endpoint: 'https://proxy-b.example' })
  const { setId } = await patient.createProxySet({
    members: [proxyA.account.address, proxyB.account.address],
  })

  const { recordId } = await patient.registerRecord({ cid: `0x01711220${'ab'.repeat(32)}` })
  const { grantId } = await patient.grantAccess({
    grantee: doctor.account.address,
    scope: { kind: 'record', recordId },
    purpose: 'TREAT',
    expiry: new Date(Date.now() + 7 * 86_400_000),
    threshold: 2,
    proxySetId: setId,
    kfragsCid: `0x01711220${'cd'.repeat(32)}`,
  })

  const access = { grantId, recordId, grantee: doctor.account.address, purpose: 'TREAT' } as const
  expect(await devnet.publicClient.isAccessAllowed(access)).toBe(true)

  const signed = await signGrant(patient, {
    addresses: devnet.addresses,
    grantee: doctor.account.address,
    scope: { kind: 'all' },
    purpose: 'HRESCH',
    expiry: new Date(Date.now() + 86_400_000),
    threshold: 1,
    proxySetId: setId,
    kfragsCid: `0x01711220${'ef'.repeat(32)}`,
    deadline: Math.floor(Date.now() / 1000) + 600,
  })
  await relayer.grantBySig({ signedGrant: signed })
  expect(
    await devnet.publicClient.isAccessAllowed({ ...access, grantId: signed.grantId, purpose: 'HRESCH' }),
  ).toBe(true)

  await patient.revokeAccess({ grantId })
  const err = await devnet.publicClient.checkAccess(access).catch((e: unknown) => e)
  expect(err).toBeInstanceOf(GrantRevokedError)
  expect((err as GrantRevokedError).cause).toBeInstanceOf(ContractFunctionRevertedError)

  const receipts = [1, 2, 3].map((i) => keccak256(toHex(`receipt ${i}`)))
  const tree = buildReceiptTree(receipts)
  const now = Number((await devnet.publicClient.getBlock()).timestamp)
  await proxyA.anchorReceipts({ tree, fromTime: now - 60, toTime: now })
  expect(
    await devnet.publicClient.verifyReceiptInclusion({
      proxy: proxyA.account.address, // the proxy that signed the receipt: only its own anchor counts
      root: tree.root,
      receiptHash: receipts[1]!,
      proof: tree.getProof(receipts[1]!),
    }),
  ).toBe(true)
})
