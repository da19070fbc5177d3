import { createCipheriv, hkdfSync } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, test, vi } from 'vitest'
import streamVectors from '../test/vectors/stream.json' with { type: 'json' }
import { concat, fromHex, toHex, utf8 } from './bytes.ts'
import { DecryptionError } from './errors.ts'
import {
  decryptStream,
  encryptedStreamLength,
  encryptStream,
  encryptStreamWithSalt,
  parseStreamHeader,
  STREAM_HEADER_LENGTH,
  type StreamProgressEvent,
} from './stream.ts'

const key = Uint8Array.from({ length: 32 }, (_, i) => i)
const salt = Uint8Array.from({ length: 32 }, (_, i) => 0x80 + i)

async function collect(it: AsyncIterable<Uint8Array>): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return concat(...parts)
}

async function collectChunks(it: AsyncIterable<Uint8Array>): Promise<Uint8Array[]> {
  const parts: Uint8Array[] = []
  for await (const c of it) parts.push(c)
  return parts
}

/** Splits `data` into chunks whose sizes cycle through `sizes` (0 means an empty chunk). */
async function* chunked(data: Uint8Array, sizes: number[] = [data.length]): AsyncGenerator<Uint8Array> {
  let off = 0
  let i = 0
  if (data.length === 0) yield data
  while (off < data.length) {
    const n = sizes[i++ % sizes.length] ?? 1
    yield data.subarray(off, off + n)
    off += n
  }
}

function pseudoRandom(length: number, seed = 1): Uint8Array {
  const out = new Uint8Array(length)
  let x = seed
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0
    out[i] = x >>> 24
  }
  return out
}

/**
 * A second, independent implementation of the v1 format on node:crypto (OpenSSL), used to cross-check
 * the package's output byte for byte.
 */
function referenceEncrypt(
  k: Uint8Array,
  s: Uint8Array,
  pt: Uint8Array,
  segmentSize: number,
  aad: Uint8Array = new Uint8Array(),
) {
  const header = new Uint8Array(42)
  header.set([0x6d, 0x76, 0x73, 0x31, 1, 1], 0)
  new DataView(header.buffer).setUint32(6, segmentSize)
  header.set(s, 10)
  const info = concat(utf8('medvault/v1/stream'), new Uint8Array([0]), header, aad)
  const okm = new Uint8Array(hkdfSync('sha256', k, s, info, 39))
  const parts = [header]
  const count = Math.max(1, Math.ceil(pt.length / segmentSize))
  for (let i = 0; i < count; i++) {
    const nonce = new Uint8Array(12)
    nonce.set(okm.subarray(32), 0)
    new DataView(nonce.buffer).setUint32(7, i)
    nonce[11] = i === count - 1 ? 1 : 0
    const c = createCipheriv('aes-256-gcm', okm.subarray(0, 32), nonce)
    parts.push(c.update(pt.subarray(i * segmentSize, (i + 1) * segmentSize)), c.final(), c.getAuthTag())
  }
  return concat(...parts)
}

