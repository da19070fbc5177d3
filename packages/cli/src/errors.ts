/**
 * The CLI's errors and exit codes. Every failure ends as one line on stderr (`medvault: <message>`) and a
 * documented exit code (docs/cli.md); `--verbose` adds the cause chain. Messages carry paths, addresses and
 * ids only: never a key, a passphrase or record content.
 *
 * @module
 */
import { BaseError } from '@medvault/crypto/errors'

/** Exit codes, as documented in docs/cli.md. */
export const ExitCode = {
  ok: 0,
  /** Anything unexpected (a bug, or an error the CLI does not classify). */
  failure: 1,
  /** Bad arguments, options or configuration. */
  usage: 2,
  /** The keystore could not be opened: wrong passphrase, no passphrase, damaged file. */
  keystore: 3,
  /** Something named does not exist: a record, a grant, a file, the keystore, the addresses file. */
  notFound: 4,
  /** Refused by the rules: no grant, a revoked/expired grant, not the owner. */
  refused: 5,
  /** The network failed: chain or store unreachable, not enough proxies answered. */
  network: 6,
  /** Data did not authenticate (a tampered or wrong block, envelope or key). */
  integrity: 7,
  /**
   * A transaction was sent, or may have been, and no answer said whether it was mined: the record, grant or
   * dataset may exist. Check before doing it again (a second put makes a second record).
   */
  unknownOutcome: 8,
  /** Interrupted (SIGINT). */
  interrupted: 130,
} as const
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode]

/** A failure the CLI reports with a given exit code. */
export class CliError extends BaseError {
  override name: string = 'CliError'
  readonly exitCode: ExitCode

  constructor(
    message: string,
    { exitCode, cause, hint }: { exitCode: ExitCode; cause?: unknown; hint?: string },
  ) {
    super(message, {
      ...(cause === undefined ? {} : { cause }),
      ...(hint === undefined ? {} : { metaMessages: [hint] }),
    })
    this.exitCode = exitCode
  }
}

/** A bad argument, option or configuration value; nothing was done. */
export class UsageError extends CliError {
  override name = 'UsageError' as const
  constructor(message: string, hint?: string) {
    super(message, { exitCode: ExitCode.usage, ...(hint === undefined ? {} : { hint }) })
  }
}

/** The keystore's passphrase is wrong (or the file was altered: the two cannot be told apart). */
export class WrongPassphraseError extends CliError {
  override name = 'WrongPassphraseError' as const
  constructor(file: string) {
    super(`Wrong passphrase for keystore ${file} (or the file was altered).`, { exitCode: ExitCode.keystore })
  }
}

/** The keystore file is missing or not a medvault keystore. */
export class KeystoreError extends CliError {
  override name = 'KeystoreError' as const
  constructor(
    message: string,
    { exitCode = ExitCode.keystore, cause }: { exitCode?: ExitCode; cause?: unknown } = {},
  ) {
    super(message, { exitCode, ...(cause === undefined ? {} : { cause }) })
  }
}

/** No passphrase: no terminal to ask on and no MEDVAULT_PASSPHRASE. */
export class PassphraseRequiredError extends CliError {
  override name = 'PassphraseRequiredError' as const
  constructor() {
    super('A passphrase is needed and there is no terminal to ask on.', {
      exitCode: ExitCode.keystore,
      hint: 'Set MEDVAULT_PASSPHRASE, or run the command in a terminal.',
    })
  }
}

/** The network configuration (addresses file, RPC, store) is missing or unusable. */
export class NetworkConfigError extends CliError {
  override name = 'NetworkConfigError' as const
  constructor(
    message: string,
    { exitCode = ExitCode.usage, cause, hint }: { exitCode?: ExitCode; cause?: unknown; hint?: string } = {},
  ) {
    super(message, {
      exitCode,
      ...(cause === undefined ? {} : { cause }),
      ...(hint === undefined ? {} : { hint }),
    })
  }
}

