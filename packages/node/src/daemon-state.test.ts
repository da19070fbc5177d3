/**
 * The daemon's own state, on a real file system: tokens (only hashes on disk, revocation seen by another
 * process's store at once), the operator keystore (Web3 Secret Storage v3: the format's published reference
 * vector opens, a wrong passphrase or a flipped byte is refused), the pin store (durable, a torn last line
 * from a crash is dropped, a corrupt line is refused by name) and the configuration (every problem on its
 * own line, flags over environment over file, no secret in any message).
 */
import { appendFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { loadConfig } from './config.ts'
import {
  InvalidNodeConfigError,
  KeystoreError,
  NodeStateCorruptError,
  TokenNameError,
} from './daemon-errors.ts'
import { createKeystore, keystoreAddress, openKeystore } from './keystore.ts'
import { createPinStore, PIN_STORE_FILE } from './pin-store.ts'
import { createTokenStore } from './token-store.ts'

let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mvn-state-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('tokens', () => {
  test('default: stored hashed; verified by name; revoked at once for another store on the same file', async () => {
    const file = join(dir, 'tokens.json')
    const cli = createTokenStore(file)
    const daemon = createTokenStore(file)
    const token = await cli.create('kubo')
    expect(token).toMatch(/^mvn_[A-Za-z0-9_-]{43}$/)
    const onDisk = await readFile(file, 'utf8')
    expect(onDisk).not.toContain(token)
    expect(onDisk).not.toContain(token.slice(4))
    expect(await daemon.verify(token)).toBe('kubo')
    await cli.revoke('kubo')
    expect(await daemon.verify(token)).toBeUndefined()
    // The name can be given a new token after the revocation.
    const again = await cli.create('kubo')
    expect(await daemon.verify(again)).toBe('kubo')
    expect(await daemon.verify(token)).toBeUndefined()
  })

  test('error: malformed, duplicate and unknown names; garbage tokens; a corrupt file', async () => {
    const store = createTokenStore(join(dir, 'tokens-2.json'))
    await expect(store.create('no spaces')).rejects.toBeInstanceOf(TokenNameError)
    await expect(store.create('x'.repeat(65))).rejects.toBeInstanceOf(TokenNameError)
    await store.create('laptop')
    await expect(store.create('laptop')).rejects.toThrow(/exists already/)
    await expect(store.revoke('phone')).rejects.toThrow(/No live token/)
    for (const t of ['', 'mvn_', 'Bearer x', `mvn_${'a'.repeat(43)}`])
      expect(await store.verify(t)).toBeUndefined()
    const corrupt = join(dir, 'tokens-3.json')
    await writeFile(corrupt, '{"v":1,"tokens":[{"name":"x"}]}')
    await expect(createTokenStore(corrupt).verify(`mvn_${'a'.repeat(43)}`)).rejects.toBeInstanceOf(
      NodeStateCorruptError,
    )
  })
})

describe('keystore', () => {
  test('default: the Web3 Secret Storage v3 reference vector (scrypt, n=262144, r=1, p=8) opens', async () => {
    // From the Web3 Secret Storage Definition (ethereum/wiki), password "testpassword"; the address field
    // (which the vector omits) is that of its private key.
    const file = join(dir, 'reference.json')
    await writeFile(
      file,
      JSON.stringify({
        crypto: {
          cipher: 'aes-128-ctr',
          cipherparams: { iv: '83dbcc02d8ccb40e466191a123791e0e' },
          ciphertext: 'd172bf743a674da9cdad04534d56926ef8358534d458fffccd4e6ad2fbde479c',
          kdf: 'scrypt',
          kdfparams: {
            dklen: 32,
            n: 262144,
            p: 8,
            r: 1,
            salt: 'ab0c7876052600dd703518d6fc3fe8984592145b591fc8fb5c6d43190334ba19',
          },
          mac: '2103ac29920d71da29f15d75b4a16dbe95cfd7ff8faea1056c33131d846e3097',
        },
        id: '3198bc9c-6672-5ab3-d995-4942343ae5b6',
        version: 3,
        address: '008aeeda4d805471df9b2a5b0f38a0c3bcba786b',
      }),
    )
    expect(await openKeystore(file, 'testpassword')).toBe(
      '0x7a28b5ba57c53603b0b07b56bba752f7784bf506fa95edc395f5cf6c7514fe9d',
    )
    await expect(openKeystore(file, 'testpassworD')).rejects.toMatchObject({ reason: 'wrong_passphrase' })
  })

  test('behavior: a new keystore round-trips, holds no key in the clear, is never overwritten', async () => {
    const file = join(dir, 'keystore.json')
    const key = '0x4c0883a69102937d6231471b5dbb6204fe5129617082792ae468d01a3f362318' as const
    const address = await createKeystore(file, 'a passphrase for tests', { privateKey: key, scryptN: 1024 })
    expect(await keystoreAddress(file)).toBe(address)
    expect(await openKeystore(file, 'a passphrase for tests')).toBe(key)
    const text = await readFile(file, 'utf8')
    expect(text).not.toContain(key.slice(2))
    await expect(createKeystore(file, 'another passphrase', { scryptN: 1024 })).rejects.toMatchObject({
      reason: 'exists',
    })
    // One flipped ciphertext byte: the MAC refuses it like a wrong passphrase (no hint which).
    const parsed = JSON.parse(text)
    parsed.crypto.ciphertext = `${parsed.crypto.ciphertext.slice(0, -2)}${parsed.crypto.ciphertext.endsWith('00') ? '01' : '00'}`
    const flipped = join(dir, 'flipped.json')
    await writeFile(flipped, JSON.stringify(parsed))
    const err = await openKeystore(flipped, 'a passphrase for tests').catch((e) => e)
    expect(err).toBeInstanceOf(KeystoreError)
    expect(err.reason).toBe('wrong_passphrase')
    expect(err.message).not.toContain('a passphrase for tests')
    await expect(openKeystore(join(dir, 'nope.json'), 'x')).rejects.toMatchObject({ reason: 'missing' })
    await writeFile(join(dir, 'bad.json'), '{"version":3}')
    await expect(openKeystore(join(dir, 'bad.json'), 'x')).rejects.toMatchObject({ reason: 'malformed' })
  })
})

describe('pin store', () => {
  test('behavior: durable across reopen; a torn last line is dropped; a corrupt line is refused by number', async () => {
    const d = join(dir, 'pins')
    const store = createPinStore({ dir: d })
    await store.open()
    const a = await store.add({ owner: 'token:x', cid: 'bafkqaaa', name: 'a', meta: { k: 'v' } })
    const b = await store.add({ owner: 'token:x', cid: 'bafkqaaa' })
    await store.setStatus(a.requestid, 'pinned', { dag_size: '0' })
    await store.setStatus(b.requestid, 'pinning')
    await store.close()
    // A crash in the middle of an append.
    await appendFile(join(d, PIN_STORE_FILE), '{"t":"add","r":{"requestid":"half')
    const again = createPinStore({ dir: d })
    await again.open()
    expect(again.get(a.requestid)).toMatchObject({
      status: 'pinned',
      name: 'a',
      meta: { k: 'v' },
      created: a.created,
    })
    // `pinning` is not persisted: the request is queued again after a restart.
    expect(again.get(b.requestid)?.status).toBe('queued')
    expect(again.size).toBe(2)
    expect(again.byKey(a.key)).toHaveLength(2)
    const c = await again.add({ owner: 'token:x', cid: 'bafkqaaa' })
    expect(c.createdMs).toBeGreaterThan(b.createdMs)
    await again.close()

    await appendFile(join(d, PIN_STORE_FILE), 'not json\n{"t":"del","id":"x"}\n')
    await expect(createPinStore({ dir: d }).open()).rejects.toThrow(/pins\.ndjson is corrupt at line \d+/)
  })
})

describe('config', () => {
  test('error: every problem on its own line, naming the setting and its source; no secret repeated', async () => {
    const repo = join(dir, 'repo-bad')
    await import('node:fs/promises').then((fs) => fs.mkdir(repo, { recursive: true }))
    await writeFile(
      join(repo, 'config.json'),
      JSON.stringify({
        http: '127.0.0.1:99999',
        services: ['pinning', 'mining'],
        storage: { peers: ['/ip4/127.0.0.1/tcp/1'], gateways: ['https://user:hunter2@gw.example'] },
        replication: { remotes: [{ name: 'r', endpoint: 'https://psa.example', tokenEnv: 'NOPE_TOKEN' }] },
        log: { level: 'loud' },
        pinning: { concurrency: 0 },
      }),
    )
    const err = await loadConfig(repo, { services: 'pinning,follower,mining' }, {}).catch((e) => e)
    expect(err).toBeInstanceOf(InvalidNodeConfigError)
    const problems = (err as InvalidNodeConfigError).problems
    expect(problems).toEqual([
      'http (config.json): expected HOST:PORT such as 127.0.0.1:5080',
      'services (--services): unknown service "mining"; use pinning, gateway, proxy, follower',
      'storage.peers (config.json): "/ip4/127.0.0.1/tcp/1" must end with /p2p/<peer id>',
      'storage.gateways (config.json): the URL carries credentials (not repeated here); use a token file instead',
      'chain.rpc: the follower service needs a JSON-RPC URL (--rpc URL or MEDVAULT_NODE_RPC)',
      "chain.addresses: the follower and proxy services need the deployment's addresses file (--addresses FILE or MEDVAULT_NODE_ADDRESSES)",
      'replication.remotes[0].tokenEnv: the environment variable NOPE_TOKEN is not set',
      'log.level (config.json): expected one of fatal, error, warn, info, debug, trace, silent',
      'pinning.concurrency: expected an integer from 1 to 64',
    ])
    expect(err.message).not.toContain('hunter2')
  })

  test('behavior: flags over environment over file; the addresses file; tokens from a file', async () => {
    const repo = join(dir, 'repo-good')
    await import('node:fs/promises').then((fs) => fs.mkdir(repo, { recursive: true }))
    const addresses = {
      keyRegistry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      proxyRegistry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
      consentRegistry: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
      auditAnchors: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
      datasetRegistry: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9',
    }
    await writeFile(join(repo, 'deployment.json'), JSON.stringify({ addresses, deployBlock: '7' }))
    await writeFile(join(repo, 'remote.token'), 'secret-remote-token\n')
    await writeFile(
      join(repo, 'config.json'),
      JSON.stringify({
        http: '127.0.0.1:5000',
        services: ['pinning'],
        chain: { rpc: 'http://127.0.0.1:8545', addresses: 'deployment.json' },
        replication: {
          remotes: [{ name: 'cluster', endpoint: 'https://psa.example/api/', tokenFile: 'remote.token' }],
        },
      }),
    )
    const config = await loadConfig(
      repo,
      { http: '127.0.0.1:6000' },
      { MEDVAULT_NODE_HTTP: '127.0.0.1:7000', MEDVAULT_NODE_SERVICES: 'follower,gateway' },
    )
    expect(config.http).toEqual({ host: '127.0.0.1', port: 6000 })
    expect(config.services).toEqual(['follower', 'gateway'])
    expect(config.chain?.deployBlock).toBe(7n)
    expect(config.chain?.addresses.consentRegistry).toBe(addresses.consentRegistry)
    expect(config.replication.remotes).toEqual([
      { name: 'cluster', endpoint: 'https://psa.example/api', token: 'secret-remote-token' },
    ])
  })

  test('behavior: the grant index compaction size and the replication journal size, with their defaults; out of range, one line each', async () => {
    const repo = join(dir, 'repo-sizes')
    await import('node:fs/promises').then((fs) => fs.mkdir(repo, { recursive: true }))
    const write = (value: object) => writeFile(join(repo, 'config.json'), JSON.stringify(value))

    await write({ services: ['pinning'] })
    const defaults = await loadConfig(repo, {}, {})
    expect(defaults.proxy.grantIndexCompactAtBytes).toBe(16 * 1024 ** 2)
    expect(defaults.replication.journalMaxBytes).toBe(1024 ** 2)

    await write({
      services: ['pinning'],
      proxy: { grantIndexCompactAtBytes: 1_048_576 },
      replication: { journalMaxBytes: 65_536 },
    })
    const set = await loadConfig(repo, {}, {})
    expect(set.proxy.grantIndexCompactAtBytes).toBe(1_048_576)
    expect(set.replication.journalMaxBytes).toBe(65_536)

    await write({
      services: ['pinning'],
      proxy: { grantIndexCompactAtBytes: 100 },
      replication: { journalMaxBytes: '1MB' },
    })
    const err = await loadConfig(repo, {}, {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidNodeConfigError)
    expect((err as InvalidNodeConfigError).problems).toEqual([
      'proxy.grantIndexCompactAtBytes: expected an integer from 65536 to 68719476736',
      'replication.journalMaxBytes: expected an integer from 4096 to 1073741824',
    ])
  })

  test('behavior: the follower storage bounds (per record owner, in all), their defaults, false for none, exempt owners; a warning when the total is open; bad values one line each', async () => {
    const repo = join(dir, 'repo-follower-bounds')
    await import('node:fs/promises').then((fs) => fs.mkdir(repo, { recursive: true }))
    const write = (value: object) => writeFile(join(repo, 'config.json'), JSON.stringify(value))
    const chainFlags = { rpc: 'http://127.0.0.1:8545', addresses: 'deployment.json' }
    await writeFile(
      join(repo, 'deployment.json'),
      JSON.stringify({
        deployBlock: '1',
        addresses: {
          keyRegistry: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
          proxyRegistry: '0xe7f1725E7734CE288F8367e1Bb143E90bb3F0512',
          consentRegistry: '0x9fE46736679d2D9a65F0992F2272dE9f3c7fa6e0',
          auditAnchors: '0xCf7Ed3AccA5a467e9e704C703E8D87F634fB0Fc9',
          datasetRegistry: '0xDc64a140Aa3E981100a9becA4E685f962f0cF6C9',
        },
      }),
    )

    await write({ services: ['follower'] })
    const defaults = await loadConfig(repo, chainFlags, {})
    expect(defaults.follower).toEqual({
      maxRecordBytes: 1024 ** 3,
      maxBytesPerOwner: 16 * 1024 ** 3,
      maxTotalBytes: false,
      exemptOwners: [],
    })
    expect(defaults.warnings).toEqual([
      'follower.maxTotalBytes is not set: the chain follower pins what anyone registers on chain until the disk is full; set it to the bytes this node may give to followed records',
    ])

    await write({
      services: ['follower'],
      follower: {
        maxBytesPerOwner: false,
        maxTotalBytes: 500 * 1024 ** 3,
        exemptOwners: ['0x70997970C51812dc3A010C7d01b50e0d17dc79C8'],
      },
    })
    const set = await loadConfig(repo, chainFlags, {})
    expect(set.follower).toEqual({
      maxRecordBytes: 1024 ** 3,
      maxBytesPerOwner: false,
      maxTotalBytes: 500 * 1024 ** 3,
      exemptOwners: ['0x70997970c51812dc3a010c7d01b50e0d17dc79c8'],
    })
    expect(set.warnings).toEqual([])

    await write({
      services: ['follower'],
      follower: { maxBytesPerOwner: 0, maxTotalBytes: '1TB', exemptOwners: ['0x1234', 7] },
    })
    const err = await loadConfig(repo, chainFlags, {}).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(InvalidNodeConfigError)
    expect((err as InvalidNodeConfigError).problems).toEqual([
      'follower.exemptOwners: "0x1234" is not an address (0x and 40 hex digits)',
      'follower.exemptOwners: "7" is not an address (0x and 40 hex digits)',
      'follower.maxBytesPerOwner: expected an integer from 1 to 9007199254740991',
      'follower.maxTotalBytes: expected an integer from 1 to 9007199254740991',
    ])
    await write({
      services: ['follower'],
      follower: { exemptOwners: '0x70997970C51812dc3A010C7d01b50e0d17dc79C8' },
    })
    expect(
      ((await loadConfig(repo, chainFlags, {}).catch((e: unknown) => e)) as InvalidNodeConfigError).problems,
    ).toEqual(['follower.exemptOwners: expected a list of addresses (0x and 40 hex digits)'])
  })

  test('behavior: the gateway per-IP rate limit, its default, false for none; out of range, one line each', async () => {
    const repo = join(dir, 'repo-gateway')
    await import('node:fs/promises').then((fs) => fs.mkdir(repo, { recursive: true }))
    const write = (value: object) => writeFile(join(repo, 'config.json'), JSON.stringify(value))

    await write({ services: ['gateway'] })
    expect((await loadConfig(repo, {}, {})).gateway.rateLimit).toEqual({ perSecond: 500, burst: 1000 })
    await write({ services: ['gateway'], gateway: { rateLimit: { perSecond: 5 } } })
    expect((await loadConfig(repo, {}, {})).gateway.rateLimit).toEqual({ perSecond: 5, burst: 1000 })
    await write({ services: ['gateway'], gateway: { rateLimit: false } })
    expect((await loadConfig(repo, {}, {})).gateway.rateLimit).toBe(false)

    await write({ services: ['gateway'], gateway: { rateLimit: { perSecond: 0, burst: 2.5 } } })
    const err = await loadConfig(repo, {}, {}).catch((e: unknown) => e)
    expect((err as InvalidNodeConfigError).problems).toEqual([
      'gateway.rateLimit.perSecond: expected an integer from 1 to 1000000',
      'gateway.rateLimit.burst: expected an integer from 1 to 1000000',
    ])
  })

  test('behavior: the gateway bounds on whole-DAG CAR exports at once (per client IP, for the node), their defaults, false for none; 0 and out of range refused, one line each', async () => {
    const repo = join(dir, 'repo-gateway-exports')
    await import('node:fs/promises').then((fs) => fs.mkdir(repo, { recursive: true }))
    const write = (value: object) => writeFile(join(repo, 'config.json'), JSON.stringify(value))
    const exportBounds = (c: Awaited<ReturnType<typeof loadConfig>>) => ({
      maxCarExportsPerClient: c.gateway.maxCarExportsPerClient,
      maxCarExports: c.gateway.maxCarExports,
    })

    await write({ services: ['gateway'] })
    expect(exportBounds(await loadConfig(repo, {}, {}))).toEqual({
      maxCarExportsPerClient: 4,
      maxCarExports: 32,
    })
    await write({ services: ['gateway'], gateway: { maxCarExportsPerClient: 1, maxCarExports: 65_536 } })
    expect(exportBounds(await loadConfig(repo, {}, {}))).toEqual({
      maxCarExportsPerClient: 1,
      maxCarExports: 65_536,
    })
    await write({ services: ['gateway'], gateway: { maxCarExportsPerClient: false, maxCarExports: false } })
    expect(exportBounds(await loadConfig(repo, {}, {}))).toEqual({
      maxCarExportsPerClient: false,
      maxCarExports: false,
    })

    for (const [perClient, total] of [
      [0, 65_537],
      [-1, 2.5],
      ['4', true],
    ]) {
      await write({
        services: ['gateway'],
        gateway: { maxCarExportsPerClient: perClient, maxCarExports: total },
      })
      const err = await loadConfig(repo, {}, {}).catch((e: unknown) => e)
      expect(err).toBeInstanceOf(InvalidNodeConfigError)
      expect((err as InvalidNodeConfigError).problems).toEqual([
        'gateway.maxCarExportsPerClient: expected an integer from 1 to 65536, or false for no bound',
        'gateway.maxCarExports: expected an integer from 1 to 65536, or false for no bound',
      ])
    }
  })
})