describe('encryptStream / decryptStream', () => {
  test('default', async () => {
    const pt = pseudoRandom(200_000)
    const ct = await collect(encryptStream(key, chunked(pt, [4096])))
    expect(ct.length).toBe(encryptedStreamLength(pt.length))
    expect(await collect(decryptStream(key, chunked(ct, [1000])))).toEqual(pt)
  })

  test('behavior: known answer (fixed salt), equal to an independent node:crypto implementation', async () => {
    const pt = utf8('medvault stream known-answer test: three segments of sixteen')
    const ct = await collect(
      encryptStreamWithSalt(key, chunked(pt), salt, { segmentSize: 16, backend: 'noble' }),
    )
    expect(toHex(ct)).toMatchInlineSnapshot(
      `"6d767331010100000010808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f92cf1946dcba4c05018bf286b30c46b3b46bcd1faa4ae695c64a9198485c78d2fbf47072feb37996a540cce6d704f51e02b0f6d0f123e2d0646a837577a6fb1c70564c0797906f00926e3f6f54aaf9f43a085511b502d9869052b89a41036bec261e7a0efed1fa8395c3c08c6b731c315c22e3c97693e01f7aa2d993"`,
    )
    expect(ct).toEqual(referenceEncrypt(key, salt, pt, 16))
  })

  test('behavior: reproduces test/vectors/stream.json on both backends and the reference, and opens it', async () => {
    for (const v of streamVectors.vectors) {
      const k = fromHex(v.key)
      const pt = fromHex(v.plaintext)
      const aad = v.aad === null ? undefined : fromHex(v.aad)
      const opts = aad === undefined ? {} : { aad }
      for (const backend of ['webcrypto', 'noble'] as const) {
        const ct = await collect(
          encryptStreamWithSalt(k, chunked(pt, [7]), fromHex(v.salt), {
            segmentSize: v.segmentSize,
            backend,
            ...opts,
          }),
        )
        expect(toHex(ct)).toBe(v.ciphertext)
        expect(await collect(decryptStream(k, chunked(ct, [5]), { backend, ...opts }))).toEqual(pt)
      }
      expect(toHex(referenceEncrypt(k, fromHex(v.salt), pt, v.segmentSize, aad))).toBe(v.ciphertext)
    }
  })

  test('behavior: header fields', async () => {
    const [header] = await collectChunks(encryptStreamWithSalt(key, [], salt, { segmentSize: 1000 }))
    expect(header!.length).toBe(STREAM_HEADER_LENGTH)
    expect(parseStreamHeader(header!)).toEqual({ version: 1, algorithm: 1, segmentSize: 1000, salt })
  })

  test('behavior: empty plaintext is one empty final segment', async () => {
    const ct = await collect(encryptStream(key, []))
    expect(ct.length).toBe(STREAM_HEADER_LENGTH + 16)
    expect(await collect(decryptStream(key, [ct]))).toEqual(new Uint8Array())
    expect(await collect(decryptStream(key, chunked(ct, [1])))).toEqual(new Uint8Array())
  })

  test('behavior: exact multiple of the segment size ends with a full final segment', async () => {
    const pt = pseudoRandom(64)
    const chunks = await collectChunks(encryptStreamWithSalt(key, [pt], salt, { segmentSize: 16 }))
    expect(chunks.map((c) => c.length)).toEqual([42, 32, 32, 32, 32])
    expect(concat(...chunks)).toEqual(referenceEncrypt(key, salt, pt, 16))
  })

  test('behavior: the same salt and key give byte-identical output on both backends, and each opens the other', async () => {
    const pt = pseudoRandom(100_003)
    const segmentSize = 16384
    const web = await collect(
      encryptStreamWithSalt(key, chunked(pt, [777]), salt, { backend: 'webcrypto', segmentSize }),
    )
    const noble = await collect(
      encryptStreamWithSalt(key, chunked(pt, [65536, 1]), salt, { backend: 'noble', segmentSize }),
    )
    expect(web).toEqual(noble)
    expect(web).toEqual(referenceEncrypt(key, salt, pt, segmentSize))
    const fresh = await collect(encryptStream(key, [pt], { backend: 'webcrypto', segmentSize: 4096 }))
    expect(await collect(decryptStream(key, [fresh], { backend: 'noble' }))).toEqual(pt)
    const fresh2 = await collect(encryptStream(key, [pt], { backend: 'noble', segmentSize: 4096 }))
    expect(await collect(decryptStream(key, [fresh2], { backend: 'webcrypto' }))).toEqual(pt)
  })

  test('behavior: a fresh random salt per stream', async () => {
    const a = await collect(encryptStream(key, [utf8('same')]))
    const b = await collect(encryptStream(key, [utf8('same')]))
    expect(a).not.toEqual(b)
  })

  test('behavior: aad is bound to the stream', async () => {
    const aad = utf8('record-1')
    const ct = await collect(encryptStream(key, [utf8('x')], { aad }))
    expect(await collect(decryptStream(key, [ct], { aad }))).toEqual(utf8('x'))
    await expect(collect(decryptStream(key, [ct]))).rejects.toThrow(DecryptionError)
    await expect(collect(decryptStream(key, [ct], { aad: utf8('record-2') }))).rejects.toThrow(
      DecryptionError,
    )
  })

  test('behavior: a producer that reuses its buffer does not corrupt the output', async () => {
    const pt = pseudoRandom(50_000)
    async function* reusing() {
      const shared = new Uint8Array(5000)
      for (let off = 0; off < pt.length; off += shared.length) {
        shared.set(pt.subarray(off, off + shared.length))
        yield shared
        shared.fill(0xee)
      }
    }
    const ct = await collect(encryptStream(key, reusing(), { segmentSize: 1024 }))
    expect(await collect(decryptStream(key, [ct]))).toEqual(pt)
  })

  test('behavior: web ReadableStream sources, async-iterable or reader-only', async () => {
    const pt = pseudoRandom(5000)
    const readable = (data: Uint8Array) =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          for (let off = 0; off < data.length; off += 999) controller.enqueue(data.slice(off, off + 999))
          controller.close()
        },
      })
    const ct = await collect(encryptStream(key, readable(pt), { segmentSize: 1024 }))
    // A runtime whose ReadableStream lacks Symbol.asyncIterator (older Safari): only getReader() exists.
    const rs = readable(ct)
    const readerOnly = { getReader: () => rs.getReader() } as unknown as ReadableStream<Uint8Array>
    expect(await collect(decryptStream(key, readerOnly))).toEqual(pt)
  })

  test('error: a source that is not iterable', () => {
    expect(() => encryptStream(key, 42 as unknown as Uint8Array[])).toThrowErrorMatchingInlineSnapshot(
      `[InvalidArgumentError: Expected \`source\` to be an async iterable, an iterable or a ReadableStream.]`,
    )
  })

  test('behavior: progress events count plaintext bytes, in order', async () => {
    const events: StreamProgressEvent[] = []
    const ct = await collect(
      encryptStream(key, [pseudoRandom(40)], { segmentSize: 16, onProgress: (e) => events.push(e) }),
    )
    expect(events.map((e) => e.detail)).toEqual([
      { segment: 0, bytes: 16, last: false },
      { segment: 1, bytes: 32, last: false },
      { segment: 2, bytes: 40, last: true },
    ])
    const dec: StreamProgressEvent[] = []
    await collect(decryptStream(key, [ct], { onProgress: (e) => dec.push(e) }))
    expect(dec).toEqual(events)
  })

  test('behavior: abort stops the stream with the signal reason', async () => {
    const controller = new AbortController()
    const it = encryptStream(key, chunked(pseudoRandom(10_000), [100]), {
      segmentSize: 16,
      signal: controller.signal,
    })
    const seen: Uint8Array[] = []
    await expect(
      (async () => {
        for await (const c of it) {
          seen.push(c)
          if (seen.length === 3) controller.abort(new Error('stop'))
        }
      })(),
    ).rejects.toThrow('stop')
    expect(seen.length).toBe(3)
  })

  test('behavior: constant memory — decryption yields before the source ends', async () => {
    const segmentSize = 1024
    let produced = 0
    async function* endless() {
      while (true) {
        produced += 4096
        yield pseudoRandom(4096, produced)
      }
    }
    let received = 0
    for await (const c of decryptStream(key, encryptStream(key, endless(), { segmentSize }))) {
      received += c.length
      if (received >= 1_000_000) break
    }
    // Whatever the backlog, it is bounded by a few segments plus one chunk, not the whole input.
    expect(produced - received).toBeLessThan(16 * segmentSize + 4096)
  })
})

