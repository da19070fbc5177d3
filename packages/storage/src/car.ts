/**
 * CAR files: export of a DAG as a CARv1 stream at the reader's pace, and import of a CAR (v1 or v2) with
 * every root and block checked against its CID before anything is stored, the DAG of every root checked
 * complete before it is pinned, and a rollback that leaves nothing of a refused CAR. Separate because an
 * import is the one operation that writes blocks it did not make, and its rollback needs care of its own.
 */
import type { Helia } from '@helia/interface'
import { asyncIterableReader, limitReader, readHeader } from '@ipld/car/decoder'
import { CarWriter } from '@ipld/car/writer'
import { CID } from 'multiformats/cid'
import { isInline, walkDag } from './dag.ts'
import {
  BaseError,
  BlockTooLargeError,
  BlockVerificationError,
  CarImportError,
  CarSectionTooLargeError,
  CarTooLargeError,
  CarV2RangeError,
  InlineDagTooDeepError,
  MalformedBlockError,
  UnsupportedCodecError,
  UnverifiableCidError,
} from './errors.ts'
import type { Pins } from './pins.ts'
import type { BlockReader } from './reader.ts'
import type { ExportCarOptions, ImportCarOptions, Storage } from './types.ts'
import { isAbort, signalOption } from './util.ts'
import type { VerifiedBlockstore } from './verified-blockstore.ts'
import {
  assertVerifiableCid,
  blockMatchesCid,
  cidLabel,
  collect,
  type HasherLookup,
  MAX_BLOCK_SIZE,
} from './verify.ts'

export interface CarComponents {
  /** Helia's blockstore: imported blocks are written through it, so that bitswap hears of them. */
  blockstore: Helia['blockstore']
  local: VerifiedBlockstore
  getHasher: HasherLookup
  reader: BlockReader
  pins: Pins
  /** The storage's status now: a rollback after `stop()` must not touch a directory given up. */
  status(): Storage['status']
}

/** Streams the DAG under `cid` as a CARv1; see `Storage.exportCar`. */
export async function* exportCar(
  c: CarComponents,
  cid: CID,
  options: ExportCarOptions,
): AsyncGenerator<Uint8Array> {
  const { signal, onProgress } = options
  // Stops the walk when the consumer stops reading early.
  const stop = new AbortController()
  const walkSignal = signal === undefined ? stop.signal : AbortSignal.any([signal, stop.signal])
  const view = c.reader.view(walkSignal)
  const { writer, out } = CarWriter.create([cid])
  let failure: unknown
  // The writer's `put` resolves once the consumer has taken the bytes, so this loop runs at the
  // consumer's pace: memory stays at one block whatever the DAG size.
  const producer = (async () => {
    try {
      let blocks = 0
      for await (const block of walkDag(cid, { get: async (b) => collect(view.get(b)) }, walkSignal)) {
        await writer.put({ cid: block.cid, bytes: block.bytes! })
        blocks++
        onProgress?.({ type: 'storage:car:export:block', cid: block.cid, blocks })
      }
    } catch (err) {
      failure = err
    } finally {
      await writer.close()
    }
  })()
  const iterator = out[Symbol.asyncIterator]()
  let finished = false
  try {
    while (true) {
      const next = await iterator.next()
      if (next.done === true) break
      yield next.value
    }
    finished = true
  } finally {
    if (!finished) {
      // The consumer left (break, return, throw): stop the walk, and keep draining so that a `put`
      // waiting for a reader settles and the producer can close the writer.
      stop.abort()
      void (async () => {
        try {
          while ((await iterator.next()).done !== true) {
            // discard
          }
        } catch {
          // nothing is listening any more
        }
      })()
    }
    await producer
  }
  if (failure !== undefined) throw c.reader.mapError(failure, cid, signal)
}

