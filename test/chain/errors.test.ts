import {
  ContractError,
  contractErrors,
  GrantExpiredError,
  GrantRevokedError,
  type MedvaultContractErrorType,
  toMedvaultError,
  UnauthorizedError,
  UnknownContractError,
} from '@medvault/chain'
import type { ContractErrorArgs } from '@medvault/chain/errors'
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
  type Address,
  BaseError,
  ContractFunctionRevertedError,
  encodeErrorResult,
} from 'viem'
import { describe, expect, expectTypeOf, test } from 'vitest'

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
      // a real named class: stack traces and `constructor.name` say which error it is
      expect(error.constructor.name).toBe(`${item.name}Error`)
    }
  })

  test('behavior: each class is a value and a type; its literal name narrows; its args follow the ABI', () => {
    const grantId = `0x${'ab'.repeat(32)}` as const
    const mapped: unknown = toMedvaultError(revertOf('GrantRevoked', [grantId]))
    expect(mapped).toBeInstanceOf(GrantRevokedError)
    expect(mapped).toBeInstanceOf(ContractError)
    if (!(mapped instanceof GrantRevokedError)) throw new Error('not a GrantRevokedError')
    expectTypeOf(mapped.name).toEqualTypeOf<'GrantRevokedError'>()
    expectTypeOf(mapped.errorName).toEqualTypeOf<'GrantRevoked'>()
    expectTypeOf(mapped.args).toEqualTypeOf<{ grantId: `0x${string}` }>()
    expect(mapped.args).toEqual({ grantId })

    // `name` is a discriminant over every medvault contract error
    const error = mapped as MedvaultContractErrorType
    if (error.name === 'GrantExpiredError') {
      expectTypeOf(error).toEqualTypeOf<GrantExpiredError>()
      expectTypeOf(error.args.expiredAt).toEqualTypeOf<number>() // uint32
    }
    if (error.name === 'UnauthorizedError') expectTypeOf(error.args.caller).toEqualTypeOf<Address>()
    expectTypeOf<ContractErrorArgs<'ExpiryNotInFuture'>>().toEqualTypeOf<{
      timestamp: bigint // uint64
      currentTime: bigint
    }>()
    expect(error.name).toBe('GrantRevokedError')
  })

  test('behavior: short message, hint, arguments, function and contract in the message', () => {
    const error = new UnauthorizedError({
      args: {
        caller: '0x00000000000000000000000000000000000000a1',
        owner: '0x00000000000000000000000000000000000000b2',
        permission: 2,
      },
      functionName: 'grant',
      contractAddress: '0x00000000000000000000000000000000000000c3',
    })
    expect(error.shortMessage).toMatchInlineSnapshot(
      `"0x00000000000000000000000000000000000000a1 may not act for 0x00000000000000000000000000000000000000b2."`,
    )
    expect(error.metaMessages).toMatchInlineSnapshot(`
      [
        "It is neither the owner nor a live delegate with permission grant.",
        "",
        "Error: Unauthorized(caller: 0x00000000000000000000000000000000000000a1, owner: 0x00000000000000000000000000000000000000b2, permission: 2)",
        "Function: grant",
        "Contract: 0x00000000000000000000000000000000000000c3",
      ]
    `)
    expect(error.message).toBe([error.shortMessage, '', ...error.metaMessages!].join('\n'))
    expect(error.cause).toBeUndefined()
    const expired = new GrantExpiredError({
      args: { grantId: `0x${'01'.repeat(32)}`, expiredAt: 1_700_000_000 },
    })
    expect(expired.shortMessage).toMatchInlineSnapshot(
      `"Grant 0x0101010101010101010101010101010101010101010101010101010101010101 expired at 1700000000."`,
    )
    expect(expired.metaMessages).toMatchInlineSnapshot(`
      [
        "Error: GrantExpired(grantId: 0x0101010101010101010101010101010101010101010101010101010101010101, expiredAt: 1700000000)",
      ]
    `)
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
