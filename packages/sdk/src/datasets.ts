/**
 * Research datasets. A data steward builds one from exactly the records under active research consent at a
 * stated block (read as grantee through the proxies), de-identified with `@medvault/fhir`, written as FHIR
 * Bulk Data NDJSON (one file per resource type) with a manifest, stored as a UnixFS directory (optionally
 * encrypted to a research platform) and registered in the DatasetRegistry. A research platform fetches it
 * by CID: the registration, the manifest hash, every file CID and every count are checked.
 *
 * @module
 */
import {
  AbortError as ChainAbortError,
  DatasetNotFoundError as ChainDatasetNotFoundError,
  NotStewardError as ChainNotStewardError,
  decodePurpose,
  type GetDatasetReturnType,
  type GrantListing,
  getDataset,
  getGrants,
  getLogsChunked,
  isAccessAllowed,
  type Purpose,
  registerDataset,
  TransactionOutcomeUnknownError,
} from '@medvault/chain'
import { decryptStream, eciesDecrypt, eciesEncrypt, encryptStream } from '@medvault/crypto'
import { deidentify, loadAnonymizerConfig, type RuleSet, safeHarbor } from '@medvault/fhir'
import type { Storage } from '@medvault/storage'
import { NotFoundError as StorageNotFoundError } from '@medvault/storage/errors'
import { CID } from 'multiformats/cid'
import {
  type Address,
  bytesToHex,
  type Hash,
  type Hex,
  hexToBytes,
  isAddressEqual,
  keccak256,
  parseAbiItem,
} from 'viem'
import type { VaultContext } from './context.ts'
import {
  DatasetIntegrityError,
  DatasetNotRegisteredError,
  DatasetRegistrationUnknownError,
  EmptyDatasetError,
  NotDatasetRecipientError,
  NotStewardError,
} from './datasets-errors.ts'
import {
  type DirectoryLink,
  decodeDirectory,
  getVerifiedBlock,
  putDirectory,
  treeSize,
} from './datasets-unixfs.ts'
import {
  GrantExpiredError,
  GrantNotYetValidError,
  GrantRevokedError,
  IntegrityError,
  InvalidOptionError,
  KeyMismatchError,
  NoGrantError,
  NotEnoughProxiesError,
} from './errors.ts'
import { MAX_FHIR_JSON_BYTES } from './fhir-records.ts'
import { covers, toGrant } from './grants.ts'
import { publishedKeysOf } from './identity.ts'
import { parseAddress, parsePurpose } from './options.ts'
import type { Records } from './records.ts'
import type { CallOptions } from './types.ts'

/** The manifest format written by this version. */
export const DATASET_FORMAT = 'medvault-dataset'
export const DATASET_FORMAT_VERSION = 1
const MANIFEST = 'manifest.json'
const RECIPIENTS = 'recipients.json'
/** Encrypted files carry this suffix; the AEAD stream binds each file's name. */
const ENC = '.enc'
const FLUSH_BYTES = 256 * 1024
/** Bytes of records read ahead and not yet de-identified, over all reads at once (one record may exceed it). */
const READ_AHEAD_BYTES = 256 * 1024 * 1024
const MAX_MANIFEST_BYTES = 64 * 1024 * 1024
const TYPE_RE = /^[A-Z][A-Za-z]{1,63}$/

/** Progress of `datasets.build`, `publish` and `fetch`. */
export type DatasetProgressEvent =
  | { type: 'datasets:consent'; block: bigint; grants: number; records: number }
  | { type: 'datasets:record'; done: number; total: number; included: boolean }
  | { type: 'datasets:stored'; cid: CID }
  | { type: 'datasets:verified'; cid: CID; steward: Address }
  | { type: 'datasets:resources'; resourceType: string; resources: number }

/** One NDJSON file of a dataset, as the manifest lists it (FHIR Bulk Data's `output` entries, plus CID and size). */
export interface DatasetOutput {
  /** The resource type every line of the file holds. */
  type: string
  /** The file's name in the dataset directory (`Observation.ndjson`; `.enc` appended when encrypted). */
  url: string
  /** Resources (lines) in the file. */
  count: number
  /** The file's CID (of the ciphertext when encrypted). */
  cid: string
  /** NDJSON bytes (plaintext). */
  bytes: number
}

/** The manifest of a dataset (`manifest.json`). Its SHA-256 is registered on chain. */
export interface DatasetManifest {
  format: typeof DATASET_FORMAT
  version: number
  fhirVersion: '4.0.1'
  outputFormat: 'application/fhir+ndjson'
  chainId: number
  datasetRegistry: Address
  steward: Address
  /** The research purpose of use every consent had (`HRESCH`, `CLINTRCH`, …). */
  purpose: string
  /** FHIR Bulk Data's `transactionTime`: the snapshot block's time (ISO 8601). */
  transactionTime: string
  consent: {
    /** The block whose consent state was used (decimal). */
    block: string
    /** Its time, Unix seconds. */
    blockTime: number
    /** Consents (grants) whose records are in the dataset. */
    grants: number
    /** Patients (grantors) whose records are in the dataset. */
    patients: number
    /**
     * One hiding commitment per consent, `sha256(salt ‖ grantId)`, sorted: the steward can prove a grant's
     * part in the dataset by revealing its salt, without publishing which patients took part.
     */
    commitments: Hex[]
  }
  deidentification: {
    engine: '@medvault/fhir'
    /** SHA-256 of the rule set in canonical JSON (configured keys left out); registered on chain. */
    ruleSetHash: Hex
  }
  /** Records read and included. */
  records: number
  /** Resources written, over all files. */
  resources: number
  /** Records under consent that were not FHIR JSON or that de-identification refused: left out. */
  skipped: number
  output: DatasetOutput[]
  /** Present when the files are encrypted to recipients (see `recipients.json`). */
  encryption?: { algorithm: 'aes-256-gcm-stream'; keyWrap: 'ecies-secp256k1'; recipients: Address[] }
}

export interface BuildDatasetOptions extends CallOptions {
  /** The research purpose consents must have: `'HRESCH'`, `'CLINTRCH'`, … */
  purpose: Purpose | number
  /**
   * De-identification rules: a `RuleSet` of `@medvault/fhir` (default `safeHarbor`), or a configuration of
   * Microsoft's FHIR anonymizer (`{ fhirPathRules, parameters }`, read with `loadAnonymizerConfig`).
   */
  rules?: RuleSet | { fhirPathRules: unknown[]; parameters?: unknown }
  /**
   * The dataset key (16+ bytes): pseudonyms and date shifts are keyed by it, so one key keeps them consistent
   * across the dataset (and across builds that reuse it). Never published. Default: 32 fresh random bytes.
   */
  key?: Uint8Array
  /** Encrypt the files to this research platform (its keys must be on chain). The steward can always open them too. */
  recipient?: Address
  /**
   * The consent snapshot block. Default: the block before the latest (the registry needs a block in the past,
   * so a consent given in the very latest block is in the next build).
   */
  atBlock?: bigint | number
  /** Register the dataset on chain at once. Default true. */
  publish?: boolean
  /** The licence registered with it (SPDX id or URL, 1–256 bytes). Default `'NOASSERTION'`. */
  licence?: string
  /** Records read through the proxies at a time (1–32). Default 4. */
  concurrency?: number
}

