/**
 * Reads through the HTTP re-encryption proxies on 127.0.0.1, on an empty chain and a full one.
 *
 * 1. Latency: a grantee's `records.get` of a 1 KiB record through 2 of 3 proxies (`createLocalNetwork`),
 *    500 reads one after another: p50 / p99 (target p50 ≤ 30 ms).
 * 2. Throughput: signed access requests sent straight to one proxy over HTTP, 1 and 16 clients at once, with
 *    the proxy's re-encryption pool at `availableParallelism()` worker threads vs one worker thread. Baseline:
 *    the bare Umbral `reencrypt` rate on this thread (what one core does with no HTTP, chain or storage).
 * 3. The same 500 reads again after 100,000 records and 10,000 grants of other patients are registered on
 *    the chain (the proxies index them all first): ratio to the empty-chain figures (target ≤ 1.1×).
 *
 * Run: `npx -y pnpm@10 bench proxy` (or `npx -y pnpm@10 exec node bench/proxy.bench.ts` after a build).
 */
import { randomBytes } from 'node:crypto'
import { availableParallelism } from 'node:os'
import { createProxySet, encodeGrantParams, encodePurpose, NO_TAG, registerProxy } from '@medvault/chain'
import { consentRegistryAbi } from '@medvault/contracts'
import { deriveKeysFromPrivateKey, getPublicKey } from '@medvault/crypto'
import { Capsule, encrypt, generateKFrags, reencrypt, SecretKey, Signer } from '@medvault/crypto/umbral'
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
import { createLocalNetwork } from '@medvault/sdk'
import { bytesToHex, createPublicClient, createWalletClient, type Hex, hexToBytes, http } from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import { waitForTransactionReceipt, writeContract } from 'viem/actions'
import { measure, printTable, type Row, type Table, writeResults } from './lib.ts'

const READS = 500
const RECORDS = 100_000
const GRANTS = 10_000
const RECORDS_PER_TX = 400
/** Accounts 2..6 are the other patients that fill the chain; 7 and 8 run the throughput proxies. */
const FILLERS = [2, 3, 4, 5, 6]
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

await using net = await createLocalNetwork({ proxies: 3, accounts: 14 })
const { devnet } = net
const { addresses } = devnet
const patient = await net.vault(0)
const clinic = await net.vault(1)
const rec = await patient.records.put(randomBytes(1024), { mediaType: 'application/octet-stream' })
await patient.grants.create({
  to: clinic.address,
  records: [rec.id],
  purpose: 'TREAT',
  expiresIn: '30d',
  threshold: 2,
})

async function latency(label: string): Promise<Row> {
  for (let i = 0; i < 20; i++) await clinic.records.get(rec.id) // warm-up
  const ms: number[] = []
  for (let i = 0; i < READS; i++) {
    const start = performance.now()
    await clinic.records.get(rec.id)
    ms.push(performance.now() - start)
  }
  return {
    chain: label,
    reads: READS,
    'p50 ms': percentile(ms, 50),
    'p99 ms': percentile(ms, 99),
    'mean ms': ms.reduce((a, b) => a + b, 0) / ms.length,
  }
}

log('latency, empty chain')
const empty = await latency('empty (1 record, 1 grant)')
// Shown at once: the fill below takes minutes and these figures stand on their own.
printTable({ title: 'Empty chain (again in the summary below)', rows: [empty] })