/** Imports a CAR and returns its roots; see `Storage.importCar`. */
export async function importCar(
  c: CarComponents,
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  options: ImportCarOptions,
): Promise<CID[]> {
  const { signal, onProgress, maxBytes, maxBlocks } = options
  const { pins, local, getHasher } = c
  for (const [name, value] of [
    ['maxBytes', maxBytes],
    ['maxBlocks', maxBlocks],
  ] as const) {
    if (value !== undefined && !(Number.isSafeInteger(value) && value >= 0)) {
      throw new RangeError(`importCar: ${name} must be a non-negative safe integer.`)
    }
  }
  signal?.throwIfAborted()
  const release = await pins.lock.shared()
  // what the finally releases: the shared lock, or the exclusive one a rollback takes instead
  let releaseAll = release
  const written: CID[] = []
  const pinned: CID[] = []
  const repinned = pins.watch()
  try {
    let car: Awaited<ReturnType<typeof openCar>>
    try {
      car = await openCar(guardSource(source, signal, maxBytes), maxBlocks)
    } catch (err) {
      if (err instanceof CarImportError || err instanceof ChunkTypeError || isAbort(err, signal)) throw err
      throw new CarImportError({
        reason: 'The stream is not a readable CAR (v1 or v2) header.',
        cause: err,
      })
    }
    const { roots } = car
    // A root no block can be proven to match would be returned (and pinned) as if it were content.
    for (const root of roots) await assertCarCid(root, getHasher)
    let blocks = 0
    try {
      for await (const { cid, bytes } of car.blocks()) {
        signal?.throwIfAborted()
        await assertCarCid(cid, getHasher)
        // Verify before the block touches the store: a bad block is never written, not even briefly.
        if (!(await blockMatchesCid(cid, bytes, getHasher))) {
          throw new CarImportError({
            reason: `Block ${cidLabel(cid)} does not match its CID.`,
            cause: new BlockVerificationError({ cid: cidLabel(cid), source: 'car' }),
          })
        }
        if (!isInline(cid) && !(await local.has(cid))) {
          // Listed before the write: a put that fails after its file was renamed into place (an abort as it
          // returns) has still written it. Listing a block that was never written is harmless: the rollback
          // deletes only blocks no pin reaches, and a missing file is no error.
          written.push(cid)
          await c.blockstore.put(cid, bytes, signalOption(signal))
        }
        blocks++
        onProgress?.({ type: 'storage:car:import:block', cid, blocks })
      }
    } catch (err) {
      if (err instanceof CarImportError || err instanceof ChunkTypeError || isAbort(err, signal)) throw err
      throw new CarImportError({ reason: 'The CAR stream is truncated or malformed.', cause: err })
    }
    if (options.pin !== false) {
      for (const root of roots) {
        try {
          for await (const _ of walkDag(
            root,
            {
              get: async (cid) => localOrMissing(local, cid, signal),
              skipLeaf: async (cid) => localOrMissingLeaf(local, cid),
            },
            signal,
          )) {
            // walking is the completeness check
          }
        } catch (err) {
          if (err instanceof UnsupportedCodecError) {
            throw new CarImportError({
              reason: `${err.shortMessage} Import it with pin: false to keep its blocks unpinned.`,
              cause: err,
            })
          }
          // the block an identity CID in the DAG holds (decoded from the CID, not read from the CAR) is refused
          if (
            err instanceof MalformedBlockError ||
            err instanceof UnverifiableCidError ||
            err instanceof InlineDagTooDeepError
          )
            throw new CarImportError({ reason: err.shortMessage, cause: err })
          if (err instanceof MissingBlockError || err instanceof BaseError || isAbort(err, signal)) throw err
          // the bytes match the CID but do not decode as its codec says (dag-pb, dag-cbor)
          throw new CarImportError({
            reason: `A block of the DAG of ${root} does not decode as its codec says.`,
            cause: err,
          })
        }
        // Written even when the root is pinned already, for the same reason as in pin(): another import
        // of it that fails must not take this import's pin with it.
        // Listed before the write, as blocks are: a write that fails once its record is in place (an abort as it
        // returns) has still pinned. Deleting a record that was never written is no error.
        if (!(await pins.has(root))) pinned.push(root)
        await pins.write(root, signal, repinned)
      }
    }
    return roots
  } catch (err) {
    const failure =
      err instanceof MissingBlockError
        ? new CarImportError({
            reason: `The CAR does not hold the complete DAG of its roots (block ${err.cid} is missing); import it with pin: false to keep a partial DAG.`,
          })
        : err
    // Nothing written and nothing pinned (a bad header, an abort or a refused block before the first write): there
    // is nothing to roll back, so the import fails at once, without the exclusive lock. Waiting for it would queue
    // an exclusive request, which every new put, pin and import waits behind, until every operation now holding
    // the lock shared ends: a refused CAR of a few bytes would stall every write for as long as the slowest
    // upload or fetch under way, and its own rejection with it.
    if (written.length === 0 && pinned.length === 0) throw c.reader.mapError(failure, undefined, signal)
    // Roll back: nothing from a refused CAR stays. Blocks that were here before the import are not
    // touched. A block this import wrote may meanwhile be relied on by another operation (a put or an
    // import of the same content skips blocks that exist, then pins them), so the rollback waits until no
    // put, pin or import runs (the exclusive lock) and deletes only the blocks that no pin reaches: it is a
    // gc limited to this import's blocks (see `Pins.undo` for which pins can reach them).
    // The same goes for this import's pin records: one that another put or pin wrote again meanwhile is
    // that operation's pin now, and stays.
    release()
    releaseAll = await pins.lock.exclusive()
    // stop() ran first and gave up the directory, which another storage may own by now: deleting
    // anything could take blocks it relies on. The import's pins and blocks stay, as after a crash (pins
    // only of complete DAGs; the blocks are unpinned garbage otherwise).
    if (c.status() !== 'stopped') await pins.undo(pinned, written, repinned)
    throw c.reader.mapError(failure, undefined, signal)
  } finally {
    pins.unwatch(repinned)
    releaseAll()
  }
}

