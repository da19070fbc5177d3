/**
 * Integrity on a local network: stored bytes altered on disk, envelopes that point at other content, lie
 * about its size or carry another record's metadata, and truncated content are all refused with
 * IntegrityError — by the owner and by a grantee — and nothing unauthenticated is returned as the record.
 */
import { createHash } from 'node:crypto'
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { registerRecordVersion } from '@medvault/chain'
import { encodeRecordEnvelope, parseRecordEnvelope, type RecordEnvelope } from '@medvault/protocol'
import {
  createLocalNetwork,
  IntegrityError,
  type LocalNetwork,
  type RecordInfo,
  type Vault,
} from '@medvault/sdk'
import { CID } from '@medvault/storage'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'

let directory: string
let net: LocalNetwork
let patient: Vault
let clinic: Vault

beforeAll(async () => {
  directory = await mkdtemp(join(tmpdir(), 'medvault-sdk-integrity-'))
  net = await createLocalNetwork({ proxies: 2, directory })
  ;[patient, clinic] = await Promise.all([net.vault(0), net.vault(1)])
})

afterAll(async () => {
  await net?.stop()
  await rm(directory, { recursive: true, force: true })
})

async function bytesOf(cid: CID): Promise<Uint8Array> {
  const parts: Uint8Array[] = []
  for await (const p of net.storage.get(cid)) parts.push(p)
  return Buffer.concat(parts)
}

/** Flips one bit of the block file on disk whose bytes are `block`. */
async function corruptOnDisk(block: Uint8Array): Promise<void> {
  const root = join(directory, 'ipfs', 'blocks')
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.data'))
  for (const f of files) {
    const bytes = await readFile(join(root, f))
    if (Buffer.compare(bytes, block) === 0) {
      bytes[bytes.length - 1]! ^= 0x01
      await writeFile(join(root, f), bytes)
      return
    }
  }
  throw new Error('block file not found')
}

const envelopeOf = async (cid: CID) => parseRecordEnvelope(await net.storage.getEnvelope(cid))

/** Registers a hand-made version of the patient's record, as a buggy or malicious writer could. */
async function registerVersion(rec: RecordInfo, envelope: RecordEnvelope): Promise<void> {
  const cid = await net.storage.putEnvelope(envelope)
  await registerRecordVersion(net.devnet.walletClients[0]!, {
    addresses: net.devnet.addresses,
    recordId: rec.id,
    cid,
  })
}

async function granted(content: string): Promise<RecordInfo> {
  const rec = await patient.records.put(content)
  await patient.grants.create({
    to: clinic.address,
    records: [rec.id],
    purpose: 'TREAT',
    expiresIn: '1d',
    threshold: 2,
  })
  return rec
}

const integrity = async (p: Promise<unknown>): Promise<IntegrityError> => {
  const err = await p.catch((e: unknown) => e)
  expect(err).toBeInstanceOf(IntegrityError)
  return err as IntegrityError
}

