/**
 * Exit codes by error: a script must tell "refused" from "the network failed" from "it may have happened":
 * after a write of unknown outcome, doing it again would make a second record or grant.
 */
import { TransactionOutcomeUnknownError } from '@medvault/chain'
import {
  DatasetRegistrationUnknownError,
  GrantOutcomeUnknownError,
  NoGrantError,
  RegistrationUnknownError,
} from '@medvault/sdk'
import { CID } from 'multiformats/cid'
import { describe, expect, test } from 'vitest'
import { ExitCode, exitCodeOf } from './errors.ts'

const HASH = `0x${'ab'.repeat(32)}` as const
const ID = `0x${'cd'.repeat(32)}` as const
const CID_TEXT = 'bafyreigh2akiscaildcqabsyg3dfr6chu3fgpregiymsck7e7aqa4s52zy'

describe('exitCodeOf', () => {
  test('behavior: a write that may have been mined exits 8, whatever was being written', () => {
    const cid = CID.parse(CID_TEXT)
    const sent = new TransactionOutcomeUnknownError({
      functionName: 'registerRecord',
      hash: HASH,
      stage: 'send',
      cause: new Error('time-out'),
    })
    for (const err of [
      sent,
      new RegistrationUnknownError({ records: [{ id: ID, cid, contentCid: cid }], hash: HASH, cause: sent }),
      new GrantOutcomeUnknownError({ grantId: ID, bundleCid: cid, hash: undefined, cause: sent }),
      new DatasetRegistrationUnknownError({ cid: CID_TEXT, hash: HASH, cause: sent }),
    ]) {
      expect(exitCodeOf(err), err.name).toBe(ExitCode.unknownOutcome)
      expect(ExitCode.unknownOutcome).toBe(8)
    }
  })

  test('default: the other codes are unchanged', () => {
    expect(exitCodeOf(new NoGrantError({ recordId: ID, account: `0x${'11'.repeat(20)}` }))).toBe(
      ExitCode.refused,
    )
    expect(exitCodeOf(new Error('a bug'))).toBe(ExitCode.failure)
  })
})
