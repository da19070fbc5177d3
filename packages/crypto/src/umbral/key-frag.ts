/**
 * Key fragments (kfrags): shares of the re-encryption key, one per proxy, signed by the delegator.
 *
 * Format (umbral-pre 0.10 `toBytes()`, MessagePack, structs as arrays):
 * `[[bin U(33)], bin id(32), bin key(32), bin precursor(33),
 *   [bin commitment(33), bin sigForProxy(64), bin sigForReceiver(64), bool delegatingKeySigned, bool receivingKeySigned]]`
 * — 310 bytes. There is no simple form.
 *
 * @module
 */
import { sha256 } from '@noble/hashes/sha2.js'
import { randomBytes } from '@noble/hashes/utils.js'
import { getBackend } from './backend.ts'
import {
  DST,
  encodedPoint,
  equalBytes,
  Fn,
  fmtPublic,
  hashToNonZeroScalar,
  POINT_SIZE,
  pointU,
  randomNonZeroScalar,
  SCALAR_SIZE,
  scalarFromBytes,
  scalarToBytes,
} from './curve.ts'
import { KeyFragVerificationError, UmbralDeserializationError } from './errors.ts'
import {
  type PublicKey,
  publicPoint,
  type SecretKey,
  type Signature,
  type Signer,
  secretScalar,
  signatureFromTrustedBytes,
} from './keys.ts'
import { asArray, asBool, asBytes, decodeMsgpack, encodeMsgpack, type MsgValue } from './msgpack.ts'

export const KFRAG_ID_SIZE = 32

export interface KeyFragParts {
  readonly id: Uint8Array
  /** the re-encryption key share: secret to the proxy that holds it */
  readonly key: bigint
  readonly precursor: Uint8Array
  readonly commitment: Uint8Array
  readonly signatureForProxy: Uint8Array
  readonly signatureForReceiver: Uint8Array
  readonly delegatingKeySigned: boolean
  readonly receivingKeySigned: boolean
}

const kfragParts = new WeakMap<KeyFrag | VerifiedKeyFrag, KeyFragParts>()
const TOKEN = Symbol('kfrag')

/** @internal */
export function keyFragParts(kfrag: KeyFrag | VerifiedKeyFrag): KeyFragParts {
  const p = kfragParts.get(kfrag)
  if (p === undefined) throw new TypeError('Expected a KeyFrag made by this module.')
  return p
}

export function hashToPolynomialArg(
  precursor: Uint8Array,
  pubkey: Uint8Array,
  dhPoint: Uint8Array,
  kfragId: Uint8Array,
): bigint {
  return hashToNonZeroScalar(DST.polynomialArg, [
    encodedPoint(precursor),
    encodedPoint(pubkey),
    encodedPoint(dhPoint),
    kfragId,
  ])
}

export function hashToSharedSecret(precursor: Uint8Array, pubkey: Uint8Array, dhPoint: Uint8Array): bigint {
  return hashToNonZeroScalar(DST.sharedSecret, [
    encodedPoint(precursor),
    encodedPoint(pubkey),
    encodedPoint(dhPoint),
  ])
}

/** id ‖ commitment ‖ precursor ‖ (0x01 ‖ delegating pk | 0x00) ‖ (0x01 ‖ receiving pk | 0x00) */
export function kfragSignatureMessage(
  id: Uint8Array,
  commitment: Uint8Array,
  precursor: Uint8Array,
  delegatingPk: Uint8Array | undefined,
  receivingPk: Uint8Array | undefined,
): Uint8Array {
  const len =
    KFRAG_ID_SIZE + 2 * POINT_SIZE + 2 + (delegatingPk ? POINT_SIZE : 0) + (receivingPk ? POINT_SIZE : 0)
  const out = new Uint8Array(len)
  let pos = 0
  const put = (b: Uint8Array) => {
    out.set(b, pos)
    pos += b.length
  }
  put(id)
  put(encodedPoint(commitment))
  put(encodedPoint(precursor))
  for (const pk of [delegatingPk, receivingPk]) {
    if (pk === undefined) put(Uint8Array.of(0))
    else {
      put(Uint8Array.of(1))
      put(pk)
    }
  }
  return out
}

function encodeParts(p: KeyFragParts): Uint8Array {
  return encodeMsgpack([
    [pointU()],
    p.id,
    scalarToBytes(p.key),
    p.precursor,
    [p.commitment, p.signatureForProxy, p.signatureForReceiver, p.delegatingKeySigned, p.receivingKeySigned],
  ])
}

function parseSignature(bytes: Uint8Array): Uint8Array {
  // r and s must be in [1, n); the bytes are kept as they are.
  const r = scalarFromBytes(bytes.subarray(0, 32))
  const s = scalarFromBytes(bytes.subarray(32))
  if (r === undefined || r === 0n || s === undefined || s === 0n)
    throw new Error('signature scalar out of range')
  return bytes
}