/** The longest CAR header read: a header is its roots (a CID each) and a version; real ones are under 1 KiB. */
const MAX_CAR_HEADER_BYTES = 64 * 1024

/**
 * The longest CID read from a CAR. The longest this storage can verify is an identity CID holding 128 bytes
 * (`MAX_IDENTITY_DIGEST_LENGTH`): a version, a codec, a hash code and a digest length (varints of 1,
 * at most 8, at most 8 and 2 bytes) before the 128-byte digest, 147 bytes in all; other digests are 64 bytes at
 * most. Any longer CID would be refused anyway, so its bytes are not waited for.
 */
const MAX_CAR_CID_BYTES = 200

/** The longest CAR section (a CID, then a block) read. */
const MAX_CAR_SECTION_BYTES = MAX_BLOCK_SIZE + MAX_CAR_CID_BYTES

type BytesReader = ReturnType<typeof asyncIterableReader>

/**
 * A CAR's roots and blocks, as `@ipld/car`'s `CarBlockIterator` reads them, but with every declared length checked
 * before the bytes it covers are read: `@ipld/car`'s reader gathers whatever length it is asked for in memory (up to
 * the whole stream) before its caller could refuse it, and the sender declares each length (the header's, each
 * section's, and each CID's digest length).
 */
async function openCar(source: AsyncIterable<Uint8Array>, maxBlocks: number | undefined) {
  const stream = asyncIterableReader(source)
  // readHeader reads the header, and a CARv2's inner CARv1 header, with `exactly(declared length)`: the guard
  // refuses a length over the limit before it is read.
  const header = await readHeader(headerGuard(stream))
  // Each root costs a pin record (a file in a Node store) and needs no section when it is an identity CID or a
  // block the store holds already, so a header of 64 KiB could make thousands of pins past any bound on sections.
  if (maxBlocks !== undefined && header.roots.length > maxBlocks) {
    const cause = new CarTooLargeError({
      limit: 'maxBlocks',
      max: maxBlocks,
      count: header.roots.length,
      roots: true,
    })
    throw new CarImportError({ reason: cause.shortMessage, cause })
  }
  // The blocks of a CARv2 are its CARv1 payload only; the index that may follow it is not read. Its declared size
  // must cover the payload's header, already read: a shorter one would leave the payload a negative length.
  let reader = stream
  if (header.version === 2) {
    const headerBytes = stream.pos - header.dataOffset
    if (header.dataSize < headerBytes) {
      const cause = new CarV2RangeError({ field: 'dataSize', declared: header.dataSize, min: headerBytes })
      throw new CarImportError({ reason: cause.shortMessage, cause })
    }
    reader = limitReader(stream, header.dataSize - headerBytes)
  }
  return {
    roots: header.roots,
    async *blocks(): AsyncGenerator<{ cid: CID; bytes: Uint8Array }> {
      for (let index = 0; (await reader.upTo(8)).length > 0; index++) {
        if (maxBlocks !== undefined && index >= maxBlocks) {
          const cause = new CarTooLargeError({ limit: 'maxBlocks', max: maxBlocks, count: index + 1 })
          throw new CarImportError({ reason: cause.shortMessage, cause })
        }
        const { cid, blockLength } = await readSectionHead(reader, index)
        if (blockLength > MAX_BLOCK_SIZE) {
          const label = cidLabel(cid)
          throw new CarImportError({
            reason: `Block ${index} of the CAR (${label}) is ${blockLength} bytes, over the ${MAX_BLOCK_SIZE}-byte limit of a block.`,
            cause: new BlockTooLargeError({
              cid: label,
              bytes: blockLength,
              maxBytes: MAX_BLOCK_SIZE,
              source: 'car',
            }),
          })
        }
        yield { cid, bytes: await reader.exactly(blockLength, true) }
      }
    },
  }
}

