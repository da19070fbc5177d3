/**
 * Fixtures for the package's tests: real Umbral capsules, kfrags and ECIES, real keys and signatures.
 */

import * as dagCbor from '@ipld/dag-cbor'
import { eciesEncrypt, getPublicKey, seal } from '@medvault/crypto'
import { encrypt, generateKFrags, SecretKey, Signer } from '@medvault/crypto/umbral'
import { sha256 } from '@noble/hashes/sha2.js'
import fc from 'fast-check'
import { CID } from 'multiformats/cid'
import { create as createDigest } from 'multiformats/hashes/digest'
import { type Address, bytesToHex, type Hex } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { expect } from 'vitest'
import type { RecordEnvelope } from '../src/envelope.ts'
import { BaseError } from '../src/errors.ts'
import { type KfragBundle, kfragAad } from '../src/kfrag-bundle.ts'
import type { BundleScope } from '../src/scope.ts'

/** Every error name the package throws: fuzzed decoders must throw nothing else. */
export const PROTOCOL_ERROR_NAMES = new Set([
  'UnsupportedFormatVersionError',
  'MalformedEncodingError',
  'MissingFieldError',
  'UnexpectedFieldError',
  'InvalidFieldError',
  'TooLargeError',
  'ScopeNotInEnvelopeError',
  'ScopeNotInBundleError',
  'ProxyNotInBundleError',
  'ProxyMismatchError',
  'SignatureRecoveryError',
  'UnexpectedSignerError',
  'StaleRequestError',
  'FutureRequestError',
])

/**
 * Runs `fn`; if it throws, the error must be one of the package's typed errors, and when `input` is given its
 * text (message, details, meta lines, properties) must quote no 8-byte run of the input. Returns whether it threw.
 */
export function throwsOnlyTyped(fn: () => unknown, input?: Uint8Array | string): boolean {
  try {
    fn()
    return false
  } catch (err) {
    if (!(err instanceof BaseError) || !PROTOCOL_ERROR_NAMES.has(err.name)) {
      throw new Error(`expected a typed protocol error, got ${String((err as Error)?.name)}: ${String(err)}`)
    }
    if (input !== undefined) expectNoInputQuoted(err, input)
    return true
  }
}

/** No 16-hex-digit run of the error's text (any case) is in the input's hex (bytes) or the input text. */
export function expectNoInputQuoted(err: BaseError, input: Uint8Array | string): void {
  const text = [err.message, JSON.stringify({ ...err })].join('\n').toLowerCase()
  const hex = typeof input === 'string' ? input.toLowerCase() : bytesToHex(input).slice(2)
  for (const run of text.match(/[0-9a-f]{16,}/g) ?? []) {
    for (let i = 0; i + 16 <= run.length; i += 2) {
      if (hex.includes(run.slice(i, i + 16))) throw new Error(`the error quotes input bytes: ${err.name}`)
    }
  }
}

/** The same for an async function. */
export async function rejectsOnlyTyped(fn: () => Promise<unknown>): Promise<boolean> {
  try {
    await fn()
    return false
  } catch (err) {
    if (!(err instanceof BaseError) || !PROTOCOL_ERROR_NAMES.has(err.name)) {
      throw new Error(`expected a typed protocol error, got ${String((err as Error)?.name)}: ${String(err)}`)
    }
    return true
  }
}

/** Expects `fn` to throw an error named `name` (of this package), and returns it. */
export function expectThrows(fn: () => unknown, name: string): BaseError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(BaseError)
    expect((err as Error).name).toBe(name)
    return err as BaseError
  }
  throw new Error(`expected ${name}, nothing was thrown`)
}

export const rawCid = (bytes: Uint8Array): CID => CID.createV1(0x55, createDigest(0x12, sha256(bytes)))
export const cborCid = (bytes: Uint8Array): CID => CID.createV1(0x71, createDigest(0x12, sha256(bytes)))

export interface EnvelopeFixture {
  envelope: RecordEnvelope
  dek: Uint8Array
  keys: { record: SecretKey; tag: SecretKey; all: SecretKey }
}

