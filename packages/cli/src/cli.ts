/**
 * The `medvault` program. `runCli(argv)` is the whole program (the bin only calls it and exits with its code).
 *
 * @module
 */
import { createReadStream, createWriteStream } from 'node:fs'
import { readFile, rename, rm, stat, writeFile } from 'node:fs/promises'
import { basename } from 'node:path'
import { Writable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { AuditEntry, Grant, RecordInfo, Vault } from '@medvault/sdk'
import { Command, CommanderError } from 'commander'
import { type Address, getAddress, type Hex, isAddress, isHex } from 'viem'
import { generatePrivateKey, privateKeyToAccount } from 'viem/accounts'
import { type GlobalFlags, resolveSettings, type Settings } from './config.ts'
import { CliError, causeChain, ExitCode, exitCodeOf, oneLine, UsageError } from './errors.ts'
import { askPassphrase, byteProgress, emit } from './io.ts'
import { openKeystore, readKeystore, writeKeystore } from './keystore.ts'
import type { Connection } from './network.ts'

const examples = (lines: string[]) => `\nExamples:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`

function hexId(value: string, what: string): Hex {
  if (!isHex(value) || value.length !== 66)
    throw new UsageError(`Not a ${what} id: expected 0x and 64 hex digits.`)
  return value.toLowerCase() as Hex
}

function address(value: string): Address {
  if (!isAddress(value, { strict: false })) throw new UsageError(`Not an address: ${value}.`)
  return getAddress(value)
}

const iso = (seconds: number) => new Date(seconds * 1000).toISOString()

function grantJson(g: Grant) {
  return {
    id: g.id,
    grantor: g.grantor,
    grantee: g.grantee,
    scope: g.scope,
    purpose: g.purpose,
    notBefore: g.notBefore,
    expiresAt: g.expiresAt,
    threshold: g.threshold,
    proxySet: g.proxySet,
    revoked: g.revoked,
    active: g.active,
    transactionHash: g.transactionHash,
  }
}

function recordJson(r: RecordInfo) {
  return {
    id: r.id,
    owner: r.owner,
    version: r.version,
    cid: r.cid.toString(),
    size: r.size,
    epoch: r.epoch,
    tag: r.tag ?? null,
    mediaType: r.mediaType ?? null,
    name: r.name ?? null,
  }
}

function scopeText(g: Grant): string {
  switch (g.scope.kind) {
    case 'record':
    case 'records':
      return `records ${g.scope.records.join(',')}`
    case 'tag':
      return `tag ${g.scope.tag ?? g.scope.chainTag}`
    default:
      return 'all records'
  }
}

/** Opens the identity (asks the passphrase) and the network, runs `fn`, closes. */
async function withVault<T>(settings: Settings, fn: (c: Connection) => Promise<T>): Promise<T> {
  if (settings.addresses === undefined) {
    throw new UsageError(
      'No network: pass --addresses FILE (written by `medvault devnet`), or set MEDVAULT_ADDRESSES or "addresses" in the configuration.',
    )
  }
  // Loaded on demand: the SDK, storage and chain take seconds to import, `identity` and `--help` need none of it.
  const { connect, readNetworkFile } = await import('./network.ts')
  const network = await readNetworkFile(settings.addresses)
  const rpcUrl = settings.rpc ?? network.rpcUrl
  if (rpcUrl === undefined) {
    throw new UsageError(
      `No RPC URL: ${settings.addresses} names none; pass --rpc URL, or set MEDVAULT_RPC or "rpc" in the configuration.`,
    )
  }
  // Read the header first: a missing keystore is reported before a passphrase is asked for.
  await readKeystore(settings.keystore)
  const { address: account, privateKey } = await openKeystore(
    settings.keystore,
    await askPassphrase(`Passphrase for ${settings.keystore}`),
  )
  const connection = await connect({
    privateKey,
    address: account,
    network,
    rpcUrl,
    storeDirectory: settings.store,
  })
  try {
    return await fn(connection)
  } finally {
    await connection.close()
  }
}

async function writeOut(
  vault: Vault,
  id: Hex,
  output: string | undefined,
  settings: Settings,
  purpose?: string,
) {
  // The bar learns the size from the read's own progress: asking `records.info` first would make a grantee's
  // read go through the proxies twice (two accesses, two sets of receipts in the patient's audit).
  let bar: ReturnType<typeof byteProgress> | undefined
  let size: number | undefined
  const source = vault.records.stream(id, {
    onProgress: (e) => {
      if (e.type !== 'records:get:bytes') return
      size = e.total
      bar ??= byteProgress('get', e.total, !settings.json && output !== undefined)
      bar.update(e.bytes)
    },
    ...(purpose === undefined ? {} : { purpose: purpose as 'TREAT' }),
  })
  try {
    if (output === undefined || output === '-') {
      await pipeline(
        source,
        new Writable({
          write: (chunk, _enc, cb) =>
            process.stdout.write(chunk) ? cb() : process.stdout.once('drain', () => cb()),
        }),
      )
    } else {
      // Written to a temporary name first: a read that fails half way leaves no half file under the name asked.
      const temporary = `${output}.medvault-partial`
      try {
        await pipeline(source, createWriteStream(temporary, { mode: 0o600 }))
        await rename(temporary, output)
      } catch (err) {
        await rm(temporary, { force: true })
        throw err
      }
    }
  } finally {
    bar?.stop()
  }
  // A read that completed was checked against the envelope's size: no progress event means an empty record.
  return { size: size ?? 0 }
}

export function buildProgram(setCode: (code: number) => void): Command {
  const program = new Command('medvault')
  const settingsOf = (cmd: Command) => resolveSettings(cmd.optsWithGlobals() as GlobalFlags)
  program
    .description(
      'Patient-controlled health records from the command line: keys, a local devnet, records, grants, reads, audit.',
    )
    .option(
      '--home <dir>',
      'where the keystore, store and config live (env MEDVAULT_HOME; default ~/.medvault)',
    )
    .option('--config <file>', 'configuration file, JSON (env MEDVAULT_CONFIG; default <home>/config.json)')
    .option(
      '--keystore <file>',
      'the identity keystore (env MEDVAULT_KEYSTORE; default <home>/keystore.json)',
    )
    .option('--addresses <file>', 'the network file `medvault devnet` writes (env MEDVAULT_ADDRESSES)')
    .option('--rpc <url>', "JSON-RPC URL of the chain (env MEDVAULT_RPC; default the addresses file's)")
    .option(
      '--store <dir>',
      "this identity's local store directory (env MEDVAULT_STORE; default <home>/store)",
    )
    .option('--json', 'print one JSON document on stdout (for scripts)')
    .option('--verbose', 'on failure, print the whole cause chain')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      examples([
        'medvault devnet --addresses net.json &',
        'export MEDVAULT_ADDRESSES=net.json',
        'medvault identity new',
        'medvault put bundle.json --tag summary',
        'medvault grant 0xRECORD --to 0xCLINIC --purpose TREAT --expires 30d --threshold 2',
      ]) +
        '\nExit codes: 0 ok, 1 unexpected, 2 usage, 3 keystore/passphrase, 4 not found, 5 refused, 6 network, 7 integrity, 130 interrupted.\n',
    )

  // identity
  const identity = program
    .command('identity')
    .description('the account this CLI acts as: an encrypted keystore')
  identity
    .command('new')
    .description('make a new random account and save it encrypted under a passphrase')
    .option('--force', 'overwrite an existing keystore')
    .addHelpText(
      'after',
      examples([
        'medvault identity new',
        'MEDVAULT_PASSPHRASE=… medvault identity new --keystore clinic.json --json',
      ]),
    )
    .action(async (opts: { force?: boolean }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      await refuseOverwrite(settings.keystore, opts.force === true)
      const passphrase = await askPassphrase('New passphrase for the keystore', { confirm: true })
      const key = generatePrivateKey()
      const created = await writeKeystore(settings.keystore, key, passphrase)
      emit(settings.json, { address: created, keystore: settings.keystore }, () => [
        `address  ${created}`,
        `keystore ${settings.keystore}`,
      ])
    })
  identity
    .command('import')
    .description('save an existing private key (from --key-file, or stdin) encrypted under a passphrase')
    .option('--key-file <file>', 'a file holding the 0x private key (default: read stdin)')
    .option('--force', 'overwrite an existing keystore')
    .addHelpText(
      'after',
      examples([
        'medvault identity import --key-file key.txt',
        'cat key.txt | medvault identity import --keystore patient.json',
      ]),
    )
    .action(async (opts: { keyFile?: string; force?: boolean }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      await refuseOverwrite(settings.keystore, opts.force === true)
      let text: string
      if (opts.keyFile !== undefined) text = await readFile(opts.keyFile, 'utf8')
      else {
        if (process.stdin.isTTY === true)
          throw new UsageError('Give the key with --key-file, or pipe it on stdin.')
        const chunks: Buffer[] = []
        for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
        text = Buffer.concat(chunks).toString('utf8')
      }
      const key = text.trim()
      if (!isHex(key) || key.length !== 66)
        throw new UsageError('The key is not a private key (0x and 64 hex digits).')
      try {
        privateKeyToAccount(key as Hex)
      } catch {
        throw new UsageError('The key is not a valid secp256k1 private key.')
      }
      const passphrase = await askPassphrase('New passphrase for the keystore', { confirm: true })
      const created = await writeKeystore(settings.keystore, key as Hex, passphrase)
      emit(settings.json, { address: created, keystore: settings.keystore }, () => [
        `address  ${created}`,
        `keystore ${settings.keystore}`,
      ])
    })
  identity
    .command('show')
    .description("show the keystore's address (no passphrase needed); --reveal also prints the private key")
    .option('--reveal', 'decrypt and print the private key (asks the passphrase)')
    .addHelpText('after', examples(['medvault identity show', 'medvault identity show --reveal --json']))
    .action(async (opts: { reveal?: boolean }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const header = await readKeystore(settings.keystore)
      if (opts.reveal !== true) {
        emit(settings.json, { address: header.address, keystore: settings.keystore }, () => [
          `address  ${header.address}`,
          `keystore ${settings.keystore}`,
        ])
        return
      }
      const opened = await openKeystore(
        settings.keystore,
        await askPassphrase(`Passphrase for ${settings.keystore}`),
      )
      emit(
        settings.json,
        { address: opened.address, keystore: settings.keystore, privateKey: opened.privateKey },
        () => [`address     ${opened.address}`, `private key ${opened.privateKey}`],
      )
    })

  identity
    .command('publish')
    .description(
      "publish this identity's public keys on chain, so others can grant to its address (any network command does it once)",
    )
    .addHelpText('after', examples(['medvault identity publish --addresses net.json']))
    .action(async (_opts: unknown, cmd: Command) => {
      const settings = await settingsOf(cmd)
      // Opening the vault publishes the keys when the chain does not have them yet.
      const account = await withVault(settings, async ({ vault }) => vault.address)
      emit(settings.json, { address: account, published: true }, () => [`${account}: keys published`])
    })

  // devnet
  program
    .command('devnet')
    .description(
      'run a local chain with the contracts, N re-encryption proxies and a shared store, until Ctrl-C',
    )
    .option('--proxies <n>', 'how many HTTP re-encryption proxies (1 to 8)', '3')
    .option('--directory <dir>', "keep the devnet's store and the proxies' state here (default: temporary)")
    .option('--store-port <port>', 'port of the shared store on 127.0.0.1 (default: any free one)', '0')
    .addHelpText(
      'after',
      examples([
        'medvault devnet --addresses net.json',
        'medvault devnet --addresses net.json --proxies 5 --json',
      ]),
    )
    .action(async (opts: { proxies: string; directory?: string; storePort: string }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      if (settings.addresses === undefined)
        throw new UsageError('Say where to write the addresses: --addresses FILE.')
      const proxies = Number(opts.proxies)
      if (!Number.isInteger(proxies) || proxies < 1 || proxies > 8)
        throw new UsageError('--proxies: a whole number from 1 to 8.')
      const storePort = Number(opts.storePort)
      if (!Number.isInteger(storePort) || storePort < 0 || storePort > 65535)
        throw new UsageError('--store-port: a port number.')
      const { runDevnet } = await import('./devnet.ts')
      await runDevnet({
        addressesFile: settings.addresses,
        proxies,
        directory: opts.directory,
        storePort,
        json: settings.json,
      })
    })

  // records
  program
    .command('put')
    .description('encrypt a file (or stdin: -) and store it as a new record of this identity')
    .argument('<file>', 'a file, or - for stdin')
    .option('--tag <category>', 'a category (grants by tag cover later records of it too)')
    .option(
      '--type <media-type>',
      'media type (default: application/fhir+json for FHIR JSON, else application/octet-stream)',
    )
    .option('--name <name>', "a file name kept in the sealed metadata (default: the file's)")
    .addHelpText(
      'after',
      examples([
        'medvault put bundle.json --tag summary',
        'cat scan.dcm | medvault put - --type application/dicom --json',
      ]),
    )
    .action(async (file: string, opts: { tag?: string; type?: string; name?: string }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const fromStdin = file === '-'
      const size = fromStdin ? undefined : (await stat(file)).size
      let mediaType = opts.type
      if (mediaType === undefined && !fromStdin && size !== undefined && size < 64 * 1024 * 1024) {
        mediaType = await sniffFhir(file)
      }
      const name = opts.name ?? (fromStdin ? undefined : basename(file))
      const info = await withVault(settings, async ({ vault }) => {
        const bar = byteProgress('put', size, !settings.json)
        try {
          return await vault.records.put(fromStdin ? process.stdin : createReadStream(file), {
            mediaType: mediaType ?? 'application/octet-stream',
            ...(opts.tag === undefined ? {} : { tag: opts.tag }),
            ...(name === undefined ? {} : { name }),
            onProgress: (e) => {
              if (e.type === 'records:put:bytes') bar.update(e.bytes)
            },
          })
        } finally {
          bar.stop()
        }
      })
      emit(settings.json, recordJson(info), () => [info.id])
    })

  program
    .command('get')
    .description("decrypt one of this identity's records (or one granted to it) to a file or stdout")
    .argument('<record>', 'the record id (0x…)')
    .option('-o, --output <file>', 'write here (default: stdout)')
    .addHelpText(
      'after',
      examples(['medvault get 0xRECORD -o bundle.json', 'medvault get 0xRECORD | jq .resourceType']),
    )
    .action(async (record: string, opts: { output?: string }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const id = hexId(record, 'record')
      const info = await withVault(settings, ({ vault }) => writeOut(vault, id, opts.output, settings))
      if (opts.output !== undefined && opts.output !== '-') {
        emit(settings.json, { id, output: opts.output, size: info.size }, () => [])
      }
    })

  program
    .command('read')
    .description('read a record granted to this identity, through the re-encryption proxies')
    .argument('<record>', 'the record id (0x…)')
    .option('-o, --output <file>', 'write here (default: stdout)')
    .option('--purpose <code>', 'the purpose of use to read under (default: any grant that covers it)')
    .addHelpText(
      'after',
      examples(['medvault read 0xRECORD -o bundle.json', 'medvault read 0xRECORD --purpose TREAT']),
    )
    .action(async (record: string, opts: { output?: string; purpose?: string }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const id = hexId(record, 'record')
      await withVault(settings, ({ vault }) => writeOut(vault, id, opts.output, settings, opts.purpose))
      if (opts.output !== undefined && opts.output !== '-')
        emit(settings.json, { id, output: opts.output }, () => [])
    })

  program
    .command('ls')
    .description("list this identity's records, or the records a grant covers (--grant)")
    .option('--grant <id>', 'the records this grant covers now (e.g. a tag grant this identity received)')
    .addHelpText(
      'after',
      examples(['medvault ls', 'medvault ls --json', 'medvault ls --grant 0xGRANT --json']),
    )
    .action(async (opts: { grant?: string }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      if (opts.grant !== undefined) {
        const grantId = hexId(opts.grant, 'grant')
        const covered = await withVault(settings, ({ vault }) => vault.grants.records(grantId))
        emit(
          settings.json,
          covered.map((r) => ({
            id: r.id,
            owner: r.owner,
            chainTag: r.chainTag ?? null,
            blockNumber: r.blockNumber.toString(),
            transactionHash: r.transactionHash,
          })),
          () => covered.map((r) => `${r.id}  ${r.owner}  ${r.chainTag ?? 'untagged'}`),
        )
        return
      }
      const records = await withVault(settings, async ({ vault }) => {
        const ids: Hex[] = []
        for (const entry of await vault.audit.list()) {
          if (
            entry.kind === 'record-registered' &&
            entry.by === vault.address &&
            !ids.includes(entry.recordId)
          )
            ids.push(entry.recordId)
        }
        const out: RecordInfo[] = []
        for (const id of ids) out.push(await vault.records.info(id))
        return out
      })
      emit(settings.json, records.map(recordJson), () =>
        records.map((r) =>
          `${r.id}  v${r.version}  ${r.size} B  ${r.mediaType ?? ''}  ${r.tag ?? ''}  ${r.name ?? ''}`.trimEnd(),
        ),
      )
    })

  program
    .command('history')
    .description('every version of a record')
    .argument('<record>', 'the record id (0x…)')
    .addHelpText('after', examples(['medvault history 0xRECORD']))
    .action(async (record: string, _opts: unknown, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const id = hexId(record, 'record')
      const versions = await withVault(settings, ({ vault }) => vault.records.history(id))
      emit(
        settings.json,
        versions.map((v) => ({ ...v, cid: v.cid.toString(), prev: v.prev?.toString() ?? null })),
        () =>
          versions.map(
            (v) => `v${v.version}  epoch ${v.epoch}  ${v.size} B  block ${v.blockNumber}  ${v.cid}`,
          ),
      )
    })

  program
    .command('rotate')
    .description('re-encrypt a record under a new data key and key epoch (revoked grants open nothing new)')
    .argument('<record>', 'the record id (0x…)')
    .option('--no-reissue', 'do not re-issue the active grants for the new key')
    .addHelpText('after', examples(['medvault rotate 0xRECORD']))
    .action(async (record: string, opts: { reissue: boolean }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const id = hexId(record, 'record')
      const result = await withVault(settings, ({ vault }) =>
        vault.records.rotate(id, { reissueGrants: opts.reissue }),
      )
      emit(
        settings.json,
        {
          record: recordJson(result.record),
          reissued: result.reissued.map((r) => ({ from: r.from, to: grantJson(r.to) })),
        },
        () => [
          `${result.record.id} is at epoch ${result.record.epoch} (version ${result.record.version}); ${result.reissued.length} grant(s) re-issued`,
        ],
      )
    })

  // grants
  program
    .command('grant')
    .description('grant an address access to a record, a tag or all records, through M of the proxy set')
    .argument('[record]', 'the record id (0x…); or use --tag / --all')
    .option('--tag <category>', 'grant the whole category (its later records too)')
    .option('--all', "grant all of this identity's records")
    .requiredOption('--to <address>', "the grantee's address")
    .option('--purpose <code>', 'HL7 v3 purpose of use: TREAT, ETREAT, HRESCH, …', 'TREAT')
    .option('--expires <duration>', 'how long from now (chain time): 30d, 12h, 1d12h', '30d')
    .option('--threshold <m>', "how many proxies must re-encrypt (default: the SDK's)")
    .addHelpText(
      'after',
      examples([
        'medvault grant 0xRECORD --to 0xCLINIC --purpose TREAT --expires 30d --threshold 2',
        'medvault grant --tag labs --to 0xCLINIC --expires 7d --json',
      ]),
    )
    .action(
      async (
        record: string | undefined,
        opts: {
          tag?: string
          all?: boolean
          to: string
          purpose: string
          expires: string
          threshold?: string
        },
        cmd: Command,
      ) => {
        const settings = await settingsOf(cmd)
        const scopes = [record !== undefined, opts.tag !== undefined, opts.all === true].filter(
          Boolean,
        ).length
        if (scopes !== 1) throw new UsageError('Grant exactly one of: a record id, --tag <category>, --all.')
        const to = address(opts.to)
        const threshold = opts.threshold === undefined ? undefined : Number(opts.threshold)
        if (threshold !== undefined && (!Number.isInteger(threshold) || threshold < 1)) {
          throw new UsageError('--threshold: a whole number of at least 1.')
        }
        const scope =
          record !== undefined
            ? { records: [hexId(record, 'record')] }
            : opts.tag !== undefined
              ? { tag: opts.tag }
              : { all: true as const }
        const grant = await withVault(settings, ({ vault }) =>
          vault.grants.create({
            to,
            ...scope,
            purpose: opts.purpose as 'TREAT',
            expiresIn: opts.expires as '30d',
            ...(threshold === undefined ? {} : { threshold }),
          }),
        )
        emit(settings.json, grantJson(grant), () => [grant.id])
      },
    )

  program
    .command('revoke')
    .description('revoke a grant (one transaction; proxies refuse from the next block)')
    .argument('<grant>', 'the grant id (0x…)')
    .addHelpText('after', examples(['medvault revoke 0xGRANT']))
    .action(async (grant: string, _opts: unknown, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const id = hexId(grant, 'grant')
      const { transactionHash } = await withVault(settings, ({ vault }) => vault.grants.revoke(id))
      emit(settings.json, { grant: id, revoked: true, transactionHash }, () => [`revoked ${id}`])
    })

  program
    .command('grants')
    .description('grants this identity gave (default) or received')
    .option('--given', 'grants this identity gave')
    .option('--received', 'grants this identity received')
    .option('--active', 'only grants that hold now')
    .addHelpText('after', examples(['medvault grants', 'medvault grants --received --active --json']))
    .action(async (opts: { given?: boolean; received?: boolean; active?: boolean }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const received = opts.received === true
      const given = opts.given === true || !received
      const grants = await withVault(settings, ({ vault }) =>
        vault.grants.list({ given, received, ...(opts.active === true ? { active: true } : {}) }),
      )
      emit(settings.json, grants.map(grantJson), () =>
        grants.map(
          (g) =>
            `${g.id}  ${g.grantor} -> ${g.grantee}  ${String(g.purpose)}  ${scopeText(g)}  ${g.threshold}-of-set ${g.proxySet}  until ${iso(g.expiresAt)}  ${g.revoked ? 'revoked' : g.active ? 'active' : 'inactive'}`,
        ),
      )
    })

  program
    .command('audit')
    .description(
      'the audit trail: registrations, grants, revocations, break-glass windows (of one record, or all)',
    )
    .argument('[record]', 'the record id (0x…)')
    .addHelpText('after', examples(['medvault audit', 'medvault audit 0xRECORD --json']))
    .action(async (record: string | undefined, _opts: unknown, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const id = record === undefined ? undefined : hexId(record, 'record')
      const entries = await withVault(settings, ({ vault }) =>
        vault.audit.list(id === undefined ? {} : { record: id }),
      )
      emit(settings.json, entries, () => entries.map(auditLine))
    })

  // research datasets
  const dataset = program
    .command('dataset')
    .description(
      'research datasets: build and publish them (data stewards), fetch and verify them (platforms)',
    )
  dataset
    .command('build')
    .description(
      'build a de-identified FHIR dataset from the records under active research consent to this identity, and register it',
    )
    .requiredOption('--purpose <code>', 'the purpose of use consents must have: HRESCH, CLINTRL, …')
    .option(
      '--rules <file>',
      'de-identification rules, JSON: a Microsoft FHIR anonymizer configuration or a medvault rule set (default: Safe Harbor)',
    )
    .option('--recipient <address>', 'encrypt the dataset to this research platform (and this identity)')
    .option('--at-block <n>', 'the consent snapshot block (default: the block before the latest)')
    .option(
      '--key-file <file>',
      'the dataset key: read from this file (0x and 64 hex digits) if it exists, else a new key is written there (mode 600)',
    )
    .option('--licence <id>', 'the licence registered with it: an SPDX id or a URL', 'NOASSERTION')
    .option('--no-publish', 'build only; register it later with `medvault dataset publish`')
    .addHelpText(
      'after',
      examples([
        'medvault dataset build --purpose HRESCH --key-file dataset.key',
        'medvault dataset build --purpose CLINTRL --recipient 0xPLATFORM --rules anonymizer.json --json',
      ]),
    )
    .action(
      async (
        opts: {
          purpose: string
          rules?: string
          recipient?: string
          atBlock?: string
          keyFile?: string
          licence: string
          publish: boolean
        },
        cmd: Command,
      ) => {
        const settings = await settingsOf(cmd)
        const recipient = opts.recipient === undefined ? undefined : address(opts.recipient)
        if (opts.atBlock !== undefined && !/^\d+$/.test(opts.atBlock))
          throw new UsageError('--at-block: a block number.')
        // Publishing later needs the dataset key: without a file to keep it in, the build could never be published.
        if (!opts.publish && opts.keyFile === undefined)
          throw new UsageError(
            '--no-publish needs --key-file: `dataset publish` needs the dataset key later.',
          )
        let rules: unknown
        if (opts.rules !== undefined) {
          try {
            rules = JSON.parse(await readFile(opts.rules, 'utf8'))
          } catch (cause) {
            if ((cause as { code?: string }).code === 'ENOENT') throw cause
            throw new UsageError(`--rules: ${opts.rules} is not JSON.`)
          }
        }
        let key: Uint8Array | undefined
        if (opts.keyFile !== undefined) {
          const text = await readFile(opts.keyFile, 'utf8').catch((err: { code?: string }) => {
            if (err.code === 'ENOENT') return undefined
            throw err
          })
          if (text !== undefined) {
            const hex = text.trim()
            if (!isHex(hex) || hex.length !== 66)
              throw new UsageError(`--key-file: ${opts.keyFile} does not hold a key (0x and 64 hex digits).`)
            key = Buffer.from(hex.slice(2), 'hex')
          }
        }
        const result = await withVault(settings, async ({ vault, storage, network }) => {
          const built = await vault.datasets.build({
            purpose: opts.purpose as 'HRESCH',
            publish: false,
            ...(rules === undefined ? {} : { rules: rules as { fhirPathRules: unknown[] } }),
            ...(recipient === undefined ? {} : { recipient }),
            ...(opts.atBlock === undefined ? {} : { atBlock: BigInt(opts.atBlock) }),
            ...(key === undefined ? {} : { key }),
          })
          // Readers find it in the devnet's store before it is registered.
          if (network.store !== undefined) {
            const { uploadDag } = await import('./store-service.ts')
            await uploadDag(storage, built.cid, network.store)
          }
          const published = opts.publish
            ? await vault.datasets.publish(built, { licence: opts.licence })
            : undefined
          return { built, published }
        })
        const { built, published } = result
        if (opts.keyFile !== undefined && key === undefined) {
          await writeFile(opts.keyFile, `0x${Buffer.from(built.key).toString('hex')}\n`, {
            mode: 0o600,
            flag: 'wx',
          })
        }
        const m = built.manifest
        emit(
          settings.json,
          {
            cid: built.cid.toString(),
            manifestHash: built.manifestHash,
            purpose: m.purpose,
            consentBlock: m.consent.block,
            consents: m.consent.grants,
            patients: m.consent.patients,
            records: m.records,
            resources: m.resources,
            skipped: m.skipped,
            excluded: built.excluded.length,
            files: m.output.map((o) => ({ type: o.type, count: o.count })),
            encryptedTo: m.encryption?.recipients ?? null,
            datasetId: published?.datasetId ?? null,
            transactionHash: published?.transactionHash ?? null,
          },
          () => [
            built.cid.toString(),
            `  ${m.records} records of ${m.consent.patients} patients at block ${m.consent.block}: ${m.output.map((o) => `${o.count} ${o.type}`).join(', ')}`,
            published === undefined
              ? '  not registered (medvault dataset publish)'
              : `  registered ${published.datasetId}`,
          ],
        )
      },
    )
  dataset
    .command('publish')
    .description(
      'register a dataset this identity built (with --no-publish) in the DatasetRegistry; never publish a CID handed to you',
    )
    .argument('<cid>', 'the dataset CID')
    .requiredOption(
      '--key-file <file>',
      'the dataset key its build wrote (dataset build --key-file): its consent commitments must open with it',
    )
    .option('--licence <id>', 'the licence registered with it: an SPDX id or a URL', 'NOASSERTION')
    .addHelpText(
      'after',
      examples(['medvault dataset publish bafy… --key-file dataset.key --licence CC-BY-4.0']),
    )
    .action(async (cid: string, opts: { keyFile: string; licence: string }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const hex = (await readFile(opts.keyFile, 'utf8')).trim()
      if (!isHex(hex) || hex.length !== 66)
        throw new UsageError(`--key-file: ${opts.keyFile} does not hold a key (0x and 64 hex digits).`)
      const key = Buffer.from(hex.slice(2), 'hex')
      // Registering is this identity's word that the data was given with consent: the SDK registers only a
      // dataset whose consent commitments open with the key to consents this identity held.
      const published = await withVault(settings, ({ vault }) =>
        vault.datasets.publish(cid, { licence: opts.licence, key }),
      )
      emit(settings.json, { cid, ...published, transactionHash: published.transactionHash ?? null }, () => [
        `registered ${published.datasetId}`,
      ])
    })
  dataset
    .command('fetch')
    .description(
      'fetch a registered dataset, verify it against the chain, and write its NDJSON files and manifest to a directory',
    )
    .argument('<cid>', 'the dataset CID')
    .option('-o, --out <dir>', 'where to write the files (default: ./dataset-<cid>)')
    .option('--steward <address>', 'refuse the dataset unless this steward registered it')
    .addHelpText(
      'after',
      examples([
        'medvault dataset fetch bafy… --steward 0xSTEWARD -o ./study',
        'medvault dataset fetch bafy… --json',
      ]),
    )
    .action(async (cid: string, opts: { out?: string; steward?: string }, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const steward = opts.steward === undefined ? undefined : address(opts.steward)
      const outDir = opts.out ?? `dataset-${cid}`
      const fetched = await withVault(settings, ({ vault }) =>
        vault.datasets.fetch(cid, { outDir, ...(steward === undefined ? {} : { steward }) }),
      )
      const r = fetched.registration
      emit(
        settings.json,
        {
          cid,
          datasetId: fetched.datasetId,
          steward: r.steward,
          registeredAt: r.registeredAt,
          licence: r.licence,
          consentBlock: r.consentSnapshotBlock.toString(),
          ruleSetHash: r.ruleSetHash,
          files: fetched.files ?? [],
          counts: Object.fromEntries(fetched.manifest.output.map((o) => [o.type, o.count])),
        },
        () => [
          `verified: registered by ${r.steward} at ${iso(r.registeredAt)}, consent block ${r.consentSnapshotBlock}, licence ${r.licence}`,
          ...(fetched.files ?? []),
        ],
      )
    })

  program
    .command('demo')
    .description(
      'the main story on a throw-away local network: put, grant 2-of-3, read, revoke, refused, rotate',
    )
    .addHelpText('after', examples(['medvault demo']))
    .action(async (_opts: unknown, cmd: Command) => {
      const settings = await settingsOf(cmd)
      const { runDemo } = await import('./demo.ts')
      const ok = await runDemo({ json: settings.json })
      if (!ok) setCode(ExitCode.failure)
    })

  program
    .command('node')
    .description('the medvault node daemon (medvault-node): every argument is passed to it')
    .helpOption(false)
    .allowUnknownOption()
    .allowExcessArguments()
    .argument('[args...]')
    .addHelpText('after', examples(['medvault node --help']))
    .action(async (args: string[]) => {
      const { runCli: runNodeCli } = await import('@medvault/node')
      setCode(await runNodeCli(args))
    })

  return program
}

