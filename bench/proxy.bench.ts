/**
 * The re-encryption proxy over HTTP on 127.0.0.1, on an empty chain and on a full one, measured side by side.
 *
 * Two complete local networks run at once (`createLocalNetwork` twice: each its own anvil, store and 3
 * proxies), set up alike: a patient puts a 1 KiB record and grants it (TREAT, 2 of 3) to a clinic. The second
 * chain is then filled with 100,000 records and 10,000 grants of other patients (its proxies index them all);
 * the first stays empty. Only then is anything measured, the two chains in turn within the same minutes: on a
 * shared machine whose speed drifts by tens of percent over minutes, an empty-chain figure taken before the
 * fill and a full-chain one taken after it would compare two machines as much as two chains.
 *
 * 1. Access requests: signed requests POSTed straight to one proxy (its own proxy set, a 1-of-1 grant, durable
 *    receipt log, a worker thread per core, rate limits off) at 1, 16 and 64 connections: each request's
 *    latency (p50 / p99) and the requests per second. Target: p50 ≤ 30 ms per request. At 1 connection the
 *    proxy and the same proxy with its kfrag cache off, on both chains, take turns request by request (the
 *    order reversed every round); the 16- and 64-connection runs alternate between the chains run by run.
 *    Baselines in the same process: the bare Umbral `reencrypt` (with its cfrag proof) on this thread, and the
 *    ECIES open + kfrag check a proxy without its kfrag cache adds to each request.
 * 2. A grantee's `records.get` of a 1 KiB record through 2 of 3 proxies, end to end: reads alternate between
 *    the chains (empty, full, full, empty, …), so each chain goes first in half the rounds. Reported with the
 *    grantee's JSON-RPC calls per read on each chain and the full/empty ratio of p50 and p99 (target ≤ 1.1×).
 *
 * The fill mines by hand: automine off, each round's transactions (batched `registerRecords` of 400 records,
 * then single `grant`s) sent by five funded accounts with explicit nonces while no block is being mined, then
 * one `evm_mine`, the pool checked empty and every receipt checked. Sent while anvil mines (automine, or a
 * timer), a transaction can be validated against the nonce before a block and reach the pool after that block
 * was pruned from it: it then waits for a predecessor that is already mined, and stays queued for good while
 * anvil mines empty blocks around it (anvil's pool derives "ready" from markers, not from the account nonce).
 *
 * Run: `npx -y pnpm@10 bench proxy` (or `npx -y pnpm@10 exec node bench/proxy.bench.ts` after a build).
 * `PROXY_FULL=0` runs and measures the empty chain only (one network, no fill, no full-chain rows): minutes
 * shorter, for comparing two builds of the proxy back to back. `PROXY_SCALE=0.02` is a smoke run of the bench.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { availableParallelism, loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { createProxySet, encodeGrantParams, encodePurpose, NO_TAG, registerProxy } from '@medvault/chain'
import { consentRegistryAbi } from '@medvault/contracts'
import { deriveKeysFromPrivateKey, eciesDecrypt, eciesEncrypt, getPublicKey } from '@medvault/crypto'
import {
  Capsule,
  encrypt,
  generateKFrags,
  KeyFrag,
  PublicKey,
  reencrypt,
  SecretKey,
  Signer,
} from '@medvault/crypto/umbral'
import { createProxy, type ReencryptionProxy } from '@medvault/node'
import {
  type AccessRequest,
  accessRequestBody,
  accessRequestTypedData,
  capsuleHash,
  capsuleOf,
  parseRecordEnvelope,
  randomNonce,
} from '@medvault/protocol'
import { createLocalNetwork, createVault, type LocalNetwork, type Vault } from '@medvault/sdk'
import {
  type Address,
  bytesToHex,
  createPublicClient,
  encodeFunctionData,
  type Hex,
  hexToBigInt,
  hexToBytes,
  http,
  numberToHex,
} from 'viem'
import { type PrivateKeyAccount, privateKeyToAccount } from 'viem/accounts'
import { printTable, type Row, type Table, writeResults } from './lib.ts'

/** `PROXY_SCALE=0.02` runs everything smaller (a smoke run of the bench itself); figures then mean little. */
const SCALE = Number(process.env.PROXY_SCALE ?? 1)
const FULL_CHAIN = process.env.PROXY_FULL !== '0'
const READS = Math.max(20, Math.round(300 * SCALE))
const RECORDS = Math.max(4000, Math.round((100_000 * SCALE) / 4000) * 4000)
const GRANTS = Math.max(1000, Math.round((10_000 * SCALE) / 1000) * 1000)
const RECORDS_PER_TX = 400
/** Accounts 2..6 are the other patients that fill the chain; 7 and 8 run the measured proxies. */
const FILLERS = [2, 3, 4, 5, 6]
const CONNECTIONS = [1, 16, 64] as const
const REQUESTS: Record<(typeof CONNECTIONS)[number], number> = {
  1: Math.max(20, Math.round(200 * SCALE)),
  16: Math.max(32, Math.round(480 * SCALE)),
  64: Math.max(128, Math.round(640 * SCALE)),
}
const CORES = availableParallelism()
const EMPTY = 'empty'
const FULL = `${RECORDS.toLocaleString('en')} records + ${GRANTS.toLocaleString('en')} grants`

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.ceil((p / 100) * s.length) - 1)]!
}