/** A tagged envelope with real capsules, wrapped keys and sealed metadata. */
export function envelopeFixture(options: { tagged?: boolean; prev?: boolean } = {}): EnvelopeFixture {
  const { tagged = true, prev = true } = options
  const dek = crypto.getRandomValues(new Uint8Array(32))
  const keys = { record: SecretKey.random(), tag: SecretKey.random(), all: SecretKey.random() }
  const wrap = (sk: SecretKey) => {
    const [capsule, wrapped] = encrypt(sk.publicKey(), dek)
    return { capsule: capsule.toBytesSimple(), wrapped }
  }
  const r = wrap(keys.record)
  const t = wrap(keys.tag)
  const a = wrap(keys.all)
  const envelope: RecordEnvelope = {
    v: 1,
    content: rawCid(new TextEncoder().encode('ciphertext')),
    size: 1234,
    segment: 65_536,
    epoch: 2,
    capsules: tagged
      ? { record: r.capsule, tag: t.capsule, all: a.capsule }
      : { record: r.capsule, all: a.capsule },
    wrappedKeys: tagged
      ? { record: r.wrapped, tag: t.wrapped, all: a.wrapped }
      : { record: r.wrapped, all: a.wrapped },
    meta: seal(dek, new TextEncoder().encode('{"mediaType":"application/fhir+json","type":"Bundle"}')),
  }
  if (prev) envelope.prev = cborCid(new TextEncoder().encode('previous'))
  return { envelope, dek, keys }
}

export interface BundleFixture {
  bundle: KfragBundle
  proxySecretKeys: Uint8Array[]
  delegating: SecretKey[]
  receiving: SecretKey
  signer: Signer
}

const account = (i: number) => privateKeyToAccount(bytesToHex(new Uint8Array(32).fill(i + 1)))

/** A bundle with real kfrags, each sealed to its proxy with its AAD. */
export function bundleFixture(
  options: { scopes?: BundleScope[]; proxies?: number; threshold?: number } = {},
): BundleFixture {
  const proxyCount = options.proxies ?? 3
  const threshold = options.threshold ?? 2
  const scopes: BundleScope[] = options.scopes ?? [
    { kind: 'record', recordId: bytesToHex(new Uint8Array(32).fill(0xa1)) },
    { kind: 'record', recordId: bytesToHex(new Uint8Array(32).fill(0xa2)) },
  ]
  const proxySecretKeys = Array.from({ length: proxyCount }, (_, i) => new Uint8Array(32).fill(0x40 + i))
  const proxies: Address[] = proxySecretKeys.map((_, i) => account(10 + i).address)
  const receiving = SecretKey.random()
  const signer = new Signer(SecretKey.random())
  const grantId: Hex = bytesToHex(new Uint8Array(32).fill(0x77))
  const delegating = scopes.map(() => SecretKey.random())
  const bundle: KfragBundle = {
    v: 1,
    grantId,
    grantor: account(0).address,
    grantee: account(1).address,
    threshold,
    proxies,
    verifyingKey: signer.verifyingKey().toCompressedBytes(),
    receivingKey: receiving.publicKey().toCompressedBytes(),
    entries: scopes.map((scope, e) => ({
      scope,
      delegatingKey: delegating[e]!.publicKey().toCompressedBytes(),
      kfrags: generateKFrags(
        delegating[e]!,
        receiving.publicKey(),
        signer,
        threshold,
        proxyCount,
        true,
        true,
      ).map((kfrag, i) =>
        eciesEncrypt(
          getPublicKey(proxySecretKeys[i]!),
          kfrag.toBytes(),
          kfragAad({ grantId, scope, index: i, proxy: proxies[i]! }),
        ),
      ),
    })),
  }
  return { bundle, proxySecretKeys, delegating, receiving, signer }
}