async function refuseOverwrite(file: string, force: boolean) {
  if (force) return
  const exists = await stat(file).then(
    () => true,
    () => false,
  )
  if (exists)
    throw new UsageError(`A keystore already exists at ${file}; use --force to replace it (its key is lost).`)
}

async function sniffFhir(file: string): Promise<string | undefined> {
  try {
    const value: unknown = JSON.parse(await readFile(file, 'utf8'))
    if (
      typeof value === 'object' &&
      value !== null &&
      typeof (value as { resourceType?: unknown }).resourceType === 'string'
    ) {
      return 'application/fhir+json'
    }
    return 'application/json'
  } catch {
    return undefined
  }
}

function auditLine(e: AuditEntry): string {
  switch (e.kind) {
    case 'record-registered':
      return `${iso(e.at)}  registered  ${e.recordId} v${e.version} by ${e.by}`
    case 'grant':
      return `${iso(e.at)}  grant       ${e.grantId} to ${e.grantee} ${String(e.purpose)} until ${iso(e.expiresAt)}`
    case 'revocation':
      return `${iso(e.at)}  revocation  ${e.grantId} by ${e.by}`
    case 'break-glass':
      return `${iso(e.at)}  break-glass ${e.grantId} ${e.recordId} by ${e.grantee} ${String(e.reason)}`
    case 'read':
      return `${iso(e.at)}  read        ${e.recordId} by ${e.reader} via ${e.proxy}${e.anchored ? ' (anchored)' : ''}`
  }
}

/** Runs the program; resolves to the exit code. Errors are printed as one line on stderr. */
export async function runCli(argv: string[]): Promise<number> {
  let code: number = ExitCode.ok
  const program = buildProgram((c) => {
    code = c
  })
  const verbose = argv.includes('--verbose')
  try {
    await program.parseAsync(argv, { from: 'user' })
    return code
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and version end with code 0; commander has already printed its usage error.
      return err.exitCode === 0 ? ExitCode.ok : ExitCode.usage
    }
    process.stderr.write(`medvault: ${oneLine(err)}\n`)
    if (verbose)
      for (const line of causeChain(err).slice(0))
        process.stderr.write(`  ${line.split('\n').join('\n  ')}\n`)
    else if (err instanceof CliError && err.metaMessages !== undefined)
      process.stderr.write(`  ${err.metaMessages.join(' ')}\n`)
    return exitCodeOf(err)
  }
}
