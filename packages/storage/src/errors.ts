/**
 * Errors thrown by `@medvault/storage`.
 *
 * Modelled on viem's `BaseError`: a short message for people, optional details and meta lines, a literal
 * `name` per subclass so callers can switch on it, and `walk()` over the `cause` chain.
 *
 * Rule for every subclass: a message may name a CID, a count or a size, never the content of a block or
 * an envelope, and never a URL with credentials in it.
 *
 * Aborts are not wrapped: when the caller's `signal` fires, the `AbortError` (or the signal's reason) is
 * rethrown as it is, so `err.name === 'AbortError'` keeps working across the stack.
 *
 * @module
 */

export type BaseErrorParameters = {
  cause?: unknown
  details?: string
  metaMessages?: string[]
}

export class BaseError extends Error {
  override name: string = 'MedvaultStorageError'
  readonly shortMessage: string
  readonly details: string | undefined
  readonly metaMessages: string[] | undefined

  constructor(shortMessage: string, parameters: BaseErrorParameters = {}) {
    const { cause, details, metaMessages } = parameters
    const message = [
      shortMessage,
      ...(metaMessages !== undefined && metaMessages.length > 0 ? ['', ...metaMessages] : []),
      ...(details !== undefined ? ['', `Details: ${details}`] : []),
    ].join('\n')
    super(message, cause === undefined ? undefined : { cause })
    this.shortMessage = shortMessage
    this.details = details
    this.metaMessages = metaMessages
  }

  /** Walks the `cause` chain and returns the deepest error, or the first one `fn` accepts. */
  walk(fn?: (err: unknown) => boolean): unknown {
    return walk(this, fn)
  }
}

function walk(err: unknown, fn?: (err: unknown) => boolean): unknown {
  if (fn?.(err) === true) return err
  if (err !== null && typeof err === 'object' && 'cause' in err && err.cause !== undefined) {
    return walk(err.cause, fn)
  }
  return fn === undefined ? err : null
}

export type NotFoundErrorType = NotFoundError & { name: 'NotFoundError' }

/**
 * A block is not in the local store and could not be had from any configured source (peers, gateways)
 * before the timeout. In the embedded (offline) mode this is thrown at once.
 */
export class NotFoundError extends BaseError {
  override name = 'NotFoundError' as const
  readonly cid: string

  constructor(parameters: { cid: string; offline: boolean; timeoutMs?: number; cause?: unknown }) {
    const { cid, offline, timeoutMs, cause } = parameters
    super(`Block ${cid} was not found.`, {
      cause,
      metaMessages: offline
        ? ['This storage has no network and no gateways, so only local blocks can be read.']
        : [
            `No peer or gateway provided it${timeoutMs !== undefined ? ` within ${timeoutMs} ms` : ''}.`,
            'Check that a peer holding it is connected, or configure a gateway that has it.',
          ],
    })
    this.cid = cid
  }
}

export type InvalidCidErrorType = InvalidCidError & { name: 'InvalidCidError' }

/** A value given as a CID is not a CID (malformed string, wrong type, unsupported multibase). */
export class InvalidCidError extends BaseError {
  override name = 'InvalidCidError' as const

  constructor(parameters: { reason: string; cause?: unknown }) {
    super('Invalid CID.', {
      cause: parameters.cause,
      details: parameters.reason,
      metaMessages: ['Pass a CID object or a CID string such as "bafy…" (CIDv1) or "Qm…" (CIDv0).'],
    })
  }
}

export type StorageClosedErrorType = StorageClosedError & { name: 'StorageClosedError' }

/** An operation was called on a storage that is not started (never started, or stopped). */
export class StorageClosedError extends BaseError {
  override name = 'StorageClosedError' as const

  constructor(parameters: { operation: string; status: string }) {
    super(`Cannot ${parameters.operation}: the storage is ${parameters.status}.`, {
      metaMessages: ['Call `start()` first, or create a new storage after `stop()`.'],
    })
  }
}

export type StorageLockedErrorType = StorageLockedError & { name: 'StorageLockedError' }

/**
 * The store directory is open in another live process (or in another storage of this process). Two storages
 * on one directory would corrupt each other, so the second one is refused.
 */