async function pool<T>(
  items: readonly T[],
  concurrency: number,
  fn: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0
  await Promise.all(
    Array.from({ length: Math.min(concurrency, items.length) }, async () => {
      while (next < items.length) await fn(items[next++]!)
    }),
  )
}

/** Indexes 0..n-1 in order on even rounds and reversed on odd ones, so that no side always goes first. */
const turns = (n: number, round: number) => {
  const ks = Array.from({ length: n }, (_, k) => k)
  return round % 2 === 0 ? ks : ks.reverse()
}

const log = (msg: string) => console.error(`[proxy bench ${new Date().toISOString().slice(11, 19)}] ${msg}`)
const load = () => loadavg()[0]!.toFixed(1)
const loads: string[] = []

// --- Baselines on this thread: what one re-encryption costs with no HTTP, chain, storage or receipt. --------
function timed(fn: () => unknown, budgetMs = 1500): number[] {
  for (let i = 0; i < 5; i++) fn()
  const ms: number[] = []
  const start = performance.now()
  while (performance.now() - start < budgetMs || ms.length < 20) {
    const t = performance.now()
    fn()
    ms.push(performance.now() - t)
  }
  return ms
}
const umbralSk = SecretKey.random()
const receivingSk = SecretKey.random()
const kfragSigner = new Signer(SecretKey.random())
const [bareCapsule] = encrypt(umbralSk.publicKey(), randomBytes(32))
const [bareKfrag] = generateKFrags(umbralSk, receivingSk.publicKey(), kfragSigner, 1, 1, true, true)
const capsuleBytes = bareCapsule.toBytesSimple()
const eciesKey = SecretKey.random().toBEBytes()
const aad = randomBytes(64)
const sealed = eciesEncrypt(getPublicKey(eciesKey), bareKfrag!.toBytes(), aad)
const keyBytes = [
  kfragSigner.verifyingKey().toCompressedBytes(),
  umbralSk.publicKey().toCompressedBytes(),
  receivingSk.publicKey().toCompressedBytes(),
] as const
const bareReencrypt = timed(() => reencrypt(Capsule.fromBytesSimple(capsuleBytes), bareKfrag!).toBytes())
const bareOpen = timed(() =>
  KeyFrag.fromBytes(eciesDecrypt(eciesKey, sealed, aad)).verify(
    ...(keyBytes.map((k) => PublicKey.fromCompressedBytes(k)) as [PublicKey, PublicKey, PublicKey]),
  ),
)
const baselineRows: Row[] = [
  {
    step: 'bare Umbral reencrypt + cfrag proof, this thread',
    'p50 ms': percentile(bareReencrypt, 50),
    'p99 ms': percentile(bareReencrypt, 99),
  },
  {
    step: 'ECIES open + kfrag verify (per request without the kfrag cache)',
    'p50 ms': percentile(bareOpen, 50),
    'p99 ms': percentile(bareOpen, 99),
  },
]
printTable({ title: 'Baselines on this thread (again in the summary below)', rows: baselineRows })