/** A key fragment as received from storage or the network: verify it before use. */
export class KeyFrag {
  /** @internal */
  constructor(p: KeyFragParts, token: symbol) {
    if (token !== TOKEN)
      throw new TypeError('Use `generateKFrags()` or `KeyFrag.fromBytes()` instead of `new`.')
    kfragParts.set(this, p)
  }

  /**
   * Parses the MessagePack form written by either implementation.
   * @throws {UmbralDeserializationError} on a malformed encoding, a point off the curve, a scalar out of
   *   range, or a scheme parameter U other than the standard one
   */
  static fromBytes(data: Uint8Array): KeyFrag {
    if (!(data instanceof Uint8Array)) throw new TypeError('data must be a Uint8Array.')
    let p: KeyFragParts
    try {
      const arr = asArray(decodeMsgpack(data), 5)
      const params = asArray(arr[0] as MsgValue, 1)
      if (!equalBytes(asBytes(params[0], POINT_SIZE), pointU()))
        throw new Error('unexpected scheme parameter U')
      const proof = asArray(arr[4] as MsgValue, 5)
      const key = scalarFromBytes(asBytes(arr[2], SCALAR_SIZE))
      if (key === undefined) throw new Error('key scalar out of range')
      p = {
        id: asBytes(arr[1], KFRAG_ID_SIZE),
        key,
        precursor: asBytes(arr[3], POINT_SIZE),
        commitment: asBytes(proof[0], POINT_SIZE),
        signatureForProxy: parseSignature(asBytes(proof[1], 64)),
        signatureForReceiver: parseSignature(asBytes(proof[2], 64)),
        delegatingKeySigned: asBool(proof[3]),
        receivingKeySigned: asBool(proof[4]),
      }
    } catch (cause) {
      throw new UmbralDeserializationError('KeyFrag', 'not a MessagePack-encoded key fragment', { cause })
    }
    const backend = getBackend()
    if (!backend.isValidPoint(p.precursor) || !backend.isValidPoint(p.commitment)) {
      throw new UmbralDeserializationError('KeyFrag', 'a point is not on the curve')
    }
    return new KeyFrag(p, TOKEN)
  }

  /**
   * Checks the commitment to the key share and the delegator's signature. Pass the delegating and
   * receiving keys (or `null`): a key that was signed into the kfrag must be given. When both are given,
   * the signature the receiver will check is verified too (umbral-pre leaves that to cfrag verification).
   * @throws {KeyFragVerificationError} with `reason` as in umbral-pre
   */
  verify(
    verifyingPk: PublicKey,
    delegatingPk: PublicKey | null = null,
    receivingPk: PublicKey | null = null,
  ): VerifiedKeyFrag {
    const p = keyFragParts(this)
    // The key share is the proxy's secret: constant-time multiplication.
    if (!equalBytes(getBackend().mul(pointU(), p.key), p.commitment)) {
      throw new KeyFragVerificationError('IncorrectCommitment')
    }
    if (delegatingPk === null && p.delegatingKeySigned)
      throw new KeyFragVerificationError('DelegatingKeyNotProvided')
    if (receivingPk === null && p.receivingKeySigned)
      throw new KeyFragVerificationError('ReceivingKeyNotProvided')
    const message = kfragSignatureMessage(
      p.id,
      p.commitment,
      p.precursor,
      p.delegatingKeySigned && delegatingPk !== null ? publicPoint(delegatingPk) : undefined,
      p.receivingKeySigned && receivingPk !== null ? publicPoint(receivingPk) : undefined,
    )
    if (!signatureFromTrustedBytes(p.signatureForProxy).verify(verifyingPk, message)) {
      throw new KeyFragVerificationError('IncorrectSignature')
    }
    // Stricter than umbral-pre, which leaves the receiver's signature to cfrag verification: when both
    // keys are at hand, check it now, so a proxy never serves cfrags that every receiver will refuse.
    if (delegatingPk !== null && receivingPk !== null) {
      const forReceiver = kfragSignatureMessage(
        p.id,
        p.commitment,
        p.precursor,
        publicPoint(delegatingPk),
        publicPoint(receivingPk),
      )
      const same = equalBytes(p.signatureForProxy, p.signatureForReceiver) && equalBytes(forReceiver, message)
      if (!same && !signatureFromTrustedBytes(p.signatureForReceiver).verify(verifyingPk, forReceiver)) {
        throw new KeyFragVerificationError('IncorrectSignature')
      }
    }
    return new VerifiedKeyFrag(p, TOKEN)
  }

  /**
   * Marks the kfrag as verified without checking it — only for kfrags from trusted storage.
   * **Warning:** a forged kfrag then yields cfrags that fail at the receiver.
   */
  skipVerification(): VerifiedKeyFrag {
    return new VerifiedKeyFrag(keyFragParts(this), TOKEN)
  }

