/**
 * Records: put (encrypt, store, register), get and stream (the owner opens the data key directly, a grantee
 * through the proxies), update (a new version linked to the last), history, and rotate (a new data key under
 * a new record-key epoch, so kfrags made before it open nothing new).
 *
 * FHIR content is validated before anything is stored, and a Bundle can be split into one record per
 * resource (fhir-records.ts); `getResource` reads a FHIR record back as a typed resource.
 *
 * @module
 */
import type { Bundle, Resource } from '@medplum/fhirtypes'
import {
  AbortError as ChainAbortError,
  registerRecord,
  registerRecords,
  registerRecordVersion,
  TransactionOutcomeUnknownError,
} from '@medvault/chain'
import { DEFAULT_SEGMENT_SIZE, MAX_SEGMENT_SIZE, MIN_SEGMENT_SIZE } from '@medvault/crypto'
import { dagCborCid, encodeRecordEnvelope, MAX_EPOCH, type RecordEnvelope } from '@medvault/protocol'
import type { CID } from 'multiformats/cid'
import { bytesToHex, type Hash, type Hex, type TransactionReceipt } from 'viem'
import { openAsGrantee } from './access.ts'
import {
  buildEnvelope,
  cidFromHex,
  contentSource,
  decryptContent,
  encryptToStorage,
  type LoadedRecord,
  loadEnvelope,
  loadRecord,
  openAsOwner,
  openMeta,
  type RecordMeta,
  rememberEnvelope,
  tagOf,
} from './content.ts'
import type { VaultContext } from './context.ts'
import {
  IntegrityError,
  InvalidOptionError,
  NotRecordOwnerError,
  RegistrationUnknownError,
} from './errors.ts'
import {
  FHIR_MEDIA_TYPE,
  type FhirRecord,
  fhirInfo,
  isFhirMediaType,
  MAX_FHIR_JSON_BYTES,
  parseStoredResource,
  planSplit,
  readFhirContent,
  type SplitBundleResult,
  updatedMeta,
  wholeMeta,
} from './fhir-records.ts'
import { type Grants, randomHex32 } from './grants.ts'
import { parseRecordId } from './options.ts'
import type {
  CallOptions,
  Grant,
  PutOptions,
  ReadOptions,
  RecordContent,
  RecordInfo,
  RecordVersionInfo,
  SplitPutOptions,
  UpdateOptions,
} from './types.ts'

export interface RotateOptions extends CallOptions {
  /**
   * Re-issue the owner's active grants that name this record (by id), whose kfrags were made for the old
   * epoch's key: each gets a replacement grant with the same terms and new kfrags, and is then revoked.
   * Default true. Tag and all-records grants need nothing: their keys do not change.
   */
  reissueGrants?: boolean
}

export interface RotateResult {
  record: RecordInfo
  /** Grants replaced because they were made for the old key: `from` was revoked, `to` replaces it. */
  reissued: { from: Hex; to: Grant }[]
}

/** The records part of a vault. */
export class Records {
  readonly #ctx: VaultContext
  readonly #grants: Grants

  constructor(ctx: VaultContext, grants: Grants) {
    this.#ctx = ctx
    this.#grants = grants
  }

