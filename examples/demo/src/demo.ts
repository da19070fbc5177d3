/**
 * The main job on the embedded default, end to end on the foundation packages:
 *
 * 1. a devnet chain (real anvil, medvault contracts deployed) and an embedded Helia store start;
 * 2. patient, clinician and three proxy operators derive their medvault keys from their accounts and
 *    publish the public ones on chain; the proxies register and form a set;
 * 3. the patient encrypts a FHIR Bundle as a segmented stream, stores it on IPFS, wraps the data key with
 *    Umbral for themself, and registers the record's envelope CID;
 * 4. the patient grants the clinician TREAT access, 2-of-3: kfrags ECIES-encrypted to each proxy, bundle on
 *    IPFS, grant on chain;
 * 5. the clinician asks the proxies, verifies two cfrags, opens the data key and decrypts the record;
 * 6. a tampered cfrag is refused; the patient revokes; the proxies refuse from the next block.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { computeGrantId, createDevnet, type DevnetWalletClient } from '@medvault/chain'
import {
  decryptStream,
  deriveDelegatingKey,
  deriveKeysFromPrivateKey,
  eciesEncrypt,
  encryptStream,
  getPublicKey,
  open,
  publicKeys,
  seal,
} from '@medvault/crypto'
import {
  Capsule,
  CapsuleFrag,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  PublicKey,
  SecretKey,
  Signer,
  type VerifiedCapsuleFrag,
} from '@medvault/crypto/umbral'
import { CID, createStorage } from '@medvault/storage'
import { bytesToHex, type Hex, hexToBytes, keccak256 } from 'viem'
import { accessRequestMessage, type KfragBundle, kfragAad, type RecordEnvelope } from './formats.ts'
import { type AccessRequest, DemoProxy } from './proxy.ts'

export interface DemoOptions {
  /** Where each step is told; default: nothing. */
  log?: (line: string) => void
  /** The record to store; default: the synthetic Synthea patient Bundle in ../data. */
  recordFile?: string
}

export interface DemoResult {
  recordId: Hex
  envelopeCid: string
  grantId: Hex
  /** The clinician's decrypted copy equals the patient's plaintext, byte for byte. */
  roundTripOk: boolean
  plaintextBytes: number
  /** Error names, in order: tampered cfrag, 1-of-2 cfrags, access after revocation (one per proxy asked). */
  refusals: string[]
  /** Wall-clock milliseconds per step. */
  timings: Record<string, number>
}

const META_AAD = new TextEncoder().encode('medvault/meta/v1')
const THRESHOLD = 2
const SHARES = 3

