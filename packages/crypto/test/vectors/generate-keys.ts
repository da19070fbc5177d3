/**
 * Regenerates keys.json. Run from the repository root:
 *   npx -y pnpm@10 exec node packages/crypto/test/vectors/generate-keys.ts
 * The signatures come from viem (an independent EIP-712 implementation) signing with well-known test
 * private keys; the derived keys come from this package. See README.md beside this file.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { privateKeyToAccount } from 'viem/accounts'
import { fromHex, toHex } from '../../src/bytes.ts'
import {
  deriveKeysFromPrivateKey,
  deriveKeysFromSignature,
  getPublicKey,
  keyDerivationDigest,
  keyDerivationTypedData,
  tagFor,
} from '../../src/keys.ts'

const N = 0xfffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141n

const privateKeys = [
  // Hardhat / anvil default accounts #0 and #1: public test keys, never secrets.
  '0xac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80',
  '0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d',
  // The extremes of the valid range.
  '0x0000000000000000000000000000000000000000000000000000000000000001',
  `0x${(N - 1n).toString(16)}`,
] as const

function described(keys: ReturnType<typeof deriveKeysFromPrivateKey>) {
  return {
    encryptionSecretKey: toHex(keys.encryptionSecretKey),
    encryptionPublicKey: toHex(getPublicKey(keys.encryptionSecretKey)),
    signingSecretKey: toHex(keys.signingSecretKey),
    signingPublicKey: toHex(getPublicKey(keys.signingSecretKey)),
    tagKey: toHex(keys.tagKey),
  }
}

const fromPrivateKey = privateKeys.map((pk) => ({
  privateKey: pk.slice(2),
  ...described(deriveKeysFromPrivateKey(fromHex(pk))),
}))

// A deployment: anvil's chain id and the address anvil gives the first contract account #0 deploys.
const domain = { chainId: 31337, keyRegistry: '0x5fbdb2315678afecb367f032d93f642f64180aa3' } as const
// The same registry address on another chain, and another registry on the same chain.
const otherDomains = [
  { chainId: 1, keyRegistry: domain.keyRegistry },
  { chainId: 31337, keyRegistry: '0xe7f1725e7734ce288f8367e1bb143e90bb3f0512' },
] as const

const fromSignature = []
for (const pk of privateKeys.slice(0, 2)) {
  const account = privateKeyToAccount(pk)
  for (const d of [domain, ...otherDomains]) {
    const signature = await account.signTypedData(keyDerivationTypedData(d))
    fromSignature.push({
      chainId: d.chainId,
      keyRegistry: d.keyRegistry,
      address: account.address,
      signature: signature.slice(2),
      ...described(deriveKeysFromSignature(signature, { ...d, account: account.address })),
    })
  }
}

const categories = ['laboratory', 'mental-health', 'Laboratory', 'café', '']
const tagKey = deriveKeysFromPrivateKey(fromHex(privateKeys[0])).tagKey
const tags = categories.map((category) => ({
  tagKey: toHex(tagKey),
  category,
  tag: toHex(tagFor(tagKey, category)),
}))

const out = {
  description: 'medvault key derivation test vectors (wallet message v2): see README.md',
  domain,
  typedData: keyDerivationTypedData(domain),
  digests: [domain, ...otherDomains].map((d) => ({ ...d, digest: toHex(keyDerivationDigest(d)) })),
  fromPrivateKey,
  fromSignature,
  tags,
}
writeFileSync(join(import.meta.dirname, 'keys.json'), `${JSON.stringify(out, null, 2)}\n`)
console.log('wrote keys.json')