/**
 * `reader` for the header only: a length over {@link MAX_CAR_HEADER_BYTES} is refused before it is read, and so is a
 * skip backwards or over that bound. `readHeader` skips a varint's few bytes, and, in a CARv2, from the end of its
 * 51-byte header to the payload's `dataOffset`: the sender's number, which would otherwise make the reader pull and
 * drop the stream up to any offset (forwards), or read from a negative position (backwards).
 */
function headerGuard(reader: BytesReader): BytesReader {
  return {
    upTo: (length) => reader.upTo(length),
    async exactly(length, seek) {
      if (length > MAX_CAR_HEADER_BYTES) {
        const cause = new CarSectionTooLargeError({
          section: 'header',
          bytes: length,
          maxBytes: MAX_CAR_HEADER_BYTES,
        })
        throw new CarImportError({ reason: cause.shortMessage, cause })
      }
      return reader.exactly(length, seek)
    },
    seek(length) {
      if (length < 0 || length > MAX_CAR_HEADER_BYTES) {
        const cause = new CarV2RangeError({
          field: 'dataOffset',
          declared: reader.pos + length,
          min: reader.pos,
          max: reader.pos + MAX_CAR_HEADER_BYTES,
        })
        throw new CarImportError({ reason: cause.shortMessage, cause })
      }
      reader.seek(length)
    },
    get pos() {
      return reader.pos
    },
  }
}

/**
 * A section's length and CID, as `@ipld/car`'s `readBlockHead` reads them, but bounded: the length is refused
 * over {@link MAX_CAR_SECTION_BYTES} before anything after it is read, and the CID is decoded from at most
 * {@link MAX_CAR_CID_BYTES} bytes (`readBlockHead` waits for as many bytes as the CID's digest length says).
 */
async function readSectionHead(
  reader: BytesReader,
  index: number,
): Promise<{ cid: CID; blockLength: number }> {
  const prefix = await reader.upTo(8)
  const declared = peekVarint(prefix)
  if (declared === undefined) throw new Error(`Invalid CAR section ${index} (unreadable length)`)
  const { value: length, size } = declared
  if (length === 0) throw new Error(`Invalid CAR section ${index} (zero length)`)
  if (length > MAX_CAR_SECTION_BYTES) {
    const cause = new CarSectionTooLargeError({
      section: index,
      bytes: length,
      maxBytes: MAX_CAR_SECTION_BYTES,
    })
    throw new CarImportError({ reason: cause.shortMessage, cause })
  }
  reader.seek(size)
  const head = await reader.upTo(Math.min(length, MAX_CAR_CID_BYTES))
  // the CID's own length, from its varints (throws when they are cut short)
  const cidLength = CID.inspectBytes(head).size
  if (cidLength > head.length) {
    if (cidLength > MAX_CAR_CID_BYTES) {
      throw new CarImportError({
        reason: `Block ${index} of the CAR starts with a CID of ${cidLength} bytes, over the ${MAX_CAR_CID_BYTES}-byte limit of a CID.`,
      })
    }
    throw new Error(`Invalid CAR section ${index} (its CID is cut short)`)
  }
  // a copy, so that the CID does not hold on to the chunk the reader read it from
  const cid = CID.decode(head.slice(0, cidLength))
  reader.seek(cidLength)
  return { cid, blockLength: length - cidLength }
}

