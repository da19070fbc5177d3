/**
 * Passphrase prompts, progress bars and output: human lines on stdout, or one JSON document with `--json`;
 * progress and prompts on stderr, so stdout stays clean for pipes.
 *
 * @module
 */
import { isCancel, password } from '@clack/prompts'
import { SingleBar } from 'cli-progress'
import { CliError, ExitCode, PassphraseRequiredError, UsageError } from './errors.ts'

export const PASSPHRASE_ENV = 'MEDVAULT_PASSPHRASE'

/** The passphrase: from MEDVAULT_PASSPHRASE, else asked on the terminal (twice with `confirm`). */
export async function askPassphrase(message: string, { confirm = false } = {}): Promise<string> {
  const fromEnv = process.env[PASSPHRASE_ENV]
  if (fromEnv !== undefined) {
    if (fromEnv.length === 0) throw new UsageError(`${PASSPHRASE_ENV} is empty.`)
    return fromEnv
  }
  if (process.stdin.isTTY !== true || process.stderr.isTTY !== true) throw new PassphraseRequiredError()
  const ask = async (text: string) => {
    const answer = await password({ message: text, output: process.stderr })
    if (isCancel(answer)) throw new CliError('Cancelled.', { exitCode: ExitCode.interrupted })
    return answer
  }
  const first = await ask(message)
  if (first.length < 8) throw new UsageError('The passphrase must have at least 8 characters.')
  if (confirm && (await ask('Repeat the passphrase')) !== first)
    throw new UsageError('The passphrases differ.')
  return first
}

/** A byte progress bar on stderr, shown only on a terminal and never with --json. */
export function byteProgress(label: string, total: number | undefined, enabled: boolean) {
  if (!enabled || process.stderr.isTTY !== true) return { update: (_bytes: number) => {}, stop: () => {} }
  const bar = new SingleBar({
    format:
      total === undefined
        ? `${label} {value_mb} MB`
        : `${label} [{bar}] {percentage}% | {value_mb}/{total_mb} MB | {eta_formatted}`,
    stream: process.stderr,
    hideCursor: true,
    clearOnComplete: true,
  })
  const mb = (n: number) => (n / 1_048_576).toFixed(1)
  bar.start(total ?? 0, 0, { value_mb: mb(0), total_mb: mb(total ?? 0) })
  return {
    update: (bytes: number) => bar.update(bytes, { value_mb: mb(bytes), total_mb: mb(total ?? bytes) }),
    stop: () => bar.stop(),
  }
}

/** Writes the result: `human` lines, or the JSON value with `--json`. */
export function emit(json: boolean, value: unknown, human: () => string[]): void {
  if (json) {
    const replacer = (_key: string, v: unknown) => {
      if (typeof v === 'bigint') return v.toString()
      // A CID serialises as { "/": "bafy…" } (its toJSON): scripts want the string.
      if (
        typeof v === 'object' &&
        v !== null &&
        Object.keys(v).length === 1 &&
        typeof (v as { '/'?: unknown })['/'] === 'string'
      ) {
        return (v as { '/': string })['/']
      }
      return v
    }
    process.stdout.write(`${JSON.stringify(value, replacer, 2)}\n`)
  } else {
    const lines = human()
    if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`)
  }
}
