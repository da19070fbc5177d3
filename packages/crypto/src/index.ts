/**
 * @packageDocumentation
 *
 * medvault's cryptographic core (work in progress).
 */
export { open, seal } from './seal.ts'
export { decryptStream, encryptStream } from './stream.ts'
