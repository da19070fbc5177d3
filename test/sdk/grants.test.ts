/**
 * Grants on a local network (real anvil, Helia, HTTP proxies): scopes (records, tag, all), purposes, relayed
 * grants, versions under a grant, rotation re-issuing grants, identities from wallets, the audit trail, and
 * expiry by chain time.
 */
import {
  cancelGrantSalt,
  computeGrantId,
  GrantIdCancelledError,
  grantBySig,
  SignatureExpiredError,
} from '@medvault/chain'
import { consentRegistryAbi } from '@medvault/contracts'
import {
  createLocalNetwork,
  createVault,
  GrantExpiredError,
  KeyMismatchError,
  KeyNotPublishedError,
  type LocalNetwork,
  NoGrantError,
  RelayError,
  type Vault,
} from '@medvault/sdk'
import { CID } from '@medvault/storage'
import {
  createWalletClient,
  decodeFunctionData,
  encodeErrorResult,
  encodeFunctionData,
  type Hex,
  hexToBytes,
  http,
  TimeoutError,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { fakingReverts, intercepting } from './transports.ts'

let net: LocalNetwork
let patient: Vault
let clinic: Vault
let researcher: Vault

beforeAll(async () => {
  net = await createLocalNetwork({ proxies: 3 })
  ;[patient, clinic, researcher] = await Promise.all([net.vault(0), net.vault(1), net.vault(2)])
})

afterAll(async () => {
  await net?.stop()
})

const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes)
const utf8 = (s: string) => new TextEncoder().encode(s)