/** What `build` made. `key` and `consent` are the steward's secrets: keep them, never publish them. */
export interface DatasetBuild {
  /** The dataset directory's CID. */
  cid: CID
  manifest: DatasetManifest
  /** SHA-256 of `manifest.json`, as registered. */
  manifestHash: Hex
  /** The dataset key (pass it again as `key` to rebuild identically). */
  key: Uint8Array
  /** Each consent in the dataset and the salt that opens its commitment. */
  consent: { grantId: Hex; salt: Hex }[]
  /**
   * Records under consent at the block that were left out, and why (a reason code, nothing of the record).
   * Give these to no one: record ids name patients.
   */
  excluded: {
    recordId: Hex
    /**
     * - `revoked`, `expired`, `not-yet-valid`, `no-grant`: its consent no longer holds;
     * - `consent-changed`: none of its grants in the snapshot holds any more, only one given after it;
     * - `too-large`: its envelope claims more than a FHIR record may hold (`MAX_FHIR_JSON_BYTES`);
     * - `integrity`: the record, its kfrag bundle or the proxies' re-encryptions do not check out;
     * - `keys`: the grant was made for other keys than this account's;
     * - `proxies-unavailable`: fewer proxies of the grant's set than its threshold answered correctly;
     * - `unavailable`: a block of the record or its kfrag bundle could not be had from storage in time.
     */
    reason:
      | 'revoked'
      | 'expired'
      | 'not-yet-valid'
      | 'no-grant'
      | 'consent-changed'
      | 'too-large'
      | 'integrity'
      | 'keys'
      | 'proxies-unavailable'
      | 'unavailable'
  }[]
  /** The registration, when published. */
  registration?: PublishedDataset
}

export interface PublishDatasetOptions extends CallOptions {
  /** SPDX id or URL (1–256 bytes). Default `'NOASSERTION'`. */
  licence?: string
  /**
   * The dataset key its build used: needed to publish by CID (a `DatasetBuild` carries it). The manifest's
   * consent commitments must open with it to consents this account held.
   */
  key?: Uint8Array
}

export interface PublishedDataset {
  /** `keccak256(cid)`. */
  datasetId: Hex
  /** The registration transaction; undefined when the same dataset was already registered by this steward. */
  transactionHash: Hash | undefined
}

export interface FetchDatasetOptions extends CallOptions {
  /** Refuse the dataset unless this steward registered it. */
  steward?: Address
  /**
   * Write the verified NDJSON files and `manifest.json` to this directory (Node only; existing files are not
   * overwritten). Without it, read resources with {@link FetchedDataset.resources}.
   */
  outDir?: string
}

/** A fetched dataset, its registration and manifest verified. */
export interface FetchedDataset {
  cid: CID
  datasetId: Hex
  registration: GetDatasetReturnType
  manifest: DatasetManifest
  /** The files written, when `outDir` was given. */
  files: string[] | undefined
  /**
   * Streams the resources (all types, or `types`), each file checked against its CID, its count and its size
   * as it is read; a mismatch throws {@link DatasetIntegrityError} before the file's end.
   */
  resources(options?: CallOptions & { types?: readonly string[] }): AsyncIterable<{
    type: string
    resource: Record<string, unknown>
  }>
}

interface Opened {
  links: Map<string, DirectoryLink>
  manifest: DatasetManifest
  manifestBytes: Uint8Array
  fileKey: Uint8Array | undefined
}

const recordRegistered = parseAbiItem(
  'event RecordRegistered(bytes32 indexed recordId, address indexed owner, bytes8 tag, bytes cid)',
)

/** The datasets part of a vault. */
export class Datasets {
  readonly #ctx: VaultContext
  readonly #records: Records

  constructor(ctx: VaultContext, records: Records) {
    this.#ctx = ctx
    this.#records = records
  }

  /**
   * Builds a research dataset from the records under active `purpose` consent to this account at a block,
   * and (unless `publish: false`) registers it. Only approved stewards can register.
   *
   * A record that cannot be read for a reason its grantor controls (its consent no longer holds; the record,
   * its kfrag bundle or its proxy set is broken or unavailable; its envelope claims more than a FHIR record
   * may hold) is left out and listed in `excluded` with a reason code: anyone can give a steward a research
   * grant, so no grantor can stop a build. The steward's own faults (the chain, its storage, an abort) stop it.
   *
   * @throws {InvalidOptionError} bad options; {@link EmptyDatasetError} nothing under consent could be read;
   *   {@link NotStewardError} the account may not register; {@link NotEnoughProxiesError} or a storage
   *   error when no consented record at all could be read (most likely the steward's own network or storage).
   */
  async build(options: BuildDatasetOptions): Promise<DatasetBuild> {
    const ctx = this.#ctx
    if (options === null || typeof options !== 'object') {
      throw new InvalidOptionError({ option: 'options', expected: '{ purpose, rules?, recipient?, … }' })
    }
    const { signal, onProgress } = options
    signal?.throwIfAborted()
    const purpose = parsePurpose(options.purpose)
    const purposeName = String(decodePurpose(purpose))
    const given = options.rules ?? safeHarbor
    // A Microsoft configuration is checked and compiled here, before any record is read (InvalidRuleSetError
    // names the field at fault).
    const rules: RuleSet =
      given !== null && typeof given === 'object' && 'fhirPathRules' in given
        ? loadAnonymizerConfig(given as Parameters<typeof loadAnonymizerConfig>[0])
        : (given as RuleSet)
    if (rules === null || typeof rules !== 'object' || !Array.isArray(rules.rules)) {
      throw new InvalidOptionError({
        option: 'rules',
        expected: 'a rule set ({ rules, parameters? }) from @medvault/fhir',
      })
    }
    if (options.key !== undefined && (!(options.key instanceof Uint8Array) || options.key.length < 16)) {
      throw new InvalidOptionError({ option: 'key', expected: 'a dataset key of at least 16 bytes' })
    }
    const key =
      options.key === undefined ? crypto.getRandomValues(new Uint8Array(32)) : new Uint8Array(options.key)
    // Compiles the rules (and checks the key fits them) before anything is read: a rule set that cannot run
    // throws its InvalidRuleSetError here, not half way through the consented records.
    // A Microsoft configuration takes its keys as text, and falls back to this one for those it does not set
    // (its AES key must then be 16, 24 or 32 bytes): 32 hex digits of the dataset key fit all three.
    const ruleKey: Uint8Array | string =
      rules.parameters?.compatibility === 'microsoft' ? bytesToHex(key.subarray(0, 16)).slice(2) : key
    deidentify({ resourceType: 'Patient' }, rules, { key: ruleKey })
    const recipient =
      options.recipient === undefined ? undefined : parseAddress(options.recipient, 'recipient')
    const concurrency = options.concurrency ?? 4
    if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 32) {
      throw new InvalidOptionError({ option: 'concurrency', expected: 'a whole number from 1 to 32' })
    }
    const publish = options.publish ?? true
    const licence = checkLicence(options.licence)

    const latest = await ctx.publicClient.getBlockNumber({ cacheTime: 0 })
    let block: bigint
    try {
      // The registry takes only a snapshot block in the past, and a chain that mines on demand may not make
      // another block soon: by default the snapshot is the block before the latest.
      block =
        options.atBlock === undefined
          ? latest > ctx.fromBlock
            ? latest - 1n
            : latest
          : BigInt(options.atBlock)
    } catch (cause) {
      throw new InvalidOptionError({ option: 'atBlock', expected: 'a block number', cause })
    }
    if (block < ctx.fromBlock || block > latest) {
      throw new InvalidOptionError({
        option: 'atBlock',
        expected: `a block from the deployment (${ctx.fromBlock}) to the latest (${latest})`,
      })
    }
    const blockTime = Number((await ctx.publicClient.getBlock({ blockNumber: block })).timestamp)
    signal?.throwIfAborted()

