/**
 * The functional API of umbral-pre: encrypt, decryptOriginal, generateKFrags, reencrypt,
 * decryptReencrypted.
 *
 * @module
 */
import { getBackend } from './backend.ts'
import {
  type Capsule,
  capsuleFromPublicKey,
  capsuleParts,
  hashCapsulePoints,
  openOriginal,
} from './capsule.ts'
import { capsuleFragParts, reencryptCapsule, VerifiedCapsuleFrag } from './capsule-frag.ts'
import { equalBytes, Fn, IDENTITY, POINT_SIZE } from './curve.ts'
import { demDecrypt, demEncrypt } from './dem.ts'
import {
  DecryptionError,
  DuplicateCapsuleFragsError,
  MismatchedCapsuleFragsError,
  NotEnoughCapsuleFragsError,
} from './errors.ts'
import { hashToPolynomialArg, hashToSharedSecret, makeKeyFrags, VerifiedKeyFrag } from './key-frag.ts'
import { type PublicKey, publicPoint, type SecretKey, type Signer, secretScalar } from './keys.ts'

function assertBytes(value: unknown, what: string): asserts value is Uint8Array {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Uint8Array.`)
}

/**
 * Encrypts `plaintext` for the holder of `delegatingPk`: a fresh key is encapsulated in the returned
 * capsule and the plaintext sealed with XChaCha20-Poly1305 under it.
 * @returns `[capsule, ciphertext]`; the ciphertext is 40 bytes longer than the plaintext
 */
export function encrypt(delegatingPk: PublicKey, plaintext: Uint8Array): [Capsule, Uint8Array] {
  assertBytes(plaintext, 'plaintext')
  const { capsule, keySeed } = capsuleFromPublicKey(delegatingPk)
  try {
    return [capsule, demEncrypt(keySeed, plaintext, capsule.toBytesSimple())]
  } finally {
    keySeed.fill(0)
  }
}

/**
 * Decrypts with the key the capsule was made for.
 * @throws {DecryptionError} for a wrong key or an altered ciphertext (one opaque error)
 */
export function decryptOriginal(
  delegatingSk: SecretKey,
  capsule: Capsule,
  ciphertext: Uint8Array,
): Uint8Array {
  assertBytes(ciphertext, 'ciphertext')
  const keySeed = openOriginal(capsule, delegatingSk)
  if (keySeed === undefined) throw new DecryptionError()
  try {
    return demDecrypt(keySeed, ciphertext, capsule.toBytesSimple())
  } finally {
    keySeed.fill(0)
  }
}

/**
 * Splits the right to decrypt from `delegatingSk` to `receivingPk` into `shares` key fragments, any
 * `threshold` of which (re-encrypting through proxies) let the receiver decrypt. Each kfrag is signed by
 * `signer`; `signDelegatingKey` / `signReceivingKey` bind those keys into the signature the proxy checks.
 *
 * Unlike umbral-pre, which silently accepts them, `threshold < 1` and `threshold > shares` throw: such
 * kfrags could never be used.
 * @throws {RangeError}
 */
export function generateKFrags(
  delegatingSk: SecretKey,
  receivingPk: PublicKey,
  signer: Signer,
  threshold: number,
  shares: number,
  signDelegatingKey: boolean,
  signReceivingKey: boolean,
): VerifiedKeyFrag[] {
  if (!Number.isSafeInteger(threshold) || threshold < 1) {
    throw new RangeError(`threshold must be an integer ≥ 1, got ${threshold}.`)
  }
  if (!Number.isSafeInteger(shares) || shares < threshold) {
    throw new RangeError(`shares must be an integer ≥ threshold (${threshold}), got ${shares}.`)
  }
  if (typeof signDelegatingKey !== 'boolean' || typeof signReceivingKey !== 'boolean') {
    throw new TypeError('signDelegatingKey and signReceivingKey must be booleans.')
  }
  return makeKeyFrags(
    delegatingSk,
    receivingPk,
    signer,
    threshold,
    shares,
    signDelegatingKey,
    signReceivingKey,
  )
}

/** Re-encrypts a capsule with a verified kfrag (the proxy's job); the cfrag carries its own proof. */
export function reencrypt(capsule: Capsule, kfrag: VerifiedKeyFrag): VerifiedCapsuleFrag {
  // An unverified KeyFrag must go through `verify()` (or an explicit `skipVerification()`) first.
  if (!(kfrag instanceof VerifiedKeyFrag))
    throw new TypeError('reencrypt() takes a VerifiedKeyFrag: call KeyFrag.verify() first.')
  return reencryptCapsule(capsule, kfrag)
}

/**
 * Opens a capsule with at least `threshold` verified cfrags and decrypts the ciphertext.
 * @throws {NotEnoughCapsuleFragsError} no cfrags, or they do not open the capsule (too few, or wrong keys)
 * @throws {MismatchedCapsuleFragsError} cfrags from different `generateKFrags` calls
 * @throws {DuplicateCapsuleFragsError} the same cfrag twice
 * @throws {DecryptionError} the ciphertext does not authenticate under the opened key
 */
export function decryptReencrypted(
  receivingSk: SecretKey,
  delegatingPk: PublicKey,
  capsule: Capsule,
  verifiedCFrags: readonly VerifiedCapsuleFrag[],
  ciphertext: Uint8Array,
): Uint8Array {
  assertBytes(ciphertext, 'ciphertext')
  if (!Array.isArray(verifiedCFrags) || !verifiedCFrags.every((c) => c instanceof VerifiedCapsuleFrag)) {
    throw new TypeError(
      'verifiedCFrags must be an array of VerifiedCapsuleFrag: call CapsuleFrag.verify() first.',
    )
  }
  const keySeed = openReencrypted(receivingSk, delegatingPk, capsule, verifiedCFrags)
  try {
    return demDecrypt(keySeed, ciphertext, capsule.toBytesSimple())
  } finally {
    keySeed.fill(0)
  }
}

function openReencrypted(
  receivingSk: SecretKey,
  delegatingPk: PublicKey,
  capsule: Capsule,
  vcfrags: readonly VerifiedCapsuleFrag[],
): Uint8Array {
  const cfrags = vcfrags.map(capsuleFragParts)
  const first = cfrags[0]
  if (first === undefined) throw new NotEnoughCapsuleFragsError(0)
  const precursor = first.precursor
  if (!cfrags.every((c) => equalBytes(c.precursor, precursor))) throw new MismatchedCapsuleFragsError()
  for (let i = 0; i < cfrags.length; i++) {
    for (let j = i + 1; j < cfrags.length; j++) {
      if (equalBytes((cfrags[i] as (typeof cfrags)[0]).kfragId, (cfrags[j] as (typeof cfrags)[0]).kfragId)) {
        throw new DuplicateCapsuleFragsError()
      }
    }
  }

  const backend = getBackend()
  const sk = secretScalar(receivingSk)
  const pubKey = publicPoint(receivingSk.publicKey())
  // Everything derived from dhPoint (the share indices, the Lagrange coefficients, d) is secret to the
  // receiver: constant-time multiplications throughout.
  const dhPoint = backend.mul(precursor, sk)
  const xs = cfrags.map((c) => hashToPolynomialArg(precursor, pubKey, dhPoint, c.kfragId))
  const lambdas = lagrangeAtZero(xs, backend.invertSecret)
  if (lambdas === undefined) throw new DuplicateCapsuleFragsError()

  // With E' = Σ λ_i·E1_i and V' = Σ λ_i·V1_i, the reference checks (s/d)·pk_A = h·E' + V' and opens
  // d·(E' + V'). Folding d into the coefficients (E'' = d·E', V'' = d·V') gives the same check as
  // s·pk_A = h·E'' + V'' and the same key seed E'' + V'', one multiplication and one inversion cheaper.
  const d = hashToSharedSecret(precursor, pubKey, dhPoint)
  let ePrime = IDENTITY
  let vPrime = IDENTITY
  cfrags.forEach((c, i) => {
    const coefficient = Fn.mul(d, lambdas[i] as bigint)
    ePrime = backend.add(ePrime, backend.mul(c.e1, coefficient))
    vPrime = backend.add(vPrime, backend.mul(c.v1, coefficient))
  })

  const { e, v, s } = capsuleParts(capsule)
  const h = hashCapsulePoints(e, v)
  // s, pk_A and h are public, so both products use the variable-time path. E'' is secret-derived, but a
  // variable-time multiplication branches and indexes tables only on the scalar's digits (here the public
  // h); the point enters only through the field arithmetic, exactly as on the constant-time path.
  const lhs = backend.mulPublic(publicPoint(delegatingPk), s)
  const rhs = backend.add(backend.mulPublic(ePrime, h), vPrime)
  if (lhs.length !== POINT_SIZE || !equalBytes(lhs, rhs)) throw new NotEnoughCapsuleFragsError(cfrags.length)

  const shared = backend.add(ePrime, vPrime)
  if (shared.length !== POINT_SIZE) throw new NotEnoughCapsuleFragsError(cfrags.length)
  return shared.slice()
}

/** λ_i = Π_{j≠i} x_j / (x_j − x_i), with one inversion per i; `undefined` if two x are equal. */
function lagrangeAtZero(xs: readonly bigint[], invertSecret: (x: bigint) => bigint): bigint[] | undefined {
  const out: bigint[] = []
  for (let i = 0; i < xs.length; i++) {
    const xi = xs[i] as bigint
    let num = 1n
    let den = 1n
    for (let j = 0; j < xs.length; j++) {
      if (j === i) continue
      const xj = xs[j] as bigint
      const diff = Fn.sub(xj, xi)
      if (diff === 0n) return undefined
      num = Fn.mul(num, xj)
      den = Fn.mul(den, diff)
    }
    out.push(Fn.mul(num, invertSecret(den)))
  }
  return out
}