/** Any IPLD data model value (no floats: DAG-CBOR floats are valid but never in these formats). */
export const ipldValue: fc.Arbitrary<unknown> = fc.letrec<{ value: unknown }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    fc.constant(null),
    fc.boolean(),
    fc.integer(),
    fc.maxSafeInteger(),
    fc.string({ maxLength: 12 }),
    fc.uint8Array({ maxLength: 120 }),
    fc.constantFrom(
      rawCid(new Uint8Array([1])),
      cborCid(new Uint8Array([2])),
      CID.parse('QmdfTbBqBPQ7VNxZEYEj14VmRuZBkqFbiwReogJgS1zR1n'),
    ),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), tie('value'), { maxKeys: 4 }),
  ),
})).value

/** Byte-level mutations of a valid encoding: flips, overwrites, insertions, deletions, truncation. */
export function mutatedBytes(valid: Uint8Array): fc.Arbitrary<Uint8Array> {
  const at = fc.nat({ max: valid.length - 1 })
  return fc.oneof(
    fc.tuple(at, fc.integer({ min: 0, max: 7 })).map(([i, bit]) => {
      const b = valid.slice()
      b[i]! ^= 1 << bit
      return b
    }),
    fc.tuple(at, fc.integer({ min: 0, max: 255 })).map(([i, v]) => {
      const b = valid.slice()
      b[i] = v
      return b
    }),
    fc.tuple(at, fc.uint8Array({ minLength: 1, maxLength: 8 })).map(([i, ins]) => {
      const b = new Uint8Array(valid.length + ins.length)
      b.set(valid.subarray(0, i))
      b.set(ins, i)
      b.set(valid.subarray(i), i + ins.length)
      return b
    }),
    fc.tuple(at, fc.integer({ min: 1, max: 8 })).map(([i, n]) => {
      const b = new Uint8Array(Math.max(0, valid.length - n))
      b.set(valid.subarray(0, i).subarray(0, b.length))
      if (i < b.length) b.set(valid.subarray(i + n), i)
      return b
    }),
    at.map((n) => valid.slice(0, n)),
    fc.uint8Array({ minLength: 1, maxLength: 16 }).map((tail) => {
      const b = new Uint8Array(valid.length + tail.length)
      b.set(valid)
      b.set(tail, valid.length)
      return b
    }),
  )
}

/**
 * Structural mutations of a valid IPLD value: one field (at any depth) replaced by any value, deleted, or
 * a field added, then encoded as canonical DAG-CBOR.
 */
export function mutatedValue(valid: unknown): fc.Arbitrary<Uint8Array> {
  const paths = collectPaths(valid)
  return fc
    .tuple(
      fc.constantFrom(...paths),
      fc.constantFrom('replace', 'delete', 'add'),
      ipldValue,
      fc.string({ minLength: 1, maxLength: 8 }),
    )
    .map(([path, op, value, key]) => {
      const copy = structuredCloneIpld(valid)
      const parent = path.slice(0, -1).reduce<Node>((node, k) => node[k] as Node, copy)
      const last = path.at(-1)
      if (last === undefined) return dagCbor.encode(op === 'replace' ? value : copy)
      if (op === 'replace') parent[last] = value
      else if (op === 'delete') {
        if (Array.isArray(parent)) parent.splice(Number(last), 1)
        else delete parent[last]
      } else if (!Array.isArray(parent)) (parent as Record<string, unknown>)[key] = value
      else parent.push(value)
      return dagCbor.encode(copy)
    })
}

function collectPaths(value: unknown, path: Array<string | number> = []): Array<Array<string | number>> {
  const out: Array<Array<string | number>> = [path]
  if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) out.push(...collectPaths(v, [...path, i]))
  } else if (
    value !== null &&
    typeof value === 'object' &&
    !(value instanceof Uint8Array) &&
    CID.asCID(value) === null
  ) {
    for (const [k, v] of Object.entries(value)) out.push(...collectPaths(v, [...path, k]))
  }
  return out
}

type Node = Record<string | number, unknown> & unknown[]

function structuredCloneIpld(value: unknown): Node {
  return dagCbor.decode(dagCbor.encode(value)) as Node
}
