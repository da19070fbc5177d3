/**
 * The re-encryption proxy as an operator runs it: `medvault-node init` with an imported (funded devnet)
 * key, `proxy register` on chain from the command line with the node's one HTTP endpoint, `start` with every
 * service as a child process, and a doctor's SDK vault reading a patient's record through that proxy (a
 * 1-of-1 proxy set the operator created with `proxy set`), with every cfrag and receipt verified by the SDK; the read's receipt is anchored on
 * chain by the node. The Pinning Service API, the gateway, the proxy, health and metrics all answer on that
 * one port (nothing listens on a second one). Then a second `proxy register` updates the entry, and SIGTERM
 * stops the node cleanly.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { deriveKeysFromPrivateKey, getPublicKey } from '@medvault/crypto'
import { createStorage } from '@medvault/storage'
import { bytesToHex, hexToBytes } from 'viem'
import { afterAll, beforeAll, expect, test } from 'vitest'
import { type DaemonProcess, freePort, PASSPHRASE, runNode, startDaemon } from './daemon-process.ts'
import { createWorld, type World } from './world.ts'

let world: World
let root: string
let daemon: DaemonProcess | undefined

beforeAll(async () => {
  world = await createWorld()
  root = await mkdtemp(join(tmpdir(), 'mvn-proxy-'))
}, 600_000)

afterAll(async () => {
  daemon?.kill('SIGKILL')
  await daemon?.exited
  await world?.stop()
  await rm(root, { recursive: true, force: true })
}, 60_000)

test('default: init, proxy register, start with the proxy service; a doctor reads through it', async () => {
  const repo = join(root, 'node')
  const operatorKey = world.devnet.anvil.accounts[5]!.privateKey
  const operator = world.devnet.accounts[5]!.address
  const env = { MEDVAULT_NODE_PASSPHRASE: PASSPHRASE, OPERATOR_KEY: operatorKey }
  const init = await runNode(
    ['init', '--repo', repo, '--listen', '/ip4/127.0.0.1/tcp/0', '--import-key-env', 'OPERATOR_KEY'],
    env,
  )
  expect(init.code, init.stderr).toBe(0)
  expect(init.stdout.trim()).toBe(operator)
  const keystore = await readFile(join(repo, 'keystore.json'), 'utf8')
  expect(keystore).not.toContain(operatorKey.slice(2))

  const deployment = join(root, 'deployment.json')
  await writeFile(
    deployment,
    JSON.stringify({ addresses: world.devnet.addresses, deployBlock: world.devnet.deployBlock.toString() }),
  )
  const [httpPort, unusedPort] = [await freePort(), await freePort()]
  // The endpoint registered on chain is the node's one HTTP listener.
  const endpoint = `http://127.0.0.1:${httpPort}`
  const chainArgs = ['--rpc', world.devnet.rpcUrl, '--addresses', deployment]

  // Without the passphrase nothing opens the keystore (and none can be given on the command line).
  const noPass = await runNode(['proxy', 'register', '--repo', repo, '--endpoint', endpoint, ...chainArgs], {
    MEDVAULT_NODE_PASSPHRASE: '',
  })
  expect(noPass.code).toBe(1)
  expect(noPass.stderr).toMatch(/MEDVAULT_NODE_PASSPHRASE/)
  const asFlag = await runNode(
    ['proxy', 'register', '--repo', repo, '--endpoint', endpoint, '--passphrase', 'x'],
    env,
  )
  expect(asFlag.code).toBe(2)
  const wrong = await runNode(['proxy', 'register', '--repo', repo, '--endpoint', endpoint, ...chainArgs], {
    MEDVAULT_NODE_PASSPHRASE: 'not the passphrase',
  })
  expect(wrong.code).toBe(2)
  expect(wrong.stderr).toMatch(/passphrase does not open/)

  const registered = await runNode(
    ['proxy', 'register', '--repo', repo, '--endpoint', endpoint, ...chainArgs],
    env,
  )
  expect(registered.code, registered.stderr).toBe(0)
  expect(registered.stdout).toMatch(new RegExp(`^registered ${operator} ${endpoint} 0x[0-9a-f]{64}\\n$`))
  const onChain = await world.devnet.publicClient.getProxy({ operator })
  expect(onChain?.endpoint).toBe(endpoint)
  const expectedKey = getPublicKey(deriveKeysFromPrivateKey(hexToBytes(operatorKey)).eciesSecretKey)
  expect(onChain?.publicKey).toBe(bytesToHex(expectedKey))

  // Anchor every receipt at once (operators usually batch by the thousand or by the hour).
  const configPath = join(repo, 'config.json')
  const config = JSON.parse(await readFile(configPath, 'utf8'))
  config.proxy = { ...config.proxy, anchor: { maxReceipts: 1, intervalSeconds: 3600 } }
  // A separate proxy listener is not a setting: the node says so and does not open it.
  config.proxy.http = `127.0.0.1:${unusedPort}`
  await writeFile(configPath, JSON.stringify(config))
  const token = (await runNode(['token', 'create', 'portal', '--repo', repo], env)).stdout.trim()

  daemon = startDaemon(
    repo,
    httpPort,
    [
      '--services',
      'pinning,gateway,proxy,follower',
      '--peers',
      world.storage.multiaddrs().join(','),
      ...chainArgs,
    ],
    env,
  )
  // Opening the keystore (scrypt) and the store take a while on a loaded machine.
  await daemon.waitReady(240_000)
  const health = (await (await fetch(`${endpoint}/v1/health`)).json()) as { address: string }
  expect(health.address).toBe(operator)
  const warning = daemon.lines.find((l) => l.includes('proxy.http (config.json) is not used'))
  expect(warning).toBeDefined()
  expect(JSON.parse(warning!)).toMatchObject({ level: 40, config: 'warning' })
  await expect(fetch(`http://127.0.0.1:${unusedPort}/v1/health`)).rejects.toThrow()

  // The operator creates a set of this one proxy from the command line; the patient grants through it.
  const badSet = await runNode(['proxy', 'set', '--members', 'nope', '--repo', repo, ...chainArgs], env)
  expect(badSet.code).toBe(2)
  expect(badSet.stderr).toMatch(/--members: not an address/)
  const set = await runNode(['proxy', 'set', '--members', operator, '--repo', repo, ...chainArgs], env)
  expect(set.code, set.stderr).toBe(0)
  expect(set.stdout).toMatch(/^\d+ 0x[0-9a-f]{64}\n$/)
  const setId = Number(set.stdout.split(' ')[0])
  expect(await world.devnet.publicClient.getProxySet({ setId })).toEqual([operator])
  const content = {
    resourceType: 'Observation',
    status: 'final',
    code: { text: 'note' },
    valueString: 'through the daemon',
  }
  const rec = await world.patient.records.put(content)
  await world.patient.grants.create({
    to: world.doctor.address,
    records: [rec.id],
    purpose: 'TREAT',
    expiresIn: '1d',
    threshold: 1,
    proxySet: Number(setId),
  })
  const read = await world.doctor.records.get(rec.id, { purpose: 'TREAT' })
  expect(JSON.parse(new TextDecoder().decode(read))).toEqual(content)

  // The same port: the Pinning Service API (a client pins the record's envelope) …
  const envelope = rec.cid.toString()
  const auth = { authorization: `Bearer ${token}`, 'content-type': 'application/json' }
  const added = await fetch(`${endpoint}/pins`, {
    method: 'POST',
    headers: auth,
    body: JSON.stringify({ cid: envelope, name: 'record' }),
  })
  expect(added.status).toBe(202)
  const { requestid } = (await added.json()) as { requestid: string }
  let pin: { status: string } = { status: 'queued' }
  for (let i = 0; i < 600 && pin.status !== 'pinned' && pin.status !== 'failed'; i++) {
    pin = (await (await fetch(`${endpoint}/pins/${requestid}`, { headers: auth })).json()) as typeof pin
    if (pin.status !== 'pinned') await new Promise((r) => setTimeout(r, 100))
  }
  expect(pin.status).toBe('pinned')
  // … and the gateway (the envelope and its content as a CAR, every block checked against its CID).
  const car = await fetch(`${endpoint}/ipfs/${envelope}?format=car`, {
    headers: { origin: 'https://portal.example' },
  })
  expect(car.status).toBe(200)
  expect(car.headers.get('access-control-allow-origin')).toBe('*')
  // A fresh store parses the CAR and checks every block against its CID before keeping it; the whole DAG
  // (envelope and encrypted content) is then there.
  const check = await createStorage()
  try {
    const roots = await check.importCar([new Uint8Array(await car.arrayBuffer())])
    expect(roots.map(String)).toEqual([envelope])
    const stat = await check.stat(rec.cid)
    expect(stat.local).toBe(true)
    expect(stat.blocks).toBeGreaterThanOrEqual(2)
  } finally {
    await check.stop()
  }
  expect(rec.cid.code).toBe(0x71)

  // The receipt of that read is anchored on chain by the node's operator key.
  const anchorsFile = join(repo, 'state', 'receipts', 'anchors.ndjson')
  let anchored: { root: `0x${string}`; tx: string } | undefined
  for (let i = 0; i < 300 && anchored === undefined; i++) {
    const text = await readFile(anchorsFile, 'utf8').catch(() => '')
    anchored = text
      .split('\n')
      .filter((l) => l.includes('"anchored"'))
      .map((l) => JSON.parse(l))[0]
    if (anchored === undefined) await new Promise((r) => setTimeout(r, 100))
  }
  expect(anchored?.tx).toMatch(/^0x[0-9a-f]{64}$/)
  const onChainAnchor = await world.devnet.publicClient.getAnchor({ proxy: operator, root: anchored!.root })
  expect(onChainAnchor.count).toBe(1)

  expect(daemon.url).toBe(endpoint)
  const metrics = await (await fetch(`${daemon.url}/metrics`)).text()
  expect(metrics).toMatch(/^medvault_reencryptions_total [1-9]/m)
  // Proxy requests are in the node's latency histogram, next to the other services'.
  expect(metrics).toMatch(
    /^medvault_http_request_duration_seconds_count\{service="proxy",method="POST",route="\/v1\/reencrypt",status="200"\} [1-9]/m,
  )
  expect(metrics).toMatch(/^medvault_http_request_duration_seconds_count\{service="gateway",/m)
  expect(metrics).toMatch(/^medvault_http_request_duration_seconds_count\{service="pinning",/m)
  expect(metrics).toMatch(/^medvault_proxy_indexed_block [1-9]/m)
  // Whether the grant index keeps up (1) or its polls fail (0); the proxy's own tests make it fail.
  expect(metrics).toMatch(/^medvault_proxy_index_live [01]$/m)
  expect((await fetch(`${daemon.url}/readyz`)).status).toBe(200)
  const status = await daemon.status()
  expect(status.proxy as { address: string; url: string }).toMatchObject({
    address: operator,
    url: endpoint,
    index: { live: expect.any(Boolean), syncAgeMs: expect.any(Number), maxSyncAgeMs: expect.any(Number) },
  })

  const updated = await runNode(
    ['proxy', 'register', '--repo', repo, '--endpoint', `${endpoint}/`, ...chainArgs],
    env,
  )
  expect(updated.code, updated.stderr).toBe(0)
  expect(updated.stdout).toMatch(/^updated /)

  daemon.kill('SIGTERM')
  expect(await daemon.exited).toBe(0)
  const receipts = await readFile(join(repo, 'state', 'receipts', 'receipts.ndjson'), 'utf8')
  expect(receipts.trim().split('\n').length).toBeGreaterThanOrEqual(1)
  expect(daemon.lines.join('\n')).not.toContain(PASSPHRASE)
  expect(daemon.lines.join('\n')).not.toContain(operatorKey.slice(2))
}, 600_000)