/**
 * An unsigned varint at the start of `bytes`, not consumed; undefined when it does not end within them (at most 8
 * bytes are given: 2^56 is past any length accepted).
 */
function peekVarint(bytes: Uint8Array): { value: number; size: number } | undefined {
  let value = 0
  for (let i = 0; i < bytes.length; i++) {
    const byte = bytes[i]!
    value += (byte & 0x7f) * 2 ** (7 * i)
    if ((byte & 0x80) === 0) return { value, size: i + 1 }
  }
  return undefined
}

/** A block of a root's DAG that the CAR did not hold (and that was not here before). */
class MissingBlockError extends Error {
  override name = 'MissingBlockError'
  readonly cid: CID
  constructor(cid: CID) {
    super(`Block ${cid} is missing.`)
    this.cid = cid
  }
}

/** Refuses a CAR whose roots or blocks carry a CID that no block can be proven to match. */
async function assertCarCid(cid: CID, getHasher: HasherLookup): Promise<void> {
  try {
    await assertVerifiableCid(cid, getHasher)
  } catch (err) {
    if (!(err instanceof UnverifiableCidError)) throw err
    throw new CarImportError({ reason: err.shortMessage, cause: err })
  }
}

async function localOrMissing(
  local: VerifiedBlockstore,
  cid: CID,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  if (!(await local.has(cid))) throw new MissingBlockError(cid)
  return collect(local.get(cid, signalOption(signal)))
}

async function localOrMissingLeaf(local: VerifiedBlockstore, cid: CID): Promise<boolean> {
  if (!(await local.has(cid))) throw new MissingBlockError(cid)
  return true
}

/**
 * The CAR's chunks as the reader pulls them, with the caller's signal and `maxBytes` applied at the source. The reader
 * waits on the source for every chunk, and the import holds the pins' lock meanwhile (gc waits behind it): a sender
 * that stops sending would hold both until it sends again, whatever the signal says, were the signal only checked
 * between blocks. So a pending read rejects with the signal's reason as soon as it fires. The source is left as it is
 * (not returned): it is the caller's, who may still answer on the connection it reads from.
 *
 * A chunk that takes the bytes received past `maxBytes` is refused before the reader sees it.
 */
function guardSource(
  source: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
  signal: AbortSignal | undefined,
  maxBytes: number | undefined,
): AsyncIterable<Uint8Array> {
  return {
    [Symbol.asyncIterator]() {
      const iterator: AsyncIterator<Uint8Array> | Iterator<Uint8Array> =
        Symbol.asyncIterator in source ? source[Symbol.asyncIterator]() : source[Symbol.iterator]()
      let received = 0
      return {
        async next() {
          signal?.throwIfAborted()
          const pending = Promise.resolve(iterator.next())
          const next = signal === undefined ? await pending : await untilAborted(pending, signal)
          // Anything else (a string, a number, a plain array) has no byteLength: `maxBytes` would count NaN and
          // never trip, and the reader would take it apart in ways of its own.
          if (next.done !== true && !(next.value instanceof Uint8Array)) throw new ChunkTypeError()
          if (next.done !== true && maxBytes !== undefined) {
            received += next.value.byteLength
            if (received > maxBytes) {
              const cause = new CarTooLargeError({ limit: 'maxBytes', max: maxBytes, count: received })
              throw new CarImportError({ reason: cause.shortMessage, cause })
            }
          }
          return next
        },
      }
    },
  }
}

/** A chunk of the source that is not a `Uint8Array`: a `TypeError`, passed on as it is rather than as a bad CAR. */
class ChunkTypeError extends TypeError {
  override name = 'TypeError'
  constructor() {
    super('importCar sources must yield Uint8Array chunks.')
  }
}

/** `promise`, or a rejection with the signal's reason as soon as it fires, whichever comes first. */
function untilAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason)
    signal.addEventListener('abort', onAbort, { once: true })
    // the promise is always handled, so a source failing after the abort raises no unhandled rejection
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort)
        resolve(value)
      },
      (err: unknown) => {
        signal.removeEventListener('abort', onAbort)
        reject(err)
      },
    )
  })
}
