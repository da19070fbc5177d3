import fc from 'fast-check'
import { type Hex, keccak256, toHex } from 'viem'
import { describe, expect, test } from 'vitest'
import { buildReceiptTree, hashPair, receiptLeaf, verifyReceiptProof } from './merkle.ts'

const receipt = (i: number): Hex => keccak256(toHex(`receipt ${i}`))
const bytes32 = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => toHex(b))

describe('receipt Merkle tree', () => {
  test('default', () => {
    const receipts = [receipt(1), receipt(2), receipt(3)]
    const tree = buildReceiptTree(receipts)
    for (const r of receipts) {
      expect(verifyReceiptProof({ root: tree.root, receiptHash: r, proof: tree.getProof(r) })).toBe(true)
    }
    expect(
      verifyReceiptProof({ root: tree.root, receiptHash: receipt(4), proof: tree.getProof(receipts[0]!) }),
    ).toBe(false)
  })

  test('behavior: one receipt is its own root with an empty proof', () => {
    const tree = buildReceiptTree([receipt(7)])
    expect(tree.root).toBe(receiptLeaf(receipt(7)))
    expect(tree.getProof(receipt(7))).toEqual([])
  })

  test('behavior: the root does not depend on the order of receipts', () => {
    const receipts = Array.from({ length: 9 }, (_, i) => receipt(i))
    expect(buildReceiptTree(receipts).root).toBe(buildReceiptTree([...receipts].reverse()).root)
  })

  test('behavior: every proof of any batch verifies; any other receipt or root does not', () => {
    fc.assert(
      fc.property(fc.uniqueArray(bytes32, { minLength: 1, maxLength: 40 }), bytes32, (receipts, other) => {
        fc.pre(!receipts.includes(other))
        const tree = buildReceiptTree(receipts)
        for (const r of receipts) {
          const proof = tree.getProof(r)
          expect(proof.length).toBeLessThanOrEqual(Math.ceil(Math.log2(receipts.length)))
          expect(verifyReceiptProof({ root: tree.root, receiptHash: r, proof })).toBe(true)
          expect(verifyReceiptProof({ root: tree.root, receiptHash: other, proof })).toBe(false)
          expect(verifyReceiptProof({ root: other, receiptHash: r, proof })).toBe(false)
        }
      }),
      { numRuns: 50 },
    )
  })

  test('behavior: an inner node is never accepted as a receipt', () => {
    const receipts = [receipt(1), receipt(2), receipt(3), receipt(4)]
    const tree = buildReceiptTree(receipts)
    const [a, b] = [receiptLeaf(tree.receipts[0]!), receiptLeaf(tree.receipts[1]!)]
    const inner = hashPair(a, b)
    const proofOfInner = tree.getProof(tree.receipts[0]!).slice(1)
    expect(verifyReceiptProof({ root: tree.root, receiptHash: inner, proof: proofOfInner })).toBe(false)
  })

  test('error: bad input', () => {
    expect(() => buildReceiptTree([])).toThrow(RangeError)
    expect(() => buildReceiptTree([receipt(1), receipt(1)])).toThrow(RangeError)
    expect(() => buildReceiptTree([receipt(1)]).getProof(receipt(2))).toThrow(RangeError)
    expect(() => receiptLeaf('0x1234')).toThrow(TypeError)
  })
})