// --- One network per chain, set up alike. ---------------------------------------------------------------------
/** A network and what is measured on it: the clinic's reads of `rec` and two more proxies' access requests. */
interface Side {
  chain: string
  net: LocalNetwork
  patient: Vault
  clinic: Vault
  clinicAccount: PrivateKeyAccount
  /** The grantee's JSON-RPC calls by method, to show what a read asks the chain (and whether that grows). */
  clinicCalls: Map<string, number>
  rec: { id: Hex; cid: { bytes: Uint8Array } }
  /** The record's capsule hash, which every access request names. */
  hash: Hex
  /** The proxy, then the same proxy with its kfrag cache off. */
  measured: Measured[]
  /** Stops the two measured proxies and removes their receipts (the network stops the rest). */
  [Symbol.asyncDispose](): Promise<void>
}
interface Measured {
  side: Side
  label: string
  proxy: ReencryptionProxy
  grantId: Hex
}

async function setUp(net: LocalNetwork, chain: string): Promise<Side> {
  const { devnet } = net
  const { addresses } = devnet
  const patient = await net.vault(0)
  const clinicCalls = new Map<string, number>()
  const clinic = await createVault({
    account: net.accounts[1]!.privateKey,
    proxySet: net.proxySet,
    chain: {
      transport: http(devnet.rpcUrl, {
        onFetchRequest: async (request) => {
          const body = (await request.clone().json()) as { method: string } | { method: string }[]
          for (const { method } of Array.isArray(body) ? body : [body])
            clinicCalls.set(method, (clinicCalls.get(method) ?? 0) + 1)
        },
      }),
      addresses,
      chain: devnet.chain,
      deployBlock: devnet.deployBlock,
    },
    storage: net.storage,
  })
  const rec = await patient.records.put(randomBytes(1024), { mediaType: 'application/octet-stream' })
  await patient.grants.create({
    to: clinic.address,
    records: [rec.id],
    purpose: 'TREAT',
    expiresIn: '30d',
    threshold: 2,
  })
  const envelope = parseRecordEnvelope(await net.storage.getEnvelope(rec.cid))

  // Two more proxies in a proxy set of their own each: the measured one and the same without kfrag cache.
  const receiptsRoot = await mkdtemp(join(tmpdir(), 'medvault-proxy-bench-'))
  const proxies: ReencryptionProxy[] = []
  const side: Side = {
    chain,
    net,
    patient,
    clinic,
    clinicAccount: privateKeyToAccount(net.accounts[1]!.privateKey),
    clinicCalls,
    rec,
    hash: capsuleHash(capsuleOf(envelope, 'record')),
    measured: [],
    async [Symbol.asyncDispose]() {
      for (const proxy of proxies) await proxy.stop().catch(() => {})
      await rm(receiptsRoot, { recursive: true, force: true })
    },
  }
  try {
    for (const [i, label, kfragCacheSize] of [
      [8, 'proxy', 4096],
      [7, 'same, kfrag cache off', 0],
    ] as const) {
      const { eciesSecretKey } = deriveKeysFromPrivateKey(hexToBytes(net.accounts[i]!.privateKey))
      const proxy = await createProxy(
        {
          account: net.accounts[i]!.privateKey,
          eciesSecretKey,
          kfragCacheSize,
          pollingInterval: 200,
          // Durable, like an operator's: every receipt is written and datasync'ed before its answer leaves.
          receiptsDir: join(receiptsRoot, `proxy-${i}`),
          // Capacity, not the limiter, is measured: one requester sends hundreds of requests a second here.
          rateLimit: { ip: false, requester: false },
        },
        {
          publicClient: devnet.publicClient,
          storage: net.storage,
          addresses,
          deployBlock: devnet.deployBlock,
        },
      )
      proxies.push(proxy)
      await registerProxy(devnet.walletClients[i]!, {
        addresses,
        publicKey: getPublicKey(eciesSecretKey),
        endpoint: proxy.url,
      })
      const { setId } = await createProxySet(devnet.walletClients[0]!, {
        addresses,
        members: [proxy.address],
      })
      const g = await patient.grants.create({
        to: clinic.address,
        records: [rec.id],
        purpose: 'TREAT',
        expiresIn: '30d',
        threshold: 1,
        proxySet: setId,
      })
      side.measured.push({ side, label, proxy, grantId: g.id })
    }
  } catch (err) {
    await side[Symbol.asyncDispose]()
    throw err
  }
  return side
}