describe('properties', () => {
  test('behavior: round trip for random sizes, segment sizes, chunkings and backends', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uint8Array({ maxLength: 3000 }),
        fc.integer({ min: 16, max: 600 }),
        fc.array(fc.integer({ min: 0, max: 900 }), { minLength: 1, maxLength: 8 }),
        fc.array(fc.integer({ min: 1, max: 900 }), { minLength: 1, maxLength: 8 }),
        fc.constantFrom('webcrypto' as const, 'noble' as const),
        async (pt, segmentSize, inChunks, outChunks, backend) => {
          const sizes = inChunks.some((n) => n > 0) ? inChunks : [1]
          const ct = await collect(
            encryptStreamWithSalt(key, chunked(pt, sizes), salt, { segmentSize, backend }),
          )
          expect(ct).toEqual(referenceEncrypt(key, salt, pt, segmentSize))
          const back = await collect(decryptStream(key, chunked(ct, outChunks), { backend }))
          expect(back).toEqual(pt)
        },
      ),
      { numRuns: 150 },
    )
  })

  test('error: flipping any single bit of a stream fails with DecryptionError (or a header error)', async () => {
    const pt = pseudoRandom(100)
    const ct = await collect(encryptStreamWithSalt(key, [pt], salt, { segmentSize: 32 }))
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: ct.length * 8 - 1 }), async (bit) => {
        const bad = ct.slice()
        bad[bit >> 3]! ^= 1 << (bit & 7)
        const err = await collect(decryptStream(key, [bad])).then(
          () => undefined,
          (e: unknown) => e,
        )
        // Flips in magic, version, algorithm or segment size are refused by the header parser; every
        // other flip (salt, any segment byte) is an authentication failure.
        const inHeaderFields = bit < 10 * 8
        if (inHeaderFields)
          expect((err as Error).name).toMatch(/DecryptionError|InvalidHeaderError|UnsupportedVersionError/)
        else expect(err).toBeInstanceOf(DecryptionError)
      }),
      { numRuns: 300 },
    )
  })
})