    // The consent snapshot: this account's grants of this purpose, as the chain stood at `block`.
    const listings = await getGrants(ctx.publicClient, {
      addresses: ctx.addresses,
      grantee: ctx.address,
      fromBlock: ctx.fromBlock,
      toBlock: block,
      maxBlockRange: ctx.logBlockRange,
      signal,
    })
    const consents = listings.filter(
      (l) =>
        (typeof l.purpose === 'number' ? l.purpose : parsePurpose(l.purpose)) === purpose &&
        !l.revoked &&
        l.notBefore <= blockTime &&
        blockTime < l.expiry,
    )
    const selected = await this.#recordsUnder(consents, block, signal)
    onProgress?.({ type: 'datasets:consent', block, grants: consents.length, records: selected.length })
    if (selected.length === 0)
      throw new EmptyDatasetError({ purpose: purposeName, block, grants: consents.length })

    const derived = await deriveDatasetKeys(key)
    // A keyed order: deterministic for the key, and unrelated to addresses or registration order, so row
    // positions say nothing about who the patients are.
    const ordered = (
      await Promise.all(selected.map(async (s) => ({ s, k: await hmacHex(derived.order, s.recordId) })))
    )
      .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
      .map((x) => x.s)

    let fileKey: Uint8Array | undefined
    let recipientsFile: Uint8Array | undefined
    if (recipient !== undefined) {
      fileKey = crypto.getRandomValues(new Uint8Array(32))
      const to = isAddressEqual(recipient, ctx.address) ? [ctx.address] : [recipient, ctx.address]
      const entries = []
      for (const address of to) {
        const { receiving } = await publishedKeysOf(ctx, address)
        entries.push({
          address,
          wrappedKey: toBase64(eciesEncrypt(receiving, fileKey, keyWrapAad(address))),
        })
      }
      recipientsFile = utf8(
        `${JSON.stringify({ format: `${DATASET_FORMAT}-recipients`, version: 1, recipients: entries }, null, 2)}\n`,
      )
    }