log(`starting the ${FULL_CHAIN ? 'two networks' : 'network'}`)
// Declared in this order, so disposed in reverse: each side's measured proxies before the network under them.
await using emptyNet = await createLocalNetwork({ proxies: 3, accounts: 14 })
await using empty = await setUp(emptyNet, EMPTY)
await using fullNet = FULL_CHAIN ? await createLocalNetwork({ proxies: 3, accounts: 14 }) : undefined
await using full = fullNet === undefined ? undefined : await setUp(fullNet, FULL)
const sides = full === undefined ? [empty] : [empty, full]
const inTurn = () =>
  sides.length === 1 ? sides[0]!.chain : `${sides.map((s) => s.chain).join(' and ')} in turn`

async function signedBodies(target: Measured, n: number): Promise<string[]> {
  const { side } = target
  const domain = {
    chainId: side.net.devnet.chain.id,
    verifyingContract: side.net.devnet.addresses.consentRegistry,
  }
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const request: AccessRequest = {
      proxy: target.proxy.address,
      grantId: target.grantId,
      recordId: side.rec.id,
      capsuleHash: side.hash,
      purpose: encodePurpose('TREAT'),
      issuedAt: Math.floor(Date.now() / 1000),
      nonce: randomNonce(),
    }
    const signature = await side.clinicAccount.signTypedData(accessRequestTypedData(domain, request))
    out.push(JSON.stringify(accessRequestBody(request, signature)))
  }
  return out
}

async function post(target: Measured, body: string): Promise<number> {
  const start = performance.now()
  const res = await fetch(`${target.proxy.url}/v1/reencrypt`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  })
  const text = await res.text()
  if (res.status !== 200) throw new Error(`proxy answered ${res.status}: ${text}`)
  return performance.now() - start
}

function row(target: Measured, connections: number, ms: number[], seconds: number): Row {
  return {
    chain: target.side.chain,
    setup: target.label,
    connections,
    requests: ms.length,
    'p50 ms': percentile(ms, 50),
    'p99 ms': percentile(ms, 99),
    'requests/s': ms.length / seconds,
  }
}

/** Each request's latency as its client sees it, `connections` requests in flight at once. */
async function access(target: Measured, connections: number, n: number): Promise<Row> {
  // Signed beforehand, so the clients' EIP-712 signing does not compete with the proxy for the 2 cores.
  const bodies = await signedBodies(target, n + connections)
  const ms: number[] = []
  await pool(bodies.slice(0, connections), connections, (b) => post(target, b).then(() => {})) // warm-up
  const start = performance.now()
  await pool(bodies.slice(connections), connections, async (b) => {
    ms.push(await post(target, b))
  })
  const seconds = (performance.now() - start) / 1000
  loads.push(load())
  return row(target, connections, ms, seconds)
}

/**
 * One connection, one request to each target in turn (the order reversed every round), so that all meet
 * the same load on this shared machine: run one after the other, they did not.
 */
async function interleaved(targets: Measured[], n: number): Promise<Row[]> {
  const bodies = await Promise.all(targets.map((t) => signedBodies(t, n + 1)))
  for (const [k, t] of targets.entries()) await post(t, bodies[k]!.pop()!) // warm-up
  const ms: number[][] = targets.map(() => [])
  for (let i = 0; i < n; i++) {
    for (const k of turns(targets.length, i)) ms[k]!.push(await post(targets[k]!, bodies[k]![i]!))
  }
  loads.push(load())
  // requests/s of one connection: requests over the time spent waiting on that target's answers.
  return targets.map((t, k) => row(t, 1, ms[k]!, ms[k]!.reduce((a, b) => a + b, 0) / 1000))
}

/** Each side's access rows in the same order: kfrag cache on and off at 1 connection, then 16 and 64. */
async function accessRows(): Promise<Row[][]> {
  log(`access requests, 1 connection, kfrag cache on and off, ${inTurn()}`)
  const first = await interleaved(
    sides.flatMap((s) => s.measured),
    REQUESTS[1],
  )
  const rows = sides.map((_, j) => first.slice(2 * j, 2 * j + 2))
  for (const [c, connections] of CONNECTIONS.filter((c) => c > 1).entries()) {
    for (const j of turns(sides.length, c)) {
      log(`access requests, ${sides[j]!.chain}, ${connections} connections`)
      rows[j]!.push(await access(sides[j]!.measured[0]!, connections, REQUESTS[connections]))
    }
  }
  return rows
}

