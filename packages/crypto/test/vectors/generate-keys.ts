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

const fromSignature = []
for (const pk of privateKeys.slice(0, 2)) {
  const account = privateKeyToAccount(pk)
  const signature = await account.signTypedData(keyDerivationTypedData)
  fromSignature.push({
    address: account.address.toLowerCase(),
    signature: signature.slice(2),
    ...described(deriveKeysFromSignature(signature)),
  })
}

const categories = ['laboratory', 'mental-health', 'Laboratory', 'café', '']
const tagKey = deriveKeysFromPrivateKey(fromHex(privateKeys[0])).tagKey
const tags = categories.map((category) => ({
  tagKey: toHex(tagKey),
  category,
  tag: toHex(tagFor(tagKey, category)),
}))

const out = {
  description: 'medvault key derivation v1 test vectors: see README.md',
  typedData: keyDerivationTypedData,
  digest: toHex(keyDerivationDigest()),
  fromPrivateKey,
  fromSignature,
  tags,
}
writeFileSync(join(import.meta.dirname, 'keys.json'), `${JSON.stringify(out, null, 2)}\n`)
console.log('wrote keys.json')