    const files = new NdjsonFiles(ctx.storage, fileKey, signal)
    const stored: CID[] = []
    const now = new Date(blockTime * 1000)
    const excluded: DatasetBuild['excluded'] = []
    const usedGrants = new Set<Hex>()
    const patients = new Set<string>()
    let records = 0
    let resources = 0
    let skipped = 0
    let done = 0
    let dirCid: CID | undefined
    /** Set once the registration is mined: from then on the chain names the directory. */
    let registered = false
    let stopped = false
    let wake = () => {}
    try {
      // The first failure of a record that is not about consent, kept to throw if no record could be read
      // at all: then the fault is most likely the steward's own (its storage or its network is down).
      let unreadable: unknown
      // A byte budget for the records read ahead and not yet written: up to `concurrency` reads at once, each
      // up to the FHIR size limit, would otherwise hold that many times it. The record the loop waits for
      // next is always admitted, so the budget never stalls the build.
      let buffered = 0
      let head = 0
      const waiting = new Set<() => void>()
      wake = () => {
        for (const w of [...waiting]) w()
      }
      signal?.addEventListener('abort', wake, { once: true })
      const admit = async (index: number, size: number) => {
        while (index !== head && buffered + size > READ_AHEAD_BYTES) {
          if (stopped) throw new Error('build stopped')
          signal?.throwIfAborted()
          await new Promise<void>((resolve) => {
            const w = () => {
              waiting.delete(w)
              resolve()
            }
            waiting.add(w)
          })
        }
        buffered += size
      }
      const release = (size: number) => {
        buffered -= size
        wake()
      }
      const read = async (
        s: SelectedRecord,
        index: number,
      ): Promise<
        | { s: SelectedRecord; bytes: Uint8Array; admitted: number }
        | { s: SelectedRecord; reason: ExclusionReason }
      > => {
        let admitted = 0
        try {
          // Capped at the FHIR size limit before anything is read: the size is the grantor's claim.
          const r = await this.#records.readBounded(s.recordId, {
            purpose,
            signal,
            maxBytes: MAX_FHIR_JSON_BYTES,
            admit: async (size) => {
              await admit(index, size)
              admitted = size
            },
          })
          if (r.tooLarge) return { s, reason: 'too-large' }
          // The consent that justifies a record is a snapshot grant (its commitment is in the manifest): a
          // read under a grant given after the snapshot does not count.
          // The access path opens with the newest grant that holds now; when that is not a snapshot grant, the
          // record is in only if one of its snapshot grants still holds too.
          if (r.grantId !== undefined && !s.grants.includes(r.grantId.toLowerCase() as Hex)) {
            let holds = false
            for (const grantId of s.grants) {
              holds = await isAccessAllowed(ctx.publicClient, {
                addresses: ctx.addresses,
                grantId,
                recordId: s.recordId,
                grantee: ctx.address,
                purpose,
              })
              if (holds) break
            }
            if (!holds) {
              release(admitted)
              return { s, reason: 'consent-changed' }
            }
          }
          return { s, bytes: r.bytes, admitted }
        } catch (err) {
          release(admitted)
          if (signal?.aborted === true) throw err
          const reason = refusalReason(err)
          if (reason === undefined) throw err
          if (reason === 'proxies-unavailable' || reason === 'unavailable') unreadable ??= err
          return { s, reason }
        }
      }
      const window: Promise<Awaited<ReturnType<typeof read>>>[] = []
      let next = 0
      while (next < ordered.length || window.length > 0) {
        while (next < ordered.length && window.length < concurrency) {
          const p = read(ordered[next] as SelectedRecord, next)
          next++
          p.catch(() => {}) // awaited in order below
          window.push(p)
        }
        head = done
        wake()
        const result = await (window.shift() as Promise<Awaited<ReturnType<typeof read>>>)
        signal?.throwIfAborted()
        done++
        if ('reason' in result) {
          excluded.push({ recordId: result.s.recordId, reason: result.reason })
          onProgress?.({ type: 'datasets:record', done, total: ordered.length, included: false })
          continue
        }
        const out = deidentifyRecord(result.bytes, rules, ruleKey, now)
        release(result.admitted)
        if (out === undefined) {
          skipped++
          onProgress?.({ type: 'datasets:record', done, total: ordered.length, included: false })
          continue
        }
        records++
        patients.add(result.s.owner.toLowerCase())
        for (const g of result.s.grants) usedGrants.add(g)
        await files.add(out)
        resources += out.length
        onProgress?.({ type: 'datasets:record', done, total: ordered.length, included: true })
      }
      signal?.removeEventListener('abort', wake)
      if (records === 0) {
        if (unreadable !== undefined) throw unreadable
        throw new EmptyDatasetError({ purpose: purposeName, block, grants: consents.length })
      }

      const { output, links } = await files.close(stored)

      const consent: DatasetBuild['consent'] = []
      const commitments: Hex[] = []
      for (const grantId of [...usedGrants].sort()) {
        const salt = await hmacHex(derived.consent, grantId)
        consent.push({ grantId, salt })
        commitments.push(await consentCommitment(grantId, salt))
      }
      commitments.sort()
      const manifest: DatasetManifest = {
        format: DATASET_FORMAT,
        version: DATASET_FORMAT_VERSION,
        fhirVersion: '4.0.1',
        outputFormat: 'application/fhir+ndjson',
        chainId: ctx.chainId,
        datasetRegistry: ctx.addresses.datasetRegistry,
        steward: ctx.address,
        purpose: purposeName,
        transactionTime: now.toISOString(),
        consent: {
          block: block.toString(),
          blockTime,
          grants: usedGrants.size,
          patients: patients.size,
          commitments,
        },
        deidentification: { engine: '@medvault/fhir', ruleSetHash: await ruleSetHash(rules) },
        records,
        resources,
        skipped,
        output,
        ...(recipient === undefined
          ? {}
          : {
              encryption: {
                algorithm: 'aes-256-gcm-stream' as const,
                keyWrap: 'ecies-secp256k1' as const,
                recipients: isAddressEqual(recipient, ctx.address) ? [ctx.address] : [recipient, ctx.address],
              },
            }),
      }
      const manifestBytes = utf8(`${JSON.stringify(manifest, null, 2)}\n`)
      const manifestName = fileKey === undefined ? MANIFEST : `${MANIFEST}${ENC}`
      const manifestCid = await ctx.storage.putStream(
        fileKey === undefined
          ? [manifestBytes]
          : encryptStream(fileKey, [manifestBytes], { aad: utf8(manifestName) }),
        signal === undefined ? {} : { signal },
      )
      stored.push(manifestCid)
      links.push({
        name: manifestName,
        cid: manifestCid,
        tsize: await treeSize(ctx.storage, manifestCid, signal),
      })
      if (recipientsFile !== undefined) {
        const cid = await ctx.storage.putBytes(recipientsFile, signal === undefined ? {} : { signal })
        stored.push(cid)
        links.push({ name: RECIPIENTS, cid, tsize: await treeSize(ctx.storage, cid, signal) })
      }
      const dir = await putDirectory(ctx.storage, links, signal)
      await ctx.storage.pin(dir.cid, signal === undefined ? {} : { signal })
      dirCid = dir.cid
      onProgress?.({ type: 'datasets:stored', cid: dir.cid })
      // The directory's pin keeps every file: the files' own pins are no longer needed.
      for (const cid of stored) await ctx.storage.unpin(cid).catch(() => false)
      stored.length = 0

      const build: DatasetBuild = {
        cid: dir.cid,
        manifest,
        manifestHash: await sha256Hex(manifestBytes),
        key,
        consent,
        excluded,
      }
      if (publish) {
        build.registration = await this.#register(dir.cid, manifest, build.manifestHash, licence, {
          signal,
          onProgress,
          onMined: () => {
            registered = true
          },
        })
      }
      return build
    } catch (err) {
      // Reads still waiting for the byte budget give up.
      stopped = true
      wake()
      signal?.removeEventListener('abort', wake)
      stored.push(...(await files.abort(err)))
      // Nothing of a build that failed (or could not be registered) stays pinned, unless its registration may
      // have been sent: then the chain may name the directory, which is kept.
      const hash =
        err instanceof TransactionOutcomeUnknownError || err instanceof ChainAbortError ? err.hash : undefined
      const maybeRegistered =
        dirCid !== undefined &&
        (registered || err instanceof TransactionOutcomeUnknownError || hash !== undefined)
      if (dirCid !== undefined && !maybeRegistered) stored.push(dirCid)
      for (const cid of stored) await ctx.storage.unpin(cid).catch(() => false)
      // Registered, and something failed after (a progress callback): the dataset stands, the error is the caller's.
      if (registered) throw err
      if (maybeRegistered) {
        throw new DatasetRegistrationUnknownError({ cid: String(dirCid), hash, cause: err })
      }
      throw err
    }
  }

  /**
   * Registers a dataset this account built in the DatasetRegistry, with its manifest hash, rule-set hash and
   * consent block. Registering the same dataset again is a no-op.
   *
   * Registration is the steward's word that the data was given with consent, and a manifest's `steward` is a
   * field anyone can write: so publishing needs the dataset key. Give what `build` returned (it holds the key),
   * or the CID with `key` (only for a dataset this account built, with `publish: false`). Either way every
   * consent commitment of the stored manifest must open, with the key, to a consent this account held at the
   * manifest's block with its purpose, else nothing is registered. This proves the consents, not the files:
   * publish only CIDs of datasets this account built, never one handed to it.
   *
   * @throws {NotStewardError}; {@link InvalidOptionError} no key, or a dataset built by another account;
   *   {@link DatasetIntegrityError} its manifest is not the one given, or its commitments do not open.
   */
  async publish(
    dataset: CID | string | DatasetBuild,
    options: PublishDatasetOptions = {},
  ): Promise<PublishedDataset> {
    const { signal, onProgress } = options
    signal?.throwIfAborted()
    const licence = checkLicence(options.licence)
    const build =
      typeof dataset === 'object' && dataset !== null && 'manifest' in dataset && 'manifestHash' in dataset
        ? dataset
        : undefined
    const cid = parseCid(build === undefined ? dataset : build.cid)
    const key = build === undefined ? options.key : build.key
    if (!(key instanceof Uint8Array) || key.length < 16) {
      throw new InvalidOptionError({
        option: 'key',
        expected:
          'the dataset key its build used (publishing by CID registers only a dataset this account built)',
      })
    }
    const opened = await this.#open(cid, signal)
    const manifestHash = await sha256Hex(opened.manifestBytes)
    const shown = cid.toString()
    if (build !== undefined && manifestHash !== build.manifestHash.toLowerCase()) {
      throw new DatasetIntegrityError({ cid: shown, reason: 'its stored manifest is not the one given' })
    }
    const { manifest } = opened
    if (typeof manifest.steward !== 'string' || !isAddressEqual(manifest.steward, this.#ctx.address)) {
      throw new InvalidOptionError({
        option: 'dataset',
        expected: `a dataset this account (${this.#ctx.address}) built`,
      })
    }
    await this.#checkConsents(shown, manifest, key, signal)
    return this.#register(cid, manifest, manifestHash, licence, { signal, onProgress })
  }

  /**
   * Checks that every consent commitment of a manifest opens, with the dataset key, to a consent (grant)
   * this account held at the manifest's block with the manifest's purpose: only this account's build with
   * this key makes such commitments.
   */
  async #checkConsents(
    shown: string,
    manifest: DatasetManifest,
    key: Uint8Array,
    signal: AbortSignal | undefined,
  ): Promise<void> {
    const ctx = this.#ctx
    const fail = (reason: string) => new DatasetIntegrityError({ cid: shown, reason })
    const consent = manifest.consent
    const commitments = consent?.commitments
    if (
      !Array.isArray(commitments) ||
      commitments.length === 0 ||
      commitments.length !== consent.grants ||
      new Set(commitments.map((c) => String(c).toLowerCase())).size !== commitments.length ||
      typeof consent.block !== 'string' ||
      !/^\d{1,20}$/.test(consent.block)
    ) {
      throw fail('its manifest does not list its consents as a build does')
    }
    if (
      manifest.chainId !== ctx.chainId ||
      typeof manifest.datasetRegistry !== 'string' ||
      !isAddressEqual(manifest.datasetRegistry, ctx.addresses.datasetRegistry)
    ) {
      throw fail('the manifest is for another chain or registry')
    }
    let purpose: number
    try {
      purpose = parsePurpose(manifest.purpose as Purpose)
    } catch (cause) {
      throw new DatasetIntegrityError({ cid: shown, reason: 'its manifest names no known purpose', cause })
    }
    const block = BigInt(consent.block)
    const latest = await ctx.publicClient.getBlockNumber({ cacheTime: 0 })
    if (block < ctx.fromBlock || block > latest) throw fail('its consent block is not a block of this chain')
    const blockTime = Number((await ctx.publicClient.getBlock({ blockNumber: block })).timestamp)
    signal?.throwIfAborted()
    const listings = await getGrants(ctx.publicClient, {
      addresses: ctx.addresses,
      grantee: ctx.address,
      fromBlock: ctx.fromBlock,
      toBlock: block,
      maxBlockRange: ctx.logBlockRange,
      signal,
    })
    const derived = await deriveDatasetKeys(key)
    const held = new Set<string>()
    for (const l of listings) {
      if (
        (typeof l.purpose === 'number' ? l.purpose : parsePurpose(l.purpose)) !== purpose ||
        l.revoked ||
        l.notBefore > blockTime ||
        blockTime >= l.expiry
      ) {
        continue
      }
      const grantId = l.grantId.toLowerCase() as Hex
      held.add(await consentCommitment(grantId, await hmacHex(derived.consent, grantId)))
    }
    for (const c of commitments) {
      if (!held.has(String(c).toLowerCase())) {
        throw fail(
          'a consent commitment of its manifest does not open with this key to a consent this account held at its block',
        )
      }
    }
  }

  /**
   * Fetches a registered dataset: checks its registration on chain (who registered it, the manifest hash,
   * the rule-set hash and the consent block), then every file against the manifest, as it is read (the storage
   * checks every block against its CID). Encrypted datasets open only for their recipients.
   *
   * @throws {DatasetNotRegisteredError}, {@link DatasetIntegrityError}, {@link NotDatasetRecipientError}.
   */
  async fetch(cidLike: CID | string, options: FetchDatasetOptions = {}): Promise<FetchedDataset> {
    const ctx = this.#ctx
    const { signal, onProgress } = options
    signal?.throwIfAborted()
    const cid = parseCid(cidLike)
    const steward = options.steward === undefined ? undefined : parseAddress(options.steward, 'steward')
    const shown = cid.toString()
    const datasetId = keccak256(cid.bytes)
    let registration: GetDatasetReturnType
    try {
      registration = await getDataset(ctx.publicClient, { addresses: ctx.addresses, datasetId })
    } catch (err) {
      if (err instanceof ChainDatasetNotFoundError)
        throw new DatasetNotRegisteredError({ cid: shown, cause: err })
      throw err
    }
    const fail = (reason: string) => new DatasetIntegrityError({ cid: shown, reason })
    if (steward !== undefined && !isAddressEqual(registration.steward, steward)) {
      throw fail(`it was registered by ${registration.steward}, not by ${steward}`)
    }
    if (registration.cid.toLowerCase() !== bytesToHex(cid.bytes)) throw fail('the registered CID differs')
    const opened = await this.#open(cid, signal)
    const { manifest } = opened
    if ((await sha256Hex(opened.manifestBytes)) !== registration.manifestHash.toLowerCase()) {
      throw fail('the manifest is not the one registered')
    }
    if (manifest.deidentification?.ruleSetHash?.toLowerCase() !== registration.ruleSetHash.toLowerCase()) {
      throw fail('the manifest names another rule set than the registration')
    }
    if (manifest.consent?.block !== registration.consentSnapshotBlock.toString()) {
      throw fail('the manifest names another consent block than the registration')
    }
    if (typeof manifest.steward !== 'string' || !isAddressEqual(manifest.steward, registration.steward)) {
      throw fail('the manifest names another steward than the registration')
    }
    if (
      manifest.chainId !== ctx.chainId ||
      !isAddressEqual(manifest.datasetRegistry, ctx.addresses.datasetRegistry)
    ) {
      throw fail('the manifest is for another chain or registry')
    }
    checkOutputs(manifest, opened, fail)
    onProgress?.({ type: 'datasets:verified', cid, steward: registration.steward })

    const resources = (opts: CallOptions & { types?: readonly string[] } = {}) =>
      this.#resources(cid, manifest, opened.fileKey, opts)
    let files: string[] | undefined
    if (options.outDir !== undefined) {
      files = await this.#writeFiles(cid, manifest, opened, options.outDir, { signal, onProgress })
    }
    return { cid, datasetId, registration, manifest, files, resources }
  }

  /** The records of the consents' grantors registered by `block` that a consent covers, each once. */
  async #recordsUnder(
    consents: GrantListing[],
    block: bigint,
    signal: AbortSignal | undefined,
  ): Promise<SelectedRecord[]> {
    const ctx = this.#ctx
    const byOwner = new Map<string, GrantListing[]>()
    for (const c of consents) {
      const k = c.grantor.toLowerCase()
      byOwner.set(k, [...(byOwner.get(k) ?? []), c])
    }
    const owners = [...byOwner.keys()] as Address[]
    const selected = new Map<string, SelectedRecord>()
    // Topic filters OR their values: one query per 100 patients keeps requests small.
    for (let i = 0; i < owners.length; i += 100) {
      signal?.throwIfAborted()
      const logs = await getLogsChunked(ctx.publicClient, {
        address: ctx.addresses.consentRegistry,
        event: recordRegistered,
        args: { owner: owners.slice(i, i + 100) },
        fromBlock: ctx.fromBlock,
        toBlock: block,
        maxBlockRange: ctx.logBlockRange,
        signal,
        strict: true,
      })
      for (const log of logs) {
        const recordId = log.args.recordId.toLowerCase() as Hex
        const owner = log.args.owner
        const chainTag = /^0x0{16}$/.test(log.args.tag) ? undefined : (log.args.tag.toLowerCase() as Hex)
        const grants = (byOwner.get(owner.toLowerCase()) ?? [])
          .filter((g) => covers(toGrant(g, 0).scope, recordId, chainTag))
          .map((g) => g.grantId.toLowerCase() as Hex)
        if (grants.length === 0) continue
        selected.set(recordId, { recordId, owner, grants })
      }
    }
    return [...selected.values()]
  }

  async #register(
    cid: CID,
    manifest: DatasetManifest,
    manifestHash: Hex,
    licence: string,
    options: CallOptions & { onMined?: () => void },
  ): Promise<PublishedDataset> {
    const ctx = this.#ctx
    if (typeof manifest.steward !== 'string' || !isAddressEqual(manifest.steward, ctx.address)) {
      throw new InvalidOptionError({
        option: 'dataset',
        expected: `a dataset this account (${ctx.address}) built`,
      })
    }
    const datasetId = keccak256(cid.bytes)
    try {
      const existing = await getDataset(ctx.publicClient, { addresses: ctx.addresses, datasetId })
      if (
        isAddressEqual(existing.steward, ctx.address) &&
        existing.manifestHash.toLowerCase() === manifestHash
      ) {
        return { datasetId, transactionHash: undefined }
      }
    } catch (err) {
      if (!(err instanceof ChainDatasetNotFoundError)) throw err
    }
    try {
      const { hash } = await ctx.write(
        'registerDataset',
        (s) =>
          registerDataset(ctx.walletClient, {
            addresses: ctx.addresses,
            cid: cid.bytes,
            manifestHash,
            ruleSetHash: manifest.deidentification.ruleSetHash,
            consentSnapshotBlock: BigInt(manifest.consent.block),
            licence,
            ...(s === undefined ? {} : { signal: s }),
          }).then((result) => {
            options.onMined?.()
            return result
          }),
        options.signal,
        options.onProgress,
      )
      return { datasetId, transactionHash: hash }
    } catch (err) {
      if (err instanceof ChainNotStewardError) throw new NotStewardError({ account: ctx.address, cause: err })
      throw err
    }
  }

  /** Reads and checks the directory, opens the file key (recipients only) and reads the manifest. */
  async #open(cid: CID, signal: AbortSignal | undefined): Promise<Opened> {
    const ctx = this.#ctx
    const shown = cid.toString()
    let root: Uint8Array
    try {
      root = await getVerifiedBlock(ctx.storage, cid, signal)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      if (code === 'MISMATCH' || code === 'UNSUPPORTED') {
        throw new DatasetIntegrityError({
          cid: shown,
          reason: 'its root block does not match its CID',
          cause: err,
        })
      }
      throw err
    }
    let links: Map<string, DirectoryLink>
    try {
      const list = decodeDirectory(root)
      links = new Map(list.map((l) => [l.name, l]))
      if (links.size !== list.length) throw new Error('duplicate names')
    } catch (cause) {
      throw new DatasetIntegrityError({ cid: shown, reason: 'its root is not a dataset directory', cause })
    }
    let fileKey: Uint8Array | undefined
    const recipients = links.get(RECIPIENTS)
    if (recipients !== undefined) {
      let entry: { address: string; wrappedKey: string } | undefined
      try {
        const parsed = JSON.parse(
          new TextDecoder().decode(await readAll(ctx, recipients.cid, 1024 * 1024, signal)),
        ) as {
          recipients: { address: string; wrappedKey: string }[]
        }
        entry = parsed.recipients.find(
          (r) => typeof r.address === 'string' && isAddressEqual(r.address as Address, ctx.address),
        )
      } catch (cause) {
        if (signal?.aborted === true) throw cause
        throw new DatasetIntegrityError({ cid: shown, reason: 'its recipients file is not valid', cause })
      }
      if (entry === undefined) throw new NotDatasetRecipientError({ cid: shown, account: ctx.address })
      const keys = await ctx.keys()
      try {
        fileKey = eciesDecrypt(keys.receivingSecretKey, fromBase64(entry.wrappedKey), keyWrapAad(ctx.address))
      } catch (cause) {
        throw new DatasetIntegrityError({
          cid: shown,
          reason: 'its key does not open for this account',
          cause,
        })
      }
    }
    const manifestName = fileKey === undefined ? MANIFEST : `${MANIFEST}${ENC}`
    const manifestLink = links.get(manifestName)
    if (manifestLink === undefined)
      throw new DatasetIntegrityError({ cid: shown, reason: `it has no ${manifestName}` })
    let manifestBytes: Uint8Array
    let manifest: DatasetManifest
    try {
      const raw = await readAll(ctx, manifestLink.cid, MAX_MANIFEST_BYTES, signal)
      manifestBytes =
        fileKey === undefined
          ? raw
          : await collect(decryptStream(fileKey, [raw], { aad: utf8(manifestName) }))
      manifest = JSON.parse(
        new TextDecoder('utf-8', { fatal: true }).decode(manifestBytes),
      ) as DatasetManifest
      if (manifest?.format !== DATASET_FORMAT || !Array.isArray(manifest.output))
        throw new Error('not a manifest')
    } catch (cause) {
      if (signal?.aborted === true) throw cause
      throw new DatasetIntegrityError({ cid: shown, reason: 'its manifest cannot be read', cause })
    }
    if (manifest.version !== DATASET_FORMAT_VERSION) {
      throw new DatasetIntegrityError({
        cid: shown,
        reason: `manifest version ${String(manifest.version)} is not supported`,
      })
    }
    return { links, manifest, manifestBytes, fileKey }
  }

  async *#resources(
    cid: CID,
    manifest: DatasetManifest,
    fileKey: Uint8Array | undefined,
    options: CallOptions & { types?: readonly string[] },
  ): AsyncGenerator<{ type: string; resource: Record<string, unknown> }> {
    for (const entry of manifest.output) {
      if (options.types !== undefined && !options.types.includes(entry.type)) continue
      for await (const line of this.#lines(cid, entry, fileKey, options)) {
        yield { type: entry.type, resource: JSON.parse(line) as Record<string, unknown> }
      }
    }
  }

  /** The lines of one file, each checked to be one resource of the file's type; the count and size at the end. */
  async *#lines(
    cid: CID,
    entry: DatasetOutput,
    fileKey: Uint8Array | undefined,
    options: CallOptions,
  ): AsyncGenerator<string> {
    const { signal, onProgress } = options
    const fail = (reason: string, cause?: unknown) =>
      new DatasetIntegrityError({
        cid: cid.toString(),
        reason: `${entry.url}: ${reason}`,
        ...(cause === undefined ? {} : { cause }),
      })
    const source = this.#ctx.storage.get(CID.parse(entry.cid), signal === undefined ? {} : { signal })
    const plain = fileKey === undefined ? source : decryptStream(fileKey, source, { aad: utf8(entry.url) })
    const decoder = new TextDecoder('utf-8', { fatal: true })
    let rest = ''
    let count = 0
    let bytes = 0
    const check = (line: string): string => {
      let resource: unknown
      try {
        resource = JSON.parse(line)
      } catch (cause) {
        throw fail(`line ${count + 1} is not JSON`, cause)
      }
      if ((resource as { resourceType?: unknown })?.resourceType !== entry.type) {
        throw fail(`line ${count + 1} is not a ${entry.type}`)
      }
      count++
      if (count > entry.count) throw fail(`more than the ${entry.count} resources of the manifest`)
      if (count % 1000 === 0)
        onProgress?.({ type: 'datasets:resources', resourceType: entry.type, resources: count })
      return line
    }
    try {
      for await (const chunk of plain) {
        bytes += chunk.length
        rest += decoder.decode(chunk, { stream: true })
        let nl = rest.indexOf('\n')
        let start = 0
        const lines: string[] = []
        while (nl !== -1) {
          lines.push(check(rest.slice(start, nl)))
          start = nl + 1
          nl = rest.indexOf('\n', start)
        }
        rest = rest.slice(start)
        yield* lines
      }
      rest += decoder.decode()
    } catch (err) {
      if (err instanceof DatasetIntegrityError || signal?.aborted === true) throw err
      const name = (err as Error)?.name
      if (name === 'DecryptionError' || name === 'TypeError' || name === 'BlockVerificationError') {
        throw fail('its content does not check out', err)
      }
      throw err
    }
    if (rest !== '') throw fail('it does not end with a newline')
    if (count !== entry.count || bytes !== entry.bytes) {
      throw fail(
        `it holds ${count} resources and ${bytes} bytes, the manifest says ${entry.count} and ${entry.bytes}`,
      )
    }
    onProgress?.({ type: 'datasets:resources', resourceType: entry.type, resources: count })
  }

  async #writeFiles(
    cid: CID,
    manifest: DatasetManifest,
    opened: Opened,
    outDir: string,
    options: CallOptions,
  ): Promise<string[]> {
    if (typeof outDir !== 'string' || outDir === '') {
      throw new InvalidOptionError({ option: 'outDir', expected: 'a directory path' })
    }
    // Node only, and imported only when asked for, so the browser build never sees node:fs.
    const fsName = 'node:fs/promises'
    const pathName = 'node:path'
    const fs = (await import(/* @vite-ignore */ fsName)) as typeof import('node:fs/promises')
    const path = (await import(/* @vite-ignore */ pathName)) as typeof import('node:path')
    await fs.mkdir(outDir, { recursive: true })
    const written: string[] = []
    const open = async (name: string) => {
      const file = path.join(outDir, name)
      try {
        const handle = await fs.open(file, 'wx')
        written.push(file)
        return handle
      } catch (cause) {
        throw new InvalidOptionError({
          option: 'outDir',
          expected: `a directory without a file named ${name}`,
          cause,
        })
      }
    }
    try {
      const m = await open(MANIFEST)
      await m.writeFile(opened.manifestBytes)
      await m.close()
      for (const entry of manifest.output) {
        const name = `${entry.type}.ndjson`
        const handle = await open(name)
        try {
          let batch = ''
          for await (const line of this.#lines(cid, entry, opened.fileKey, options)) {
            batch += `${line}\n`
            if (batch.length >= FLUSH_BYTES) {
              await handle.write(batch)
              batch = ''
            }
          }
          await handle.write(batch)
        } finally {
          await handle.close()
        }
      }
      return written
    } catch (err) {
      // A file that failed verification must not be left behind looking complete.
      for (const file of written) await fs.rm(file, { force: true }).catch(() => {})
      throw err
    }
  }
}