describe('grants', () => {
  test('default: a records grant covers exactly its records, for its purpose', async () => {
    const [a, b, other] = await Promise.all([
      patient.records.put('record a'),
      patient.records.put('record b'),
      patient.records.put('not granted'),
    ])
    const grant = await patient.grants.create({
      to: clinic.address,
      records: [a.id, b.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 2,
    })
    expect(grant.scope).toEqual({ kind: 'records', records: [a.id, b.id] })
    expect(text(await clinic.records.get(a.id))).toBe('record a')
    expect(text(await clinic.records.get(b.id))).toBe('record b')
    await expect(clinic.records.get(other.id)).rejects.toBeInstanceOf(NoGrantError)
    await expect(clinic.records.get(a.id, { purpose: 'HRESCH' })).rejects.toBeInstanceOf(NoGrantError)
    expect((await clinic.grants.list({ received: true })).map((g) => g.id)).toContain(grant.id)
  })

  test('behavior: a tag grant covers records of the tag put later, and no other', async () => {
    const grant = await patient.grants.create({
      to: clinic.address,
      tag: 'labs',
      purpose: 'TREAT',
      expiresIn: '7d',
      threshold: 2,
    })
    expect(grant.scope).toMatchObject({ kind: 'tag', tag: 'labs' })
    const later = await patient.records.put(
      { resourceType: 'Observation', status: 'final', code: { text: 'HbA1c' } },
      { tag: 'labs' },
    )
    const imaging = await patient.records.put('an X-ray report', { tag: 'imaging' })
    expect(JSON.parse(text(await clinic.records.get(later.id)))).toEqual({
      resourceType: 'Observation',
      status: 'final',
      code: { text: 'HbA1c' },
    })
    await expect(clinic.records.get(imaging.id)).rejects.toBeInstanceOf(NoGrantError)
    // The chain sees only the HMAC tag, never the category name.
    expect(later.chainTag).toMatch(/^0x[0-9a-f]{16}$/)
    expect(later.chainTag).not.toBe(imaging.chainTag)
  })

  test('behavior: an all-records grant for research covers every record, with the purpose it names', async () => {
    await patient.grants.create({
      to: researcher.address,
      all: true,
      purpose: 'HRESCH',
      expiresIn: '1d',
      threshold: 1,
    })
    const rec = await patient.records.put('any record at all')
    expect(text(await researcher.records.get(rec.id, { purpose: 'HRESCH' }))).toBe('any record at all')
    await expect(researcher.records.get(rec.id, { purpose: 'TREAT' })).rejects.toBeInstanceOf(NoGrantError)
  })

  test('behavior: a relayed grant: the patient signs, a relayer submits and pays (wallet client or function)', async () => {
    const relayer = net.devnet.walletClients[5]!
    const rec = await patient.records.put('relayed')
    const grant = await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 2,
      relay: relayer,
    })
    const tx = await net.devnet.publicClient.getTransaction({ hash: grant.transactionHash })
    expect(tx.from.toLowerCase()).toBe(relayer.account.address.toLowerCase())
    expect(grant.grantor).toBe(patient.address)
    expect(text(await clinic.records.get(rec.id))).toBe('relayed')

    const viaFunction = await patient.records.put('relayed by a function')
    await patient.grants.create({
      to: clinic.address,
      records: [viaFunction.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      relay: async (signedGrant) =>
        (await grantBySig(relayer, { addresses: net.devnet.addresses, signedGrant })).hash,
    })
    expect(text(await clinic.records.get(viaFunction.id))).toBe('relayed by a function')

    const failing = await patient.records.put('never granted')
    const err = await patient.grants
      .create({
        to: clinic.address,
        records: [failing.id],
        purpose: 'TREAT',
        expiresIn: '1d',
        relay: async () => Promise.reject(new Error('relayer offline')),
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(RelayError)
    await expect(clinic.records.get(failing.id)).rejects.toBeInstanceOf(NoGrantError)
    // The signed grant may still be submitted until its deadline: its kfrag bundle is kept for it.
    const { bundleCid } = err as RelayError
    expect(bundleCid).toBeDefined()
    expect(await net.storage.isPinned(bundleCid!)).toBe(true)
  })

  test('error: a relayer wallet client whose grantBySig reverts at simulation sent nothing: the domain error is thrown and the kfrag bundle is unpinned', async () => {
    const rec = await patient.records.put('relay refused')
    // The relayer's node: before its first simulation of grantBySig is answered, the grantor cancels the signed
    // grant's salt (from another device, say), so the chain itself refuses it (GrantIdCancelled). Its calldata
    // names the salt and the bundle's CID.
    const { devnet } = net
    const direct = http(devnet.rpcUrl)({ chain: devnet.chain, retryCount: 0 })
    let kfragsCid: Hex | undefined
    const relayer = createWalletClient({
      account: devnet.accounts[5]!,
      chain: devnet.chain,
      transport: intercepting(http(devnet.rpcUrl), (args) => {
        if (args.method !== 'eth_call' || kfragsCid !== undefined) return undefined
        const [call] = args.params as [{ data?: Hex; input?: Hex }]
        const decoded = decodeFunctionData({ abi: consentRegistryAbi, data: (call.data ?? call.input)! })
        if (decoded.functionName !== 'grantBySig') return undefined
        const [grantor, params] = decoded.args
        kfragsCid = params.kfragsCid
        return (async () => {
          await cancelGrantSalt(devnet.walletClients[0]!, {
            addresses: devnet.addresses,
            grantor,
            salt: params.salt,
          })
          return direct.request(args as Parameters<typeof direct.request>[0])
        })()
      }),
    })
    const err = await patient.grants
      .create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '1d', relay: relayer })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GrantIdCancelledError)
    expect(kfragsCid).toBeDefined()
    // Nothing was sent and no one else holds the signed grant, whose id can never be created now: nothing can
    // ever refer to the bundle. A relay that kept it pinned would leave it on the grantor's node for good.
    expect(await net.storage.isPinned(CID.decode(hexToBytes(kfragsCid!)))).toBe(false)
    await expect(clinic.records.get(rec.id)).rejects.toBeInstanceOf(NoGrantError)
  })

  test('behavior: a relayer wallet client whose simulation times out has already shown the signed grant to its node: RelayError keeps the kfrag bundle pinned', async () => {
    const rec = await patient.records.put('relay timed out')
    // The relayer's node takes the simulation's eth_call (the signed grant in its calldata) and never answers:
    // the client hears viem's time-out. Whoever saw the call may submit the grant until its deadline.
    const { devnet } = net
    let seen: Hex | undefined
    const relayer = createWalletClient({
      account: devnet.accounts[5]!,
      chain: devnet.chain,
      transport: intercepting(http(devnet.rpcUrl, { retryCount: 0 }), (args) => {
        if (args.method !== 'eth_call') return undefined
        const [call] = args.params as [{ data?: Hex; input?: Hex }]
        const data = (call.data ?? call.input)!
        if (decodeFunctionData({ abi: consentRegistryAbi, data }).functionName !== 'grantBySig')
          return undefined
        seen = data
        return Promise.reject(new TimeoutError({ body: { method: args.method }, url: devnet.rpcUrl }))
      }),
    })
    const err = await patient.grants
      .create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '1d', relay: relayer })
      .catch((e: unknown) => e)
    expect(seen).toBeDefined()
    expect(err).toBeInstanceOf(RelayError)
    const { bundleCid } = err as RelayError
    expect(bundleCid).toBeDefined()
    expect(await net.storage.isPinned(bundleCid!)).toBe(true)
    // The one who saw the call submits it later: the grant lands and its bundle is there for the grantee.
    const thief = devnet.walletClients[6]!
    const { consentRegistry } = devnet.addresses
    await devnet.publicClient.waitForTransactionReceipt({
      hash: await thief.sendTransaction({ to: consentRegistry, data: seen! }),
    })
    expect(text(await clinic.records.get(rec.id))).toBe('relay timed out')
  })

  test("behavior: a relayer wallet client refused with GrantAlreadyExists because its node submitted the signed grant first: the vault's own node shows the grant with the terms signed, so it is returned, its bundle kept, and the grantee reads", async () => {
    const rec = await patient.records.put('front-run')
    // The relayer's node sees the signed grant in the simulation's calldata and sends it itself, first; the
    // simulation then honestly reverts with GrantAlreadyExists.
    const { devnet } = net
    const direct = http(devnet.rpcUrl)({ chain: devnet.chain, retryCount: 0 })
    let frontRun: Hex | undefined
    const relayer = createWalletClient({
      account: devnet.accounts[5]!,
      chain: devnet.chain,
      transport: intercepting(http(devnet.rpcUrl), (args) => {
        if (args.method !== 'eth_call' || frontRun !== undefined) return undefined
        const [call] = args.params as [{ to: Hex; data?: Hex; input?: Hex }]
        const data = (call.data ?? call.input)!
        if (decodeFunctionData({ abi: consentRegistryAbi, data }).functionName !== 'grantBySig')
          return undefined
        return (async () => {
          const thief = devnet.walletClients[6]!
          const hash = await thief.sendTransaction({ to: call.to, data })
          await devnet.publicClient.waitForTransactionReceipt({ hash })
          frontRun = hash
          return direct.request(args as Parameters<typeof direct.request>[0])
        })()
      }),
    })
    const grant = await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      relay: relayer,
    })
    expect(frontRun).toBeDefined()
    // The grant as it stands on chain, as for a relay that succeeded: the one who front-ran sent it.
    expect(grant).toMatchObject({
      grantor: patient.address,
      grantee: clinic.address,
      purpose: 'TREAT',
      transactionHash: frontRun,
      revoked: false,
      active: true,
    })
    expect(grant.scope).toEqual({ kind: 'record', records: [rec.id.toLowerCase()] })
    expect(await net.storage.isPinned(grant.bundleCid)).toBe(true)
    expect(text(await clinic.records.get(rec.id))).toBe('front-run')
  })

  test("attack: a relayer wallet client reports GrantAlreadyExists that the vault's own node does not show (a lie, or a node ahead of the vault's): RelayError keeps the kfrag bundle, and the grant the relayer still holds lands", async () => {
    const { devnet } = net
    const rec = await patient.records.put('already exists?')
    let seen: Hex | undefined
    const relayer = createWalletClient({
      account: devnet.accounts[5]!,
      chain: devnet.chain,
      transport: fakingReverts(devnet.rpcUrl, ({ data }) => {
        const decoded = decodeFunctionData({ abi: consentRegistryAbi, data })
        if (decoded.functionName !== 'grantBySig') return undefined
        seen = data
        const [grantor, params] = decoded.args
        return encodeErrorResult({
          abi: consentRegistryAbi,
          errorName: 'GrantAlreadyExists',
          args: [computeGrantId(grantor, params.salt)],
        })
      }),
    })
    const err = await patient.grants
      .create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '1d', relay: relayer })
      .catch((e: unknown) => e)
    expect(seen).toBeDefined()
    expect(err).toBeInstanceOf(RelayError)
    const { bundleCid, cause, unconfirmed, metaMessages } = err as RelayError
    expect(cause).toMatchObject({ name: 'GrantAlreadyExistsError' })
    expect(unconfirmed).toEqual({ reported: 'GrantAlreadyExistsError' })
    expect(metaMessages?.[0]).toBe(
      "The vault's node shows no grant under this id: the relayer's node may be lying, or be ahead of the vault's.",
    )
    expect(await net.storage.isPinned(bundleCid!)).toBe(true)
    await devnet.publicClient.waitForTransactionReceipt({
      hash: await devnet.walletClients[5]!.sendTransaction({
        to: devnet.addresses.consentRegistry,
        data: seen!,
      }),
    })
    expect(text(await clinic.records.get(rec.id))).toBe('already exists?')
  })

  test("attack: a relayer's node takes the salt from the simulation and has other terms registered under the grant id first, then reports GrantAlreadyExists or SignatureExpired: the vault's own node shows a grant that is not the one signed, so it is not returned (RelayError, otherTerms) and the bundle is kept", async () => {
    const { devnet } = net
    // Anyone the registry lets create this grantor's grants can reuse the salt with other terms: here the
    // grantor's own account (another session of it, or a wallet tricked into it) with another purpose.
    const grantorWallet = createWalletClient({
      account: privateKeyToAccount(net.accounts[0]!.privateKey),
      chain: devnet.chain,
      transport: http(devnet.rpcUrl),
    })
    for (const reported of ['GrantAlreadyExists', 'SignatureExpired'] as const) {
      const rec = await patient.records.put(`other terms (${reported})`)
      let taken: Hex | undefined
      const relayer = createWalletClient({
        account: devnet.accounts[5]!,
        chain: devnet.chain,
        transport: fakingReverts(devnet.rpcUrl, ({ to, data }) => {
          const decoded = decodeFunctionData({ abi: consentRegistryAbi, data })
          if (decoded.functionName !== 'grantBySig') return undefined
          const [grantor, params, , deadline] = decoded.args
          return (async () => {
            await devnet.publicClient.waitForTransactionReceipt({
              hash: await grantorWallet.writeContract({
                address: to!,
                abi: consentRegistryAbi,
                functionName: 'grant',
                args: [{ ...params, purpose: params.purpose === 1 ? 2 : 1 }],
              }),
            })
            taken = computeGrantId(grantor, params.salt)
            // GrantAlreadyExists: the simulation then runs on the node as it is, and reverts with it honestly.
            return reported === 'GrantAlreadyExists'
              ? undefined
              : encodeErrorResult({
                  abi: consentRegistryAbi,
                  errorName: 'SignatureExpired',
                  args: [deadline, deadline + 1n],
                })
          })()
        }),
      })
      const err = await patient.grants
        .create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '1d', relay: relayer })
        .catch((e: unknown) => e)
      expect(taken, reported).toBeDefined()
      expect(err, reported).toBeInstanceOf(RelayError)
      const { bundleCid, cause, grantId, unconfirmed, metaMessages } = err as RelayError
      expect(grantId, reported).toBe(taken)
      expect(cause, reported).toMatchObject({ name: `${reported}Error` })
      expect(unconfirmed, reported).toEqual({ reported: `${reported}Error`, otherTerms: true })
      expect(metaMessages?.[0], reported).toBe(
        "The vault's node shows a grant under this id with other terms than those signed.",
      )
      expect(await net.storage.isPinned(bundleCid!), reported).toBe(true)
    }
  })

  test("attack: a relay function that reports success after other terms were registered under the grant id (the salt reused): the grant is not returned as the caller's (RelayError, otherTerms) and the bundle is kept", async () => {
    const { devnet } = net
    // Someone the registry lets create this grantor's grants (here the grantor's own account) registers another
    // purpose under the signed salt and hands back that transaction's hash as the relay's.
    const grantorWallet = createWalletClient({
      account: privateKeyToAccount(net.accounts[0]!.privateKey),
      chain: devnet.chain,
      transport: http(devnet.rpcUrl),
    })
    const rec = await patient.records.put('other terms, success reported')
    let taken: Hex | undefined
    const err = await patient.grants
      .create({
        to: clinic.address,
        records: [rec.id],
        purpose: 'TREAT',
        expiresIn: '1d',
        relay: async (signedGrant) => {
          const { params } = signedGrant
          const hash = await grantorWallet.writeContract({
            address: devnet.addresses.consentRegistry,
            abi: consentRegistryAbi,
            functionName: 'grant',
            args: [{ ...params, purpose: params.purpose === 1 ? 2 : 1 }],
          })
          await devnet.publicClient.waitForTransactionReceipt({ hash })
          taken = computeGrantId(signedGrant.grantor, params.salt)
          return hash
        },
      })
      .catch((e: unknown) => e)
    expect(taken).toBeDefined()
    expect(err).toBeInstanceOf(RelayError)
    const { bundleCid, grantId, unconfirmed, metaMessages } = err as RelayError
    expect(grantId).toBe(taken)
    expect(unconfirmed).toEqual({ reported: 'success', otherTerms: true })
    expect(metaMessages?.[0]).toBe(
      "The vault's node shows a grant under this id with other terms than those signed.",
    )
    expect(await net.storage.isPinned(bundleCid!)).toBe(true)
  })

  test('error: a relayer wallet client whose simulation runs past the signed deadline: SignatureExpiredError is thrown and the kfrag bundle is unpinned', async () => {
    const rec = await patient.records.put('relay too late')
    // Before the relayer's node answers its first simulation, the chain's clock passes the signed deadline (10
    // minutes by default): no one can ever register the grant with that signature.
    const { devnet } = net
    const direct = http(devnet.rpcUrl)({ chain: devnet.chain, retryCount: 0 })
    let seen: Hex | undefined
    // The clock jump is undone afterwards (other tests compare chain time with the proxies' clocks).
    let snapshot: Hex | undefined
    const relayer = createWalletClient({
      account: devnet.accounts[5]!,
      chain: devnet.chain,
      transport: intercepting(http(devnet.rpcUrl), (args) => {
        if (args.method !== 'eth_call' || seen !== undefined) return undefined
        const [call] = args.params as [{ data?: Hex; input?: Hex }]
        const data = (call.data ?? call.input)!
        if (decodeFunctionData({ abi: consentRegistryAbi, data }).functionName !== 'grantBySig')
          return undefined
        seen = data
        return (async () => {
          snapshot = await devnet.testClient.snapshot()
          await devnet.testClient.increaseTime({ seconds: 3600 })
          await devnet.testClient.mine({ blocks: 1 })
          return direct.request(args as Parameters<typeof direct.request>[0])
        })()
      }),
    })
    const err = await patient.grants
      .create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '1d', relay: relayer })
      .catch((e: unknown) => e)
    if (snapshot !== undefined) await devnet.testClient.revert({ id: snapshot })
    expect(err).toBeInstanceOf(SignatureExpiredError)
    const [, params] = decodeFunctionData({ abi: consentRegistryAbi, data: seen! }).args as unknown as [
      Hex,
      { kfragsCid: Hex },
    ]
    expect(await net.storage.isPinned(CID.decode(hexToBytes(params.kfragsCid)))).toBe(false)
    await expect(clinic.records.get(rec.id)).rejects.toBeInstanceOf(NoGrantError)
  })

  test('behavior: a relayer wallet client whose node refuses the signature as invalid: not final (a contract signer may answer otherwise later), so RelayError keeps the kfrag bundle and the grant can still land', async () => {
    const rec = await patient.records.put('refused as invalid')
    // The relayer's node answers InvalidSignature, as a node that has not yet seen a contract wallet's deployment
    // would: it simulates the call with a spoiled signature. The signed grant it saw is good on the chain.
    const { devnet } = net
    const direct = http(devnet.rpcUrl)({ chain: devnet.chain, retryCount: 0 })
    let seen: Hex | undefined
    const relayer = createWalletClient({
      account: devnet.accounts[5]!,
      chain: devnet.chain,
      transport: intercepting(http(devnet.rpcUrl), (args) => {
        if (args.method !== 'eth_call' || seen !== undefined) return undefined
        const [call] = args.params as [{ to: Hex; data?: Hex; input?: Hex }]
        const data = (call.data ?? call.input)!
        const decoded = decodeFunctionData({ abi: consentRegistryAbi, data })
        if (decoded.functionName !== 'grantBySig') return undefined
        seen = data
        const [grantor, params, signer, deadline, signature] = decoded.args
        const spoiled =
          `${signature.slice(0, 4)}${signature[4] === '0' ? '1' : '0'}${signature.slice(5)}` as Hex
        const spoiledData = encodeFunctionData({
          abi: consentRegistryAbi,
          functionName: 'grantBySig',
          args: [grantor, params, signer, deadline, spoiled],
        })
        const [, ...rest] = args.params as unknown[]
        return direct.request({
          method: 'eth_call',
          params: [{ ...call, data: spoiledData, input: undefined }, ...rest],
        } as Parameters<typeof direct.request>[0])
      }),
    })
    const err = await patient.grants
      .create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '1d', relay: relayer })
      .catch((e: unknown) => e)
    expect(seen).toBeDefined()
    expect(err).toBeInstanceOf(RelayError)
    expect((err as RelayError).cause).toMatchObject({ name: 'InvalidSignatureError' })
    const { bundleCid } = err as RelayError
    expect(bundleCid).toBeDefined()
    expect(await net.storage.isPinned(bundleCid!)).toBe(true)
    // Submitted as signed, the grant registers, and its bundle is there for the grantee.
    const thief = devnet.walletClients[6]!
    await devnet.publicClient.waitForTransactionReceipt({
      hash: await thief.sendTransaction({ to: devnet.addresses.consentRegistry, data: seen! }),
    })
    expect(text(await clinic.records.get(rec.id))).toBe('refused as invalid')
  })

  test("attack: a relayer wallet client whose node fakes SignatureExpired or GrantIdCancelled before the deadline: the vault's own node does not confirm it, so RelayError keeps the kfrag bundle and the grant the relayer still holds lands", async () => {
    const { devnet } = net
    for (const reported of ['SignatureExpired', 'GrantIdCancelled'] as const) {
      const rec = await patient.records.put(`lied about (${reported})`)
      // The relayer's node answers the simulation with the refusal, without running it; the signed grant in its
      // calldata is good on the chain until its deadline, and the relayer keeps it.
      let seen: Hex | undefined
      const relayer = createWalletClient({
        account: devnet.accounts[5]!,
        chain: devnet.chain,
        transport: fakingReverts(devnet.rpcUrl, ({ data }) => {
          const decoded = decodeFunctionData({ abi: consentRegistryAbi, data })
          if (decoded.functionName !== 'grantBySig') return undefined
          seen = data
          const [grantor, params, , deadline] = decoded.args
          return reported === 'SignatureExpired'
            ? encodeErrorResult({
                abi: consentRegistryAbi,
                errorName: 'SignatureExpired',
                args: [deadline, deadline + 1n],
              })
            : encodeErrorResult({
                abi: consentRegistryAbi,
                errorName: 'GrantIdCancelled',
                args: [computeGrantId(grantor, params.salt)],
              })
        }),
      })
      const err = await patient.grants
        .create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '1d', relay: relayer })
        .catch((e: unknown) => e)
      expect(seen, reported).toBeDefined()
      expect(err, reported).toBeInstanceOf(RelayError)
      const { bundleCid, cause, grantId, unconfirmed, shortMessage } = err as RelayError
      expect(cause, reported).toMatchObject({ name: `${reported}Error` })
      expect(unconfirmed, reported).toEqual({ reported: `${reported}Error` })
      expect(shortMessage.replace(grantId, '<grantId>')).toBe(
        `The relayer reported ${reported}Error for grant <grantId>, but the vault's chain does not confirm it; the grant may still be registered.`,
      )
      expect(await net.storage.isPinned(bundleCid!), reported).toBe(true)
      // The relayer submits the signed grant it still holds, before its deadline: the grant lands, and its bundle
      // is there for the grantee.
      await devnet.publicClient.waitForTransactionReceipt({
        hash: await devnet.walletClients[5]!.sendTransaction({
          to: devnet.addresses.consentRegistry,
          data: seen!,
        }),
      })
      expect(text(await clinic.records.get(rec.id)), reported).toBe(`lied about (${reported})`)
    }
  })

  test("behavior: a relayer wallet client reports SignatureExpired or GrantAlreadyExists and the vault's own node cannot be asked: RelayError keeps the kfrag bundle", async () => {
    const { devnet } = net
    // The patient's vault on a node that stops answering once the relayer's node has answered.
    let down = false
    const vault = await createVault({
      account: net.accounts[0]!.privateKey,
      proxySet: net.proxySet,
      storage: net.storage,
      chain: {
        transport: intercepting(http(devnet.rpcUrl, { retryCount: 0 }), (args) =>
          down
            ? Promise.reject(new TimeoutError({ body: { method: args.method }, url: devnet.rpcUrl }))
            : undefined,
        ),
        addresses: devnet.addresses,
        chain: devnet.chain,
        deployBlock: devnet.deployBlock,
      },
    })
    try {
      for (const reported of ['SignatureExpired', 'GrantAlreadyExists'] as const) {
        const rec = await vault.records.put(`unchecked (${reported})`)
        let seen: Hex | undefined
        const relayer = createWalletClient({
          account: devnet.accounts[5]!,
          chain: devnet.chain,
          transport: fakingReverts(devnet.rpcUrl, ({ data }) => {
            const decoded = decodeFunctionData({ abi: consentRegistryAbi, data })
            if (decoded.functionName !== 'grantBySig') return undefined
            seen = data
            down = true
            const [grantor, params, , deadline] = decoded.args
            return reported === 'SignatureExpired'
              ? encodeErrorResult({
                  abi: consentRegistryAbi,
                  errorName: 'SignatureExpired',
                  args: [deadline, deadline + 1n],
                })
              : encodeErrorResult({
                  abi: consentRegistryAbi,
                  errorName: 'GrantAlreadyExists',
                  args: [computeGrantId(grantor, params.salt)],
                })
          }),
        })
        const err = await vault.grants
          .create({
            to: clinic.address,
            records: [rec.id],
            purpose: 'TREAT',
            expiresIn: '1d',
            relay: relayer,
          })
          .catch((e: unknown) => e)
        down = false
        expect(err, reported).toBeInstanceOf(RelayError)
        const { bundleCid, unconfirmed } = err as RelayError
        expect(unconfirmed?.reported, reported).toBe(`${reported}Error`)
        expect(unconfirmed?.checkError, reported).toMatchObject({ name: 'TimeoutError' })
        expect(await net.storage.isPinned(bundleCid!), reported).toBe(true)
        await devnet.publicClient.waitForTransactionReceipt({
          hash: await devnet.walletClients[5]!.sendTransaction({
            to: devnet.addresses.consentRegistry,
            data: seen!,
          }),
        })
        expect(text(await clinic.records.get(rec.id)), reported).toBe(`unchecked (${reported})`)
      }
    } finally {
      down = false
    }
  })

  test("behavior: a relayer wallet client whose node never answers eth_chainId: the caller's signal ends grants.create with its reason, before anything is stored", async () => {
    const { devnet } = net
    const rec = await patient.records.put('relayer silent')
    const pins = async () => {
      const out: string[] = []
      for await (const cid of net.storage.listPins()) out.push(cid.toString())
      return out.sort()
    }
    const controller = new AbortController()
    const methods: string[] = []
    const relayer = createWalletClient({
      account: devnet.accounts[5]!,
      chain: devnet.chain,
      // No time-out on this transport: without the signal, the call would wait for good.
      transport: intercepting(http(devnet.rpcUrl, { retryCount: 0, timeout: 0 }), (args) => {
        methods.push(args.method)
        if (args.method !== 'eth_chainId') return undefined
        setImmediate(() => controller.abort())
        return new Promise(() => {})
      }),
    })
    const before = await pins()
    const err = await patient.grants
      .create({
        to: clinic.address,
        records: [rec.id],
        purpose: 'TREAT',
        expiresIn: '1d',
        relay: relayer,
        signal: controller.signal,
      })
      .catch((e: unknown) => e)
    expect(err).toBe(controller.signal.reason)
    expect(err).toMatchObject({ name: 'AbortError' })
    expect(methods).toEqual(['eth_chainId'])
    expect(await pins()).toEqual(before)
    await expect(clinic.records.get(rec.id)).rejects.toBeInstanceOf(NoGrantError)
  })

  test('attack: a relayer wallet client on another chain is refused before the grant is signed or stored', async () => {
    const { devnet } = net
    const otherId = devnet.chain.id + 1
    const pins = async () => {
      const out: string[] = []
      for await (const cid of net.storage.listPins()) out.push(cid.toString())
      return out.sort()
    }
    // Set to another chain; or set to none, its node answering another chain's id; or set to the vault's chain,
    // its node answering another's (the setting is only what the client's owner meant); or its node not
    // answering at all.
    for (const relayerCase of ['chain', 'node', 'node behind the right chain', 'node down'] as const) {
      const rec = await patient.records.put(`other chain (${relayerCase})`)
      const methods: string[] = []
      const relayer = createWalletClient({
        account: devnet.accounts[5]!,
        ...(relayerCase === 'chain'
          ? { chain: { ...devnet.chain, id: otherId } }
          : relayerCase === 'node behind the right chain'
            ? { chain: devnet.chain }
            : {}),
        transport: intercepting(http(devnet.rpcUrl), (args) => {
          methods.push(args.method)
          if (args.method !== 'eth_chainId') return undefined
          if (relayerCase === 'node down') {
            return Promise.reject(new TimeoutError({ body: { method: args.method }, url: devnet.rpcUrl }))
          }
          return Promise.resolve(`0x${otherId.toString(16)}`)
        }),
      })
      const before = await pins()
      const err = await patient.grants
        .create({ to: clinic.address, records: [rec.id], purpose: 'TREAT', expiresIn: '1d', relay: relayer })
        .catch((e: unknown) => e)
      if (relayerCase === 'node down') {
        expect(err, relayerCase).toMatchObject({ name: 'TimeoutError' })
      } else {
        expect(err, relayerCase).toMatchObject({ name: 'InvalidOptionError' })
        expect((err as Error).message, relayerCase).toContain('relay')
      }
      // Nothing but the chain id was asked of the relayer's node (no simulation carried a signature to it), and
      // nothing was stored for the grant.
      expect(methods, relayerCase).toEqual(relayerCase === 'chain' ? [] : ['eth_chainId'])
      expect(await pins(), relayerCase).toEqual(before)
      await expect(clinic.records.get(rec.id)).rejects.toBeInstanceOf(NoGrantError)
    }
  })

  test('behavior: a grantee reads new versions; rotate re-issues the grants that carry the old key', async () => {
    const rec = await patient.records.put('v1')
    const sibling = await patient.records.put('sibling')
    const grant = await patient.grants.create({
      to: clinic.address,
      records: [rec.id, sibling.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 2,
    })
    await patient.records.update(rec.id, 'v2')
    expect(text(await clinic.records.get(rec.id))).toBe('v2')
    expect((await patient.records.history(rec.id)).map((h) => h.version)).toEqual([1, 2])

    const { record, reissued } = await patient.records.rotate(rec.id)
    expect(record).toMatchObject({ version: 3, epoch: 1 })
    expect(reissued.map((r) => r.from)).toEqual([grant.id])
    expect(reissued[0]!.to).toMatchObject({
      grantee: clinic.address,
      threshold: 2,
      scope: { kind: 'records', records: [rec.id, sibling.id] },
    })
    const grants = await patient.grants.list({ given: true, record: rec.id })
    expect(grants.find((g) => g.id === grant.id)).toMatchObject({ revoked: true })
    // The clinician keeps access through the replacement, to both records.
    expect(text(await clinic.records.get(rec.id))).toBe('v2')
    expect(text(await clinic.records.get(sibling.id))).toBe('sibling')
  })

  test('behavior: a read right after a new version and a new grant is answered by the first proxies asked, without refusals', async () => {
    for (let round = 0; round < 3; round++) {
      const rec = await patient.records.put(`fresh ${round}`)
      await patient.grants.create({
        to: clinic.address,
        records: [rec.id],
        purpose: 'TREAT',
        expiresIn: '1d',
        threshold: 3,
      })
      const answers: { ok: boolean; code?: string }[] = []
      const onProgress = (e: { type: string }) => {
        if (e.type === 'access:answer') answers.push(e as { type: string; ok: boolean; code?: string })
      }
      expect(text(await clinic.records.get(rec.id, { onProgress }))).toBe(`fresh ${round}`)
      await patient.records.update(rec.id, `fresh ${round} v2`)
      expect(text(await clinic.records.get(rec.id, { onProgress }))).toBe(`fresh ${round} v2`)
      // Threshold 3 of 3 proxies: every proxy had to answer at once, each asked once.
      expect(answers.filter((a) => !a.ok)).toEqual([])
      expect(answers).toHaveLength(6)
    }
  })

  test('behavior: audit.list shows registrations, the grant, anchored reads and the revocation', async () => {
    const rec = await patient.records.put('audited')
    const grant = await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 2,
    })
    await clinic.records.get(rec.id)
    const readsOf = async () =>
      (await patient.audit.list({ record: rec.id })).filter((e) => e.kind === 'read')
    // M = 2 proxies answer a read; a third asked by the hedge may answer too (and sign a receipt).
    const first = (await readsOf()).length
    expect(first).toBeGreaterThanOrEqual(2)
    expect(first).toBeLessThanOrEqual(3)
    const anchors = await net.anchorReceipts()
    expect(anchors.length).toBeGreaterThan(0)
    await clinic.records.get(rec.id) // a read after the anchor: listed, not yet anchored
    await patient.grants.revoke(grant.id)
    const trail = await patient.audit.list({ record: rec.id })
    // This record's events, and the earlier all-records grant to the researcher, which covers it too.
    const mine = trail.filter((e) => !('grantId' in e) || e.grantId === grant.id)
    const count = (kind: string) => mine.filter((e) => e.kind === kind).length
    expect([count('record-registered'), count('grant'), count('revocation')]).toEqual([1, 1, 1])
    expect(mine.slice(0, 2).map((e) => e.kind)).toEqual(['record-registered', 'grant'])
    // In time order (reads carry the proxy's clock, chain events their block's: same-second ties may interleave).
    for (let i = 1; i < trail.length; i++) expect(trail[i]!.at).toBeGreaterThanOrEqual(trail[i - 1]!.at)
    expect(trail.filter((e) => e.kind === 'grant').map((e) => e.scope.kind)).toEqual(['all', 'record'])
    const reads = trail.filter((e) => e.kind === 'read')
    expect(reads.length - first).toBeGreaterThanOrEqual(2)
    expect(reads.length - first).toBeLessThanOrEqual(3)
    // Exactly the receipts signed before the anchor are proven by the anchored roots.
    expect(reads.filter((r) => r.anchored)).toHaveLength(first)
    for (const r of reads)
      expect(r).toMatchObject({ grantId: grant.id, recordId: rec.id, reader: clinic.address })
    expect(trail.find((e) => e.kind === 'grant' && e.grantId === grant.id)).toMatchObject({
      grantId: grant.id,
      grantee: clinic.address,
      purpose: 'TREAT',
    })
    // Another record's trail does not list this one's grant or reads.
    const elsewhere = await patient.records.put('elsewhere')
    const other = await patient.audit.list({ record: elsewhere.id })
    expect(
      other
        .filter((e) => e.kind === 'record-registered')
        .map((e) => e.kind === 'record-registered' && e.recordId),
    ).toEqual([elsewhere.id])
    expect(other.some((e) => 'grantId' in e && e.grantId === grant.id)).toBe(false)
  })

  test('behavior: a wallet identity derives its keys from a signature; the other derivation is refused, not mixed', async () => {
    const { privateKey } = net.accounts[3]!
    const chain = {
      transport: http(net.devnet.rpcUrl),
      addresses: net.devnet.addresses,
      chain: net.devnet.chain,
      deployBlock: net.devnet.deployBlock,
    }
    const wallet = await createVault({
      account: privateKeyToAccount(privateKey),
      chain,
      storage: net.storage,
      proxySet: net.proxySet,
    })
    const rec = await wallet.records.put('from a wallet identity')
    expect(text(await wallet.records.get(rec.id))).toBe('from a wallet identity')
    await wallet.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1d',
      threshold: 2,
    })
    expect(text(await clinic.records.get(rec.id))).toBe('from a wallet identity')
    await expect(createVault({ account: privateKey, chain, storage: net.storage })).rejects.toBeInstanceOf(
      KeyMismatchError,
    )
  })

  test('error: granting to an account that never published keys', async () => {
    const rec = await patient.records.put('x')
    const err = await patient.grants
      .create({
        to: '0x000000000000000000000000000000000000dEaD',
        records: [rec.id],
        purpose: 'TREAT',
        expiresIn: '1d',
      })
      .catch((e: unknown) => e)
    expect(err).toBeInstanceOf(KeyNotPublishedError)
    expect((err as Error).message).toContain('opening a vault once')
  })

  // Last: it moves the chain's clock.
  test("attack: a relayer's node submits the signed grant itself, holds back its answer past the deadline, then reports SignatureExpired or GrantIdCancelled: the vault's own node shows the grant registered, so the grant is returned and its bundle kept", async () => {
    const { devnet } = net
    for (const reported of ['SignatureExpired', 'GrantIdCancelled'] as const) {
      const rec = await patient.records.put(`submitted behind a refusal (${reported})`)
      // Runs late in the file: it moves the chain's clock ahead of the proxies' (wall) clocks, which the audit
      // trail's order compares.
      // The relayer's node takes the signed grant from the simulation's call and submits it from another account
      // (it lands before its deadline), waits until the chain is past the deadline, and only then answers the
      // simulation with a refusal. Past the deadline even an honest node answers SignatureExpired: the registry
      // checks the deadline before the grant id.
      let submitted: { grantId: Hex; hash: Hex } | undefined
      const relayer = createWalletClient({
        account: devnet.accounts[5]!,
        chain: devnet.chain,
        transport: fakingReverts(devnet.rpcUrl, ({ to, data }) => {
          const decoded = decodeFunctionData({ abi: consentRegistryAbi, data })
          if (decoded.functionName !== 'grantBySig') return undefined
          const [grantor, params, , deadline] = decoded.args
          const grantId = computeGrantId(grantor, params.salt)
          return (async () => {
            const hash = await devnet.walletClients[6]!.sendTransaction({ to: to!, data })
            await devnet.publicClient.waitForTransactionReceipt({ hash })
            submitted = { grantId, hash }
            await devnet.testClient.increaseTime({ seconds: 60 })
            await devnet.testClient.mine({ blocks: 1 })
            const head = await devnet.publicClient.getBlock({ blockTag: 'latest' })
            expect(head.timestamp > deadline, reported).toBe(true)
            return reported === 'SignatureExpired'
              ? encodeErrorResult({
                  abi: consentRegistryAbi,
                  errorName: 'SignatureExpired',
                  args: [deadline, head.timestamp],
                })
              : encodeErrorResult({ abi: consentRegistryAbi, errorName: 'GrantIdCancelled', args: [grantId] })
          })()
        }),
      })
      const grant = await patient.grants.create({
        to: clinic.address,
        records: [rec.id],
        purpose: 'TREAT',
        expiresIn: '1d',
        relay: relayer,
        relayDeadline: '30s',
      })
      expect(submitted, reported).toBeDefined()
      // The grant as it stands on chain, as for a relay that succeeded: the one who submitted it sent it.
      expect(grant, reported).toMatchObject({
        id: submitted!.grantId,
        grantor: patient.address,
        grantee: clinic.address,
        transactionHash: submitted!.hash,
        revoked: false,
        active: true,
      })
      expect(await net.storage.isPinned(grant.bundleCid), reported).toBe(true)
      expect(text(await clinic.records.get(rec.id)), reported).toBe(
        `submitted behind a refusal (${reported})`,
      )
    }
  })

  test('error: after the expiry (chain time), reads fail with GrantExpiredError', async () => {
    const rec = await patient.records.put(utf8('expires'))
    const grant = await patient.grants.create({
      to: clinic.address,
      records: [rec.id],
      purpose: 'TREAT',
      expiresIn: '1h',
      threshold: 2,
    })
    expect(text(await clinic.records.get(rec.id))).toBe('expires')
    await net.devnet.testClient.increaseTime({ seconds: 3601 })
    await net.devnet.testClient.mine({ blocks: 1 })
    const err = await clinic.records.get(rec.id).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(GrantExpiredError)
    expect((err as GrantExpiredError).expiredAt).toBe(grant.expiresAt)
    const listed = await patient.grants.list({ given: true, record: rec.id })
    expect(listed.find((g) => g.id === grant.id)).toMatchObject({ active: false, revoked: false })
  })
})
