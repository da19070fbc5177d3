/**
 * Who a vault acts as: an Ethereum account (a raw private key, a viem account or a wallet client), the
 * medvault keys derived from it, and their publication in the KeyRegistry.
 *
 * - A raw private key (`0x` + 64 hex digits) derives the keys from the key itself (no signature is made).
 * - Any viem account or wallet client derives them from its signature of an EIP-712 message bound to the
 *   chain id and the KeyRegistry (`keyDerivationTypedData`), asked once per vault and only when a key is
 *   first needed. Wallets sign deterministically, so the same account always derives the same keys.
 *
 * The two ways give different keys for the same account: open a vault the same way every time (a
 * mismatch with the published keys is a {@link KeyMismatchError}).
 *
 * @module
 */
import {
  KeyNotPublishedError as ChainKeyNotPublishedError,
  getPublicKeys,
  publishKeys,
} from '@medvault/chain'
import {
  type DerivedKeys,
  deriveKeysFromPrivateKey,
  deriveKeysFromSignature,
  keyDerivationTypedData,
  publicKeys,
} from '@medvault/crypto'
import {
  type Account,
  type Address,
  type Chain,
  createWalletClient,
  type Hex,
  hexToBytes,
  type Transport,
  type WalletClient,
} from 'viem'
import { privateKeyToAccount } from 'viem/accounts'
import type { VaultContext } from './context.ts'
import { InvalidOptionError, KeyMismatchError, KeyNotPublishedError } from './errors.ts'

/** Who the vault acts as: a raw 32-byte private key, a viem account, or a wallet client with an account. */
export type VaultAccount = Hex | Account | WalletClient<Transport, Chain | undefined, Account>

/** The account, a wallet client to send and sign with, and how to derive keys. */
export interface ResolvedAccount {
  address: Address
  walletClient: WalletClient<Transport, Chain, Account>
  /** Derives the keys (from the private key at once, or by asking for the wallet signature). */
  deriveKeys: (domain: { chainId: number; keyRegistry: Address }) => Promise<DerivedKeys>
}

/** Turns the `account` option into a wallet client and a key-derivation function. */
export function resolveAccount(account: VaultAccount, transport: Transport, chain: Chain): ResolvedAccount {
  if (typeof account === 'string') {
    if (!/^0x[0-9a-fA-F]{64}$/.test(account)) {
      throw new InvalidOptionError({
        option: 'account',
        expected: 'a private key (0x and 64 hex digits), a viem account or a wallet client with an account',
      })
    }
    const local = privateKeyToAccount(account)
    const privateKey = hexToBytes(account)
    return {
      address: local.address,
      walletClient: createWalletClient({ account: local, chain, transport }),
      deriveKeys: async () => deriveKeysFromPrivateKey(privateKey),
    }
  }
  if (account !== null && typeof account === 'object' && 'extend' in account && 'request' in account) {
    const wallet = account as WalletClient<Transport, Chain | undefined, Account>
    if (wallet.account === undefined) {
      throw new InvalidOptionError({
        option: 'account',
        expected: 'a wallet client with an account attached',
      })
    }
    const signer = wallet.account
    const client = (wallet.chain === undefined ? { ...wallet, chain } : wallet) as WalletClient<
      Transport,
      Chain,
      Account
    >
    return {
      address: signer.address,
      walletClient: client,
      deriveKeys: async (domain) => {
        const signature = await wallet.signTypedData({ account: signer, ...keyDerivationTypedData(domain) })
        return deriveKeysFromSignature(signature, { ...domain, account: signer.address })
      },
    }
  }
  if (account !== null && typeof account === 'object' && 'address' in account && 'type' in account) {
    const signer = account as Account
    const client = createWalletClient({ account: signer, chain, transport })
    return {
      address: signer.address,
      walletClient: client,
      deriveKeys: async (domain) => {
        const signature = await client.signTypedData({ account: signer, ...keyDerivationTypedData(domain) })
        return deriveKeysFromSignature(signature, { ...domain, account: signer.address })
      },
    }
  }
  throw new InvalidOptionError({
    option: 'account',
    expected: 'a private key (0x and 64 hex digits), a viem account or a wallet client with an account',
  })
}

/** The public keys an account has published, as the chain returns them. */
export interface PublishedAccountKeys {
  /** 33 bytes: the Umbral receiving key grants are made to. */
  receiving: Uint8Array
  /** 33 bytes: the verifying key of the account's kfrag-signing key. */
  verifying: Uint8Array
}

/**
 * The published keys of `account`.
 *
 * @throws {KeyNotPublishedError} when it never published them.
 */
export async function publishedKeysOf(ctx: VaultContext, account: Address): Promise<PublishedAccountKeys> {
  try {
    const { receivingKey, verifyingKey } = await getPublicKeys(ctx.publicClient, {
      addresses: ctx.addresses,
      account,
    })
    return { receiving: hexToBytes(receivingKey), verifying: hexToBytes(verifyingKey) }
  } catch (err) {
    if (err instanceof ChainKeyNotPublishedError) throw new KeyNotPublishedError({ account, cause: err })
    throw err
  }
}

/**
 * Publishes the vault's public keys unless the chain already has exactly these.
 *
 * @throws {KeyMismatchError} when other keys are published for the account and `replace` is not set.
 */
export async function ensureKeysPublished(
  ctx: VaultContext,
  options: { replace?: boolean; signal?: AbortSignal | undefined } = {},
): Promise<{ published: boolean }> {
  const keys = await ctx.keys()
  const mine = publicKeys(keys)
  let current: PublishedAccountKeys | undefined
  try {
    current = await publishedKeysOf(ctx, ctx.address)
  } catch (err) {
    if (!(err instanceof KeyNotPublishedError)) throw err
  }
  if (
    current !== undefined &&
    equalBytes(current.receiving, mine.receiving) &&
    equalBytes(current.verifying, mine.verifying)
  ) {
    return { published: false }
  }
  if (current !== undefined && options.replace !== true) {
    throw new KeyMismatchError({ account: ctx.address, what: 'the keys it published on chain' })
  }
  await ctx.write(
    'publishKeys',
    (signal) =>
      publishKeys(ctx.walletClient, {
        addresses: ctx.addresses,
        receivingKey: mine.receiving,
        verifyingKey: mine.verifying,
        signal,
      }),
    options.signal,
  )
  return { published: true }
}

export function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false
  let diff = 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}