// --- Throughput: two more proxies, one with a single worker thread, one with a worker per core. -------------
log('throughput')
const clinicAccount = privateKeyToAccount(net.accounts[1]!.privateKey)
const chainId = devnet.publicClient.chain.id
const domain = { chainId, verifyingContract: addresses.consentRegistry }
const extra: { workers: number; proxy: ReencryptionProxy }[] = []
for (const [i, workers] of [
  [7, 1],
  [8, CORES],
] as const) {
  const { eciesSecretKey } = deriveKeysFromPrivateKey(hexToBytes(net.accounts[i]!.privateKey))
  const proxy = await createProxy(
    {
      account: net.accounts[i]!.privateKey,
      eciesSecretKey,
      workers,
      pollingInterval: 200,
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
  extra.push({ workers, proxy })
}
const { setId } = await createProxySet(devnet.walletClients[0]!, {
  addresses,
  members: extra.map((e) => e.proxy.address),
})
const soloGrant = await patient.grants.create({
  to: clinic.address,
  records: [rec.id],
  purpose: 'TREAT',
  expiresIn: '30d',
  threshold: 1,
  proxySet: setId,
})
const envelope = parseRecordEnvelope(await net.storage.getEnvelope(rec.cid))
const hash = capsuleHash(capsuleOf(envelope, 'record'))

async function signedBodies(proxy: ReencryptionProxy, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const request: AccessRequest = {
      proxy: proxy.address,
      grantId: soloGrant.id,
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

async function rate(proxy: ReencryptionProxy, clients: number, n: number): Promise<number> {
  // Signed beforehand, so the clients' EIP-712 signing does not compete with the proxy for the 2 cores.
  const bodies = await signedBodies(proxy, n + clients)
  const post = async (body: string) => {
    const res = await fetch(`${proxy.url}/v1/reencrypt`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body,
    })
    const text = await res.text()
    if (res.status !== 200) throw new Error(`proxy answered ${res.status}: ${text}`)
  }
  await pool(bodies.slice(0, clients), clients, post) // warm-up: one per client
  const start = performance.now()
  await pool(bodies.slice(clients), clients, post)
  return n / ((performance.now() - start) / 1000)
}

// Wait until both new proxies have indexed the grant.
await new Promise((r) => setTimeout(r, 1000))
const throughputRows: Row[] = []
const umbralSk = SecretKey.random()
const [capsule] = encrypt(umbralSk.publicKey(), randomBytes(32))
const [kfrag] = generateKFrags(
  umbralSk,
  SecretKey.random().publicKey(),
  new Signer(SecretKey.random()),
  1,
  1,
  true,
  true,
)
const bare = await measure(() => reencrypt(Capsule.fromBytesSimple(capsule.toBytesSimple()), kfrag!), {
  budgetMs: 2000,
})
const bareRate = 1000 / bare.ms
throughputRows.push({
  setup: 'bare Umbral reencrypt, this thread (baseline)',
  clients: 1,
  're-encryptions/s': bareRate,
})
for (const clients of [1, 16]) {
  for (const { workers, proxy } of extra) {
    const r = await rate(proxy, clients, clients === 1 ? 200 : 480)
    throughputRows.push({
      setup: `proxy over HTTP, ${workers} worker thread${workers === 1 ? '' : 's'}`,
      clients,
      're-encryptions/s': r,
      'vs bare': r / bareRate,
    })
  }
}
for (const { proxy } of extra) await proxy.stop()
printTable({ title: 'Throughput (again in the summary below)', rows: throughputRows })

// --- Fill the chain: 100,000 records in batches, 10,000 grants sent with explicit nonces. ------------------
// The network's proxies stop during the fill (their index pollers too): they share this process and its 2 cores
// with the senders. Started again afterwards, they catch up from their checkpoints before the reads.
for (const p of net.proxies) await p.stop()
log(`registering ${RECORDS} records`)
const fillStart = performance.now()
const cid = rec.cid.bytes
// Clients of their own with a long timeout: anvil answers slowly while it executes a backlog of big batches.
const fillers = new Map(
  FILLERS.map((i) => [
    i,
    createWalletClient({
      account: devnet.accounts[i]!,
      chain: devnet.chain,
      transport: http(devnet.rpcUrl, { timeout: 300_000, retryCount: 0 }),
    }),
  ]),
)
// Receipts are polled every 250 ms, not at the devnet client's 20 ms: five accounts waiting at once would
// otherwise keep a busy anvil answering eth_blockNumber instead of mining.
const fillReader = createPublicClient({
  chain: devnet.chain,
  transport: http(devnet.rpcUrl, { timeout: 300_000 }),
  pollingInterval: 250,
})
const nonceOf = new Map<number, number>()
for (const i of FILLERS)
  nonceOf.set(
    i,
    await devnet.publicClient.getTransactionCount({
      address: devnet.accounts[i]!.address,
      blockTag: 'pending',
    }),
  )
/**
 * Sends `count` transactions of account `i` with consecutive explicit nonces, a fixed gas limit and fixed fees:
 * no simulation, no estimate (each would execute the call once more). They go one after another in nonce order,
 * in windows of `window`: after each window its last receipt is awaited (the earlier nonces are mined by then),
 * so anvil's pool stays small, and checked with the window's first.
 *
 * Known problem: on a heavily loaded machine anvil 1.7.1 has left a window's transactions pending for good — the
 * account's next nonce, fees far above the base fee — while it kept mining empty blocks (sent all at once, out of
 * order, and in order alike); the fill then ends on the receipt timeout.
 */
async function send(
  i: number,
  count: number,
  window: number,
  tx: (k: number) => { functionName: 'grant' | 'registerRecords'; args: readonly unknown[]; gas: bigint },
  progress: (done: number) => void = () => {},
) {
  const client = fillers.get(i)!
  const first = nonceOf.get(i)!
  nonceOf.set(i, first + count)
  for (let from = 0; from < count; from += window) {
    const ks = Array.from({ length: Math.min(window, count - from) }, (_, j) => from + j)
    const hashes: Hex[] = []
    for (const k of ks) {
      const { functionName, args, gas } = tx(k)
      hashes.push(
        await writeContract(client, {
          address: addresses.consentRegistry,
          abi: consentRegistryAbi,
          functionName,
          args,
          nonce: first + k,
          gas,
          // far above a devnet's base fee, so nothing waits on the fee market; the fillers hold 10,000 ETH each
          maxFeePerGas: 20_000_000_000n,
          maxPriorityFeePerGas: 1_000_000_000n,
        } as never),
      )
    }
    for (const h of [hashes.at(-1)!, hashes[0]!]) {
      const receipt = await waitForTransactionReceipt(fillReader, { hash: h, timeout: 600_000 })
      if (receipt.status !== 'success') throw new Error(`${tx(0).functionName} transaction ${h} reverted`)
    }
    progress(ks.length)
  }
}
// Automine mines a block when a transaction arrives; one that did not fit in that block (two 25M-gas batches
// against a 30M block gas limit) would wait for a next arrival that may never come. Mine on a timer as well.
const miner = setInterval(() => void devnet.testClient.mine({ blocks: 1 }).catch(() => {}), 500)
const recordsOf = new Map<number, Hex[]>()
await Promise.all(
  FILLERS.map(async (i) => {
    const ids = Array.from({ length: RECORDS / FILLERS.length }, () => bytesToHex(randomBytes(32)))
    recordsOf.set(i, ids)
    const owner = devnet.accounts[i]!.address
    await send(i, ids.length / RECORDS_PER_TX, 10, (k) => ({
      functionName: 'registerRecords',
      args: [
        owner,
        ids
          .slice(k * RECORDS_PER_TX, (k + 1) * RECORDS_PER_TX)
          .map((recordId) => ({ recordId, tag: NO_TAG, cid: bytesToHex(cid) })),
      ],
      gas: 25_000_000n,
    }))
  }),
)
log(`records in ${((performance.now() - fillStart) / 1000).toFixed(0)} s; sending ${GRANTS} grants`)
const expiry = Math.floor(Date.now() / 1000) + 30 * 86_400
let granted = 0
await Promise.all(
  FILLERS.map(async (i) => {
    const ids = recordsOf.get(i)!
    const progress = (n: number) => {
      granted += n
      if (granted % 2000 < n) log(`${granted} grants mined`)
    }
    await send(
      i,
      GRANTS / FILLERS.length,
      50,
      (k) => ({
        functionName: 'grant',
        args: [
          encodeGrantParams({
            grantee: bytesToHex(randomBytes(20)),
            scope: { kind: 'record', recordId: ids[k % ids.length]! },
            purpose: 'TREAT',
            expiry,
            threshold: 2,
            proxySetId: net.proxySet,
            kfragsCid: cid,
          }),
        ],
        gas: 400_000n,
      }),
      progress,
    )
  }),
)
clearInterval(miner)
const filled = await devnet.publicClient.getBlockNumber()
log(
  `grants in; chain at block ${filled} after ${((performance.now() - fillStart) / 1000).toFixed(0)} s; waiting for the proxies' indexes`,
)
const indexStart = performance.now()
for (const p of net.proxies) await p.start()
for (const [n, p] of net.proxies.entries()) {
  let shown = performance.now()
  while (BigInt(p.proxy.health().indexedBlock ?? -1) < filled) {
    await new Promise((r) => setTimeout(r, 500))
    if (performance.now() - shown > 30_000) {
      shown = performance.now()
      log(`proxy ${n} indexed to block ${p.proxy.health().indexedBlock ?? 'none'} of ${filled}`)
    }
  }
}
const indexSeconds = (performance.now() - indexStart) / 1000
const fillSeconds = (performance.now() - fillStart) / 1000
log('latency, full chain')
const full = await latency(`${RECORDS.toLocaleString('en')} records + ${GRANTS.toLocaleString('en')} grants`)
full['p50 ratio'] = Number(full['p50 ms']) / Number(empty['p50 ms'])
full['p99 ratio'] = Number(full['p99 ms']) / Number(empty['p99 ms'])

const latencyTable: Table = {
  title: `Grantee read of a 1 KiB record through 2 of 3 HTTP proxies on 127.0.0.1, ${READS} reads in a row`,
  rows: [empty, full],
  notes: [
    `target: p50 ≤ 30 ms (empty: ${Number(empty['p50 ms']) <= 30 ? 'met' : 'missed'}); full/empty ≤ 1.1× (p50: ${Number(full['p50 ratio']) <= 1.1 ? 'met' : 'missed'}, p99: ${Number(full['p99 ratio']) <= 1.1 ? 'met' : 'missed'}).`,
    'A read = records.get by the grantee: grant lookup and checkAccess on chain, envelope and bundle from storage,',
    'two signed requests, two cfrags verified, receipts verified, content fetched and decrypted.',
    `Filling the chain took ${fillSeconds.toFixed(0)} s (the proxies' indexes caught up in ${indexSeconds.toFixed(0)} s of it).`,
    `Machine: ${CORES} cores shared with anvil, the proxies, the client and other work running at the same time.`,
  ],
}
const throughputTable: Table = {
  title: 'Re-encryptions/s of one proxy over HTTP (pre-signed requests, every answer checked 200)',
  rows: throughputRows,
  notes: [
    `worker threads = availableParallelism() = ${CORES}; client, proxy and anvil share those cores.`,
    'Each request also costs the proxy a checkAccess and record read on chain, the envelope and bundle from the',
    'store, key checks and a signed, fsync-free receipt: the bare Umbral rate is an upper bound, not a target.',
  ],
}
printTable(latencyTable)
printTable(throughputTable)
console.log(`\nresults: ${writeResults('proxy', [latencyTable, throughputTable])}`)
