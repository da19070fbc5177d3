/**
 * The node's log: pino, one JSON object per line on stdout. Parts log ids, CIDs, counts and error names;
 * never tokens, passphrases, keys or content. As a second line of defence, fields that could hold a secret
 * by name are redacted whatever a caller passes.
 *
 * @module
 */
import { pino } from 'pino'

/** What the parts of the node log through (pino's calling convention: fields first, then the message). */
export interface NodeLogger {
  debug(fields: Record<string, unknown>, message: string): void
  info(fields: Record<string, unknown>, message: string): void
  warn(fields: Record<string, unknown>, message: string): void
  error(fields: Record<string, unknown>, message: string): void
  child(bindings: Record<string, unknown>): NodeLogger
}

/** Field names whose values are never written, at any depth pino checks. */
export const REDACTED_FIELDS: readonly string[] = [
  'token',
  'passphrase',
  'password',
  'privateKey',
  'secretKey',
  'authorization',
  '*.token',
  '*.passphrase',
  '*.password',
  '*.privateKey',
  '*.secretKey',
  '*.authorization',
  'headers.authorization',
  '*.headers.authorization',
]

export interface LoggerInit {
  /** `fatal`, `error`, `warn`, `info`, `debug`, `trace` or `silent`. Default `info`. */
  level?: string | undefined
  /** Where lines go. Default: stdout. */
  destination?: NodeJS.WritableStream | undefined
}

/** Creates the node's JSON logger. */
export function createLogger(init: LoggerInit = {}): NodeLogger {
  const options = {
    level: init.level ?? 'info',
    base: { service: 'medvault-node' },
    redact: { paths: [...REDACTED_FIELDS], censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
  }
  return (init.destination === undefined
    ? pino(options)
    : pino(options, init.destination)) as unknown as NodeLogger
}

/** A logger that drops everything (the default for parts started alone, as in tests). */
export function silentLogger(): NodeLogger {
  const self: NodeLogger = {
    debug() {},
    info() {},
    warn() {},
    error() {},
    child: () => self,
  }
  return self
}

/** An error as a log field: its name, and a medvault error's short message (which never holds secrets). */
export function errorField(err: unknown): string {
  if (err instanceof Error) {
    const short = (err as { shortMessage?: unknown }).shortMessage
    return typeof short === 'string' ? `${err.name}: ${short}` : err.name
  }
  return 'unknown'
}