type ExclusionReason = DatasetBuild['excluded'][number]['reason']

interface SelectedRecord {
  recordId: Hex
  owner: Address
  /** The snapshot consents of its owner that cover it. */
  grants: Hex[]
}

/**
 * The failures that leave one record out of a build instead of stopping it: its consent no longer holds, or
 * the record, its grantor's kfrag bundle or proxy set is broken or unavailable. Anyone can give a steward a
 * research grant, so nothing a grantor controls may stop a build. Anything else (the chain, the steward's
 * storage closed, an abort, an unknown error) stops it.
 */
function refusalReason(err: unknown): ExclusionReason | undefined {
  if (err instanceof GrantRevokedError) return 'revoked'
  if (err instanceof GrantExpiredError) return 'expired'
  if (err instanceof GrantNotYetValidError) return 'not-yet-valid'
  if (err instanceof NoGrantError) return 'no-grant'
  if (err instanceof IntegrityError) return 'integrity'
  // The grant was made for keys this account does not hold (or the grantor's keys do not match the record).
  if (err instanceof KeyMismatchError) return 'keys'
  if (err instanceof NotEnoughProxiesError) return 'proxies-unavailable'
  // A block of the record or of its kfrag bundle that no peer or gateway provided in time.
  if (err instanceof StorageNotFoundError) return 'unavailable'
  return undefined
}

