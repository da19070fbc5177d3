/**
 * The example of packages/node/README.md, step for step, with assertions in place of the `console.log`s:
 * start a proxy, register it, and have a grantee ask it over HTTP with the protocol's formats.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createDevnet } from '@medvault/chain/node'
import { deriveKeysFromPrivateKey, getPublicKey, publicKeys } from '@medvault/crypto'
import { createProxy } from '@medvault/node'
import {
  accessRequestBody,
  accessRequestTypedData,
  capsuleHash,
  capsuleOf,
  parseAccessResponseBody,
  randomNonce,
  verifyReceipt,
} from '@medvault/protocol'
import { createStorage } from '@medvault/storage'
import { hexToBytes } from 'viem'
import { expect, test } from 'vitest'
import { grant, type Network, registerRecord } from './fixture.ts'

test('README example', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'medvault-readme-'))
  try {
    // --- README: Example ---
    await using devnet = await createDevnet({ accounts: 5 })
    const storage = await createStorage()
    const operator = devnet.walletClients[4]!
    const { eciesSecretKey } = deriveKeysFromPrivateKey(hexToBytes(devnet.anvil.accounts[4]!.privateKey))

    await using proxy = await createProxy(
      {
        account: operator.account,
        eciesSecretKey,
        receiptsDir: join(dir, 'receipts'),
        indexDir: join(dir, 'index'),
        workers: 1,
      },
      {
        publicClient: devnet.publicClient,
        storage,
        addresses: devnet.addresses,
        deployBlock: devnet.deployBlock,
      },
    )
    await operator.registerProxy({ publicKey: getPublicKey(eciesSecretKey), endpoint: proxy.url })
    const health = await (await fetch(`${proxy.url}/v1/health`)).json()
    expect(health).toEqual({
      ok: true,
      address: operator.account.address,
      chainId: 31_337,
      indexedBlock: expect.any(String),
      index: { live: true, syncAgeMs: expect.any(Number), maxSyncAgeMs: 4000 },
    })

    // --- README: asking a proxy (what the SDK does for a grantee) ---
    // A patient's record and a grant to a clinician, as the SDK makes them (test fixture, same formats).
    const keysOf = (i: number) => deriveKeysFromPrivateKey(hexToBytes(devnet.anvil.accounts[i]!.privateKey))
    for (const i of [1, 2]) {
      const { receiving, verifying } = publicKeys(keysOf(i))
      await devnet.walletClients[i]!.publishKeys({ receivingKey: receiving, verifyingKey: verifying })
    }
    const { setId } = await devnet.walletClients[1]!.createProxySet({ members: [operator.account.address] })
    const net: Network = {
      devnet,
      storage,
      proxies: [proxy],
      domain: { chainId: devnet.chain.id, verifyingContract: devnet.addresses.consentRegistry },
      patient: devnet.walletClients[1]!,
      clinician: devnet.walletClients[2]!,
      stranger: devnet.walletClients[3]!,
      operators: [operator],
      keysOf,
      setId,
      stop: async () => {},
    }
    const record = await registerRecord(net)
    const { grantId } = await grant(net, record)
    const { recordId, envelope } = record
    const grantee = net.clinician

    const request = {
      proxy: proxy.address,
      grantId,
      recordId,
      capsuleHash: capsuleHash(capsuleOf(envelope, 'record')), // the grant's level, current envelope
      purpose: 1, // TREAT, the grant's purpose
      issuedAt: Math.floor(Date.now() / 1000),
      nonce: randomNonce(),
    }
    const domain = { chainId: devnet.chain.id, verifyingContract: devnet.addresses.consentRegistry }
    const signature = await grantee.account.signTypedData(accessRequestTypedData(domain, request))
    const response = await fetch(`${proxy.url}/v1/reencrypt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(accessRequestBody(request, signature)),
    })
    const { cfrag, receipt, signature: receiptSignature } = parseAccessResponseBody(await response.text())
    await verifyReceipt({ domain, receipt, signature: receiptSignature, proxy: proxy.address })
    expect(response.status).toBe(200)
    expect(cfrag).toHaveLength(381)

    const receipts = []
    for await (const entry of proxy.receipts()) receipts.push(entry.receipt)
    expect(receipts).toEqual([receipt])
    await storage.stop()
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
})