  /**
   * Encrypts content on this device, stores the ciphertext and its envelope, and registers the record on
   * chain. Streams: a source of any size is encrypted and stored in constant memory.
   *
   * FHIR: content is FHIR when `mediaType` is `application/fhir+json`, or, without a `mediaType`, when it is
   * a JSON object with a `resourceType` (an object, or bytes or a string holding one). It is validated as
   * FHIR R4 first: invalid input throws and nothing is stored or registered. A Bundle is stored whole unless
   * `bundle: 'split'`, which stores one record per entry and returns a {@link SplitBundleResult}.
   *
   * @returns the new record (its `id` is what grants and reads name).
   * @throws {FhirValidationError} (from `@medvault/fhir`) for invalid FHIR: each issue names the path and
   *   the rule, never a value.
   * @throws {InvalidOptionError} for bad content or options. If registration fails before its transaction is
   *   sent, what was stored is unpinned: no half-written record is left.
   * @throws {RegistrationUnknownError} when the registration may have been sent but its outcome is unknown (the
   *   send's answer or the receipt did not come, or `signal` aborted the wait): the record may be registered, so
   *   nothing was unpinned. Check later with `vault.records.info(err.recordId)` (or wait for `err.hash`).
   *
   * @example
   * ```ts
   * const rec = await vault.records.put(observation, { tag: 'labs' })          // one FHIR record
   * const split = await vault.records.put(bundle, { bundle: 'split', tag: 'visit-2024-05' })
   * const obsId = split.references['urn:uuid:…']                               // any entry's record
   * ```
   */
  put(content: Bundle | RecordContent, options: SplitPutOptions): Promise<SplitBundleResult>
  put(content: Resource | RecordContent, options?: PutOptions): Promise<RecordInfo>
  async put(
    content: Resource | RecordContent,
    options: PutOptions | SplitPutOptions = {},
  ): Promise<RecordInfo | SplitBundleResult> {
    const ctx = this.#ctx
    const { signal, onProgress } = options
    signal?.throwIfAborted()
    checkText(options.mediaType, 'mediaType')
    checkText(options.tag, 'tag')
    checkText(options.name, 'name')
    const mode: unknown = options.bundle
    if (mode !== undefined && mode !== 'whole' && mode !== 'split') {
      throw new InvalidOptionError({ option: 'bundle', expected: "'whole' or 'split'" })
    }
    const segmentSize = checkSegmentSize(options.segmentSize)
    // Validated before anything is stored or sent (the key publication included).
    const fhir = await readFhirContent(content, options.mediaType, signal, options.validate !== false)
    if (mode === 'split') {
      if (fhir?.resource.resourceType !== 'Bundle') {
        throw new InvalidOptionError({ option: 'bundle', expected: "'split' only with a FHIR Bundle" })
      }
      return this.#putSplit(fhir.resource, segmentSize, options)
    }
    const source =
      fhir === undefined
        ? contentSource(content as RecordContent)
        : { chunks: once(fhir.bytes), mediaType: FHIR_MEDIA_TYPE }
    await ctx.ready(signal)
    const keys = await ctx.keys()
    const recordId = randomHex32()
    const tag = options.tag === undefined ? undefined : tagOf(keys, options.tag)
    const meta: RecordMeta = { mediaType: options.mediaType ?? source.mediaType }
    if (options.tag !== undefined) meta.tag = options.tag
    if (options.name !== undefined) meta.name = options.name
    if (fhir !== undefined) meta.fhir = wholeMeta(fhir.resource)
    const stored = await this.#store({
      recordId,
      chunks: source.chunks,
      segmentSize,
      epoch: 0,
      tag32: tag?.tag32,
      meta,
      prev: undefined,
      signal,
      onProgress,
    })
    const registration = registering()
    try {
      const written = await ctx.write(
        'registerRecord',
        (s) =>
          registration.track(
            registerRecord(ctx.walletClient, {
              addresses: ctx.addresses,
              recordId,
              cid: stored.cid,
              ...(tag === undefined ? {} : { tag: tag.chainTag }),
              signal: s,
              beforeSend: () => stored.saved,
            }),
          ),
        signal,
        onProgress,
      )
      remember(ctx, recordId, 1, stored.cid, written)
    } catch (err) {
      throw await registration.failed(ctx, [{ recordId, stored }], err)
    }
    return info({
      recordId,
      owner: ctx.address,
      version: 1,
      cid: stored.cid,
      envelope: stored.envelope,
      chainTag: tag?.chainTag,
      meta,
    })
  }

  /**
   * The record's content (the current version unless `version` is given), decrypted and checked. The owner
   * opens it with its own key; anyone else through the proxies, under a grant that covers it.
   *
   * Buffers the whole record: use {@link Records.stream} for large ones.
   *
   * @throws {RecordNotFoundError}, {@link NoGrantError}, {@link GrantRevokedError}, {@link GrantExpiredError},
   *   {@link NotEnoughProxiesError}, {@link IntegrityError}.
   */
  async get(id: Hex, options: ReadOptions = {}): Promise<Uint8Array> {
    const opened = await this.#open(id, options)
    const out = new Uint8Array(opened.loaded.envelope.size)
    let offset = 0
    try {
      for await (const chunk of decryptContent(this.#ctx, {
        recordId: opened.loaded.recordId,
        envelope: opened.loaded.envelope,
        dek: opened.dek,
        signal: options.signal,
        onProgress: options.onProgress,
      })) {
        out.set(chunk, offset)
        offset += chunk.length
      }
    } finally {
      opened.dek.fill(0)
    }
    return out
  }

  /**
   * Reads a record as {@link Records.get} does for a dataset build: one whose envelope claims more than
   * `maxBytes` is refused before any proxy is asked or any byte is read or allocated (the size is the
   * record writer's claim, up to 2^53), and the grant that opened it is returned. `admit` is awaited with
   * the size before anything is opened or allocated (the caller's memory budget).
   *
   * @internal for `datasets.build`.
   */
  async readBounded(
    id: Hex,
    options: ReadOptions & { maxBytes: number; admit?: (size: number) => Promise<void> },
  ): Promise<{ tooLarge: true } | { tooLarge: false; bytes: Uint8Array; grantId: Hex | undefined }> {
    const ctx = this.#ctx
    options.signal?.throwIfAborted()
    const recordId = parseRecordId(id, 'id')
    const loaded = await loadRecord(ctx, recordId, { version: options.version, signal: options.signal })
    if (loaded.envelope.size > options.maxBytes) return { tooLarge: true }
    await options.admit?.(loaded.envelope.size)
    let dek: Uint8Array
    let grantId: Hex | undefined
    if (loaded.owner.toLowerCase() === ctx.address.toLowerCase()) {
      dek = openAsOwner(await ctx.keys(), recordId, loaded.envelope)
    } else {
      await ctx.ready(options.signal)
      ;({ dek, grantId } = await openAsGrantee(ctx, loaded, options))
    }
    const out = new Uint8Array(loaded.envelope.size)
    let offset = 0
    try {
      for await (const chunk of decryptContent(ctx, {
        recordId: loaded.recordId,
        envelope: loaded.envelope,
        dek,
        signal: options.signal,
        onProgress: options.onProgress,
      })) {
        out.set(chunk, offset)
        offset += chunk.length
      }
    } finally {
      dek.fill(0)
    }
    return { tooLarge: false, bytes: out, grantId }
  }

  /**
   * A FHIR record's resource, parsed, with the record it came from and where its references lead (for a
   * resource split from a Bundle: `references[obs.subject.reference]` is the Patient's record id). Reads as
   * {@link Records.get} does, with one access for content and metadata.
   *
   * @throws {InvalidOptionError} when the record is not FHIR (its media type is not `application/fhir+json`).
   * @throws {FhirValidationError} when it does not hold a FHIR resource; the errors of {@link Records.get}.
   *
   * @example
   * ```ts
   * const { resource: obs, references } = await clinic.records.getResource<Observation>(obsRecordId)
   * const patientRecordId = references[obs.subject?.reference ?? '']
   * ```
   */
  async getResource<T extends Resource = Resource>(
    id: Hex,
    options: ReadOptions = {},
  ): Promise<FhirRecord<T>> {
    const opened = await this.#open(id, options)
    try {
      const meta = openMeta(opened.dek, opened.loaded.recordId, opened.loaded.envelope)
      if (!isFhirMediaType(meta.mediaType)) {
        throw new InvalidOptionError({
          option: 'id',
          expected: `a FHIR record (media type ${FHIR_MEDIA_TYPE}); read this one with records.get`,
        })
      }
      if (opened.loaded.envelope.size > MAX_FHIR_JSON_BYTES) {
        throw new InvalidOptionError({
          option: 'id',
          expected: `a FHIR record of at most ${MAX_FHIR_JSON_BYTES} bytes; stream this one with records.stream`,
        })
      }
      const out = new Uint8Array(opened.loaded.envelope.size)
      let offset = 0
      for await (const chunk of decryptContent(this.#ctx, {
        recordId: opened.loaded.recordId,
        envelope: opened.loaded.envelope,
        dek: opened.dek,
        signal: options.signal,
        onProgress: options.onProgress,
      })) {
        out.set(chunk, offset)
        offset += chunk.length
      }
      const resource = parseStoredResource(out) as T
      const fhir = fhirInfo(meta.fhir ?? wholeMeta(resource))
      const record = { ...info({ ...opened.loaded, meta }), fhir }
      return { resource, record, references: fhir.references }
    } finally {
      opened.dek.fill(0)
    }
  }

  /**
   * The record's content as a stream of plaintext chunks, in constant memory. Each chunk is authentic; the
   * stream ends without an error only if the record was complete: a truncated or altered record throws
   * {@link IntegrityError} before the end. Access is checked when iteration starts.
   */
  stream(id: Hex, options: ReadOptions = {}): AsyncIterable<Uint8Array> {
    const ctx = this.#ctx
    const open = () => this.#open(id, options)
    return {
      async *[Symbol.asyncIterator]() {
        const opened = await open()
        try {
          yield* decryptContent(ctx, {
            recordId: opened.loaded.recordId,
            envelope: opened.loaded.envelope,
            dek: opened.dek,
            signal: options.signal,
            onProgress: options.onProgress,
          })
        } finally {
          opened.dek.fill(0)
        }
      },
    }
  }

  /**
   * What the vault knows of a record: chain facts and envelope, and (when the reader can open it) the
   * metadata. A grantee opening the metadata goes through the proxies as for a read.
   */
  async info(id: Hex, options: ReadOptions = {}): Promise<RecordInfo> {
    const opened = await this.#open(id, options)
    try {
      const meta = openMeta(opened.dek, opened.loaded.recordId, opened.loaded.envelope)
      return info({ ...opened.loaded, meta })
    } finally {
      opened.dek.fill(0)
    }
  }

  /**
   * Adds a new version (new content, a new data key, `prev` linking the last version). Grants that cover
   * the record cover the new version. Only the owner.
   *
   * A FHIR record stays FHIR unless `mediaType` says otherwise: its new content is validated as a put's is,
   * before anything is stored, and the links of a resource split from a Bundle are kept for the references
   * it still makes.
   *
   * @throws {NotRecordOwnerError} for a record of another account.
   * @throws {RegistrationUnknownError} when the new version's registration may have been sent but its outcome is
   *   unknown: it may become the current version, so nothing was unpinned. `vault.records.info(id)` shows
   *   `err.records[0].cid` once it is registered. A failure before the send unpins what was stored.
   */
  async update(id: Hex, content: Resource | RecordContent, options: UpdateOptions = {}): Promise<RecordInfo> {
    const ctx = this.#ctx
    const { signal, onProgress } = options
    const recordId = parseRecordId(id, 'id')
    checkText(options.mediaType, 'mediaType')
    checkText(options.name, 'name')
    const segmentSize = checkSegmentSize(options.segmentSize)
    await ctx.ready(signal)
    const { loaded, previous, tag32 } = await this.#loadOwned(recordId, signal)
    // A FHIR record stays FHIR: its new content is validated like a put's, before anything is stored.
    const mediaType =
      options.mediaType ?? (isFhirMediaType(previous.mediaType) ? previous.mediaType : undefined)
    const fhir = await readFhirContent(content, mediaType, signal, options.validate !== false)
    const source =
      fhir === undefined
        ? contentSource(content as RecordContent)
        : { chunks: once(fhir.bytes), mediaType: FHIR_MEDIA_TYPE }
    const meta: RecordMeta = {
      mediaType:
        options.mediaType ?? (fhir === undefined ? previous.mediaType : (mediaType ?? FHIR_MEDIA_TYPE)),
    }
    if (previous.tag !== undefined) meta.tag = previous.tag
    const name = options.name ?? previous.name
    if (name !== undefined) meta.name = name
    if (fhir !== undefined) meta.fhir = updatedMeta(fhir.resource, previous.fhir)
    const stored = await this.#store({
      recordId,
      chunks: source.chunks,
      segmentSize,
      epoch: loaded.envelope.epoch,
      tag32,
      meta,
      prev: loaded.cid,
      signal,
      onProgress,
    })
    const { version } = await this.#registerVersion(recordId, stored, signal, onProgress)
    return info({
      recordId,
      owner: ctx.address,
      version,
      cid: stored.cid,
      envelope: stored.envelope,
      chainTag: loaded.chainTag,
      meta,
    })
  }

  /** Every version of a record, oldest first: who registered it, when, its envelope CID and size. */
  async history(id: Hex, options: CallOptions = {}): Promise<RecordVersionInfo[]> {
    const ctx = this.#ctx
    const recordId = parseRecordId(id, 'id')
    // RecordNotFoundError for an unknown id; the index then knows every version up to the current one.
    const loaded = await loadRecord(ctx, recordId, { signal: options.signal })
    const versions = (await ctx.index.versions(recordId, loaded.currentVersion)).slice(
      0,
      loaded.currentVersion,
    )
    const out: RecordVersionInfo[] = []
    for (const v of versions) {
      const cid = cidFromHex(v.cid, recordId)
      const envelope = await loadEnvelope(ctx, cid, recordId, options.signal)
      out.push({
        version: v.version,
        cid,
        author: v.author,
        blockNumber: v.blockNumber,
        transactionHash: v.transactionHash,
        size: envelope.size,
        epoch: envelope.epoch,
        prev: envelope.prev,
      })
    }
    return out
  }

  /**
   * Re-encrypts the record under a new data key and a new record-key epoch, as a new version. After a
   * revocation this is what makes the revoked grantee's kfrags useless for the record from now on, even
   * with colluding proxies: they were made for the old epoch's key. (It cannot take back what the grantee
   * already read, nor re-key earlier versions.) Active grants naming the record are re-issued for the new key
   * unless `reissueGrants: false`. Streams: constant memory whatever the size.
   *
   * @throws {RegistrationUnknownError} as {@link Records.update} does, when the re-keyed version's registration
   *   may have been sent but its outcome is unknown (grants are then not re-issued: rotate again once it shows).
   */
  async rotate(id: Hex, options: RotateOptions = {}): Promise<RotateResult> {
    const ctx = this.#ctx
    const { signal, onProgress } = options
    const recordId = parseRecordId(id, 'id')
    await ctx.ready(signal)
    const keys = await ctx.keys()
    const { loaded, previous, tag32 } = await this.#loadOwned(recordId, signal)
    if (loaded.envelope.epoch >= MAX_EPOCH) {
      throw new InvalidOptionError({
        option: 'id',
        expected: 'a record whose key was rotated fewer than 2^32 − 1 times',
      })
    }
    const oldDek = openAsOwner(keys, recordId, loaded.envelope)
    let stored: StoredVersion
    try {
      stored = await this.#store({
        recordId,
        chunks: decryptContent(ctx, { recordId, envelope: loaded.envelope, dek: oldDek, signal }),
        segmentSize: loaded.envelope.segment,
        epoch: loaded.envelope.epoch + 1,
        tag32,
        meta: previous,
        prev: loaded.cid,
        signal,
        onProgress,
      })
    } finally {
      oldDek.fill(0)
    }
    const { version } = await this.#registerVersion(recordId, stored, signal, onProgress)
    const reissued: RotateResult['reissued'] = []
    if (options.reissueGrants !== false) {
      const grants = await this.#grants.list({ given: true, record: recordId, active: true })
      for (const grant of grants) {
        // Tag and all-records keys did not change; only grants that carry this record's key need new kfrags.
        if (grant.scope.kind !== 'record' && grant.scope.kind !== 'records') continue
        const replacement = await this.#grants.create({
          to: grant.grantee,
          records: grant.scope.records,
          purpose: grant.purpose,
          expiresAt: grant.expiresAt,
          ...(grant.notBefore === 0 ? {} : { notBefore: grant.notBefore }),
          threshold: grant.threshold,
          proxySet: grant.proxySet,
          ...(signal === undefined ? {} : { signal }),
          ...(onProgress === undefined ? {} : { onProgress }),
        })
        await this.#grants.revoke(grant.id, { signal, onProgress })
        reissued.push({ from: grant.id, to: replacement })
      }
    }
    return {
      record: info({
        recordId,
        owner: ctx.address,
        version,
        cid: stored.cid,
        envelope: stored.envelope,
        chainTag: loaded.chainTag,
        meta: previous,
      }),
      reissued,
    }
  }

  /**
   * Stores a validated Bundle as one record per entry, each with its links to the others in its metadata,
   * and registers them all in one transaction: all or none.
   */
  async #putSplit(
    bundle: Bundle,
    segmentSize: number,
    options: PutOptions | SplitPutOptions,
  ): Promise<SplitBundleResult> {
    const ctx = this.#ctx
    const { signal, onProgress } = options
    const plan = planSplit(bundle, randomHex32)
    await ctx.ready(signal)
    const keys = await ctx.keys()
    const tag = options.tag === undefined ? undefined : tagOf(keys, options.tag)
    const stored: (StoredVersion & { meta: RecordMeta })[] = []
    const registration = registering()
    try {
      for (const entry of plan.entries) {
        const meta: RecordMeta = { mediaType: FHIR_MEDIA_TYPE, fhir: entry.meta }
        if (options.tag !== undefined) meta.tag = options.tag
        if (options.name !== undefined) meta.name = options.name
        const one = await this.#store({
          recordId: entry.recordId,
          chunks: once(entry.bytes),
          segmentSize,
          epoch: 0,
          tag32: tag?.tag32,
          meta,
          prev: undefined,
          signal,
          onProgress,
        })
        stored.push({ ...one, meta })
        await one.saved
        onProgress?.({ type: 'records:split', stored: stored.length, total: plan.entries.length })
      }
      const written = await ctx.write(
        'registerRecords',
        (s) =>
          registration.track(
            registerRecords(ctx.walletClient, {
              addresses: ctx.addresses,
              records: plan.entries.map((entry, i) => ({
                recordId: entry.recordId,
                cid: (stored[i] as { cid: CID }).cid,
                ...(tag === undefined ? {} : { tag: tag.chainTag }),
              })),
              signal: s,
            }),
          ),
        signal,
        onProgress,
      )
      for (const [i, entry] of plan.entries.entries()) {
        remember(ctx, entry.recordId, 1, (stored[i] as { cid: CID }).cid, written)
      }
    } catch (err) {
      const versions = stored.map((s, i) => ({
        recordId: (plan.entries[i] as { recordId: Hex }).recordId,
        stored: s,
      }))
      throw await registration.failed(ctx, versions, err)
    }
    return {
      entries: plan.entries.map((entry, i) => {
        const s = stored[i] as (typeof stored)[number]
        return {
          index: entry.index,
          fullUrl: entry.meta.fullUrl,
          resourceType: entry.meta.resourceType,
          id: entry.meta.id,
          record: info({
            recordId: entry.recordId,
            owner: ctx.address,
            version: 1,
            cid: s.cid,
            envelope: s.envelope,
            chainTag: tag?.chainTag,
            meta: s.meta,
          }),
        }
      }),
      references: plan.references,
      tag: options.tag,
    }
  }

  /** Loads a record, checks the vault owns it, and opens its metadata (for the tag and defaults). */
  async #loadOwned(
    recordId: Hex,
    signal: AbortSignal | undefined,
  ): Promise<{ loaded: LoadedRecord; previous: RecordMeta; tag32: Uint8Array | undefined }> {
    const ctx = this.#ctx
    const loaded = await loadRecord(ctx, recordId, { signal })
    if (loaded.owner.toLowerCase() !== ctx.address.toLowerCase()) {
      throw new NotRecordOwnerError({ recordId, owner: loaded.owner, account: ctx.address })
    }
    const keys = await ctx.keys()
    const dek = openAsOwner(keys, recordId, loaded.envelope)
    let previous: RecordMeta
    try {
      previous = openMeta(dek, recordId, loaded.envelope)
    } finally {
      dek.fill(0)
    }
    let tag32: Uint8Array | undefined
    if (loaded.chainTag !== undefined) {
      if (previous.tag === undefined) {
        throw new IntegrityError({
          target: 'metadata',
          recordId,
          reason: 'the record is tagged on chain but its metadata names no category',
        })
      }
      const tag = tagOf(keys, previous.tag)
      if (tag.chainTag.toLowerCase() !== loaded.chainTag.toLowerCase()) {
        throw new IntegrityError({
          target: 'metadata',
          recordId,
          reason: "the metadata's category is not the record's tag",
        })
      }
      tag32 = tag.tag32
    }
    return { loaded, previous, tag32 }
  }

  /**
   * Encrypts and stores content (pinned), builds its envelope and starts storing it (pinned): `saved` settles
   * when the envelope is stored. Nothing on chain yet. The envelope's CID is computed here, so registration
   * can be simulated while the envelope is written; it is sent only once `saved` has resolved.
   */
  async #store(parameters: {
    recordId: Hex
    chunks: AsyncIterable<Uint8Array>
    segmentSize: number
    epoch: number
    tag32: Uint8Array | undefined
    meta: RecordMeta
    prev: CID | undefined
    signal: AbortSignal | undefined
    onProgress: PutOptions['onProgress']
  }): Promise<StoredVersion> {
    const ctx = this.#ctx
    const keys = await ctx.keys()
    const dek = crypto.getRandomValues(new Uint8Array(32))
    try {
      const { content, size } = await encryptToStorage(ctx, {
        recordId: parameters.recordId,
        dek,
        chunks: parameters.chunks,
        segmentSize: parameters.segmentSize,
        signal: parameters.signal,
        onProgress: parameters.onProgress,
      })
      const envelope = buildEnvelope(keys, {
        recordId: parameters.recordId,
        epoch: parameters.epoch,
        tag32: parameters.tag32,
        dek,
        content,
        size,
        segment: parameters.segmentSize,
        meta: parameters.meta,
        prev: parameters.prev,
      })
      let cid: CID
      try {
        cid = dagCborCid(encodeRecordEnvelope(envelope))
      } catch (err) {
        await ctx.storage.unpin(content).catch(() => {})
        throw err
      }
      const saved = (async () => {
        const storedAs = await ctx.storage.putEnvelope(
          envelope,
          parameters.signal === undefined ? {} : { signal: parameters.signal },
        )
        if (!storedAs.equals(cid)) {
          throw new IntegrityError({
            target: 'envelope',
            recordId: parameters.recordId,
            reason: 'the storage stored the envelope under another CID than its bytes have',
          })
        }
        // Read back soon more often than not: the next read of this version skips the block and its checks.
        rememberEnvelope(ctx, cid, envelope)
        parameters.onProgress?.({ type: 'records:stored', cid })
      })()
      // Awaited by the caller (before registering, and before unpinning on a failure); never left unhandled.
      saved.catch(() => {})
      return { cid, envelope, saved }
    } finally {
      dek.fill(0)
    }
  }

  async #registerVersion(
    recordId: Hex,
    stored: StoredVersion,
    signal: AbortSignal | undefined,
    onProgress: CallOptions['onProgress'],
  ): Promise<{ version: number }> {
    const ctx = this.#ctx
    const registration = registering()
    try {
      const written = await ctx.write(
        'registerRecordVersion',
        (s) =>
          registration.track(
            registerRecordVersion(ctx.walletClient, {
              addresses: ctx.addresses,
              recordId,
              cid: stored.cid,
              signal: s,
              beforeSend: () => stored.saved,
            }),
          ),
        signal,
        onProgress,
      )
      remember(ctx, recordId, written.version, stored.cid, written)
      return { version: written.version }
    } catch (err) {
      throw await registration.failed(ctx, [{ recordId, stored }], err)
    }
  }

  /** Loads a record version and opens its data key: as the owner, or through the proxies. */
  async #open(id: Hex, options: ReadOptions): Promise<{ loaded: LoadedRecord; dek: Uint8Array }> {
    const ctx = this.#ctx
    options.signal?.throwIfAborted()
    const recordId = parseRecordId(id, 'id')
    const loaded = await loadRecord(ctx, recordId, { version: options.version, signal: options.signal })
    if (loaded.owner.toLowerCase() === ctx.address.toLowerCase()) {
      return { loaded, dek: openAsOwner(await ctx.keys(), recordId, loaded.envelope) }
    }
    await ctx.ready(options.signal)
    const { dek } = await openAsGrantee(ctx, loaded, options)
    return { loaded, dek }
  }
}