/** The grantee's reads, one on each side in turn (the order reversed every round). */
async function reads(): Promise<Row[]> {
  log(`grantee reads, ${inTurn()}`)
  for (const s of sides) for (let i = 0; i < 20; i++) await s.clinic.records.get(s.rec.id) // warm-up
  for (const s of sides) s.clinicCalls.clear()
  const ms: number[][] = sides.map(() => [])
  for (let i = 0; i < READS; i++) {
    for (const k of turns(sides.length, i)) {
      const s = sides[k]!
      const start = performance.now()
      await s.clinic.records.get(s.rec.id)
      ms[k]!.push(performance.now() - start)
    }
  }
  loads.push(load())
  return sides.map((s, k) => ({
    chain: s.chain,
    reads: READS,
    'p50 ms': percentile(ms[k]!, 50),
    'p99 ms': percentile(ms[k]!, 99),
    'mean ms': ms[k]!.reduce((a, b) => a + b, 0) / READS,
    'RPC calls / read': [...s.clinicCalls]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([method, n]) => `${method} ${(n / READS).toFixed(2)}`)
      .join(', '),
  }))
}

// --- Fill the full side's chain by hand-mined rounds. ---------------------------------------------------------
interface Fill {
  recordSeconds: number
  chainFillSeconds: number
  indexSeconds: number
}

