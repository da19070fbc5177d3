import type { MedvaultAddresses } from '@medvault/chain'
import {
  type Address,
  createPublicClient,
  encodeAbiParameters,
  encodeEventTopics,
  type Hex,
  http,
  type Log,
  pad,
  parseAbi,
} from 'viem'
import { foundry } from 'viem/chains'
import { describe, expect, test } from 'vitest'
import { createReadIndex } from './read-index.ts'

const registry = '0x5FbDB2315678afecb367f032d93F642f64180aa3' as Address
const abi = parseAbi([
  'event RecordRegistered(bytes32 indexed recordId, address indexed owner, bytes8 tag, bytes cid)',
])
const owner = '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' as Address
const recordId = pad('0x01', { size: 32 })
const cid = '0x01711220aa' as Hex

/** A RecordRegistered log as the receipt of a registration would carry it. */
function registered(parameters: { address?: Address; recordId?: Hex; cid?: Hex }): Log {
  return {
    address: parameters.address ?? registry,
    topics: encodeEventTopics({
      abi,
      eventName: 'RecordRegistered',
      args: { recordId: parameters.recordId ?? recordId, owner },
    }) as [Hex, ...Hex[]],
    data: encodeAbiParameters(
      [{ type: 'bytes8' }, { type: 'bytes' }],
      ['0x0000000000000000', parameters.cid ?? cid],
    ),
    blockNumber: 5n,
    blockHash: pad('0x05', { size: 32 }),
    logIndex: 0,
    transactionHash: pad('0x0a', { size: 32 }),
    transactionIndex: 0,
    removed: false,
  }
}

function index() {
  return createReadIndex({
    // Never asked: remembering a version reads only the receipt it is given.
    publicClient: createPublicClient({ chain: foundry, transport: http('http://127.0.0.1:9') }),
    addresses: { consentRegistry: registry } as MedvaultAddresses,
    fromBlock: 1n,
    account: owner,
  })
}

const version = {
  version: 1,
  cid,
  author: owner,
  blockNumber: 5n,
  transactionHash: pad('0x0a', { size: 32 }),
}

describe('read index: versions from receipts', () => {
  test('default: a receipt with the registry event for this record and CID is remembered', () => {
    const i = index()
    i.addVersion(recordId, version, [registered({})])
    expect(i.latestKnown(recordId)?.cid).toBe(cid)
  })

  test('attack: a receipt of another transaction (same nonce), another record, another CID or another contract is not remembered', () => {
    const i = index()
    i.addVersion(recordId, version, [])
    i.addVersion(recordId, version, [registered({ recordId: pad('0x02', { size: 32 }) })])
    i.addVersion(recordId, version, [registered({ cid: '0x01711220bb' })])
    i.addVersion(recordId, version, [registered({ address: '0x000000000000000000000000000000000000dEaD' })])
    i.addVersion(recordId, { ...version, version: 2 }, [registered({})])
    expect(i.latestKnown(recordId)).toBeUndefined()
  })
})