export class StorageLockedError extends BaseError {
  override name = 'StorageLockedError' as const
  /** the pid named in the lock file, when it could be read */
  readonly pid: number | undefined
  /** the host named in the lock file, when it is not this host */
  readonly host: string | undefined
  /** the lock file */
  readonly path: string

  constructor(parameters: { pid: number | undefined; path: string; host?: string }) {
    const { pid, path, host } = parameters
    super(
      pid === undefined
        ? 'The storage directory is locked by another opener.'
        : host !== undefined
          ? `The storage directory is locked by process ${pid} on host ${host}.`
          : `The storage directory is in use by process ${pid}${pid === process.pid ? ' (this process)' : ''}.`,
      {
        metaMessages: [
          'Stop the storage that has it open first, or use another directory.',
          host !== undefined
            ? 'A lock from another host is never taken over; if that host no longer uses the directory, delete the lock file.'
            : 'If that process is gone and its pid now belongs to another program, delete the lock file.',
        ],
      },
    )
    this.pid = pid
    this.host = host
    this.path = path
  }
}

export type InvalidGatewayErrorType = InvalidGatewayError & { name: 'InvalidGatewayError' }

/**
 * A configured gateway URL cannot be used. The message shows the URL with any `user:password@` replaced by
 * `***@`, or only its position in the list when it does not parse (then nothing of it is repeated).
 */
export class InvalidGatewayError extends BaseError {
  override name = 'InvalidGatewayError' as const

  constructor(parameters: { index: number; url: string | undefined; reason: string }) {
    const { index, url, reason } = parameters
    super(`Gateway ${index + 1}${url !== undefined ? ` (${url})` : ''}: ${reason}`, {
      metaMessages: ['Give the gateway as an http(s) origin, e.g. `https://trustless-gateway.link`.'],
    })
  }
}

export type PinnedDagIncompleteErrorType = PinnedDagIncompleteError & { name: 'PinnedDagIncompleteError' }

/**
 * `gc()` found a pinned DAG with a block missing (or damaged, and so deleted) in the local store. A pin
 * protects a whole DAG, and without that block gc cannot know which other blocks the DAG still needs, so
 * it stops before deleting anything.
 */
export class PinnedDagIncompleteError extends BaseError {
  override name = 'PinnedDagIncompleteError' as const
  /** the pinned root */
  readonly root: string
  /** the block that could not be read, when known */
  readonly cid: string | undefined

  constructor(parameters: { root: string; cid: string | undefined; cause?: unknown }) {
    const { root, cid, cause } = parameters
    super(
      `gc stopped: the pinned DAG ${root} is incomplete here${cid !== undefined ? ` (block ${cid})` : ''}.`,
      {
        cause,
        metaMessages: [
          'Nothing was deleted.',
          `Restore the block (put or import the same content again, or pin(${root}) on a storage with a peer or gateway that has it), or unpin(${root}).`,
        ],
      },
    )
    this.root = root
    this.cid = cid
  }
}

export type UnsupportedCodecErrorType = UnsupportedCodecError & { name: 'UnsupportedCodecError' }

/**
 * A DAG holds a block whose codec medvault cannot read links from (only dag-pb, dag-cbor and raw are
 * followed). Pinning it would protect that block but not what it links to, so it is refused (so is a CAR
 * export, which would be incomplete).
 */
export class UnsupportedCodecError extends BaseError {
  override name = 'UnsupportedCodecError' as const
  readonly cid: string

  constructor(parameters: { cid: string; codec: number }) {
    const { cid, codec } = parameters
    super(`Block ${cid} has codec 0x${codec.toString(16)}, whose links medvault cannot follow.`, {
      metaMessages: ['Only dag-pb (UnixFS), dag-cbor and raw blocks can be pinned or exported.'],
    })
    this.cid = cid
  }
}

export type BlockVerificationErrorType = BlockVerificationError & { name: 'BlockVerificationError' }

/** The bytes of a block do not hash to the digest in its CID. The block is refused and never stored. */
export class BlockVerificationError extends BaseError {
  override name = 'BlockVerificationError' as const
  readonly cid: string

  constructor(parameters: { cid: string; source: 'local' | 'car' | 'network'; cause?: unknown }) {
    const where =
      parameters.source === 'local'
        ? 'The copy in the local blockstore was corrupt and has been removed; put, import or fetch it again.'
        : parameters.source === 'car'
          ? 'The CAR file is corrupt or was tampered with.'
          : 'The peer or gateway that sent it is faulty or malicious.'
    super(`Block ${parameters.cid} failed verification: its bytes do not match its CID.`, {
      cause: parameters.cause,
      metaMessages: [where],
    })
    this.cid = parameters.cid
  }
}

