/**
 * A real medvault deployment for the proxy's HTTP tests: an anvil devnet, an embedded store, proxies started
 * with `createProxy` and registered on chain at their URL, a patient with records (envelopes with real Umbral
 * capsules at the record and all levels) and grants whose kfrag bundles are built as the SDK builds them.
 */
import { computeGrantId, type Scope } from '@medvault/chain'
import { createDevnet, type Devnet, type DevnetWalletClient } from '@medvault/chain/node'
import {
  type DerivedKeys,
  deriveDelegatingKey,
  deriveKeysFromPrivateKey,
  eciesEncrypt,
  getPublicKey,
  publicKeys,
  seal,
} from '@medvault/crypto'
import {
  Capsule,
  CapsuleFrag,
  decryptReencrypted,
  encrypt,
  generateKFrags,
  SecretKey,
  Signer,
} from '@medvault/crypto/umbral'
import { createProxy, type ProxyComponents, type ProxyInit, type ReencryptionProxy } from '@medvault/node'
import {
  type AccessRequest,
  accessRequestBody,
  accessRequestTypedData,
  type BundleScope,
  capsuleHash,
  type KfragBundle,
  kfragAad,
  kfragBundleToIpld,
  type ProtocolDomain,
  parseAccessResponseBody,
  type RecordEnvelope,
  randomNonce,
} from '@medvault/protocol'
import { createStorage, type Storage } from '@medvault/storage'
import { type Address, bytesToHex, type Hex, hexToBytes } from 'viem'

export const TREAT = 1
export const HRESCH = 4
export const ETREAT = 2

export interface TestRecord {
  recordId: Hex
  dek: Uint8Array
  envelope: RecordEnvelope
}

export interface TestGrant {
  grantId: Hex
  recordId: Hex
  bundle: KfragBundle
  scope: BundleScope
}

export interface Network {
  devnet: Devnet
  storage: Storage
  proxies: ReencryptionProxy[]
  domain: ProtocolDomain
  patient: DevnetWalletClient
  clinician: DevnetWalletClient
  stranger: DevnetWalletClient
  operators: DevnetWalletClient[]
  keysOf(i: number): DerivedKeys
  setId: number
  stop(): Promise<void>
}

/** Accounts: 0 deployer, 1 patient, 2 clinician, 3 stranger, 4.. proxy operators. */
export async function createNetwork(
  options: {
    proxies?: number
    init?: (i: number) => Partial<ProxyInit>
    components?: (i: number, devnet: Devnet) => Partial<ProxyComponents>
  } = {},
): Promise<Network> {
  const count = options.proxies ?? 2
  const devnet = await createDevnet({ accounts: 4 + count })
  const storage = await createStorage()
  const keyCache = new Map<number, DerivedKeys>()
  const keysOf = (i: number): DerivedKeys => {
    let keys = keyCache.get(i)
    if (keys === undefined) {
      keys = deriveKeysFromPrivateKey(hexToBytes(devnet.anvil.accounts[i]!.privateKey))
      keyCache.set(i, keys)
    }
    return keys
  }
  const wallet = (i: number) => devnet.walletClients[i] as DevnetWalletClient
  for (const i of [1, 2, 3]) {
    const { receiving, verifying } = publicKeys(keysOf(i))
    await wallet(i).publishKeys({ receivingKey: receiving, verifyingKey: verifying })
  }
  const proxies: ReencryptionProxy[] = []
  const operators: DevnetWalletClient[] = []
  for (let p = 0; p < count; p++) {
    const i = 4 + p
    const proxy = await createProxy(
      {
        account: devnet.accounts[i]!,
        eciesSecretKey: keysOf(i).eciesSecretKey,
        workers: 1,
        pollingInterval: 50,
        ...options.init?.(p),
      },
      {
        publicClient: devnet.publicClient,
        storage,
        addresses: devnet.addresses,
        deployBlock: devnet.deployBlock,
        ...options.components?.(p, devnet),
      },
    )
    await wallet(i).registerProxy({ publicKey: getPublicKey(keysOf(i).eciesSecretKey), endpoint: proxy.url })
    proxies.push(proxy)
    operators.push(wallet(i))
  }
  const { setId } = await wallet(1).createProxySet({ members: operators.map((o) => o.account.address) })
  return {
    devnet,
    storage,
    proxies,
    domain: { chainId: devnet.chain.id, verifyingContract: devnet.addresses.consentRegistry },
    patient: wallet(1),
    clinician: wallet(2),
    stranger: wallet(3),
    operators,
    keysOf,
    setId,
    async stop() {
      await Promise.allSettled(proxies.map((p) => p.stop()))
      await storage.stop()
      await devnet.stop()
    },
  }
}

const random32 = (): Hex => bytesToHex(crypto.getRandomValues(new Uint8Array(32)))

/** The patient's Umbral delegating secret key of a scope. */
export function delegatingKey(net: Network, scope: BundleScope): SecretKey {
  const keys = net.keysOf(1)
  const sk =
    scope.kind === 'record'
      ? deriveDelegatingKey(keys, { record: scope.recordId })
      : scope.kind === 'tag'
        ? deriveDelegatingKey(keys, { tag: `${scope.tag}${'0'.repeat(48)}` as Hex })
        : deriveDelegatingKey(keys, 'all')
  return SecretKey.fromBEBytes(sk)
}

