/**
 * One key for both tools: `medvault-node` opens the identity keystore the `medvault` CLI writes
 * (`medvault-keystore/1`), and the CLI binary opens a `medvault-node` operator keystore (Web3 Secret Storage
 * v3); a wrong passphrase is refused by each, and neither prints the key unless asked.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createKeystore, KeystoreError, keystoreAddress, openKeystore } from '@medvault/node'
import { generatePrivateKey, privateKeyToAddress } from 'viem/accounts'
import { afterAll, beforeAll, describe, expect, test } from 'vitest'
import { runCli } from './process.ts'

const PASSPHRASE = 'correct horse battery staple'
let dir: string
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'medvault-keystores-'))
})
afterAll(async () => {
  await rm(dir, { recursive: true, force: true })
})

describe('keystore formats', () => {
  test('default: medvault-node opens the CLI identity keystore; a wrong passphrase is refused', async () => {
    const key = generatePrivateKey()
    const keyFile = join(dir, 'key.txt')
    await writeFile(keyFile, key, { mode: 0o600 })
    const file = join(dir, 'identity.json')
    const imported = await runCli(['--keystore', file, 'identity', 'import', '--key-file', keyFile], {
      env: { MEDVAULT_PASSPHRASE: PASSPHRASE },
    })
    expect(imported.code, imported.stderr).toBe(0)
    expect(JSON.parse(await readFile(file, 'utf8')).version).toBe('medvault-keystore/1')

    expect(await keystoreAddress(file)).toBe(privateKeyToAddress(key))
    expect(await openKeystore(file, PASSPHRASE)).toBe(key)
    const wrong = await openKeystore(file, 'not the passphrase').catch((e: unknown) => e)
    expect(wrong).toBeInstanceOf(KeystoreError)
    expect((wrong as KeystoreError).reason).toBe('wrong_passphrase')
    expect(String(wrong)).not.toContain(key.slice(2))

    // A header edited to name another address fails like a wrong passphrase (the header is authenticated).
    const edited = join(dir, 'edited.json')
    const k = JSON.parse(await readFile(file, 'utf8'))
    await writeFile(edited, JSON.stringify({ ...k, address: privateKeyToAddress(generatePrivateKey()) }))
    await expect(openKeystore(edited, PASSPHRASE)).rejects.toMatchObject({ reason: 'wrong_passphrase' })
  }, 120_000)

  test('behavior: the CLI binary opens a medvault-node operator keystore; a wrong passphrase exits 3', async () => {
    const key = generatePrivateKey()
    const file = join(dir, 'operator.json')
    await createKeystore(file, PASSPHRASE, { privateKey: key, scryptN: 2 ** 14 })

    const shown = await runCli(['--keystore', file, 'identity', 'show', '--json'], {
      env: { MEDVAULT_PASSPHRASE: undefined },
    })
    expect(shown.code, shown.stderr).toBe(0)
    expect(JSON.parse(shown.stdout)).toMatchObject({ address: privateKeyToAddress(key) })
    expect(shown.stdout).not.toContain(key.slice(2))

    const revealed = await runCli(['--keystore', file, 'identity', 'show', '--reveal', '--json'], {
      env: { MEDVAULT_PASSPHRASE: PASSPHRASE },
    })
    expect(revealed.code, revealed.stderr).toBe(0)
    expect(JSON.parse(revealed.stdout)).toMatchObject({ address: privateKeyToAddress(key), privateKey: key })

    const wrong = await runCli(['--keystore', file, 'identity', 'show', '--reveal'], {
      env: { MEDVAULT_PASSPHRASE: 'not the passphrase' },
    })
    expect(wrong.code).toBe(3)
    expect(wrong.stderr).toMatch(/^medvault: Wrong passphrase for keystore /)
    expect(wrong.stdout + wrong.stderr).not.toContain(key.slice(2))
  }, 180_000)
})