export type UnverifiableCidErrorType = UnverifiableCidError & { name: 'UnverifiableCidError' }

/**
 * A CID that no block can be proven to match, so no block is accepted, stored or served under it:
 *
 * - `digest-length`: the digest is not the full length its hash function gives. A shortened digest matches
 *   content it was not made from (a 0-byte sha2-256 digest matches any bytes at all), so a CAR, a peer or a
 *   gateway could place its own bytes under it.
 * - `unknown-hash`: this storage has no hasher for the hash function, so it cannot check any block.
 * - `identity-too-long`: an identity CID (its digest is the content itself) longer than
 *   128 bytes, the limit Kubo and Helia apply too.
 *
 * The message names the hash function and the lengths, never the block; an identity CID is not spelled out
 * either (it is the content).
 */
export class UnverifiableCidError extends BaseError {
  override name = 'UnverifiableCidError' as const
  /** the CID as a string, or a description of it for identity CIDs (which are their content) */
  readonly cid: string | undefined
  readonly reason: 'digest-length' | 'unknown-hash' | 'identity-too-long'
  /** the hash function's name, or its multicodec code in hex when it has none here */
  readonly hash: string
  /** the length of the digest the CID carries */
  readonly digestLength: number
  /** the length a digest of this hash function has (the maximum for identity), when known */
  readonly expectedLength: number | undefined

  constructor(parameters: {
    cid: string | undefined
    reason: 'digest-length' | 'unknown-hash' | 'identity-too-long'
    hash: string
    digestLength: number
    expectedLength?: number
    cause?: unknown
  }) {
    const { cid, reason, hash, digestLength, expectedLength, cause } = parameters
    const subject = cid === undefined ? 'A CID' : `CID ${cid}`
    const shortMessage =
      reason === 'digest-length'
        ? `${subject} carries a ${digestLength}-byte ${hash} digest; a ${hash} digest is ${expectedLength} bytes.`
        : reason === 'unknown-hash'
          ? `${subject} uses hash function ${hash}, which this storage has no hasher for.`
          : // an identity CID is its content: it is described, never spelled out
            `An identity CID of ${digestLength} bytes is over the ${expectedLength}-byte limit.`
    super(shortMessage, {
      cause,
      metaMessages:
        reason === 'digest-length'
          ? [
              'A shortened digest matches content it was not made from (a 0-byte one matches any bytes), so no block is accepted under it.',
              'Use the CID with the full digest.',
            ]
          : reason === 'unknown-hash'
            ? [
                'Its blocks cannot be verified, so none is accepted under it. medvault verifies sha2-256 CIDs.',
              ]
            : ['Store content that large as a block under a sha2-256 CID.'],
    })
    this.cid = cid
    this.reason = reason
    this.hash = hash
    this.digestLength = digestLength
    this.expectedLength = expectedLength
  }
}

export type MalformedBlockErrorType = MalformedBlockError & { name: 'MalformedBlockError' }

/**
 * A block's bytes are the ones its CID names, but they are not valid as the codec the CID says (dag-pb,
 * dag-cbor, UnixFS), or a UnixFS file's blocks disagree about its size. The content itself is broken: whoever
 * made it wrote a malformed block, and no other copy can be better. The decoder's own message is not kept (it
 * can quote what it read).
 */
export class MalformedBlockError extends BaseError {
  override name = 'MalformedBlockError' as const
  readonly cid: string
  /** what the block should have been: `dag-pb`, `dag-cbor`, `UnixFS` */
  readonly format: string

  constructor(parameters: { cid: string; format: string; reason?: string }) {
    const { cid, format, reason } = parameters
    super(
      `Block ${cid} matches its CID but is not valid ${format}${reason !== undefined ? ` (${reason})` : ''}.`,
      {
        metaMessages: ['The content itself is malformed, so it cannot be read, pinned or exported.'],
      },
    )
    this.cid = cid
    this.format = format
  }
}

export type BlockTooLargeErrorType = BlockTooLargeError & { name: 'BlockTooLargeError' }