/** An envelope for `recordId` with the DEK encapsulated at the record and all levels (and tag when given). */
export async function makeEnvelope(
  net: Network,
  recordId: Hex,
  dek: Uint8Array,
  tag?: Hex,
): Promise<RecordEnvelope> {
  const content = await net.storage.putBytes(crypto.getRandomValues(new Uint8Array(64)))
  const level = (scope: BundleScope) => encrypt(delegatingKey(net, scope).publicKey(), dek)
  const [recordCapsule, recordWrapped] = level({ kind: 'record', recordId })
  const [allCapsule, allWrapped] = level({ kind: 'all' })
  const tagged = tag === undefined ? undefined : level({ kind: 'tag', tag })
  return {
    v: 1,
    content,
    size: 64,
    segment: 65_536,
    epoch: 0,
    capsules: {
      record: recordCapsule.toBytesSimple(),
      ...(tagged === undefined ? {} : { tag: tagged[0].toBytesSimple() }),
      all: allCapsule.toBytesSimple(),
    },
    wrappedKeys: {
      record: recordWrapped,
      ...(tagged === undefined ? {} : { tag: tagged[1] }),
      all: allWrapped,
    },
    meta: seal(dek, new TextEncoder().encode('{"type":"Observation"}')),
  }
}

/** Registers a new record owned by the patient. */
export async function registerRecord(net: Network, options: { tag?: Hex } = {}): Promise<TestRecord> {
  const recordId = random32()
  const dek = crypto.getRandomValues(new Uint8Array(32))
  const envelope = await makeEnvelope(net, recordId, dek, options.tag)
  const cid = await net.storage.putEnvelope(envelope)
  await net.patient.registerRecord({
    cid,
    recordId,
    ...(options.tag === undefined ? {} : { tag: options.tag }),
  })
  return { recordId, dek, envelope }
}

/** Registers a new version of a record (a new DEK, new capsules). */
export async function addVersion(net: Network, record: TestRecord): Promise<TestRecord> {
  const dek = crypto.getRandomValues(new Uint8Array(32))
  const envelope = await makeEnvelope(net, record.recordId, dek)
  const cid = await net.storage.putEnvelope(envelope)
  await net.patient.registerRecordVersion({ recordId: record.recordId, cid })
  return { recordId: record.recordId, dek, envelope }
}

export interface GrantOptions {
  /** Default: the record's own scope. */
  scope?: BundleScope
  /** The on-chain scope, when it should differ from the bundle's (attack tests). */
  chainScope?: Scope
  purpose?: number
  expiresIn?: number
  grantee?: DevnetWalletClient
  /** Replaces the bundle before it is stored (attack tests). */
  tamperBundle?: (bundle: KfragBundle) => KfragBundle
  threshold?: number
  /** Authorise break-glass access (dormant until the grantee breaks the glass) instead of a plain grant. */
  breakGlass?: { maxDuration: number }
  /** Another proxy set: its id and its members' indexes among `net.proxies` (default: the network's set). */
  proxySet?: { setId: number; members: number[] }
}

const accountIndex = (net: Network, address: Address): number =>
  net.devnet.accounts.findIndex((a) => a.address === address)

/** A grant of the patient to the clinician (by default), with its kfrag bundle built and stored. */
export async function grant(
  net: Network,
  record: TestRecord,
  options: GrantOptions = {},
): Promise<TestGrant> {
  const salt = random32()
  const grantor = net.patient.account.address
  const grantId = computeGrantId(grantor, salt)
  const scope = options.scope ?? { kind: 'record', recordId: record.recordId }
  const grantee = options.grantee ?? net.clinician
  const granteeIndex = grantee === net.clinician ? 2 : 3
  const receiving = SecretKey.fromBEBytes(net.keysOf(granteeIndex).receivingSecretKey).publicKey()
  const signer = new Signer(SecretKey.fromBEBytes(net.keysOf(1).signingSecretKey))
  const members = options.proxySet?.members ?? net.operators.map((_, i) => i)
  const proxies = members.map((m) => net.operators[m]!.account.address)
  const threshold = options.threshold ?? 1
  const kfrags = generateKFrags(
    delegatingKey(net, scope),
    receiving,
    signer,
    threshold,
    proxies.length,
    true,
    true,
  )
  const sealed = kfrags.map((k, index) =>
    eciesEncrypt(
      getPublicKey(net.keysOf(accountIndex(net, proxies[index]!)).eciesSecretKey),
      k.toBytes(),
      kfragAad({ grantId, scope, index, proxy: proxies[index]! }),
    ),
  )
  let bundle: KfragBundle = {
    v: 1,
    grantId,
    grantor,
    grantee: grantee.account.address,
    threshold,
    proxies,
    verifyingKey: signer.verifyingKey().toCompressedBytes(),
    receivingKey: receiving.toCompressedBytes(),
    entries: [
      { scope, delegatingKey: delegatingKey(net, scope).publicKey().toCompressedBytes(), kfrags: sealed },
    ],
  }
  if (options.tamperBundle !== undefined) bundle = options.tamperBundle(bundle)
  const kfragsCid = await net.storage.putEnvelope(kfragBundleToIpld(bundle))
  const chainScope: Scope =
    options.chainScope ??
    (scope.kind === 'record'
      ? { kind: 'record', recordId: scope.recordId }
      : scope.kind === 'tag'
        ? { kind: 'tag', tag: scope.tag }
        : { kind: 'all' })
  const now = Number((await net.devnet.publicClient.getBlock()).timestamp)
  const terms = {
    grantee: grantee.account.address,
    scope: chainScope,
    purpose: options.purpose ?? TREAT,
    expiry: now + (options.expiresIn ?? 3600),
    threshold,
    proxySetId: options.proxySet?.setId ?? net.setId,
    kfragsCid,
    salt,
  }
  if (options.breakGlass === undefined) await net.patient.grantAccess(terms)
  else await net.patient.authorizeBreakGlass({ ...terms, maxDuration: options.breakGlass.maxDuration })
  return { grantId, recordId: record.recordId, bundle, scope }
}

