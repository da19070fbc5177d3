/**
 * The re-encryption proxy over HTTP on 127.0.0.1, on an empty chain and on a full one.
 *
 * 1. Access requests: signed requests POSTed straight to one proxy (its own proxy set, a 1-of-1 grant, durable
 *    receipt log, a worker thread per core, rate limits off) at 1, 16 and 64 connections: each request's
 *    latency (p50 / p99) and the requests per second. Target: p50 ≤ 30 ms per request. Baselines in the same
 *    process: the bare Umbral `reencrypt` (with its cfrag proof) on this thread, the ECIES open + kfrag check a
 *    proxy without its kfrag cache adds to each request, and the same proxy with its kfrag cache off.
 * 2. A grantee's `records.get` of a 1 KiB record through 2 of 3 proxies (`createLocalNetwork`), end to end.
 * 3. Both again after 100,000 records and 10,000 grants of other patients are registered on the chain (the
 *    proxies index them all first): ratio to the empty-chain figures (target ≤ 1.1×).
 *
 * The fill mines by hand: automine off, each round's transactions (batched `registerRecords` of 400 records,
 * then single `grant`s) sent by five funded accounts with explicit nonces while no block is being mined, then
 * one `evm_mine`, the pool checked empty and every receipt checked. Sent while anvil mines (automine, or a
 * timer), a transaction can be validated against the nonce before a block and reach the pool after that block
 * was pruned from it: it then waits for a predecessor that is already mined, and stays queued for good while
 * anvil mines empty blocks around it (anvil's pool derives "ready" from markers, not from the account nonce).
 *
 * Run: `npx -y pnpm@10 bench proxy` (or `npx -y pnpm@10 exec node bench/proxy.bench.ts` after a build).
 * `PROXY_FULL=0` measures the empty chain only (no fill, no full-chain rows): minutes shorter, for comparing
 * two builds of the proxy back to back.
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
import { createLocalNetwork, createVault } from '@medvault/sdk'
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
import { privateKeyToAccount } from 'viem/accounts'
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

const log = (msg: string) => console.error(`[proxy bench ${new Date().toISOString().slice(11, 19)}] ${msg}`)
const load = () => loadavg()[0]!.toFixed(1)
const loads: string[] = []

await using net = await createLocalNetwork({ proxies: 3, accounts: 14 })
const { devnet } = net
const { addresses } = devnet
const patient = await net.vault(0)
/** The grantee's JSON-RPC calls by method, to show what a read asks the chain (and whether that grows). */
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

// --- Two more proxies in a proxy set of their own each: the measured one and the same without kfrag cache. ----
const clinicAccount = privateKeyToAccount(net.accounts[1]!.privateKey)
const chainId = devnet.publicClient.chain.id
const domain = { chainId, verifyingContract: addresses.consentRegistry }
const receiptsRoot = await mkdtemp(join(tmpdir(), 'medvault-proxy-bench-'))
interface Measured {
  label: string
  proxy: ReencryptionProxy
  grantId: Hex
}
const measured: Measured[] = []
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
    { publicClient: devnet.publicClient, storage: net.storage, addresses, deployBlock: devnet.deployBlock },
  )
  await registerProxy(devnet.walletClients[i]!, {
    addresses,
    publicKey: getPublicKey(eciesSecretKey),
    endpoint: proxy.url,
  })
  const { setId } = await createProxySet(devnet.walletClients[0]!, { addresses, members: [proxy.address] })
  const g = await patient.grants.create({
    to: clinic.address,
    records: [rec.id],
    purpose: 'TREAT',
    expiresIn: '30d',
    threshold: 1,
    proxySet: setId,
  })
  measured.push({ label, proxy, grantId: g.id })
}
const envelope = parseRecordEnvelope(await net.storage.getEnvelope(rec.cid))
const hash = capsuleHash(capsuleOf(envelope, 'record'))

async function signedBodies(target: Measured, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const request: AccessRequest = {
      proxy: target.proxy.address,
      grantId: target.grantId,
      recordId: rec.id,
      capsuleHash: hash,
      purpose: encodePurpose('TREAT'),
      issuedAt: Math.floor(Date.now() / 1000),
      nonce: randomNonce(),
    }
    const signature = await clinicAccount.signTypedData(accessRequestTypedData(domain, request))
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

function row(chain: string, target: Measured, connections: number, ms: number[], seconds: number): Row {
  return {
    chain,
    setup: target.label,
    connections,
    requests: ms.length,
    'p50 ms': percentile(ms, 50),
    'p99 ms': percentile(ms, 99),
    'requests/s': ms.length / seconds,
  }
}

/** Each request's latency as its client sees it, `connections` requests in flight at once. */
async function access(target: Measured, connections: number, n: number, chain: string): Promise<Row> {
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
  return row(chain, target, connections, ms, seconds)
}

/**
 * One connection, requests alternating between the proxy and the same proxy with its kfrag cache off, so
 * that both meet the same load on this shared machine (run one after the other, they did not).
 */
async function interleaved(n: number, chain: string): Promise<Row[]> {
  const [on, off] = [measured[0]!, measured[1]!]
  const bodies = await Promise.all([signedBodies(on, n + 1), signedBodies(off, n + 1)])
  await post(on, bodies[0].pop()!)
  await post(off, bodies[1].pop()!)
  const ms: number[][] = [[], []]
  const busy = [0, 0]
  for (let i = 0; i < n; i++) {
    for (const k of i % 2 === 0 ? [0, 1] : [1, 0]) {
      const t = await post(k === 0 ? on : off, bodies[k]![i]!)
      ms[k]!.push(t)
      busy[k]! += t
    }
  }
  loads.push(load())
  return [row(chain, on, 1, ms[0]!, busy[0]! / 1000), row(chain, off, 1, ms[1]!, busy[1]! / 1000)]
}

async function accessRows(chain: string): Promise<Row[]> {
  log(`access requests, ${chain}, 1 connection, kfrag cache on and off in turn`)
  const rows = await interleaved(REQUESTS[1], chain)
  for (const connections of CONNECTIONS.filter((c) => c > 1)) {
    log(`access requests, ${chain}, ${connections} connections`)
    rows.push(await access(measured[0]!, connections, REQUESTS[connections], chain))
  }
  return rows
}

async function reads(chain: string): Promise<Row> {
  log(`grantee reads, ${chain}`)
  for (let i = 0; i < 20; i++) await clinic.records.get(rec.id) // warm-up
  clinicCalls.clear()
  const ms: number[] = []
  for (let i = 0; i < READS; i++) {
    const start = performance.now()
    await clinic.records.get(rec.id)
    ms.push(performance.now() - start)
  }
  loads.push(load())
  return {
    chain,
    reads: READS,
    'p50 ms': percentile(ms, 50),
    'p99 ms': percentile(ms, 99),
    'mean ms': ms.reduce((a, b) => a + b, 0) / ms.length,
    'RPC calls / read': [...clinicCalls]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([method, n]) => `${method} ${(n / READS).toFixed(2)}`)
      .join(', '),
  }
}

