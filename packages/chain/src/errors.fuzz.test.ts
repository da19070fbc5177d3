/**
 * Fuzzing (fast-check) of revert-data decoding: `toMedvaultError` turns a reverted call's data into the medvault
 * error of that custom error. The data comes from the node, so it is input: for every custom error of every
 * medvault contract, the selector followed by random and mutated argument words (zero, small, maximal, random,
 * truncated, extended), and random bytes. Each must become a typed chain error (a `ContractError`, or
 * `UnknownContractError`) or be returned unchanged as viem's own error; building the medvault error must never
 * throw.
 */
import {
  auditAnchorsAbi,
  consentRegistryAbi,
  datasetRegistryAbi,
  keyRegistryAbi,
  proxyRegistryAbi,
} from '@medvault/contracts'
import fc from 'fast-check'
import {
  type Abi,
  ContractFunctionExecutionError,
  ContractFunctionRevertedError,
  type Hex,
  toFunctionSelector,
} from 'viem'
import { afterAll, expect, test } from 'vitest'
import { BaseError, toMedvaultError } from './errors.ts'

const RUNS = 1_000
const abi = [
  consentRegistryAbi,
  keyRegistryAbi,
  proxyRegistryAbi,
  auditAnchorsAbi,
  datasetRegistryAbi,
].flat() as Abi
type AbiError = Extract<Abi[number], { type: 'error' }>
const errors = abi.filter((item): item is AbiError => item.type === 'error')
const selectorOf = (e: AbiError) => toFunctionSelector(`${e.name}(${e.inputs.map((i) => i.type).join(',')})`)

const word = fc.oneof(
  fc.constant('00'.repeat(32)),
  fc.constant('ff'.repeat(32)),
  fc.integer({ min: 0, max: 300 }).map((n) => n.toString(16).padStart(64, '0')),
  fc.bigInt({ min: 0n, max: 2n ** 64n }).map((n) => n.toString(16).padStart(64, '0')),
  fc.uint8Array({ minLength: 32, maxLength: 32 }).map((b) => Buffer.from(b).toString('hex')),
)

const revertData = fc.oneof(
  fc
    .tuple(
      fc.constantFrom(...errors),
      fc.array(word, { maxLength: 6 }),
      fc.oneof(fc.constant(0), fc.integer({ min: -40, max: 40 })),
    )
    .map(([e, words, cut]) => {
      const data = selectorOf(e) + words.join('')
      // a cut or a few stray bytes at the end, as a truncated or padded answer would have
      return (cut < 0 ? data.slice(0, Math.max(10, data.length + cut * 2)) : data + 'ab'.repeat(cut)) as Hex
    }),
  fc.uint8Array({ maxLength: 200 }).map((b) => `0x${Buffer.from(b).toString('hex')}` as Hex),
)

let typed = 0
let unchanged = 0
afterAll(() => {
  console.log(`chain revert-data fuzz counts: ${JSON.stringify({ typed, unchanged, errors: errors.length })}`)
})

test('error: any revert data becomes a typed contract error or stays viem’s error; nothing throws', () => {
  fc.assert(
    fc.property(revertData, fc.boolean(), (data, knownAbi) => {
      // with the ABI viem decodes the data itself; without it, toMedvaultError decodes the raw bytes
      const reverted = new ContractFunctionRevertedError({
        abi: knownAbi ? abi : [],
        data,
        functionName: 'grant',
      })
      const error = new ContractFunctionExecutionError(reverted, {
        abi: knownAbi ? abi : [],
        args: [],
        functionName: 'grant',
        contractAddress: '0x5FbDB2315678afecb367f032d93F642f64180aa3',
      })
      const out = toMedvaultError(error)
      if (out === error) {
        unchanged++
        return
      }
      expect(out).toBeInstanceOf(BaseError)
      expect((out as BaseError).cause).toBe(reverted)
      expect(typeof (out as BaseError).message).toBe('string')
      typed++
    }),
    { numRuns: 2 * RUNS },
  )
})