async function fill(side: Side): Promise<Fill> {
  const { net, rec } = side
  const { devnet } = net
  const { addresses } = devnet
  // The proxies keep running and index each round's block as it is mined, as they would follow a live chain. (Stopped
  // during the fill and started afterwards, each one's catch-up asked for the whole fill in one eth_getLogs of
  // 110,000 logs, which outlasted the client's 10 s timeout on this loaded box and failed the start.)
  const fillStart = performance.now()
  // A client of its own with a long timeout: mining a round's block takes anvil seconds.
  const rpc = createPublicClient({
    chain: devnet.chain,
    transport: http(devnet.rpcUrl, { timeout: 600_000 }),
  })
  const call = <T>(method: string, params: unknown[] = []) =>
    rpc.request({ method, params } as never) as Promise<T>
  await call('evm_setAutomine', [false])
  // One round's block holds every transaction of the round, whatever their gas limits add up to.
  await call('evm_setBlockGasLimit', [numberToHex(4_000_000_000n)])
  const nonceOf = new Map<number, number>()
  for (const i of FILLERS) {
    nonceOf.set(
      i,
      Number(
        await devnet.publicClient.getTransactionCount({
          address: devnet.accounts[i]!.address,
          blockTag: 'pending',
        }),
      ),
    )
  }

  type Tx = { data: Hex; gas: bigint }
  /**
   * One round: each filler's transactions sent in nonce order (fillers side by side) while nothing is mined,
   * then one block mined, the pool checked empty and every receipt checked a success. Anvil signs for its own
   * dev accounts (`eth_sendTransaction`), so nothing is signed here.
   */
  async function round(txsOf: Map<number, Tx[]>): Promise<void> {
    const sent = new Set<Hex>()
    await Promise.all(
      [...txsOf].map(async ([i, txs]) => {
        for (const { data, gas } of txs) {
          const nonce = nonceOf.get(i)!
          nonceOf.set(i, nonce + 1)
          const hash = await call<Hex>('eth_sendTransaction', [
            {
              from: devnet.accounts[i]!.address,
              to: addresses.consentRegistry,
              data,
              gas: numberToHex(gas),
              nonce: numberToHex(nonce),
              // far above a devnet's base fee; the fillers hold 10,000 ETH each
              maxFeePerGas: numberToHex(20_000_000_000n),
              maxPriorityFeePerGas: numberToHex(1_000_000_000n),
            },
          ])
          sent.add(hash)
        }
      }),
    )
    let mined = 0
    for (let attempt = 0; attempt < 3 && mined < sent.size; attempt++) {
      await call('evm_mine')
      const block = await call<Hex>('eth_blockNumber')
      const receipts = await call<{ transactionHash: Hex; status: Hex }[]>('eth_getBlockReceipts', [block])
      for (const r of receipts) {
        if (!sent.has(r.transactionHash)) continue
        if (r.status !== '0x1') throw new Error(`fill transaction ${r.transactionHash} reverted`)
        mined++
      }
    }
    const status = await call<{ pending: Hex; queued: Hex }>('txpool_status')
    if (mined !== sent.size || hexToBigInt(status.pending) !== 0n || hexToBigInt(status.queued) !== 0n) {
      throw new Error(
        `fill round: ${mined} of ${sent.size} transactions mined; pool pending ${status.pending}, queued ${status.queued}`,
      )
    }
  }

  const cid = bytesToHex(rec.cid.bytes)
  const recordsOf = new Map<number, Hex[]>(
    FILLERS.map((i) => [
      i,
      Array.from({ length: RECORDS / FILLERS.length }, () => bytesToHex(randomBytes(32))),
    ]),
  )
  const BATCHES_PER_ROUND = 2
  const batchesPerFiller = RECORDS / FILLERS.length / RECORDS_PER_TX
  log(`registering ${RECORDS} records (load ${load()})`)
  for (let b = 0; b < batchesPerFiller; b += BATCHES_PER_ROUND) {
    const txsOf = new Map<number, Tx[]>()
    for (const i of FILLERS) {
      const owner = devnet.accounts[i]!.address
      const ids = recordsOf.get(i)!
      const txs: Tx[] = []
      for (let k = b; k < Math.min(b + BATCHES_PER_ROUND, batchesPerFiller); k++) {
        const batch = ids.slice(k * RECORDS_PER_TX, (k + 1) * RECORDS_PER_TX)
        txs.push({
          data: encodeFunctionData({
            abi: consentRegistryAbi,
            functionName: 'registerRecords',
            args: [owner, batch.map((recordId) => ({ recordId, tag: NO_TAG, cid }))],
          }),
          gas: 25_000_000n,
        })
      }
      txsOf.set(i, txs)
    }
    await round(txsOf)
    const done = Math.min(b + BATCHES_PER_ROUND, batchesPerFiller) * RECORDS_PER_TX * FILLERS.length
    if (done % 20_000 === 0) log(`${done} records mined (load ${load()})`)
  }
  const recordSeconds = (performance.now() - fillStart) / 1000
  log(`records in ${recordSeconds.toFixed(0)} s; sending ${GRANTS} grants`)
  const expiry = Math.floor(Date.now() / 1000) + 30 * 86_400
  const GRANTS_PER_ROUND = 200
  const grantsPerFiller = GRANTS / FILLERS.length
  for (let from = 0; from < grantsPerFiller; from += GRANTS_PER_ROUND) {
    const txsOf = new Map<number, Tx[]>()
    for (const i of FILLERS) {
      const ids = recordsOf.get(i)!
      const txs: Tx[] = []
      for (let k = from; k < Math.min(from + GRANTS_PER_ROUND, grantsPerFiller); k++) {
        txs.push({
          data: encodeFunctionData({
            abi: consentRegistryAbi,
            functionName: 'grant',
            args: [
              encodeGrantParams({
                grantee: bytesToHex(randomBytes(20)) as Address,
                scope: { kind: 'record', recordId: ids[k % ids.length]! },
                purpose: 'TREAT',
                expiry,
                threshold: 2,
                proxySetId: net.proxySet,
                kfragsCid: rec.cid.bytes,
              }),
            ],
          }),
          gas: 400_000n,
        })
      }
      txsOf.set(i, txs)
    }
    await round(txsOf)
    const done = Math.min(from + GRANTS_PER_ROUND, grantsPerFiller) * FILLERS.length
    if (done % 2000 === 0) log(`${done} grants mined (load ${load()})`)
  }
  await call('evm_setBlockGasLimit', [numberToHex(30_000_000n)])
  await call('evm_setAutomine', [true])
  const filled = await devnet.publicClient.getBlockNumber()
  const chainFillSeconds = (performance.now() - fillStart) / 1000
  log(`chain at block ${filled} after ${chainFillSeconds.toFixed(0)} s; waiting for the proxies' indexes`)
  const indexStart = performance.now()
  const all = [...net.proxies.map((p) => p.proxy), ...side.measured.map((m) => m.proxy)]
  for (const [n, p] of all.entries()) {
    let shown = performance.now()
    while (BigInt(p.health().indexedBlock ?? -1) < filled) {
      await new Promise((r) => setTimeout(r, 500))
      if (performance.now() - shown > 30_000) {
        shown = performance.now()
        log(`proxy ${n} indexed to block ${p.health().indexedBlock ?? 'none'} of ${filled}`)
      }
    }
  }
  const indexSeconds = (performance.now() - indexStart) / 1000
  return { recordSeconds, chainFillSeconds, indexSeconds }
}