/**
 * A block is larger than any block this storage makes, stores or serves (`MAX_BLOCK_SIZE`, 2 MiB, the block size
 * bitswap peers accept). It is not stored (a `putEnvelope` that large, a block from a gateway); in a CAR it is
 * refused before its bytes are read; in the local store the file under its CID was not written by this storage
 * (another program, a damaged file system), and is neither read nor deleted: it stays on disk for gc.
 */
export class BlockTooLargeError extends BaseError {
  override name = 'BlockTooLargeError' as const
  readonly cid: string
  /**
   * the block's size as the CAR declares it, or the file's size; for a block put in chunks, the bytes counted when
   * it was refused (a lower bound: the rest is not read)
   */
  readonly bytes: number
  readonly maxBytes: number

  constructor(parameters: { cid: string; bytes: number; maxBytes: number; source: 'local' | 'car' | 'put' }) {
    const { cid, bytes, maxBytes, source } = parameters
    super(`Block ${cid} is ${bytes} bytes, over the ${maxBytes}-byte limit of a block.`, {
      metaMessages: [
        source === 'local'
          ? 'The file holding it in the local blockstore was not written by medvault (another program, a damaged file system); it is not read.'
          : 'No medvault storage makes, stores or serves a block that large.',
      ],
    })
    this.cid = cid
    this.bytes = bytes
    this.maxBytes = maxBytes
  }
}

export type BlockReadErrorType = BlockReadError & { name: 'BlockReadError' }

/**
 * The local blockstore holds a block's file but it could not be read (permissions, an I/O error), or holds
 * something other than a regular file under its name (a directory, a named pipe, a socket, a device: `notAFile`,
 * refused before any read, since a pipe's read could wait for ever). Not a missing block: fetching it again would
 * not help. The message names the CID and the system error code only; its `cause`, when there is one, is the system
 * error reduced to its `code` and `syscall` (Node's own message names the file's absolute path, which tells where
 * the store lives).
 */
export class BlockReadError extends BaseError {
  override name = 'BlockReadError' as const
  readonly cid: string
  /** the system error code (`EACCES`, `EIO`, `EISDIR`…), when there is one */
  readonly code: string | undefined

  /** true when the block's name holds something other than a regular file (a directory, a pipe, a socket, a device) */
  readonly notAFile: boolean

  constructor(parameters: { cid: string; code: string | undefined; notAFile?: boolean; cause?: unknown }) {
    const { cid, code, cause } = parameters
    const notAFile = parameters.notAFile === true
    super(
      `Block ${cid} could not be read from the local blockstore${
        code !== undefined ? ` (${code})` : notAFile ? ': its file is not a regular file' : ''
      }.`,
      {
        cause,
        metaMessages: [
          notAFile
            ? 'This storage writes only regular files, so another program put it there: remove it, then put or import the same content again.'
            : 'Check the permissions and the health of the storage directory.',
        ],
      },
    )
    this.cid = cid
    this.code = code
    this.notAFile = notAFile
  }
}

export type CarImportErrorType = CarImportError & { name: 'CarImportError' }

/** A CAR stream was refused (unreadable, a bad block, or an incomplete DAG when pinning). Nothing was kept. */
export class CarImportError extends BaseError {
  override name = 'CarImportError' as const

  constructor(parameters: { reason: string; cause?: unknown }) {
    super('CAR import refused; no block from it was kept.', {
      cause: parameters.cause,
      details: parameters.reason,
    })
  }
}

export type CarSectionTooLargeErrorType = CarSectionTooLargeError & { name: 'CarSectionTooLargeError' }

/**
 * A CAR declares a header, or a section (a block's CID and bytes), longer than any this storage accepts: the
 * header over 64 KiB, a section over `MAX_BLOCK_SIZE` plus the longest CID it can verify. Refused from the
 * declared length, before the bytes are read, so the sender cannot make an import gather them in memory. A CAR
 * import reports it as the cause of a `CarImportError`. The message names the section by its place, never its
 * bytes.
 */
export class CarSectionTooLargeError extends BaseError {
  override name = 'CarSectionTooLargeError' as const
  /** `'header'`, or the place of the block's section in the CAR (0 for the first block) */
  readonly section: 'header' | number
  /** the length the CAR declares */
  readonly bytes: number
  readonly maxBytes: number