describe('integrity', () => {
  test('error: a content block altered on disk', async () => {
    const rec = await granted('content altered on disk')
    await corruptOnDisk(await bytesOf(rec.contentCid))
    const err = await integrity(patient.records.get(rec.id))
    expect(err).toMatchObject({ target: 'content', recordId: rec.id })
    expect(err.walk((e) => (e as Error).name === 'BlockVerificationError')).toBeTruthy()
  })

  test('error: an envelope block altered on disk', async () => {
    const rec = await granted('envelope altered on disk')
    // The envelope's block is its canonical DAG-CBOR encoding.
    const block = encodeRecordEnvelope(await envelopeOf(rec.cid))
    await corruptOnDisk(block)
    expect(await integrity(clinic.records.get(rec.id))).toMatchObject({
      target: 'envelope',
      recordId: rec.id,
    })
    // The damaged copy was dropped (the store heals from a peer or a new put): now it is simply missing for
    // a vault that never held the envelope.
    const freshPatient = await net.vault(0)
    await expect(freshPatient.records.get(rec.id)).rejects.toMatchObject({ name: 'NotFoundError' })
    // The vault that stored it keeps the envelope it built and checked (named by its hash): it reads on,
    // and what it returns is still the authentic record.
    expect(new TextDecoder().decode(await patient.records.get(rec.id))).toBe('envelope altered on disk')
  })

  test('error: a version whose envelope points at another record’s content', async () => {
    const rec = await granted('the real content')
    const other = await patient.records.put('someone else’s ciphertext')
    const envelope = await envelopeOf(rec.cid)
    await registerVersion(rec, { ...envelope, content: other.contentCid, prev: rec.cid })
    expect(await integrity(patient.records.get(rec.id))).toMatchObject({ target: 'content' })
    expect(await integrity(clinic.records.get(rec.id))).toMatchObject({ target: 'content' })
  })

  test('error: a version whose envelope CID names malformed dag-cbor, or whose content is not a file', async () => {
    const rec = await granted('well-formed content')
    // {"b":1,"a":2}: valid CBOR whose bytes match their CID, but not canonical dag-cbor (keys out of order).
    const malformed = Uint8Array.of(0xa2, 0x61, 0x62, 0x01, 0x61, 0x61, 0x02)
    const digest = createHash('sha256').update(malformed).digest()
    const cid = CID.decode(Uint8Array.of(0x01, 0x71, 0x12, 0x20, ...digest)) // CIDv1, dag-cbor, sha2-256
    await net.storage.helia.blockstore.put(cid, malformed)
    await registerRecordVersion(net.devnet.walletClients[0]!, {
      addresses: net.devnet.addresses,
      recordId: rec.id,
      cid,
    })
    expect(await integrity(patient.records.get(rec.id))).toMatchObject({ target: 'envelope' })

    const other = await granted('another record')
    const envelope = await envelopeOf(other.cid)
    // The content link names a dag-cbor block (the envelope itself), not a UnixFS file: the envelope is refused.
    await registerVersion(other, { ...envelope, content: other.cid, prev: other.cid })
    expect(await integrity(patient.records.get(other.id))).toMatchObject({ target: 'envelope' })
    expect(await integrity(clinic.records.get(other.id))).toMatchObject({ target: 'envelope' })
  })

  test('error: an envelope that lies about the size, and truncated content', async () => {
    const rec = await granted('twelve bytes')
    const envelope = await envelopeOf(rec.cid)
    await registerVersion(rec, { ...envelope, size: envelope.size + 1, prev: rec.cid })
    expect((await integrity(patient.records.get(rec.id))).message).toContain('shorter than the envelope says')

    // Truncation: the ciphertext without its last byte, stored as its own file.
    const big = await granted('x'.repeat(50_000))
    const env = await envelopeOf(big.cid)
    const ciphertext = await bytesOf(env.content)
    const truncated = await net.storage.putBytes(ciphertext.subarray(0, ciphertext.length - 1))
    await registerVersion(big, { ...env, content: truncated, prev: big.cid })
    const seen: Uint8Array[] = []
    const err = await integrity(
      (async () => {
        for await (const chunk of clinic.records.stream(big.id)) seen.push(chunk)
      })(),
    )
    expect(err.target).toBe('content')
  })

  test('error: metadata sealed for another record does not open', async () => {
    const rec = await patient.records.put('mine', { name: 'a name' })
    const other = await patient.records.put('other', { name: 'another name' })
    const envelope = await envelopeOf(rec.cid)
    await registerVersion(rec, { ...envelope, meta: (await envelopeOf(other.cid)).meta, prev: rec.cid })
    expect(await integrity(patient.records.info(rec.id))).toMatchObject({ target: 'metadata' })
    // The content itself is still this record's and authentic.
    expect(new TextDecoder().decode(await patient.records.get(rec.id))).toBe('mine')
  })
})