/**
 * The de-identified resources of one record, Bundles flattened (Bulk Data files hold no Bundles), or
 * undefined when the record is not FHIR JSON or the rules refuse it. References to a Bundle's `fullUrl`s
 * (`urn:uuid:…`) become `Type/id` so they still resolve in the NDJSON files.
 */
export function deidentifyRecord(
  bytes: Uint8Array,
  rules: RuleSet,
  key: Uint8Array | string,
  now: Date,
): Record<string, unknown>[] | undefined {
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))
  } catch {
    return undefined
  }
  if (
    json === null ||
    typeof json !== 'object' ||
    typeof (json as { resourceType?: unknown }).resourceType !== 'string'
  ) {
    return undefined
  }
  let out: Record<string, unknown>
  try {
    out = deidentify(json as Record<string, unknown>, rules, { key, now })
  } catch (err) {
    // A rule set that cannot run is the steward's error, not the record's.
    if ((err as Error)?.name === 'InvalidRuleSetError' || (err as Error)?.name === 'MissingKeyError')
      throw err
    return undefined
  }
  const resources = flatten(out)
  return resources.every((r) => typeof r.resourceType === 'string' && TYPE_RE.test(r.resourceType))
    ? resources
    : undefined
}

function flatten(resource: Record<string, unknown>): Record<string, unknown>[] {
  if (resource.resourceType !== 'Bundle') return [resource]
  const entries = Array.isArray(resource.entry) ? (resource.entry as Record<string, unknown>[]) : []
  const targets = new Map<string, string>()
  const out: Record<string, unknown>[] = []
  for (const entry of entries) {
    const r = entry?.resource as Record<string, unknown> | undefined
    if (r === undefined || r === null || typeof r !== 'object') continue
    if (typeof r.id !== 'string' && typeof entry.fullUrl === 'string') {
      const id = /([A-Za-z0-9\-.]{1,64})$/.exec(entry.fullUrl)?.[1]
      if (id !== undefined) r.id = id
    }
    if (typeof entry.fullUrl === 'string' && typeof r.resourceType === 'string' && typeof r.id === 'string') {
      targets.set(entry.fullUrl, `${r.resourceType}/${r.id}`)
    }
    out.push(...flatten(r))
  }
  if (targets.size > 0) for (const r of out) rewriteReferences(r, targets)
  return out
}