export async function runDemo(options: DemoOptions = {}): Promise<DemoResult> {
  const log = options.log ?? (() => {})
  const timings: Record<string, number> = {}
  const step = async <T>(name: string, fn: () => Promise<T>): Promise<T> => {
    const start = performance.now()
    const result = await fn()
    timings[name] = Math.round(performance.now() - start)
    log(`✓ ${name} (${timings[name]} ms)`)
    return result
  }

  const recordFile = options.recordFile ?? join(import.meta.dirname, '..', 'data', 'patient-bundle.json')
  const dir = await mkdtemp(join(tmpdir(), 'medvault-demo-'))
  const devnet = await step('devnet: anvil on 127.0.0.1, contracts deployed', () => createDevnet())
  const storage = await step('storage: embedded Helia (no network)', () =>
    createStorage({ directory: join(dir, 'ipfs') }),
  )
  try {
    const [patient, clinician, ...operators] = devnet.walletClients as DevnetWalletClient[]
    if (patient === undefined || clinician === undefined || operators.length < SHARES) {
      throw new Error('the devnet has too few accounts')
    }
    const keysOf = (i: number) => deriveKeysFromPrivateKey(hexToBytes(devnet.anvil.accounts[i]!.privateKey))
    const patientKeys = keysOf(0)
    const clinicianKeys = keysOf(1)

    const proxies = await step('keys published; 3 proxies registered as a set', async () => {
      // Each account publishes its Umbral receiving key and its kfrag-signing verifying key.
      for (const [wallet, keys] of [
        [patient, patientKeys],
        [clinician, clinicianKeys],
      ] as const) {
        const { receiving, verifying } = publicKeys(keys)
        await wallet.publishKeys({ receivingKey: receiving, verifyingKey: verifying })
      }
      const proxies: DemoProxy[] = []
      for (const [index, operator] of operators.slice(0, SHARES).entries()) {
        // A proxy's kfrags are sealed to its ECIES key, never to a key that also does Umbral.
        const secretKey = keysOf(2 + index).eciesSecretKey
        await operator.registerProxy({
          publicKey: getPublicKey(secretKey),
          endpoint: `http://127.0.0.1/proxy-${index}`,
        })
        proxies.push(
          new DemoProxy(
            { client: devnet.publicClient, storage },
            { operator: operator.account.address, index, secretKey },
          ),
        )
      }
      return proxies
    })
    const { setId } = await patient.createProxySet({ members: proxies.map((p) => p.operator) })

    // 3. The record: content stream, data key wrapped with Umbral, envelope, registration.
    const plaintext = new Uint8Array(await readFile(recordFile))
    const { recordId, envelopeCid } = await step(
      `record: ${plaintext.length} B FHIR Bundle encrypted, stored, registered`,
      async () => {
        const dek = crypto.getRandomValues(new Uint8Array(32))
        const segment = 64 * 1024
        const content = await storage.putStream(encryptStream(dek, [plaintext], { segmentSize: segment }))
        // The record's own delegating key: kfrags made from it re-encrypt this record's capsule and no other.
        const recordId = bytesToHex(crypto.getRandomValues(new Uint8Array(32)))
        const recordPk = PublicKey.fromCompressedBytes(
          getPublicKey(deriveDelegatingKey(patientKeys, { record: recordId })),
        )
        const [capsule, wrappedKey] = encrypt(recordPk, dek)
        const meta = seal(
          dek,
          new TextEncoder().encode(JSON.stringify({ mediaType: 'application/fhir+json', type: 'Bundle' })),
          META_AAD,
        )
        const envelope: RecordEnvelope = {
          v: 1,
          content,
          size: plaintext.length,
          segment,
          capsule: capsule.toBytes(),
          wrappedKey,
          meta,
        }
        const cid = await storage.putEnvelope(envelope)
        await storage.pin(cid)
        await patient.registerRecord({ cid, recordId })
        return { recordId, envelopeCid: cid }
      },
    )

    // 4. The grant: kfrags for the clinician, one per proxy, encrypted to that proxy only.
    const grantId = await step('grant: TREAT, 2-of-3 proxies, 1 hour', async () => {
      const salt = bytesToHex(crypto.getRandomValues(new Uint8Array(32)))
      const grantId = computeGrantId(patient.account.address, salt)
      const signer = new Signer(SecretKey.fromBEBytes(patientKeys.signingSecretKey))
      const { receivingKey: clinicianPk } = await patient.getPublicKeys({
        account: clinician.account.address,
      })
      const recordKey = SecretKey.fromBEBytes(deriveDelegatingKey(patientKeys, { record: recordId }))
      const kfrags = generateKFrags(
        recordKey,
        PublicKey.fromCompressedBytes(hexToBytes(clinicianPk)),
        signer,
        THRESHOLD,
        SHARES,
        true,
        true,
      )
      const bundle: KfragBundle = {
        v: 1,
        verifyingKey: signer.verifyingKey().toCompressedBytes(),
        delegatingKey: recordKey.publicKey().toCompressedBytes(),
        kfrags: await Promise.all(
          kfrags.map(async (kfrag, i) => {
            const proxy = await patient.getProxy({ operator: proxies[i]!.operator })
            if (proxy === undefined || proxy.retired) throw new Error(`proxy ${i} is not active`)
            const { publicKey } = proxy
            return eciesEncrypt(hexToBytes(publicKey), kfrag.toBytes(), kfragAad(grantId, i))
          }),
        ),
      }
      const bundleCid = await storage.putEnvelope(bundle)
      await storage.pin(bundleCid)
      await patient.grantAccess({
        grantee: clinician.account.address,
        scope: { kind: 'record', recordId },
        purpose: 'TREAT',
        expiry: Math.floor(Date.now() / 1000) + 3600,
        threshold: THRESHOLD,
        proxySetId: setId,
        kfragsCid: bundleCid,
        salt,
      })
      return grantId
    })

    // 5. Access: the clinician reads the record through the proxies.
    const envelope = await storage.getEnvelope<RecordEnvelope>(envelopeCid)
    const capsule = Capsule.fromBytes(envelope.capsule)
    const request = async (): Promise<AccessRequest> => {
      const base = { grantId, recordId, purpose: 'TREAT' as const, issuedAt: Math.floor(Date.now() / 1000) }
      const signature = await clinician.account.signMessage({ message: accessRequestMessage(base) })
      return { ...base, capsule: envelope.capsule, signature }
    }
    const verifyCfrag = async (bytes: Uint8Array): Promise<VerifiedCapsuleFrag> => {
      const bundle = await bundleOf(grantId)
      return CapsuleFrag.fromBytes(bytes).verify(
        capsule,
        PublicKey.fromCompressedBytes(bundle.verifyingKey),
        PublicKey.fromCompressedBytes(bundle.delegatingKey),
        PublicKey.fromCompressedBytes(publicKeys(clinicianKeys).receiving),
      )
    }
    const bundleOf = async (id: Hex): Promise<KfragBundle> => {
      const [listing] = (await devnet.publicClient.getGrants({ grantee: clinician.account.address })).filter(
        (g) => g.grantId === id,
      )
      if (listing === undefined) throw new Error('grant not found in events')
      return storage.getEnvelope<KfragBundle>(CID.decode(hexToBytes(listing.kfragsCid)))
    }

    let decrypted: Uint8Array = new Uint8Array()
    const refusals: string[] = []
    await step('access: 2 proxies re-encrypt, clinician verifies cfrags and decrypts', async () => {
      const req = await request()
      const cfrags = await Promise.all(proxies.slice(0, THRESHOLD).map((p) => p.reencrypt(req)))
      const verified = await Promise.all(cfrags.map(verifyCfrag))
      const delegatingPk = PublicKey.fromCompressedBytes((await bundleOf(grantId)).delegatingKey)
      const dek = decryptReencrypted(
        SecretKey.fromBEBytes(clinicianKeys.receivingSecretKey),
        delegatingPk,
        capsule,
        verified,
        envelope.wrappedKey,
      )
      const meta = JSON.parse(new TextDecoder().decode(open(dek, envelope.meta, META_AAD)))
      log(`  meta: ${meta.mediaType} ${meta.type}; content ${envelope.content.toString()}`)
      const chunks: Uint8Array[] = []
      for await (const chunk of decryptStream(dek, storage.get(envelope.content))) chunks.push(chunk)
      decrypted = concat(chunks)

      // A malicious proxy: flip one bit of an honest cfrag. Verification must refuse it.
      const tampered = cfrags[0]!.slice()
      tampered[tampered.length - 1]! ^= 1
      await verifyCfrag(tampered).then(
        () => refusals.push('accepted!'),
        (err: Error) => refusals.push(err.name),
      )
      // Fewer than the threshold: the data key cannot be opened.
      try {
        decryptReencrypted(
          SecretKey.fromBEBytes(clinicianKeys.receivingSecretKey),
          delegatingPk,
          capsule,
          verified.slice(0, 1),
          envelope.wrappedKey,
        )
        refusals.push('accepted!')
      } catch (err) {
        refusals.push((err as Error).name)
      }
    })

    // 6. Revocation: one transaction; every honest proxy refuses from the next block.
    await step('revoke: proxies refuse the clinician', async () => {
      await patient.revokeAccess({ grantId })
      const req = await request()
      for (const proxy of proxies) {
        await proxy.reencrypt(req).then(
          () => refusals.push('accepted!'),
          (err: Error) => refusals.push(err.name),
        )
      }
    })

    const roundTripOk = equal(decrypted, plaintext)
    log(
      roundTripOk
        ? `✓ the clinician's copy matches the patient's record (${plaintext.length} bytes, keccak ${keccak256(decrypted).slice(0, 18)}…)`
        : '✗ the clinician decrypted something else',
    )
    log(`✓ refused: ${refusals.join(', ')}`)
    return {
      recordId,
      envelopeCid: envelopeCid.toString(),
      grantId,
      roundTripOk,
      plaintextBytes: plaintext.length,
      refusals,
      timings,
    }
  } finally {
    await storage.stop()
    await devnet.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0))
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.length
  }
  return out
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i])
}
