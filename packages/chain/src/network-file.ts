/**
 * The deployment file: where a medvault deployment lives, in one JSON document that every tool reads.
 *
 * Written as `medvault-network/1`:
 *
 * ```json
 * {
 *   "format": "medvault-network/1",
 *   "chainId": 31337,
 *   "addresses": { "keyRegistry": "0x…", "proxyRegistry": "0x…", "consentRegistry": "0x…",
 *                  "auditAnchors": "0x…", "datasetRegistry": "0x…" },
 *   "deployBlock": "12",
 *   "rpcUrl": "http://127.0.0.1:8545",
 *   "proxySet": 1,
 *   "store": "http://127.0.0.1:5080",
 *   "devnet": true
 * }
 * ```
 *
 * `chainId`, `addresses` and `deployBlock` are required; `rpcUrl`, `proxySet`, `store`, `devnet` and `hashes`
 * (each contract's creation transaction) are optional; other fields are ignored. Also read: the plain deployment record `{ chainId?, deployBlock, addresses }` (no `format`), as
 * earlier deployment scripts wrote it, and a bare addresses object (deployment block 0).
 *
 * @module
 */
import { type Address, getAddress, type Hash, isAddress } from 'viem'
import type { MedvaultAddresses } from './addresses.ts'
import { BaseError } from './errors.ts'

/** The format tag of the deployment file this version writes. */
export const NETWORK_FILE_FORMAT = 'medvault-network/1'

/** A deployment, as a deployment file describes it. */
export interface NetworkFile {
  /** The chain's id; `undefined` only when read from a file that did not say (check it against the RPC). */
  chainId: number | undefined
  addresses: MedvaultAddresses
  /** The block the contracts were deployed in: event queries start there. */
  deployBlock: bigint
  /** A JSON-RPC URL of the chain, when the file names one (tools let a flag override it). */
  rpcUrl?: string | undefined
  /** The proxy set grants go through by default. */
  proxySet?: number | undefined
  /** A store (trustless gateway and CAR upload) that holds the deployment's content, e.g. a devnet's. */
  store?: string | undefined
  /** A development chain whose gas is free (tools may top up accounts with `anvil_setBalance`). */
  devnet?: boolean | undefined
  /** The creation transaction of each contract (as `deployMedvault` returns them), to verify the deployment. */
  hashes?: Record<keyof MedvaultAddresses, Hash> | undefined
}

export type NetworkFileErrorType = NetworkFileError & { name: 'NetworkFileError' }

/** A deployment file that cannot be used; `problems` lists every field that is wrong. */
export class NetworkFileError extends BaseError {
  override name = 'NetworkFileError' as const
  readonly problems: readonly string[]

  constructor({ source, problems }: { source: string; problems: readonly string[] }) {
    super(`${source} is not a medvault deployment file.`, {
      metaMessages: [
        ...problems.map((p) => `- ${p}`),
        `Expected ${NETWORK_FILE_FORMAT} JSON (as \`medvault devnet\` and the deployment guide write it): chainId, addresses, deployBlock.`,
      ],
    })
    this.problems = problems
  }
}

const CONTRACTS = [
  'keyRegistry',
  'proxyRegistry',
  'consentRegistry',
  'auditAnchors',
  'datasetRegistry',
] as const

/**
 * Reads a deployment file's JSON text (or its parsed value): `medvault-network/1`, the plain
 * `{ chainId?, deployBlock, addresses }` record, or a bare addresses object.
 *
 * @param source - what to call it in errors (a file path); never the file's content.
 * @throws {NetworkFileError} not JSON, or a field missing or invalid (every problem listed).
 */