export interface RequestOptions {
  proxy?: ReencryptionProxy
  /** Who signs (default: the clinician). */
  signer?: DevnetWalletClient
  recordId?: Hex
  purpose?: number
  issuedAt?: number
  nonce?: Hex
  /** Default: the hash of the record's capsule at the grant's level. */
  capsuleHash?: Hex
  /** Default: the record's current envelope. */
  envelope?: RecordEnvelope
  /** Changes the request after it was signed. */
  alter?: (request: AccessRequest) => AccessRequest
  /** Sign under another domain. */
  domain?: ProtocolDomain
}

/** A signed access request body for `proxy` (default: the first). */
export async function signedRequest(
  net: Network,
  g: TestGrant,
  record: TestRecord,
  options: RequestOptions = {},
): Promise<{ request: AccessRequest; body: string }> {
  const proxy = options.proxy ?? net.proxies[0]!
  const envelope = options.envelope ?? record.envelope
  const level = g.scope.kind
  const request: AccessRequest = {
    proxy: proxy.address,
    grantId: g.grantId,
    recordId: options.recordId ?? record.recordId,
    capsuleHash: options.capsuleHash ?? capsuleHash(envelope.capsules[level]!),
    purpose: options.purpose ?? TREAT,
    issuedAt: options.issuedAt ?? Math.floor(Date.now() / 1000),
    nonce: options.nonce ?? randomNonce(),
  }
  const signer = options.signer ?? net.clinician
  const signature = await signer.account.signTypedData(
    accessRequestTypedData(options.domain ?? net.domain, request),
  )
  const sent = options.alter?.(request) ?? request
  return { request: sent, body: JSON.stringify(accessRequestBody(sent, signature)) }
}

/** POSTs a body to a proxy; returns status and parsed JSON (or text). */
export async function post(
  proxy: ReencryptionProxy,
  body: string | Uint8Array,
  headers: Record<string, string> = { 'content-type': 'application/json' },
): Promise<{ status: number; json: unknown; text: string }> {
  const response = await fetch(`${proxy.url}/v1/reencrypt`, {
    method: 'POST',
    headers,
    body: body as BodyInit,
  })
  const text = await response.text()
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    json = undefined
  }
  return { status: response.status, json, text }
}

/** The refusal's `[status, code]`. */
export function refusal(answer: { status: number; json: unknown }): [number, string | undefined] {
  const code = (answer.json as { error?: { code?: string } } | undefined)?.error?.code
  return [answer.status, code]
}

/** Verifies each answer's cfrag as the grantee would and opens the DEK with them (as many as the threshold). */
export function openDek(
  net: Network,
  g: TestGrant,
  record: TestRecord,
  texts: string | string[],
  envelope = record.envelope,
): Uint8Array {
  const level = g.scope.kind
  const capsule = envelopeCapsule(envelope, level)
  const delegating = delegatingKey(net, g.scope).publicKey()
  const verifying = new Signer(SecretKey.fromBEBytes(net.keysOf(1).signingSecretKey)).verifyingKey()
  const receivingSk = SecretKey.fromBEBytes(net.keysOf(2).receivingSecretKey)
  const verified = (Array.isArray(texts) ? texts : [texts]).map((text) =>
    CapsuleFrag.fromBytes(parseAccessResponseBody(text).cfrag).verify(
      capsule,
      verifying,
      delegating,
      receivingSk.publicKey(),
    ),
  )
  return decryptReencrypted(receivingSk, delegating, capsule, verified, envelope.wrappedKeys[level]!)
}

function envelopeCapsule(envelope: RecordEnvelope, level: 'record' | 'tag' | 'all'): Capsule {
  return Capsule.fromBytesSimple(envelope.capsules[level]!)
}

export const addressOf = (w: DevnetWalletClient): Address => w.account.address
