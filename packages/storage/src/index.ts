/**
 * @packageDocumentation
 *
 * Content-addressed storage for medvault on Helia (IPFS in JavaScript): UnixFS files, dag-cbor envelopes,
 * CAR import and export, pins and garbage collection. Embedded by default (blocks on disk or in memory,
 * no network); networked when asked (libp2p over TCP and WebSockets, bitswap); able to read missing
 * blocks from trustless HTTP gateways. Every block that comes in is checked against its CID.
 *
 * The package moves opaque bytes: it knows nothing about encryption.
 *
 * @example
 *
 * ```ts
 * import { createStorage } from '@medvault/storage'
 *
 * const storage = await createStorage({ directory: './vault-data' })
 * const cid = await storage.putBytes(new TextEncoder().encode('hello world'))
 * console.log(cid.toString()) // bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e
 * for await (const chunk of storage.get(cid)) process.stdout.write(chunk)
 * await storage.stop()
 * ```
 */
import { HeliaStorage } from './storage.ts'
import type { Storage, StorageInit } from './types.ts'

export { CID } from 'multiformats/cid'
export {
  BaseError,
  type BaseErrorParameters,
  BlockVerificationError,
  type BlockVerificationErrorType,
  CarImportError,
  type CarImportErrorType,
  InvalidCidError,
  type InvalidCidErrorType,
  InvalidGatewayError,
  type InvalidGatewayErrorType,
  MalformedBlockError,
  type MalformedBlockErrorType,
  NotAFileError,
  type NotAFileErrorType,
  NotAnEnvelopeError,
  type NotAnEnvelopeErrorType,
  NotFoundError,
  type NotFoundErrorType,
  PinnedDagIncompleteError,
  type PinnedDagIncompleteErrorType,
  StorageClosedError,
  type StorageClosedErrorType,
  StorageLockedError,
  type StorageLockedErrorType,
  UnsupportedCodecError,
  type UnsupportedCodecErrorType,
  UnverifiableCidError,
  type UnverifiableCidErrorType,
} from './errors.ts'
export { DEFAULT_PROFILE, type ImportProfile, PROFILES } from './profiles.ts'
export type {
  CidLike,
  ExportCarOptions,
  GcOptions,
  GcResult,
  GetOptions,
  ImportCarOptions,
  NetworkInit,
  OperationOptions,
  PinOptions,
  ProgressOf,
  PutEnvelopeOptions,
  PutOptions,
  StatResult,
  Storage,
  StorageInit,
  StorageProgressEvent,
} from './types.ts'

/**
 * Creates a storage and (unless `start: false`) starts it.
 *
 * - no `network`, no `gateways`: embedded, offline; nothing is dialled or listened on.
 * - `network: { listen, peers }`: libp2p with TCP and WebSockets, noise, yamux, identify and bitswap; only
 *   the listed addresses are listened on and only the listed peers are dialled.
 * - `gateways: [url…]`: missing blocks are read from these trustless gateways and verified.
 *
 * @throws {RangeError} for an unknown `profile`.
 */
export async function createStorage(init: StorageInit = {}): Promise<Storage> {
  const storage = new HeliaStorage(init)
  if (init.start !== false) await storage.start()
  return storage
}