// Wait until both new proxies have indexed their grants.
await new Promise((r) => setTimeout(r, 1000))
const EMPTY = 'empty'
const emptyAccess = await accessRows(EMPTY)
const emptyReads = await reads(EMPTY)
// Shown at once: the fill below takes minutes and these figures stand on their own.
printTable({ title: 'Empty chain (again in the summary below)', rows: [...emptyAccess, emptyReads] })

if (!FULL_CHAIN) {
  for (const m of measured) await m.proxy.stop()
  await rm(receiptsRoot, { recursive: true, force: true })
  const empty: Table = {
    title: 'Access requests to one proxy over HTTP on 127.0.0.1, empty chain only (PROXY_FULL=0)',
    rows: [...emptyAccess, emptyReads],
    notes: [`1-minute load average after each row: ${loads.join(', ')}.`],
  }
  console.log(`\nresults: ${writeResults('proxy-empty', [empty])}`)
} else {
  // --- Fill the chain by hand-mined rounds. -------------------------------------------------------------------
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
  const all = [...net.proxies.map((p) => p.proxy), ...measured.map((m) => m.proxy)]
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
  const FULL = `${RECORDS.toLocaleString('en')} records + ${GRANTS.toLocaleString('en')} grants`
  const fullAccess = await accessRows(FULL)
  const fullReads = await reads(FULL)
  for (const [i, row] of fullAccess.entries()) {
    row['p50 vs empty'] = Number(row['p50 ms']) / Number(emptyAccess[i]!['p50 ms'])
  }
  fullReads['p50 vs empty'] = Number(fullReads['p50 ms']) / Number(emptyReads['p50 ms'])
  fullReads['p99 vs empty'] = Number(fullReads['p99 ms']) / Number(emptyReads['p99 ms'])
  for (const m of measured) await m.proxy.stop()
  await rm(receiptsRoot, { recursive: true, force: true })

  const met = (ok: boolean) => (ok ? 'met' : 'missed')
  const p50At = (rows: Row[], c: number) =>
    Number(rows.find((r) => r.setup === 'proxy' && r.connections === c)!['p50 ms'])
  const accessTable: Table = {
    title: 'Access requests to one proxy over HTTP on 127.0.0.1 (pre-signed, every answer checked 200)',
    rows: [...emptyAccess, ...fullAccess],
    notes: [
      `target p50 ≤ 30 ms at 1 connection: empty ${met(p50At(emptyAccess, 1) <= 30)}, full ${met(p50At(fullAccess, 1) <= 30)}.`,
      "A request = signature check, grant and record from the index, checkAccess and record version on chain (read together), the KeyRegistry keys (cached until the index reads a KeysPublished), envelope and bundle (cached by CID), re-encryption in a worker thread, a signed receipt written and datasync'ed (concurrent receipts share one flush) before the answer leaves.",
      `worker threads = availableParallelism() = ${CORES}; client, proxy and anvil share those cores.`,
    ],
  }
  const baselineTable: Table = {
    title: 'Baselines on this thread, same process',
    rows: baselineRows,
  }
  const readsTable: Table = {
    title: `Grantee read of a 1 KiB record through 2 of 3 HTTP proxies on 127.0.0.1, ${READS} reads in a row`,
    rows: [emptyReads, fullReads],
    notes: [
      'A read = records.get by the grantee: grant lookup and checkAccess on chain, envelope and bundle from storage, two signed requests, two cfrags verified, receipts verified, content fetched and decrypted.',
      `Filling the chain (${RECORDS / RECORDS_PER_TX} registerRecords + ${GRANTS} grant transactions, hand-mined) took ${chainFillSeconds.toFixed(0)} s (records ${recordSeconds.toFixed(0)} s); the proxies indexed each round's block as it was mined and had read the last one ${indexSeconds.toFixed(0)} s after it.`,
      `Machine: ${CORES} cores shared with anvil, the proxies, the client and other work; 1-minute load average after each row: ${loads.join(', ')}.`,
    ],
  }
  printTable(baselineTable)
  printTable(accessTable)
  printTable(readsTable)
  console.log(`\nresults: ${writeResults('proxy', [accessTable, baselineTable, readsTable])}`)
}
