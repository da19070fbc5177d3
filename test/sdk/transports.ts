import {
  createPublicClient,
  type Hash,
  type Hex,
  http,
  RpcRequestError,
  TimeoutError,
  type Transport,
} from 'viem'

/**
 * A viem transport that shows each JSON-RPC request to `answer` first: what `answer` returns is the reply, and
 * `undefined` lets the request through to the node. For tests that count, order or fault the calls a vault
 * makes against a real node.
 */
export function intercepting(
  inner: Transport,
  answer: (args: { method: string; params?: unknown }) => Promise<unknown> | undefined,
): Transport {
  return ((options: Parameters<Transport>[0]) => {
    const transport = inner(options)
    return {
      ...transport,
      request: (args: { method: string; params?: unknown }) =>
        answer(args) ?? transport.request(args as Parameters<typeof transport.request>[0]),
    }
  }) as Transport
}

export interface LosingSendAnswersOptions {
  /** Which sends lose their answer; the others reach the node and are answered as usual. Default: every one. */
  lose?: (args: { method: string; params?: unknown }) => boolean
  /** Told the hash of each transaction the node accepted while its answer was lost. */
  onSent?: (hash: Hash) => void
  /** What the client is answered instead (return it, or throw); `undefined` (the default): the time-out. */
  answer?: (hash: Hash, args: { method: string; params?: unknown }) => unknown
}

/**
 * A viem transport to the node at `url` that loses the node's answer to `eth_sendRawTransaction`: the send is
 * handed to the node (anvil takes and mines the transaction), and the client hears `answer` instead, by default
 * the `TimeoutError` viem's http transport throws when the node's answer does not come in time. For tests of
 * what a client does when it cannot tell whether its transaction went out. Every other request reaches the
 * node unchanged.
 */
export function losingSendAnswers(url: string, options: LosingSendAnswersOptions = {}): Transport {
  // The lost send reaches the node on a client of its own, past the interception.
  const direct = createPublicClient({ transport: http(url) })
  return intercepting(http(url), (args) => {
    if (args.method !== 'eth_sendRawTransaction' || options.lose?.(args) === false) return undefined
    return (async () => {
      const hash = (await direct.request({
        method: 'eth_sendRawTransaction',
        params: args.params as [Hex],
      })) as Hash
      options.onSent?.(hash)
      const reply = await options.answer?.(hash, args)
      if (reply !== undefined) return reply
      // What viem's http transport throws when the node's answer does not come in time.
      throw new TimeoutError({ body: { method: args.method }, url })
    })()
  })
}

/**
 * A viem transport to the node at `url` whose node lies about calls: each `eth_call` is shown to `revert` (its
 * target and calldata), and where it returns revert data (from `encodeErrorResult`) the call is answered with
 * that revert, as a node answers `execution reverted` (JSON-RPC error 3 with the data; viem's http transport
 * throws it as an `RpcRequestError`), without running it. `undefined` lets the call through. `revert` may answer
 * later (a promise), to act on the chain before the client hears anything, as a node holding back its answer
 * would. For tests of a client that must not take a node's word for a refusal. Every other request reaches the
 * node unchanged.
 */
export function fakingReverts(
  url: string,
  revert: (call: { to: Hex | undefined; data: Hex }) => Hex | undefined | Promise<Hex | undefined>,
): Transport {
  // A call let through after a delayed answer reaches the node on a client of its own, past the interception.
  const direct = createPublicClient({ transport: http(url) })
  return intercepting(http(url), (args) => {
    if (args.method !== 'eth_call') return undefined
    const [call] = args.params as [{ to?: Hex; data?: Hex; input?: Hex }]
    const refuse = (data: Hex) =>
      Promise.reject(
        new RpcRequestError({
          body: { method: args.method, params: args.params },
          error: { code: 3, message: 'execution reverted', data },
          url,
        }),
      )
    const data = revert({ to: call.to, data: (call.data ?? call.input ?? '0x') as Hex })
    if (data === undefined) return undefined
    if (typeof data === 'string') return refuse(data)
    return data.then((later) =>
      later === undefined ? direct.request(args as Parameters<typeof direct.request>[0]) : refuse(later),
    )
  })
}