function info(parameters: {
  recordId: Hex
  owner: RecordInfo['owner']
  version: number
  cid: CID
  envelope: RecordEnvelope
  chainTag: Hex | undefined
  meta?: RecordMeta | undefined
}): RecordInfo {
  const fhir = parameters.meta?.fhir
  return {
    id: parameters.recordId,
    owner: parameters.owner,
    version: parameters.version,
    cid: parameters.cid,
    contentCid: parameters.envelope.content,
    size: parameters.envelope.size,
    epoch: parameters.envelope.epoch,
    tag: parameters.meta?.tag,
    chainTag: parameters.chainTag,
    mediaType: parameters.meta?.mediaType,
    name: parameters.meta?.name,
    prev: parameters.envelope.prev,
    // Only FHIR records carry the key, so the records of other content look as they always did.
    ...(fhir === undefined ? {} : { fhir: fhirInfo(fhir) }),
  }
}

/**
 * Tells the read index about a version this vault registered, so that reading it back asks the chain only
 * for the current version number.
 */
function remember(
  ctx: VaultContext,
  recordId: Hex,
  version: number,
  cid: CID,
  written: { hash: Hash; receipt: TransactionReceipt | undefined },
): void {
  if (written.receipt === undefined) return
  ctx.index.addVersion(
    recordId,
    {
      version,
      cid: bytesToHex(cid.bytes),
      author: ctx.address,
      blockNumber: written.receipt.blockNumber,
      transactionHash: written.hash,
    },
    written.receipt.logs,
  )
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  yield bytes
}

