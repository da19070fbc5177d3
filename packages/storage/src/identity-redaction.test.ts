/**
 * An identity CID's bytes are its content: an error about one names it by length and codec (`cidLabel`), never
 * by the CID string, which would spell out whatever the block holds.
 */
import { inspect } from 'node:util'
import * as dagCbor from '@ipld/dag-cbor'
import { CID } from 'multiformats/cid'
import { identity } from 'multiformats/hashes/identity'
import { expect, test } from 'vitest'
import { createStorage } from './index.ts'
import { collect } from './verify.ts'

const SECRET = 'PatientJaneDoe1970'

test('error: errors about an identity CID name it by length and codec, never spell it out', async () => {
  const storage = await createStorage()
  try {
    const content = await storage.putBytes(new Uint8Array(4096).fill(7))
    const rawInline = CID.createV1(0x55, identity.digest(new TextEncoder().encode(SECRET)))
    const cborInline = CID.createV1(0x71, identity.digest(dagCbor.encode({ note: SECRET, content })))
    const errors = [
      await storage.getEnvelope(rawInline).catch((e: unknown) => e),
      await collect(storage.get(cborInline)).catch((e: unknown) => e),
      await storage.pin(cborInline, { maxBytes: 100 }).catch((e: unknown) => e),
    ]
    expect(errors.map((e) => (e as Error).name)).toEqual([
      'NotAnEnvelopeError',
      'NotAFileError',
      'DagTooLargeError',
    ])
    for (const err of errors) {
      const everything = inspect(err, { depth: 20, showHidden: true })
      expect(everything).toContain('identity CID of')
      for (const cid of [rawInline, cborInline]) {
        expect(everything).not.toContain(cid.toString())
        expect(everything).not.toContain(Buffer.from(cid.bytes).toString('hex'))
      }
      expect(everything).not.toContain(SECRET)
    }
  } finally {
    await storage.stop()
  }
})
