/**
 * Errors never carry content: an envelope that cannot be encoded, a CID string that does not parse, and a
 * block that fails verification are reported without the values involved (the whole error, causes included).
 */
import { inspect } from 'node:util'
import { CID, createStorage } from '@medvault/storage'
import { expect, test } from 'vitest'
import { concat } from './helpers.ts'

const SECRET = 'PatientJaneDoe1970'

test('error: no error repeats the content or the input it was given', async () => {
  const storage = await createStorage()
  try {
    const errors: unknown[] = []
    for (const value of [
      { name: SECRET, f: () => SECRET },
      { name: SECRET, x: undefined },
      { name: SECRET, born: new Date() },
      { [SECRET]: Number.NaN },
    ]) {
      errors.push(await storage.putEnvelope(value).catch((e: unknown) => e))
    }
    for (const cid of [`b${SECRET.toLowerCase()}`, `Qm${SECRET}`, `z${SECRET}`, `f${SECRET}`, SECRET]) {
      errors.push(await storage.stat(cid).catch((e: unknown) => e))
    }
    // a block stored under a CID it does not match (damaged on disk) is refused without its bytes
    const cid = CID.parse('bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e')
    await storage.helia.blockstore.put(cid, new TextEncoder().encode(SECRET))
    errors.push(await concat(storage.get(cid)).catch((e: unknown) => e))
    expect(errors.map((e) => (e as Error).name)).toEqual([
      ...Array(4).fill('TypeError'),
      ...Array(5).fill('InvalidCidError'),
      'BlockVerificationError',
    ])
    for (const err of errors) {
      const everything = inspect(err, { depth: 20, showHidden: true })
      expect(everything).not.toContain(SECRET)
      expect(everything.toLowerCase()).not.toContain(SECRET.toLowerCase())
      expect(everything).not.toContain(Buffer.from(SECRET).toString('hex'))
    }
  } finally {
    await storage.stop()
  }
})