  toBytes(): Uint8Array {
    return encodeParts(keyFragParts(this))
  }

  toString(): string {
    return fmtPublic('KeyFrag', keyFragParts(this).id)
  }

  equals(other: KeyFrag): boolean {
    return partsEqual(keyFragParts(this), keyFragParts(other))
  }

  free(): void {}
}

/** A key fragment that was verified (or generated here); the only kind `reencrypt` accepts. */
export class VerifiedKeyFrag {
  /** @internal */
  constructor(p: KeyFragParts, token: symbol) {
    if (token !== TOKEN) throw new TypeError('Use `KeyFrag.verify()` instead of `new`.')
    kfragParts.set(this, p)
  }

  /** Drops the verified status, e.g. to serialize and send it. */
  unverify(): KeyFrag {
    return new KeyFrag(keyFragParts(this), TOKEN)
  }

  toBytes(): Uint8Array {
    return encodeParts(keyFragParts(this))
  }

  toString(): string {
    return fmtPublic('VerifiedKeyFrag', keyFragParts(this).id)
  }

  equals(other: VerifiedKeyFrag): boolean {
    return partsEqual(keyFragParts(this), keyFragParts(other))
  }

  __getClassname(): string {
    return 'VerifiedKeyFrag'
  }

  free(): void {}
}

function partsEqual(a: KeyFragParts, b: KeyFragParts): boolean {
  return (
    equalBytes(a.id, b.id) &&
    a.key === b.key &&
    equalBytes(a.precursor, b.precursor) &&
    equalBytes(a.commitment, b.commitment) &&
    equalBytes(a.signatureForProxy, b.signatureForProxy) &&
    equalBytes(a.signatureForReceiver, b.signatureForReceiver) &&
    a.delegatingKeySigned === b.delegatingKeySigned &&
    a.receivingKeySigned === b.receivingKeySigned
  )
}

/**
 * Splits the re-encryption key from `delegatingSk` to `receivingPk` into `shares` kfrags, any `threshold`
 * of which suffice. See `generateKFrags` in pre.ts for the public entry point.
 */
export function makeKeyFrags(
  delegatingSk: SecretKey,
  receivingPk: PublicKey,
  signer: Signer,
  threshold: number,
  shares: number,
  signDelegatingKey: boolean,
  signReceivingKey: boolean,
): VerifiedKeyFrag[] {
  const backend = getBackend()
  const u = pointU()
  const delegatingPk = publicPoint(delegatingSk.publicKey())
  const receivingPoint = publicPoint(receivingPk)

  // The precursor is an ephemeral DH key with the receiver; everything below derives from secrets.
  const precursorSecret = randomNonZeroScalar()
  const precursor = backend.baseMul(precursorSecret)
  const dhPoint = backend.mul(receivingPoint, precursorSecret)
  const d = hashToSharedSecret(precursor, receivingPoint, dhPoint)

  const coefficients: bigint[] = [Fn.mul(secretScalar(delegatingSk), backend.invertSecret(d))]
  for (let i = 1; i < threshold; i++) coefficients.push(randomNonZeroScalar())

  const result: VerifiedKeyFrag[] = []
  for (let i = 0; i < shares; i++) {
    const id = randomBytes(KFRAG_ID_SIZE)
    const x = hashToPolynomialArg(precursor, receivingPoint, dhPoint, id)
    const rk = polyEval(coefficients, x)
    const commitment = backend.mul(u, rk)
    const forReceiver = kfragSignatureMessage(id, commitment, precursor, delegatingPk, receivingPoint)
    const signatureForReceiver = signBytes(signer, forReceiver)
    // When both keys are signed the two messages are identical: one signature serves both.
    const signatureForProxy =
      signDelegatingKey && signReceivingKey
        ? signatureForReceiver
        : signBytes(
            signer,
            kfragSignatureMessage(
              id,
              commitment,
              precursor,
              signDelegatingKey ? delegatingPk : undefined,
              signReceivingKey ? receivingPoint : undefined,
            ),
          )
    result.push(
      new VerifiedKeyFrag(
        {
          id,
          key: rk,
          precursor,
          commitment,
          signatureForProxy,
          signatureForReceiver,
          delegatingKeySigned: signDelegatingKey,
          receivingKeySigned: signReceivingKey,
        },
        TOKEN,
      ),
    )
  }
  return result
}

function signBytes(signer: Signer, message: Uint8Array): Uint8Array {
  const sig: Signature = signer.signDigest(sha256(message))
  return sig.toBEBytes()
}

/** Horner evaluation of the polynomial with these coefficients (lowest degree first) at x. */
function polyEval(coefficients: readonly bigint[], x: bigint): bigint {
  let result = coefficients[coefficients.length - 1] as bigint
  for (let i = coefficients.length - 2; i >= 0; i--)
    result = Fn.add(Fn.mul(result, x), coefficients[i] as bigint)
  return result
}