function rewriteReferences(node: unknown, targets: Map<string, string>): void {
  if (Array.isArray(node)) {
    for (const item of node) rewriteReferences(item, targets)
  } else if (node !== null && typeof node === 'object') {
    const o = node as Record<string, unknown>
    for (const [k, v] of Object.entries(o)) {
      if (k === 'reference' && typeof v === 'string') {
        const target = targets.get(v)
        if (target !== undefined) o[k] = target
      } else if (typeof v === 'object') rewriteReferences(v, targets)
    }
  }
}

function checkOutputs(
  manifest: DatasetManifest,
  opened: Opened,
  fail: (reason: string) => DatasetIntegrityError,
): void {
  const expected = new Set<string>([opened.fileKey === undefined ? MANIFEST : `${MANIFEST}${ENC}`])
  if (opened.fileKey !== undefined) expected.add(RECIPIENTS)
  let total = 0
  for (const entry of manifest.output) {
    if (
      entry === null ||
      typeof entry !== 'object' ||
      typeof entry.type !== 'string' ||
      !TYPE_RE.test(entry.type) ||
      entry.url !== `${entry.type}.ndjson${opened.fileKey === undefined ? '' : ENC}` ||
      !Number.isSafeInteger(entry.count) ||
      !Number.isSafeInteger(entry.bytes)
    ) {
      throw fail('its manifest lists a file it cannot have')
    }
    const link = opened.links.get(entry.url)
    if (link === undefined) throw fail(`${entry.url} is missing`)
    if (link.cid.toString() !== entry.cid) throw fail(`${entry.url} is not the file the manifest names`)
    expected.add(entry.url)
    total += entry.count
  }
  for (const name of opened.links.keys())
    if (!expected.has(name)) throw fail(`it holds a file the manifest does not name`)
  if (total !== manifest.resources) throw fail('its manifest counts do not add up')
}

/**
 * The NDJSON files of a dataset being written, one per resource type, each streamed into storage as lines
 * arrive (encrypted when a file key is given), in constant memory per file.
 *
 * @internal exported for the benchmark, which times this part alone.
 */
export class NdjsonFiles {
  readonly #storage: Storage
  readonly #fileKey: Uint8Array | undefined
  readonly #signal: AbortSignal | undefined
  readonly #writers = new Map<string, NdjsonWriter>()

  constructor(storage: Storage, fileKey: Uint8Array | undefined, signal: AbortSignal | undefined) {
    this.#storage = storage
    this.#fileKey = fileKey
    this.#signal = signal
  }