  constructor(parameters: { section: 'header' | number; bytes: number; maxBytes: number }) {
    const { section, bytes, maxBytes } = parameters
    super(
      section === 'header'
        ? `The CAR header declares ${bytes} bytes, over the ${maxBytes}-byte limit of a header.`
        : `Block ${section} of the CAR declares a section of ${bytes} bytes, over the ${maxBytes}-byte limit of a block and its CID.`,
      {
        metaMessages: ['No medvault storage makes, stores or serves a CAR like that; it is refused unread.'],
      },
    )
    this.section = section
    this.bytes = bytes
    this.maxBytes = maxBytes
  }
}

export type CarV2RangeErrorType = CarV2RangeError & { name: 'CarV2RangeError' }

/**
 * A CARv2 header places its CARv1 payload where no medvault storage reads it: `dataOffset` before the end of the
 * CARv2 header, or more than 64 KiB past it (reading up to there would pull and drop the stream unchecked), or a
 * `dataSize` shorter than the payload's own header. Refused before the payload is read; a CAR import reports it as
 * the cause of a `CarImportError`. The message names the field and the values, never the CAR's bytes.
 */
export class CarV2RangeError extends BaseError {
  override name = 'CarV2RangeError' as const
  /** the CARv2 header field that is out of range */
  readonly field: 'dataOffset' | 'dataSize'
  /** the value the CAR declares */
  readonly declared: number
  /** the lowest value accepted */
  readonly min: number
  /** the highest value accepted, when there is one */
  readonly max: number | undefined

  constructor(parameters: { field: 'dataOffset' | 'dataSize'; declared: number; min: number; max?: number }) {
    const { field, declared, min, max } = parameters
    super(
      max === undefined
        ? `The CARv2 header declares a ${field} of ${declared}, under the ${min} its payload's header takes.`
        : `The CARv2 header declares a ${field} of ${declared}, outside ${min} to ${max}.`,
      {
        metaMessages: ['No medvault storage makes, stores or serves a CAR like that; it is refused unread.'],
      },
    )
    this.field = field
    this.declared = declared
    this.min = min
    this.max = max
  }
}

export type CarTooLargeErrorType = CarTooLargeError & { name: 'CarTooLargeError' }

/**
 * A CAR import with `maxBytes` or `maxBlocks` met a CAR larger than that: more bytes received from the source than
 * `maxBytes` (refused at the first chunk past it, before that chunk is read), more blocks than `maxBlocks`
 * (refused when the next block's section starts, before it is read), or a header naming more roots than
 * `maxBlocks` (refused once the header is read, `roots` set). A CAR import reports it as the cause of a
 * `CarImportError`; nothing of the CAR is kept. The message names the limit and the count, never the CAR's bytes.
 */
export class CarTooLargeError extends BaseError {
  override name = 'CarTooLargeError' as const
  /** the import option that was exceeded */
  readonly limit: 'maxBytes' | 'maxBlocks'
  /** its value */
  readonly max: number
  /**
   * the bytes received, the blocks met, or (`roots`) the roots the header names, when the CAR was refused: a lower
   * bound of the CAR's size
   */
  readonly count: number
  /** true when `maxBlocks` was exceeded by the header's roots, each of which would be a pin */
  readonly roots: boolean

  constructor(parameters: { limit: 'maxBytes' | 'maxBlocks'; max: number; count: number; roots?: boolean }) {
    const { limit, max, count } = parameters
    const roots = limit === 'maxBlocks' && parameters.roots === true
    super(
      limit === 'maxBytes'
        ? `The CAR is over the limit of ${max} bytes (${count} bytes received when it was refused).`
        : roots
          ? `The CAR names ${count} roots, more than the limit of ${max} blocks.`
          : `The CAR holds more than ${max} blocks (refused at block ${count}).`,
      {
        metaMessages: [
          `Raise \`${limit}\` if a CAR this large is expected, or import its content in smaller CARs.`,
        ],
      },
    )
    this.limit = limit
    this.max = max
    this.count = count
    this.roots = roots
  }
}

export type NotAFileErrorType = NotAFileError & { name: 'NotAFileError' }

/** `get` was asked for a CID that is not a UnixFS file or raw block (a directory, a dag-cbor envelope…). */
export class NotAFileError extends BaseError {
  override name = 'NotAFileError' as const