describe('tampering', () => {
  const segmentSize = 16
  const pt = pseudoRandom(16 * 4 + 5)
  const sealedSize = segmentSize + 16
  async function segments() {
    const chunks = await collectChunks(
      encryptStreamWithSalt(key, [pt], salt, { segmentSize, concurrency: 1 }),
    )
    return { header: chunks[0]!, segs: chunks.slice(1) }
  }
  const fails = (ct: Uint8Array) => expect(collect(decryptStream(key, [ct]))).rejects.toThrow(DecryptionError)

  test('error: truncation at every byte past the header', async () => {
    const { header, segs } = await segments()
    const ct = concat(header, ...segs)
    expect(segs.map((s) => s.length)).toEqual([sealedSize, sealedSize, sealedSize, sealedSize, 21])
    for (let cut = STREAM_HEADER_LENGTH; cut < ct.length; cut++) await fails(ct.subarray(0, cut))
  })

  test('error: truncation inside the header', async () => {
    const { header } = await segments()
    await expect(collect(decryptStream(key, [header.subarray(0, 41)]))).rejects.toMatchInlineSnapshot(`
      [InvalidHeaderError: Invalid stream header: this is not a medvault encrypted stream.

      Details: the stream ended after 41 of 42 header bytes]
    `)
    await expect(collect(decryptStream(key, []))).rejects.toThrow('Invalid stream header')
  })

  test('error: dropping, reordering, duplicating segments', async () => {
    const { header, segs } = await segments()
    const [s0, s1, s2, s3, s4] = segs as [Uint8Array, Uint8Array, Uint8Array, Uint8Array, Uint8Array]
    await fails(concat(header, s0, s2, s3, s4)) // drop a middle segment
    await fails(concat(header, s1, s0, s2, s3, s4)) // swap
    await fails(concat(header, s0, s0, s1, s2, s3, s4)) // duplicate
    await fails(concat(header, s0, s1, s2, s3)) // drop the last (truncation at a boundary)
    await fails(concat(header, s0, s1, s2, s3, s4, s4)) // repeat the last
    await fails(concat(header, s0, s1, s2, s3, s4, s0)) // extension with a valid-looking segment
    await fails(concat(header, s0, s1, s2, s3, s4, new Uint8Array(1))) // one trailing byte
    await fails(concat(header, s0, s1, s2, s3, s4, new Uint8Array(16))) // an empty-looking extra segment
  })

  test('error: splicing a segment from another stream under the same key', async () => {
    const { header, segs } = await segments()
    const other = await collectChunks(encryptStream(key, [pt], { segmentSize }))
    await fails(concat(header, segs[0]!, other[2]!, ...segs.slice(2)))
    await fails(concat(other[0]!, ...segs))
  })

  test('error: wrong key', async () => {
    const { header, segs } = await segments()
    const wrong = key.slice()
    wrong[0]! ^= 1
    await expect(collect(decryptStream(wrong, [concat(header, ...segs)]))).rejects.toThrow(DecryptionError)
  })

  test('error: a decrypted prefix is yielded before a truncation is detected', async () => {
    const { header, segs } = await segments()
    const out: Uint8Array[] = []
    await expect(
      (async () => {
        for await (const c of decryptStream(key, [concat(header, ...segs.slice(0, 3))], { concurrency: 1 }))
          out.push(c)
      })(),
    ).rejects.toThrow(DecryptionError)
    expect(concat(...out)).toEqual(pt.subarray(0, 32))
  })
})

