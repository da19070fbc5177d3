import { concat, type Hex, isHex, keccak256 } from 'viem'

/**
 * The leaf of a receipt, as the AuditAnchors contract computes it: `keccak256(abi.encodePacked(receiptHash))`
 * where `receiptHash = keccak256(receipt bytes)`.
 *
 * The receipt is thus hashed twice: a leaf's preimage is 32 bytes and an inner node's 64, so no inner node
 * can be passed off as a receipt (second-preimage attack).
 */
export function receiptLeaf(receiptHash: Hex): Hex {
  assertBytes32(receiptHash, 'receiptHash')
  return keccak256(receiptHash)
}

/** An inner node: keccak256 of the two children sorted as unsigned integers (OpenZeppelin's commutative hash). */
export function hashPair(a: Hex, b: Hex): Hex {
  assertBytes32(a, 'a')
  assertBytes32(b, 'b')
  return BigInt(a) < BigInt(b) ? keccak256(concat([a, b])) : keccak256(concat([b, a]))
}

export interface ReceiptTree {
  /** The root to anchor on chain. */
  readonly root: Hex
  /** The receipt hashes, in the tree's (sorted-by-leaf) order. */
  readonly receipts: readonly Hex[]
  /** The sibling path of one receipt, leaf to root. */
  getProof(receiptHash: Hex): Hex[]
}

/**
 * Builds the Merkle tree of a batch of access receipts, as a proxy does before anchoring its root. On chain the
 * root is anchored per proxy (`anchorReceipts`), and a receipt is proved against the anchor of the proxy that
 * signed it (`verifyReceiptInclusion({ proxy, root, receiptHash, proof })`): another account may anchor the same
 * root, but only under its own address.
 *
 * Leaves are sorted, so the root does not depend on the order receipts arrived in; a level with an odd
 * number of nodes carries its last node up unchanged. Proofs verify with {@link verifyReceiptProof} and
 * with the contract's on-chain `verifyReceipt` (OpenZeppelin `MerkleProof` compatible).
 *
 * @param receiptHashes 1 or more distinct 32-byte receipt hashes.
 * @throws {RangeError} on an empty batch or a duplicate receipt.
 */
export function buildReceiptTree(receiptHashes: readonly Hex[]): ReceiptTree {
  if (receiptHashes.length === 0) throw new RangeError('A receipt tree needs at least one receipt.')
  const entries = receiptHashes.map((receipt) => ({
    receipt: receipt.toLowerCase() as Hex,
    leaf: receiptLeaf(receipt),
  }))
  entries.sort((x, y) => (BigInt(x.leaf) < BigInt(y.leaf) ? -1 : BigInt(x.leaf) > BigInt(y.leaf) ? 1 : 0))
  for (let i = 1; i < entries.length; i++) {
    if (entries[i]!.leaf === entries[i - 1]!.leaf)
      throw new RangeError('Duplicate receipt in a receipt tree.')
  }
  const levels: Hex[][] = [entries.map((e) => e.leaf)]
  while (levels.at(-1)!.length > 1) {
    const below = levels.at(-1)!
    const above: Hex[] = []
    for (let i = 0; i < below.length; i += 2) {
      above.push(i + 1 < below.length ? hashPair(below[i]!, below[i + 1]!) : below[i]!)
    }
    levels.push(above)
  }
  const index = new Map(entries.map((e, i) => [e.receipt, i]))
  return {
    root: levels.at(-1)![0]!,
    receipts: entries.map((e) => e.receipt),
    getProof(receiptHash) {
      let i = index.get(receiptHash.toLowerCase() as Hex)
      if (i === undefined) throw new RangeError('The receipt is not in this tree.')
      const proof: Hex[] = []
      for (const level of levels.slice(0, -1)) {
        const sibling = i % 2 === 0 ? i + 1 : i - 1
        if (sibling < level.length) proof.push(level[sibling]!)
        i = Math.floor(i / 2)
      }
      return proof
    },
  }
}

/**
 * Whether `proof` links `receiptHash` to `root` (the contract's proof check, offline). It says nothing about who
 * anchored `root`: check that on chain with `verifyReceiptInclusion` or `getAnchor` for the receipt's proxy.
 */
export function verifyReceiptProof(parameters: {
  root: Hex
  receiptHash: Hex
  proof: readonly Hex[]
}): boolean {
  const { root, receiptHash, proof } = parameters
  assertBytes32(root, 'root')
  let node = receiptLeaf(receiptHash)
  for (const sibling of proof) {
    assertBytes32(sibling, 'proof element')
    node = hashPair(node, sibling)
  }
  return node === root.toLowerCase()
}

function assertBytes32(value: Hex, what: string): void {
  if (!isHex(value, { strict: true }) || value.length !== 66)
    throw new TypeError(`${what} must be 32 bytes of hex`)
}
