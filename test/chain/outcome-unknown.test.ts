/**
 * A write that fails once its transaction may have gone out says so (`TransactionOutcomeUnknownError`), so that
 * callers do not undo what a mined transaction depends on; one refused before anything went out keeps its own
 * error. Real anvil underneath; the wallet's transport only loses or refuses answers.
 */
import {
  getRecord,
  RecordAlreadyRegisteredError,
  registerRecord,
  TransactionOutcomeUnknownError,
} from '@medvault/chain'
import { createDevnet, type Devnet } from '@medvault/chain/node'
import { createWalletClient, type Hash, type Hex, http, TimeoutError } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { intercepting } from '../sdk/transports.ts'
import { cid, id } from './helpers.ts'

let devnet: Devnet
/** The method whose answer the wallet's transport replaces with a time-out (after the node got the call). */
let lose: string | undefined
/** While set, gas estimates and fills through a test wallet fail (as a node that does not answer them). */
let failFill = false
let fillFailed = deferred()

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => {}
  const promise = new Promise<void>((r) => {
    resolve = r
  })
  return { promise, resolve }
}
beforeAll(async () => {
  devnet = await createDevnet({ accounts: 3 })
})
afterAll(async () => {
  await devnet?.stop()
})

function wallet(privateKey: Hex) {
  const url = devnet.rpcUrl
  const inner = http(url)
  return createWalletClient({
    account: privateKeyToAccount(privateKey),
    chain: devnet.chain,
    transport: intercepting(inner, (args) => {
      if (failFill && (args.method === 'eth_estimateGas' || args.method === 'eth_fillTransaction')) {
        fillFailed.resolve()
        return Promise.reject(new TimeoutError({ body: { method: args.method }, url }))
      }
      if (args.method !== lose) return undefined
      return (async () => {
        // The node gets the call; its answer is lost, as when it comes after the client's time-out.
        await devnet.publicClient.request({ method: args.method, params: args.params } as never)
        throw new TimeoutError({ body: { method: args.method }, url })
      })()
    }),
  })
}

describe('write outcome', () => {
  test("behavior: the send's answer is lost: TransactionOutcomeUnknownError without hash, and the record is registered", async () => {
    const client = wallet(devnet.anvil.accounts[1]!.privateKey)
    lose = 'eth_sendRawTransaction'
    const error = await registerRecord(client, {
      addresses: devnet.addresses,
      recordId: id('answer lost'),
      cid: cid('answer lost'),
    }).catch((e: unknown) => e)
    lose = undefined
    expect(error).toBeInstanceOf(TransactionOutcomeUnknownError)
    expect(error).toMatchObject({ functionName: 'registerRecord', hash: undefined, stage: 'send' })
    expect((error as TransactionOutcomeUnknownError).walk()).toBeInstanceOf(TimeoutError)
    expect((error as Error).message).toMatchInlineSnapshot(`
      "The registerRecord transaction may have been sent: its send failed, but not in a way that shows nothing went out, so it may still be mined.

      Check for its effect on chain (or the account's pending nonce) before sending it again."
    `)
    const record = await getRecord(devnet.publicClient, {
      addresses: devnet.addresses,
      recordId: id('answer lost'),
    })
    expect(record.owner).toBe(client.account.address)
  })

  test('behavior: a transaction signed while beforeSend ran: its answer is lost, but its hash is known', async () => {
    const client = wallet(devnet.anvil.accounts[1]!.privateKey)
    lose = 'eth_sendRawTransaction'
    const error = await registerRecord(client, {
      addresses: devnet.addresses,
      recordId: id('signed ahead'),
      cid: cid('signed ahead'),
      beforeSend: async () => {},
    }).catch((e: unknown) => e)
    lose = undefined
    expect(error).toBeInstanceOf(TransactionOutcomeUnknownError)
    const { hash, stage } = error as TransactionOutcomeUnknownError
    expect(stage).toBe('send')
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/)
    const receipt = await devnet.publicClient.waitForTransactionReceipt({ hash: hash as Hash })
    expect(receipt.status).toBe('success')
  })

  test('behavior: the receipt wait fails: TransactionOutcomeUnknownError with the hash of the mined transaction', async () => {
    const client = wallet(devnet.anvil.accounts[1]!.privateKey)
    lose = 'eth_getTransactionReceipt'
    const error = await registerRecord(client, {
      addresses: devnet.addresses,
      recordId: id('receipt lost'),
      cid: cid('receipt lost'),
    }).catch((e: unknown) => e)
    lose = undefined
    expect(error).toBeInstanceOf(TransactionOutcomeUnknownError)
    const { hash } = error as TransactionOutcomeUnknownError
    expect(hash).toMatch(/^0x[0-9a-f]{64}$/)
    const receipt = await devnet.publicClient.getTransactionReceipt({ hash: hash as Hash })
    expect(receipt.status).toBe('success')
  })

  test('error: a revert at the send (the state changed after the simulation) keeps its domain error: nothing went out', async () => {
    const client = wallet(devnet.anvil.accounts[1]!.privateKey)
    const sender = client.account.address
    const other = devnet.walletClients[2]!
    const before = await devnet.publicClient.getTransactionCount({ address: sender, blockTag: 'pending' })
    // The early gas estimate fails (it is then left to the send); meanwhile another account takes the id, so
    // the send's own estimate reverts with RecordAlreadyRegistered.
    failFill = true
    fillFailed = deferred()
    const error = await registerRecord(client, {
      addresses: devnet.addresses,
      recordId: id('taken meanwhile'),
      cid: cid('mine'),
      beforeSend: async () => {
        await fillFailed.promise
        await other.registerRecord({ recordId: id('taken meanwhile'), cid: cid('theirs') })
        failFill = false
      },
    }).catch((e: unknown) => e)
    failFill = false
    expect(error).toBeInstanceOf(RecordAlreadyRegisteredError)
    expect(await devnet.publicClient.getTransactionCount({ address: sender, blockTag: 'pending' })).toBe(
      before,
    )
  })
})
