import { type ContractError, contractErrors, toMedvaultError, UnknownContractError } from '@medvault/chain'
import {
  auditAnchorsAbi,
  consentRegistryAbi,
  datasetRegistryAbi,
  keyRegistryAbi,
  proxyRegistryAbi,
} from '@medvault/contracts'
import {
  type Abi,
  type AbiParameter,
  BaseError,
  ContractFunctionRevertedError,
  encodeErrorResult,
} from 'viem'
import { describe, expect, test } from 'vitest'

const abis = { consentRegistryAbi, keyRegistryAbi, proxyRegistryAbi, auditAnchorsAbi, datasetRegistryAbi }
const errorItems = Object.values(abis)
  .flat()
  .filter((item) => item.type === 'error')

function sample(input: AbiParameter): unknown {
  if (input.type === 'address') return '0x00000000000000000000000000000000000000a1'
  if (input.type === 'string') return 'parameter'
  if (input.type === 'bool') return true
  if (input.type.startsWith('bytes')) return `0x${'ab'.repeat(Number(input.type.slice(5)))}`
  return 7 // uintN, enums
}

/** The error viem throws for a revert with this custom error, as a real call produces it. */
function revertOf(name: string, args: unknown[]): BaseError {
  const abi = errorItems as Abi
  const data = encodeErrorResult({ abi, errorName: name, args })
  return new BaseError('call reverted', {
    cause: new ContractFunctionRevertedError({ abi, data, functionName: 'f' }),
  })
}

describe('contract errors', () => {
  test('default: every custom error of every contract maps to its own class', () => {
    expect(errorItems.length).toBeGreaterThan(40)
    for (const item of errorItems) {
      const mapped = toMedvaultError(revertOf(item.name, item.inputs.map(sample)))
      expect(mapped, item.name).toBeInstanceOf(contractErrors[item.name as keyof typeof contractErrors])
      const error = mapped as ContractError
      expect(error.name).toBe(`${item.name}Error`)
      expect(error.errorName).toBe(item.name)
      expect(Object.keys(error.args)).toEqual(item.inputs.map((i) => i.name))
      expect(error.shortMessage, item.name).not.toMatch(/undefined|NaN|\[object/)
      expect(error.cause).toBeInstanceOf(ContractFunctionRevertedError)
    }
  })

  test('behavior: no class is left without a contract error', () => {
    const names = new Set<string>(errorItems.map((item) => item.name))
    expect(Object.keys(contractErrors).filter((name) => !names.has(name))).toEqual([])
  })

  test('behavior: anything that is not a medvault revert passes through unchanged', () => {
    const plain = new Error('socket hang up')
    expect(toMedvaultError(plain)).toBe(plain)
    const panic = new BaseError('x', {
      cause: new ContractFunctionRevertedError({
        abi: [],
        data: '0x4e487b710000000000000000000000000000000000000000000000000000000000000011',
        functionName: 'f',
      }),
    })
    expect(toMedvaultError(panic)).toBe(panic)
  })

  test('error: a custom error unknown to medvault', () => {
    const abi = [{ type: 'error', name: 'Mystery', inputs: [{ name: 'code', type: 'uint8' }] }] as const
    const data = encodeErrorResult({ abi, errorName: 'Mystery', args: [3] })
    const mapped = toMedvaultError(
      new BaseError('x', { cause: new ContractFunctionRevertedError({ abi, data, functionName: 'f' }) }),
    )
    expect(mapped).toBeInstanceOf(UnknownContractError)
    expect((mapped as UnknownContractError).args).toEqual({ code: 3 })
    expect((mapped as UnknownContractError).shortMessage).toMatchInlineSnapshot(
      `"The contract reverted with Mystery."`,
    )
  })
})