// Wait until the measured proxies have indexed their grants.
await new Promise((r) => setTimeout(r, 1000))
const filled = full === undefined ? undefined : await fill(full)

// --- Both chains measured in the same minutes. ---------------------------------------------------------------
const [emptyAccess, fullAccess] = await accessRows()
const [emptyReads, fullReads] = await reads()

if (full === undefined || fullAccess === undefined || fullReads === undefined || filled === undefined) {
  const emptyTable: Table = {
    title: 'Access requests to one proxy over HTTP on 127.0.0.1, empty chain only (PROXY_FULL=0)',
    rows: [...emptyAccess!, emptyReads!],
    notes: [`1-minute load average after each measuring step: ${loads.join(', ')}.`],
  }
  printTable(emptyTable)
  console.log(`\nresults: ${writeResults('proxy-empty', [emptyTable])}`)
} else {
  for (const [i, row] of fullAccess.entries()) {
    row['p50 vs empty'] = Number(row['p50 ms']) / Number(emptyAccess![i]!['p50 ms'])
  }
  fullReads['p50 vs empty'] = Number(fullReads['p50 ms']) / Number(emptyReads!['p50 ms'])
  fullReads['p99 vs empty'] = Number(fullReads['p99 ms']) / Number(emptyReads!['p99 ms'])

  const met = (ok: boolean) => (ok ? 'met' : 'missed')
  const p50At = (rows: Row[], c: number) =>
    Number(rows.find((r) => r.setup === 'proxy' && r.connections === c)!['p50 ms'])
  const accessTable: Table = {
    title: 'Access requests to one proxy over HTTP on 127.0.0.1 (pre-signed, every answer checked 200)',
    rows: [...emptyAccess!, ...fullAccess],
    notes: [
      `target p50 ≤ 30 ms at 1 connection: empty ${met(p50At(emptyAccess!, 1) <= 30)}, full ${met(p50At(fullAccess, 1) <= 30)}.`,
      "A request = signature check, grant and record from the index, checkAccess and record version on chain (read together), the KeyRegistry keys (cached until the index reads a KeysPublished), envelope and bundle (cached by CID), re-encryption in a worker thread, a signed receipt written and datasync'ed (concurrent receipts share one flush) before the answer leaves.",
      'Both chains run at once, each on its own anvil, store and proxies. At 1 connection the four proxies (cache on and off, empty and full chain) take turns request by request, the order reversed every round; the 16- and 64-connection runs alternate between the chains run by run.',
      `worker threads = availableParallelism() = ${CORES}; client, proxies and both anvils share those cores.`,
    ],
  }
  const baselineTable: Table = {
    title: 'Baselines on this thread, same process',
    rows: baselineRows,
  }
  const readsTable: Table = {
    title: `Grantee read of a 1 KiB record through 2 of 3 HTTP proxies on 127.0.0.1, ${READS} reads on each chain, in turn`,
    rows: [emptyReads!, fullReads],
    notes: [
      'A read = records.get by the grantee: grant lookup and checkAccess on chain, envelope and bundle from storage, two signed requests, two cfrags verified, receipts verified, content fetched and decrypted.',
      'The two chains run at once, each on its own anvil, store and 3 proxies; reads alternate between them (empty, full, full, empty, …), so both meet the same machine.',
      `Filling the chain (${RECORDS / RECORDS_PER_TX} registerRecords + ${GRANTS} grant transactions, hand-mined) took ${filled.chainFillSeconds.toFixed(0)} s (records ${filled.recordSeconds.toFixed(0)} s); the proxies indexed each round's block as it was mined and had read the last one ${filled.indexSeconds.toFixed(0)} s after it.`,
      `Machine: ${CORES} cores shared with both anvils, the proxies, the client and other work; 1-minute load average after each measuring step: ${loads.join(', ')}.`,
    ],
  }
  printTable(baselineTable)
  printTable(accessTable)
  printTable(readsTable)
  console.log(`\nresults: ${writeResults('proxy', [accessTable, baselineTable, readsTable])}`)
}
