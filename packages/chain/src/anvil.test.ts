import { spawn } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { createPublicClient, createWalletClient, http } from 'viem'
import { foundry } from 'viem/chains'
import { describe, expect, test } from 'vitest'
import { DEFAULT_MNEMONIC, deriveAccounts, startAnvil } from './anvil.ts'
import { AnvilStartError } from './errors.ts'

/** True while a process with this pid exists and is not a zombie. */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0)
  } catch {
    return false
  }
  try {
    // A zombie (state Z) is dead; it only waits for its (re-)parent to reap it.
    return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/**
 * Resolves once `pid` is gone. Not a timed assertion: it has no time budget of its own (the pid is a grandchild,
 * so there is no exit event to wait on, only liveness to poll). A process that never dies keeps this pending
 * until vitest's test timeout, which is only the hang guard.
 */
async function untilGone(pid: number): Promise<void> {
  while (isRunning(pid)) await new Promise((r) => setTimeout(r, 20))
}

describe('startAnvil', () => {
  test('default', async () => {
    const anvil = await startAnvil()
    try {
      expect(anvil.rpcUrl).toBe(`http://127.0.0.1:${anvil.port}`)
      expect(anvil.port).toBeGreaterThan(0)
      expect(anvil.accounts).toHaveLength(10)
      // anvil's well-known first default account.
      expect(anvil.accounts[0]?.address).toBe('0xf39Fd6e51aad88F6F4ce6aB8827279cffFb92266')
      const client = createPublicClient({ chain: foundry, transport: http(anvil.rpcUrl) })
      expect(await client.getChainId()).toBe(31337)
      const balance = await client.getBalance({ address: anvil.accounts[9]!.address })
      expect(balance).toBe(10_000n * 10n ** 18n)
    } finally {
      await anvil.stop()
    }
  })

  test('behavior: stop() leaves no process and is idempotent', async () => {
    const anvil = await startAnvil()
    expect(isRunning(anvil.pid)).toBe(true)
    await anvil.stop()
    expect(isRunning(anvil.pid)).toBe(false)
    await anvil.stop()
  })

  test('behavior: two devnets run side by side on different ports', async () => {
    const [a, b] = await Promise.all([startAnvil({ chainId: 1337 }), startAnvil({ accounts: 2 })])
    try {
      expect(a.port).not.toBe(b.port)
      expect(a.chainId).toBe(1337)
      expect(b.accounts).toHaveLength(2)
    } finally {
      await Promise.all([a.stop(), b.stop()])
    }
  })

  test('behavior: anvil dies with a parent killed by SIGKILL', async () => {
    const entry = fileURLToPath(new URL('./anvil.ts', import.meta.url))
    const script = `
      const { startAnvil } = await import(${JSON.stringify(entry)})
      const anvil = await startAnvil()
      process.stdout.write(String(anvil.pid) + '\\n')
      setInterval(() => {}, 1000)
    `
    const parent = spawn(process.execPath, ['--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    })
    const pid = await new Promise<number>((resolve, reject) => {
      let out = ''
      parent.stdout.setEncoding('utf8')
      parent.stdout.on('data', (c: string) => {
        out += c
        if (out.includes('\n')) resolve(Number(out.trim()))
      })
      parent.once('exit', (code) => reject(new Error(`parent exited early (${code})`)))
    })
    expect(isRunning(pid)).toBe(true)
    const parentExited = new Promise((resolve) => parent.once('exit', resolve))
    parent.kill('SIGKILL')
    // The parent's own exit event first (no exit handler ran), then the watchdog takes anvil down.
    expect(await parentExited).toBe(null)
    await untilGone(pid)
    expect(isRunning(pid)).toBe(false)
  })

  test('behavior: deriveAccounts matches anvil for a custom mnemonic', async () => {
    const mnemonic =
      'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about'
    const anvil = await startAnvil({ mnemonic, accounts: 3 })
    try {
      const addresses = await createWalletClient({
        chain: foundry,
        transport: http(anvil.rpcUrl),
      }).getAddresses()
      expect(addresses.map((a) => a.toLowerCase())).toEqual(
        deriveAccounts(mnemonic, 3).map((a) => a.address.toLowerCase()),
      )
      expect(deriveAccounts(DEFAULT_MNEMONIC, 1)[0]?.privateKey).toBe(
        '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
      )
    } finally {
      await anvil.stop()
    }
  })

  test('error: a bad argument makes anvil exit and is reported', async () => {
    await expect(startAnvil({ args: ['--no-such-flag'] })).rejects.toBeInstanceOf(AnvilStartError)
  })

  test('error: a binary that does not exist', async () => {
    const err = await startAnvil({ binary: '/nonexistent/anvil' }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(AnvilStartError)
    expect((err as AnvilStartError).shortMessage).toMatchInlineSnapshot(
      `"anvil did not start: the process could not be spawned"`,
    )
  })
})
