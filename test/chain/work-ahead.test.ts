/**
 * A registration given `beforeSend` is filled (gas, nonce, fees) and signed while that work runs, and only the
 * raw send is left once it is done; but fees move with every block, so a transaction filled more than two
 * seconds before its work ended is filled again at its send. Real anvil; the wallet's transport only notes the
 * JSON-RPC methods in order.
 */
import { getRecord, registerRecord } from '@medvault/chain'
import { createDevnet, type Devnet } from '@medvault/chain/node'
import { createWalletClient, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { intercepting } from '../sdk/transports.ts'
import { cid, id } from './helpers.ts'

let devnet: Devnet
const events: string[] = []

beforeAll(async () => {
  devnet = await createDevnet({ accounts: 2 })
})
afterAll(async () => {
  await devnet?.stop()
})

function wallet() {
  return createWalletClient({
    account: privateKeyToAccount(devnet.anvil.accounts[1]!.privateKey),
    chain: devnet.chain,
    transport: intercepting(http(devnet.rpcUrl), (args) => {
      events.push(args.method)
      return undefined
    }),
  })
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** The methods sent after the work ended, up to and including the raw send. */
function afterWork(): string[] {
  const rest = events.slice(events.indexOf('work done') + 1)
  return rest.slice(0, rest.indexOf('eth_sendRawTransaction') + 1)
}

describe('work ahead of a write', () => {
  test('default: filled and signed while the work runs; once it is done only the raw send is left', async () => {
    events.length = 0
    await registerRecord(wallet(), {
      addresses: devnet.addresses,
      recordId: id('quick work'),
      cid: cid('quick work'),
      beforeSend: async () => {
        await tick(100)
        events.push('work done')
      },
    })
    expect(afterWork()).toEqual(['eth_sendRawTransaction'])
  })

  test('behavior: work that ends more than two seconds after the fill: nonce and fees are filled again at the send', async () => {
    events.length = 0
    await registerRecord(wallet(), {
      addresses: devnet.addresses,
      recordId: id('slow work'),
      cid: cid('slow work'),
      beforeSend: async () => {
        await tick(2_200)
        events.push('work done')
      },
    })
    const sent = afterWork()
    expect(sent.at(-1)).toBe('eth_sendRawTransaction')
    // anvil answers eth_fillTransaction, which viem prefers to estimating and reading nonce and fees one by one.
    expect(sent.some((m) => m === 'eth_fillTransaction' || m === 'eth_getTransactionCount')).toBe(true)
    const record = await getRecord(devnet.publicClient, {
      addresses: devnet.addresses,
      recordId: id('slow work'),
    })
    expect(record.owner).toBe(devnet.anvil.accounts[1]!.address)
  })
})