/** Uploading what this process stored to the devnet's store failed. */
export class StoreUploadError extends CliError {
  override name = 'StoreUploadError' as const
  constructor(url: string, detail: string, cause?: unknown) {
    super(`Could not upload to the store at ${url}: ${detail}.`, {
      exitCode: ExitCode.network,
      ...(cause === undefined ? {} : { cause }),
      hint: 'Is `medvault devnet` still running?',
    })
  }
}

const EXIT_BY_NAME: Record<string, ExitCode> = {
  InvalidOptionError: ExitCode.usage,
  RecordNotFoundError: ExitCode.notFound,
  NotRecordOwnerError: ExitCode.refused,
  NoGrantError: ExitCode.refused,
  GrantNotFoundError: ExitCode.notFound,
  GrantRevokedError: ExitCode.refused,
  GrantExpiredError: ExitCode.refused,
  GrantNotYetValidError: ExitCode.refused,
  KeyNotPublishedError: ExitCode.refused,
  KeyMismatchError: ExitCode.refused,
  BreakGlassRefusedError: ExitCode.refused,
  EmergencyAccessClosedError: ExitCode.refused,
  NotEnoughProxiesError: ExitCode.network,
  ProxyError: ExitCode.network,
  RelayError: ExitCode.network,
  IntegrityError: ExitCode.integrity,
  BlockVerificationError: ExitCode.integrity,
  NotFoundError: ExitCode.notFound,
  AbortError: ExitCode.interrupted,
  HttpRequestError: ExitCode.network,
  TimeoutError: ExitCode.network,
  // Sent, or maybe sent, with no answer: what was stored for it is kept
  RegistrationUnknownError: ExitCode.unknownOutcome,
  GrantOutcomeUnknownError: ExitCode.unknownOutcome,
  DatasetRegistrationUnknownError: ExitCode.unknownOutcome,
  TransactionOutcomeUnknownError: ExitCode.unknownOutcome,
  // Research datasets
  EmptyDatasetError: ExitCode.notFound,
  DatasetNotRegisteredError: ExitCode.notFound,
  DatasetIntegrityError: ExitCode.integrity,
  NotDatasetRecipientError: ExitCode.refused,
  NotStewardError: ExitCode.refused,
  InvalidRuleSetError: ExitCode.usage,
}

/** The exit code for any error: the CLI's own, the SDK's and the layers' below by name, else 1. */
export function exitCodeOf(err: unknown): ExitCode {
  if (err instanceof CliError) return err.exitCode
  if (err instanceof Error) {
    const code = EXIT_BY_NAME[err.name]
    if (code !== undefined) return code
    // viem wraps transport failures; look one level down for a known one.
    if (err.cause instanceof Error && EXIT_BY_NAME[err.cause.name] !== undefined)
      return EXIT_BY_NAME[err.cause.name] as ExitCode
    if ('code' in err && (err.code === 'ENOENT' || err.code === 'ENOTDIR')) return ExitCode.notFound
    if ('code' in err && err.code === 'ECONNREFUSED') return ExitCode.network
  }
  return ExitCode.failure
}

/** One line: the error's short message (without its hints). */
export function oneLine(err: unknown): string {
  if (err instanceof BaseError) return err.shortMessage.split('\n')[0] as string
  if (err instanceof Error) {
    const shortMessage = (err as { shortMessage?: unknown }).shortMessage
    const text = typeof shortMessage === 'string' ? shortMessage : err.message
    return text.split('\n')[0] as string
  }
  return String(err)
}

/** Every message down the cause chain, for `--verbose`. */
export function causeChain(err: unknown): string[] {
  const lines: string[] = []
  let current: unknown = err
  for (let depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    if (current instanceof Error) {
      lines.push(`${current.name}: ${current.message}`)
      current = current.cause
    } else {
      lines.push(String(current))
      break
    }
  }
  return lines
}