describe('bad arguments', () => {
  test('error: key length', () => {
    expect(() => encryptStream(new Uint8Array(16), [])).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyLengthError: Expected \`key\` to be 32 bytes long, got 16 bytes.]`,
    )
    expect(() => decryptStream(new Uint8Array(33), [])).toThrowErrorMatchingInlineSnapshot(
      `[InvalidKeyLengthError: Expected \`key\` to be 32 bytes long, got 33 bytes.]`,
    )
  })

  test('error: key type', () => {
    expect(() => encryptStream('k' as unknown as Uint8Array, [])).toThrowErrorMatchingInlineSnapshot(`
      [InvalidBytesError: Expected \`key\` to be a Uint8Array.

      Pass raw bytes (a Uint8Array or a Node.js Buffer), not a string or an array.]
    `)
  })

  test('error: segment size', () => {
    expect(() => encryptStream(key, [], { segmentSize: 8 })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidSegmentSizeError: Invalid segment size 8: expected an integer from 16 to 16777216 bytes.]`,
    )
    expect(() => encryptStream(key, [], { segmentSize: 1.5 * 1024 })).not.toThrow()
    expect(() => encryptStream(key, [], { segmentSize: 1000.5 })).toThrow('Invalid segment size')
    expect(() => encryptStream(key, [], { segmentSize: 2 ** 24 + 1 })).toThrow('Invalid segment size')
  })

  test('error: bad magic, unsupported version and algorithm', async () => {
    const ct = await collect(encryptStreamWithSalt(key, [utf8('x')], salt))
    const magic = ct.slice()
    magic[0] = 0
    await expect(collect(decryptStream(key, [magic]))).rejects.toMatchInlineSnapshot(`
      [InvalidHeaderError: Invalid stream header: this is not a medvault encrypted stream.

      Details: bad magic bytes]
    `)
    const version = ct.slice()
    version[4] = 2
    await expect(collect(decryptStream(key, [version]))).rejects.toMatchInlineSnapshot(`
      [UnsupportedVersionError: Unsupported stream version 2.

      Supported: 1. A newer @medvault/crypto may read it.]
    `)
    const algorithm = ct.slice()
    algorithm[5] = 9
    await expect(collect(decryptStream(key, [algorithm]))).rejects.toMatchInlineSnapshot(`
      [UnsupportedVersionError: Unsupported stream algorithm 9.

      Supported: 1. A newer @medvault/crypto may read it.]
    `)
    const size = ct.slice()
    new DataView(size.buffer).setUint32(6, 2 ** 31)
    await expect(collect(decryptStream(key, [size]))).rejects.toMatchInlineSnapshot(`
      [InvalidHeaderError: Invalid stream header: this is not a medvault encrypted stream.

      Details: segment size 2147483648 is out of range]
    `)
  })

  test('error: concurrency', () => {
    expect(() => encryptStream(key, [], { concurrency: 0 })).toThrowErrorMatchingInlineSnapshot(
      `[InvalidConcurrencyError: Invalid concurrency 0: expected an integer from 1 to 64.]`,
    )
  })

  test('behavior: without crypto.subtle, auto falls back to noble and an explicit webcrypto is refused', async () => {
    const pt = pseudoRandom(3000)
    const expected = referenceEncrypt(key, salt, pt, 1024)
    // An insecure browser origin: getRandomValues exists, subtle does not.
    const real = await import('node:crypto')
    vi.stubGlobal('crypto', { getRandomValues: <T extends Uint8Array>(a: T) => real.getRandomValues(a) })
    try {
      expect(await collect(encryptStreamWithSalt(key, [pt], salt, { segmentSize: 1024 }))).toEqual(expected)
      expect(() => encryptStreamWithSalt(key, [pt], salt, { backend: 'webcrypto' })).not.toThrow()
      await expect(
        collect(encryptStreamWithSalt(key, [pt], salt, { backend: 'webcrypto' })),
      ).rejects.toThrowErrorMatchingInlineSnapshot(`
        [BackendUnavailableError: The \`webcrypto\` cipher backend is not available in this runtime.

        Use \`backend: 'auto'\` (the default) to fall back to the portable implementation.]
      `)
    } finally {
      vi.unstubAllGlobals()
    }
  })

  test('error: a chunk that is not bytes', async () => {
    await expect(collect(encryptStream(key, ['text' as unknown as Uint8Array]))).rejects.toThrow(
      'Expected `chunk` to be a Uint8Array.',
    )
  })
})