  constructor(parameters: { cid: string; kind: string }) {
    super(`CID ${parameters.cid} is a ${parameters.kind}, not a file.`, {
      metaMessages: ['Use `getEnvelope` for dag-cbor envelopes.'],
    })
  }
}

export type NotAnEnvelopeErrorType = NotAnEnvelopeError & { name: 'NotAnEnvelopeError' }

/** `getEnvelope` was asked for a CID whose codec is not dag-cbor. */
export class NotAnEnvelopeError extends BaseError {
  override name = 'NotAnEnvelopeError' as const

  constructor(parameters: { cid: string; codec: number }) {
    super(
      `CID ${parameters.cid} is not a dag-cbor envelope (codec 0x${parameters.codec.toString(16)}, expected 0x71).`,
    )
  }
}

export type DagTooWideErrorType = DagTooWideError & { name: 'DagTooWideError' }

/**
 * A DAG walk (pin, gc, CAR export, stat) met more links waiting to be walked at once than any DAG this storage
 * makes can hold: a DAG built to exhaust memory (blocks of thousands of links each, nested), refused before it
 * does. The walk stops; nothing is pinned by it.
 */
export class DagTooWideError extends BaseError {
  override name = 'DagTooWideError' as const
  /** the root of the walk */
  readonly cid: string
  /** the most links a walk keeps waiting */
  readonly maxPendingLinks: number

  constructor(parameters: { cid: string; maxPendingLinks: number; blocks: number }) {
    const { cid, maxPendingLinks, blocks } = parameters
    super(
      `The DAG of ${cid} has more than ${maxPendingLinks} links waiting to be walked at once; it was refused.`,
      {
        metaMessages: [
          `The walk stopped after ${blocks} blocks. UnixFS files and directories stay far below this limit.`,
        ],
      },
    )
    this.cid = cid
    this.maxPendingLinks = maxPendingLinks
  }
}

export type InlineDagTooDeepErrorType = InlineDagTooDeepError & { name: 'InlineDagTooDeepError' }

/**
 * A DAG walk (pin, gc, CAR export and import, stat) met identity CIDs nested inside one another deeper than
 * it follows. An identity CID holds its block, and that block may link on to more identity CIDs: each is
 * smaller than the one holding it, so nesting always ends, but a walk does not count on it. The walk stops;
 * nothing is pinned by it. The error names the root (an identity root described by its length and codec,
 * never spelled out).
 */
export class InlineDagTooDeepError extends BaseError {
  override name = 'InlineDagTooDeepError' as const
  /** the root of the walk */
  readonly cid: string
  /** the most identity CIDs, one inside the next, that a walk follows */
  readonly maxDepth: number

  constructor(parameters: { cid: string; maxDepth: number }) {
    const { cid, maxDepth } = parameters
    super(
      `The DAG of ${cid} nests identity CIDs (blocks held in the CID) more than ${maxDepth} deep; it was refused.`,
      {
        metaMessages: ['Store nodes that hold further nodes as blocks under sha2-256 CIDs.'],
      },
    )
    this.cid = cid
    this.maxDepth = maxDepth
  }
}

export type DagTooLargeErrorType = DagTooLargeError & { name: 'DagTooLargeError' }

/**
 * `pin` with `maxBytes`: the DAG holds more bytes than allowed. Every block counts, whether it was already in
 * the local store or fetched, so no earlier attempt can shrink the count. The walk stops at the first block
 * past the limit and no pin is recorded; blocks it fetched are ordinary unpinned blocks that `gc()` removes.
 */
export class DagTooLargeError extends BaseError {
  override name = 'DagTooLargeError' as const
  /** the root that was to be pinned */
  readonly cid: string
  /** the limit given */
  readonly maxBytes: number
  /** the bytes counted when the walk stopped (over `maxBytes`; the whole DAG may be larger still) */
  readonly bytes: number

  constructor(parameters: { cid: string; maxBytes: number; bytes: number; blocks: number }) {
    const { cid, maxBytes, bytes, blocks } = parameters
    super(`The DAG of ${cid} is over the limit of ${maxBytes} bytes; it was not pinned.`, {
      metaMessages: [
        `The walk stopped after ${blocks} blocks and ${bytes} bytes (local blocks counted too).`,
        'Blocks fetched meanwhile are not pinned and go at the next gc().',
      ],
    })
    this.cid = cid
    this.maxBytes = maxBytes
    this.bytes = bytes
  }
}
