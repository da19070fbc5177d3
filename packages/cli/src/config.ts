/**
 * Settings come from, in order of precedence: command-line flags, environment variables, the configuration
 * file (JSON), built-in defaults. docs/cli.md lists them.
 *
 * @module
 */
import { readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { UsageError } from './errors.ts'

export interface GlobalFlags {
  home?: string
  config?: string
  keystore?: string
  rpc?: string
  addresses?: string
  store?: string
  json?: boolean
  verbose?: boolean
}

export interface Settings {
  home: string
  keystore: string
  store: string
  addresses: string | undefined
  rpc: string | undefined
  json: boolean
  verbose: boolean
}

interface ConfigFile {
  keystore?: string
  store?: string
  addresses?: string
  rpc?: string
}

const KEYS = ['keystore', 'store', 'addresses', 'rpc'] as const

export async function resolveSettings(
  flags: GlobalFlags,
  env: NodeJS.ProcessEnv = process.env,
): Promise<Settings> {
  const home = resolve(flags.home ?? env.MEDVAULT_HOME ?? join(homedir(), '.medvault'))
  const explicitConfig = flags.config ?? env.MEDVAULT_CONFIG
  const configPath = resolve(explicitConfig ?? join(home, 'config.json'))
  let file: ConfigFile = {}
  try {
    const parsed: unknown = JSON.parse(await readFile(configPath, 'utf8'))
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
      throw new Error('not an object')
    for (const [key, value] of Object.entries(parsed)) {
      if (!(KEYS as readonly string[]).includes(key) || typeof value !== 'string') {
        throw new UsageError(`Configuration ${configPath}: unknown setting or not a string: ${key}.`)
      }
    }
    file = parsed as ConfigFile
  } catch (err) {
    if (err instanceof UsageError) throw err
    // The default file is optional; a file named explicitly must exist and parse.
    if ((err as { code?: string }).code !== 'ENOENT' || explicitConfig !== undefined) {
      throw new UsageError(
        `Cannot use the configuration file ${configPath}: ${(err as Error).message.split('\n')[0]}.`,
      )
    }
  }
  const pick = (flag: string | undefined, envName: string, key: (typeof KEYS)[number]) =>
    flag ?? env[envName] ?? file[key]
  return {
    home,
    keystore: resolve(pick(flags.keystore, 'MEDVAULT_KEYSTORE', 'keystore') ?? join(home, 'keystore.json')),
    store: resolve(pick(flags.store, 'MEDVAULT_STORE', 'store') ?? join(home, 'store')),
    addresses: (() => {
      const value = pick(flags.addresses, 'MEDVAULT_ADDRESSES', 'addresses')
      return value === undefined ? undefined : resolve(value)
    })(),
    rpc: pick(flags.rpc, 'MEDVAULT_RPC', 'rpc'),
    json: flags.json === true,
    verbose: flags.verbose === true,
  }
}