  async add(resources: readonly Record<string, unknown>[]): Promise<void> {
    for (const resource of resources) {
      const type = resource.resourceType as string
      let writer = this.#writers.get(type)
      if (writer === undefined) {
        writer = new NdjsonWriter(this.#storage, type, this.#fileKey, this.#signal)
        this.#writers.set(type, writer)
      }
      await writer.write(`${JSON.stringify(resource)}\n`)
    }
  }

  /** Ends every file; `stored` gets each file's CID (pinned until the directory's pin replaces it). */
  async close(stored: CID[]): Promise<{ output: DatasetOutput[]; links: DirectoryLink[] }> {
    const output: DatasetOutput[] = []
    const links: DirectoryLink[] = []
    for (const type of [...this.#writers.keys()].sort()) {
      const writer = this.#writers.get(type) as NdjsonWriter
      const cid = await writer.close()
      stored.push(cid)
      output.push({ type, url: writer.name, count: writer.lines, cid: cid.toString(), bytes: writer.bytes })
      links.push({ name: writer.name, cid, tsize: await treeSize(this.#storage, cid, this.#signal) })
    }
    this.#writers.clear()
    return { output, links }
  }

  /** Stops every file; returns the CIDs of files that were stored anyway, to unpin. */
  async abort(reason: unknown): Promise<CID[]> {
    for (const writer of this.#writers.values()) writer.abort(reason)
    const cids: CID[] = []
    for (const writer of this.#writers.values()) {
      const cid = await writer.result().catch(() => undefined)
      if (cid !== undefined) cids.push(cid)
    }
    return cids
  }
}

/** One NDJSON file being written: lines batched into chunks, streamed into storage (encrypted when keyed). */
class NdjsonWriter {
  readonly name: string
  lines = 0
  bytes = 0
  #buffer = ''
  readonly #channel = new Channel()
  readonly #done: Promise<CID>

  constructor(
    storage: Storage,
    type: string,
    fileKey: Uint8Array | undefined,
    signal: AbortSignal | undefined,
  ) {
    this.name = `${type}.ndjson${fileKey === undefined ? '' : ENC}`
    const source =
      fileKey === undefined ? this.#channel : encryptStream(fileKey, this.#channel, { aad: utf8(this.name) })
    this.#done = storage.putStream(source, signal === undefined ? {} : { signal })
    this.#done.catch((err) => this.#channel.fail(err))
  }

  async write(line: string): Promise<void> {
    this.#buffer += line
    this.lines++
    if (this.#buffer.length >= FLUSH_BYTES) await this.#flush()
  }

  async close(): Promise<CID> {
    await this.#flush()
    this.#channel.end()
    return this.#done
  }

  abort(reason: unknown): void {
    this.#channel.fail(reason)
  }

  result(): Promise<CID> {
    return this.#done
  }

  async #flush(): Promise<void> {
    if (this.#buffer === '') return
    const chunk = utf8(this.#buffer)
    this.#buffer = ''
    this.bytes += chunk.length
    await this.#channel.push(chunk)
  }
}

/** A bounded single-producer, single-consumer queue of chunks: `push` waits while the consumer is behind. */
class Channel implements AsyncIterable<Uint8Array> {
  readonly #queue: Uint8Array[] = []
  #ended = false
  #error: { reason: unknown } | undefined
  #wakeConsumer: (() => void) | undefined
  #wakeProducer: (() => void) | undefined

  async push(chunk: Uint8Array): Promise<void> {
    while (this.#queue.length >= 4 && this.#error === undefined) {
      await new Promise<void>((resolve) => {
        this.#wakeProducer = resolve
      })
    }
    if (this.#error !== undefined) throw this.#error.reason
    this.#queue.push(chunk)
    this.#wake()
  }

  end(): void {
    this.#ended = true
    this.#wake()
  }

  fail(reason: unknown): void {
    this.#error ??= { reason }
    this.#wake()
  }

  #wake(): void {
    const c = this.#wakeConsumer
    const p = this.#wakeProducer
    this.#wakeConsumer = undefined
    this.#wakeProducer = undefined
    c?.()
    p?.()
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    for (;;) {
      if (this.#error !== undefined) throw this.#error.reason
      const chunk = this.#queue.shift()
      if (chunk !== undefined) {
        this.#wake()
        yield chunk
        continue
      }
      if (this.#ended) return
      await new Promise<void>((resolve) => {
        this.#wakeConsumer = resolve
      })
    }
  }
}

/**
 * The consent commitment for a grant: `sha256(salt ‖ grantId)`, both 32 bytes. A steward proves a grant's part
 * in a dataset by revealing the salt (`DatasetBuild.consent`); the commitment alone says nothing about the grant.
 */
export async function consentCommitment(grantId: Hex, salt: Hex): Promise<Hex> {
  const bytes = new Uint8Array(64)
  bytes.set(hexToBytes(salt), 0)
  bytes.set(hexToBytes(grantId), 32)
  return sha256Hex(bytes)
}

/**
 * SHA-256 of a rule set in canonical JSON (keys sorted), leaving out the keys a Microsoft configuration may
 * carry: a hash of a short key would let anyone test guesses of it.
 */
export async function ruleSetHash(rules: RuleSet): Promise<Hex> {
  const secret = new Set(['dateShiftKey', 'cryptoHashKey', 'encryptKey'])
  const canonical = (v: unknown, parentKey: string): unknown => {
    if (Array.isArray(v)) return v.map((x) => canonical(x, ''))
    if (v instanceof RegExp) return v.source
    if (v !== null && typeof v === 'object') {
      const out: Record<string, unknown> = {}
      for (const k of Object.keys(v).sort()) {
        const x = (v as Record<string, unknown>)[k]
        if (x === undefined || typeof x === 'function') continue
        out[k] = parentKey === 'parameters' && secret.has(k) ? '(secret)' : canonical(x, k)
      }
      return out
    }
    return v
  }
  return sha256Hex(utf8(JSON.stringify(canonical(rules, ''))))
}

function checkLicence(value: unknown): string {
  const licence = value ?? 'NOASSERTION'
  if (typeof licence !== 'string' || licence.length === 0 || utf8(licence).length > 256) {
    throw new InvalidOptionError({
      option: 'licence',
      expected: 'an SPDX licence id or a URL (1 to 256 bytes)',
    })
  }
  return licence
}

function parseCid(value: unknown): CID {
  try {
    const cid = typeof value === 'string' ? CID.parse(value) : CID.asCID(value)
    if (cid === null) throw new Error('not a CID')
    return cid
  } catch (cause) {
    throw new InvalidOptionError({ option: 'cid', expected: 'a dataset CID (bafy…)', cause })
  }
}

function keyWrapAad(address: Address): Uint8Array {
  return utf8(`${DATASET_FORMAT}/key/${address.toLowerCase()}`)
}

async function deriveDatasetKeys(key: Uint8Array): Promise<{ order: CryptoKey; consent: CryptoKey }> {
  const base = await crypto.subtle.importKey('raw', key as BufferSource, 'HKDF', false, ['deriveKey'])
  const derive = (label: string) =>
    crypto.subtle.deriveKey(
      {
        name: 'HKDF',
        hash: 'SHA-256',
        salt: new Uint8Array(0),
        info: utf8(`${DATASET_FORMAT}/${label}`) as BufferSource,
      },
      base,
      { name: 'HMAC', hash: 'SHA-256', length: 256 },
      false,
      ['sign'],
    )
  return { order: await derive('order'), consent: await derive('consent-salt') }
}

async function hmacHex(key: CryptoKey, value: Hex): Promise<Hex> {
  return bytesToHex(new Uint8Array(await crypto.subtle.sign('HMAC', key, hexToBytes(value) as BufferSource)))
}

async function sha256Hex(bytes: Uint8Array): Promise<Hex> {
  return bytesToHex(new Uint8Array(await crypto.subtle.digest('SHA-256', bytes as BufferSource)))
}

async function readAll(
  ctx: VaultContext,
  cid: CID,
  max: number,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let length = 0
  for await (const chunk of ctx.storage.get(cid, signal === undefined ? {} : { signal })) {
    length += chunk.length
    if (length > max) throw new Error('file too large')
    chunks.push(chunk)
  }
  return concat(chunks, length)
}

async function collect(source: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let length = 0
  for await (const c of source) {
    chunks.push(c)
    length += c.length
  }
  return concat(chunks, length)
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const out = new Uint8Array(length)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

function utf8(s: string): Uint8Array {
  return new TextEncoder().encode(s)
}

function toBase64(bytes: Uint8Array): string {
  let s = ''
  for (const b of bytes) s += String.fromCharCode(b)
  return btoa(s)
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (c) => c.charCodeAt(0))
}
