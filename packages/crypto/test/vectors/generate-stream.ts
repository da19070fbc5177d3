/**
 * Regenerates stream.json. Run from the repository root:
 *   npx -y pnpm@10 exec node packages/crypto/test/vectors/generate-stream.ts
 * Fixed keys and salts (a real stream always draws a random salt); see README.md beside this file.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { concat, toHex, utf8 } from '../../src/bytes.ts'
import { encryptStreamWithSalt } from '../../src/stream.ts'

const key = Uint8Array.from({ length: 32 }, (_, i) => i)
const salt = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i)
const pattern = (n: number) => Uint8Array.from({ length: n }, (_, i) => i & 0xff)

const cases = [
  { name: 'empty plaintext', plaintext: new Uint8Array(), segmentSize: 16 },
  { name: 'one short segment', plaintext: utf8('abc'), segmentSize: 16 },
  { name: 'exact multiple: two full segments', plaintext: pattern(32), segmentSize: 16 },
  { name: 'three segments with aad', plaintext: pattern(40), segmentSize: 16, aad: utf8('record-1') },
  { name: 'four segments of 256', plaintext: pattern(1000), segmentSize: 256 },
]

const vectors = []
for (const c of cases) {
  const parts: Uint8Array[] = []
  const options =
    c.aad === undefined ? { segmentSize: c.segmentSize } : { segmentSize: c.segmentSize, aad: c.aad }
  for await (const p of encryptStreamWithSalt(key, [c.plaintext], salt, options)) parts.push(p)
  vectors.push({
    name: c.name,
    key: toHex(key),
    salt: toHex(salt),
    segmentSize: c.segmentSize,
    aad: c.aad === undefined ? null : toHex(c.aad),
    plaintext: toHex(c.plaintext),
    ciphertext: toHex(concat(...parts)),
  })
}
writeFileSync(
  join(import.meta.dirname, 'stream.json'),
  `${JSON.stringify({ description: 'medvault stream v1 (mvs1) test vectors: see README.md', vectors }, null, 2)}\n`,
)
console.log('wrote stream.json')
