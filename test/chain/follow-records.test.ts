import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type FollowedEvent, followEvents } from '@medvault/chain'
import { createDevnet, type Devnet, fileCheckpointStore } from '@medvault/chain/node'
import { consentRegistryAbi } from '@medvault/contracts'
import type { Hex } from 'viem'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { cid } from './helpers.ts'

let devnet: Devnet
let dir: string
beforeAll(async () => {
  devnet = await createDevnet({ accounts: 3 })
  dir = await mkdtemp(join(tmpdir(), 'medvault-follow-records-'))
})
afterAll(async () => {
  await devnet?.stop()
  await rm(dir, { recursive: true, force: true })
})

type ConsentEvent = FollowedEvent<typeof consentRegistryAbi>

describe('followEvents over the ConsentRegistry (the node daemon pin follower)', () => {
  test('default: every registered CID exactly once across a restart, confirmed blocks only', async () => {
    const patient = devnet.walletClients[1]!
    const file = join(dir, 'pins.json')
    const pinned: Hex[] = []
    const follower = () =>
      followEvents(devnet.publicClient, {
        abi: consentRegistryAbi,
        address: devnet.addresses.consentRegistry,
        fromBlock: devnet.deployBlock,
        confirmations: 2,
        batchSize: 3,
        checkpoint: fileCheckpointStore(file),
        onEvents: (events: ConsentEvent[]) => {
          for (const e of events) {
            if (e.eventName === 'RecordRegistered') pinned.push(e.args.cid as Hex)
            if (e.eventName === 'RecordVersionAdded') pinned.push(e.args.cid as Hex)
          }
        },
      })
    const expected: Hex[] = []
    for (let i = 0; i < 6; i++) {
      expected.push(cid(`pin ${i}`))
      await patient.registerRecord({ cid: cid(`pin ${i}`) })
    }
    await follower().sync()
    // The last two blocks are not confirmed yet.
    expect(pinned).toEqual(expected.slice(0, 4))

    const { recordIds } = await patient.registerRecords({ records: [{ cid: cid('b0') }, { cid: cid('b1') }] })
    expected.push(cid('b0'), cid('b1'))
    await patient.registerRecordVersion({ recordId: recordIds[0]!, cid: cid('b0 v2') })
    expected.push(cid('b0 v2'))
    await devnet.testClient.mine({ blocks: 2 })
    // A new follower: only the checkpoint file carries over.
    await follower().sync()
    expect(pinned).toEqual(expected)
  })
})
