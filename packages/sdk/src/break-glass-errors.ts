/**
 * Errors of `vault.breakGlass` (re-exported by `./errors.ts`).
 *
 * @module
 */
import { BaseError } from '@medvault/crypto/errors'
import type { Hex } from 'viem'

/**
 * Why the chain refused a break-glass call:
 * - `unknown-grant`: no grant has this id;
 * - `not-break-glass`: the grant is a plain grant (read it with `records.get`);
 * - `not-grantee`: only the grant's grantee opens a window;
 * - `record-out-of-scope`: the grant does not cover the record (or the record changed owner);
 * - `halted`: the patient ended emergency access to this record and has not re-authorised it;
 * - `not-halted`: `reauthorize` on a record that is not halted;
 * - `already-open`: a window on this record runs already (one at a time per record);
 * - `not-open`: the grantee ended a window that is not running;
 * - `windows-exhausted`: the grant has opened all 64 windows it may; the patient must authorise anew;
 * - `not-allowed`: the account is neither the patient nor a delegate with that permission.
 */
export type BreakGlassRefusal =
  | 'unknown-grant'
  | 'not-break-glass'
  | 'not-grantee'
  | 'record-out-of-scope'
  | 'halted'
  | 'not-halted'
  | 'already-open'
  | 'not-open'
  | 'windows-exhausted'
  | 'not-allowed'

const hints: Record<BreakGlassRefusal, string> = {
  'unknown-grant': 'Check the grant id and that the vault talks to the chain the grant was made on.',
  'not-break-glass': 'A plain grant needs no window: read with vault.records.get.',
  'not-grantee': "Only the grant's grantee can open a window.",
  'record-out-of-scope': 'Open a window on a record the grant covers.',
  halted: 'The patient (or a grant delegate) must re-authorise the record (vault.breakGlass.reauthorize).',
  'not-halted': 'Nothing to re-authorise: the record is not halted.',
  'already-open': 'A window runs already: read now, or wait until it ends before opening another.',
  'not-open': 'No window of this grant runs on this record.',
  'windows-exhausted': 'The patient must authorise a new break-glass grant.',
  'not-allowed': 'Only the patient or a delegate holding that permission can do this.',
}

export type BreakGlassRefusedErrorType = BreakGlassRefusedError & { name: 'BreakGlassRefusedError' }

/** The chain refused a break-glass call; `reason` says why, `cause` is the contract's error. */
export class BreakGlassRefusedError extends BaseError {
  override name = 'BreakGlassRefusedError' as const
  readonly grantId: Hex
  readonly recordId: Hex
  readonly reason: BreakGlassRefusal

  constructor({
    grantId,
    recordId,
    reason,
    cause,
  }: { grantId: Hex; recordId: Hex; reason: BreakGlassRefusal; cause?: unknown }) {
    super(`Break-glass on record ${recordId} under grant ${grantId} was refused: ${reason}.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: [hints[reason]],
    })
    this.grantId = grantId
    this.recordId = recordId
    this.reason = reason
  }
}

export type EmergencyAccessClosedErrorType = EmergencyAccessClosedError & {
  name: 'EmergencyAccessClosedError'
}

/**
 * A read under a break-glass grant while no emergency window runs on the record (none opened yet, or it
 * ended): proxies refuse it.
 */
export class EmergencyAccessClosedError extends BaseError {
  override name = 'EmergencyAccessClosedError' as const
  readonly grantId: Hex
  readonly recordId: Hex

  constructor({ grantId, recordId, cause }: { grantId: Hex; recordId: Hex; cause?: unknown }) {
    super(`No emergency window runs on record ${recordId} under break-glass grant ${grantId}.`, {
      ...(cause === undefined ? {} : { cause }),
      metaMessages: [
        'The grantee opens one with vault.breakGlass.open({ grant, record }) and reads within it.',
      ],
    })
    this.grantId = grantId
    this.recordId = recordId
  }
}