/** A version stored but not registered yet: its envelope's CID, the envelope, and its storing. */
interface StoredVersion {
  cid: CID
  envelope: RecordEnvelope
  /** Settles when the envelope is stored and pinned. */
  saved: Promise<void>
}

/** Unpins what a version that was not registered stored, once its envelope's storing has settled. */
async function discard(ctx: VaultContext, stored: StoredVersion): Promise<void> {
  await stored.saved.catch(() => {})
  for (const cid of [stored.cid, stored.envelope.content]) await ctx.storage.unpin(cid).catch(() => {})
}

/**
 * Follows one registration, to decide what its failure may undo. Unpinning is safe only while nothing can have
 * been registered: once the transaction may be out (its send or receipt failed, or the wait was aborted), a
 * mined registration would point at an envelope the next gc deletes, so everything stays pinned and the caller
 * learns that the outcome is unknown. A registration that returned (an `onProgress` callback failed after it)
 * is registered: nothing is unpinned either.
 */
function registering(): {
  track<T>(sending: Promise<T>): Promise<T>
  failed(
    ctx: VaultContext,
    versions: readonly { recordId: Hex; stored: StoredVersion }[],
    err: unknown,
  ): Promise<unknown>
} {
  let registered = false
  return {
    track: (sending) =>
      sending.then((value) => {
        registered = true
        return value
      }),
    async failed(ctx, versions, err) {
      if (registered) return err
      const maybeSent =
        err instanceof TransactionOutcomeUnknownError ||
        (err instanceof ChainAbortError && err.hash !== undefined)
      if (!maybeSent) {
        for (const { stored } of versions) await discard(ctx, stored)
        return err
      }
      return new RegistrationUnknownError({
        records: versions.map(({ recordId, stored }) => ({
          id: recordId,
          cid: stored.cid,
          contentCid: stored.envelope.content,
        })),
        hash: err.hash,
        cause: err,
      })
    },
  }
}

function checkText(value: unknown, option: string): void {
  if (value !== undefined && (typeof value !== 'string' || value.length === 0 || value.length > 1024)) {
    throw new InvalidOptionError({ option, expected: 'a non-empty string of at most 1024 characters' })
  }
}

function checkSegmentSize(value: unknown): number {
  if (value === undefined) return DEFAULT_SEGMENT_SIZE
  if (
    typeof value !== 'number' ||
    !Number.isInteger(value) ||
    value < MIN_SEGMENT_SIZE ||
    value > MAX_SEGMENT_SIZE
  ) {
    throw new InvalidOptionError({
      option: 'segmentSize',
      expected: `a whole number of bytes from ${MIN_SEGMENT_SIZE} to ${MAX_SEGMENT_SIZE}`,
    })
  }
  return value
}