export function parseNetworkFile(input: string | unknown, source = 'The deployment file'): NetworkFile {
  let value: unknown = input
  if (typeof input === 'string') {
    try {
      value = JSON.parse(input)
    } catch {
      throw new NetworkFileError({ source, problems: ['not JSON'] })
    }
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw new NetworkFileError({ source, problems: ['not a JSON object'] })
  }
  const v = value as Record<string, unknown>
  const problems: string[] = []
  const tagged = v.format !== undefined
  if (tagged && v.format !== NETWORK_FILE_FORMAT) {
    problems.push(`format: ${JSON.stringify(String(v.format)).slice(0, 40)} is not ${NETWORK_FILE_FORMAT}`)
  }
  // A bare addresses object is the oldest form: every contract at the top level, nothing else needed.
  const bare = !tagged && v.addresses === undefined && CONTRACTS.some((n) => n in v)
  const given = (bare ? v : v.addresses) as Record<string, unknown> | undefined
  const addresses: Partial<Record<(typeof CONTRACTS)[number], Address>> = {}
  if (given === null || typeof given !== 'object') {
    problems.push('addresses: missing (an object with the five contract addresses)')
  } else {
    const bad = CONTRACTS.filter(
      (n) => typeof given[n] !== 'string' || !isAddress(given[n] as string, { strict: false }),
    )
    if (bad.length > 0) problems.push(`addresses: missing or invalid ${bad.join(', ')}`)
    else for (const n of CONTRACTS) addresses[n] = getAddress(given[n] as string)
  }
  let chainId: number | undefined
  if (v.chainId !== undefined) {
    if (typeof v.chainId === 'number' && Number.isSafeInteger(v.chainId) && v.chainId > 0) chainId = v.chainId
    else problems.push('chainId: expected a positive whole number')
  } else if (tagged) problems.push('chainId: missing')
  let deployBlock = 0n
  const block = v.deployBlock
  if (block !== undefined || tagged) {
    if (
      (typeof block === 'string' && /^\d{1,20}$/.test(block)) ||
      (typeof block === 'number' && Number.isSafeInteger(block) && block >= 0)
    ) {
      deployBlock = BigInt(block)
    } else problems.push('deployBlock: expected a block number (a decimal string)')
  } else if (!bare) problems.push('deployBlock: missing')
  const out: NetworkFile = { chainId, addresses: addresses as MedvaultAddresses, deployBlock }
  if (v.rpcUrl !== undefined) {
    if (typeof v.rpcUrl === 'string' && /^(https?|wss?):\/\//.test(v.rpcUrl)) out.rpcUrl = v.rpcUrl
    else problems.push('rpcUrl: expected an http(s):// or ws(s):// URL')
  }
  if (v.proxySet !== undefined) {
    if (typeof v.proxySet === 'number' && Number.isSafeInteger(v.proxySet) && v.proxySet > 0)
      out.proxySet = v.proxySet
    else problems.push('proxySet: expected a proxy set id (a positive whole number)')
  }
  if (v.store !== undefined) {
    if (typeof v.store === 'string' && /^https?:\/\//.test(v.store)) out.store = v.store
    else problems.push('store: expected an http(s):// URL')
  }
  if (v.devnet !== undefined) {
    if (typeof v.devnet === 'boolean') out.devnet = v.devnet
    else problems.push('devnet: expected true or false')
  }
  if (v.hashes !== undefined) {
    const h = v.hashes as Record<string, unknown> | null
    const bad =
      h === null || typeof h !== 'object'
        ? [...CONTRACTS]
        : CONTRACTS.filter((n) => typeof h[n] !== 'string' || !/^0x[0-9a-fA-F]{64}$/.test(h[n] as string))
    if (bad.length > 0) problems.push(`hashes: missing or invalid ${bad.join(', ')}`)
    else
      out.hashes = Object.fromEntries(CONTRACTS.map((n) => [n, (h as Record<string, Hash>)[n]])) as Record<
        (typeof CONTRACTS)[number],
        Hash
      >
  }
  if (problems.length > 0) throw new NetworkFileError({ source, problems })
  return out
}

/**
 * The `medvault-network/1` JSON text of a deployment (two-space indented, newline-terminated).
 *
 * @throws {RangeError} `chainId` is missing: a written file always names its chain.
 */
export function stringifyNetworkFile(file: NetworkFile): string {
  if (file.chainId === undefined) throw new RangeError('A deployment file must name its chain id.')
  const doc = {
    format: NETWORK_FILE_FORMAT,
    chainId: file.chainId,
    addresses: Object.fromEntries(CONTRACTS.map((n) => [n, file.addresses[n]])),
    deployBlock: file.deployBlock.toString(),
    ...(file.rpcUrl === undefined ? {} : { rpcUrl: file.rpcUrl }),
    ...(file.proxySet === undefined ? {} : { proxySet: file.proxySet }),
    ...(file.store === undefined ? {} : { store: file.store }),
    ...(file.devnet === undefined ? {} : { devnet: file.devnet }),
    ...(file.hashes === undefined
      ? {}
      : { hashes: Object.fromEntries(CONTRACTS.map((n) => [n, file.hashes?.[n]])) }),
  }
  return `${JSON.stringify(doc, null, 2)}\n`
}
