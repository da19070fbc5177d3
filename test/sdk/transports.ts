import type { Transport } from 'viem'

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
