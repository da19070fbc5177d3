/**
 * The node's Prometheus metrics, on a registry of its own (never prom-client's global one, so two nodes in
 * one process, as in tests, keep separate counts). Labels carry service names, routes, statuses and refusal
 * reasons only: never a CID, an address, a token or a request id, which would also make the series unbounded.
 *
 * @module
 */
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client'

/** The metrics every part of the node reports to. */
export interface NodeMetrics {
  readonly registry: Registry
  /** HTTP request latency, by service, method, route pattern and status code. */
  readonly httpDuration: Histogram<'service' | 'method' | 'route' | 'status'>
  /** Refused requests, by service and reason (the spec's `reason`, the proxy's `code`, …). */
  readonly refusals: Counter<'service' | 'reason'>
  /** Pin requests by status and owner kind (`api`, `follower`); set at scrape time. */
  readonly pins: Gauge<'status' | 'owner'>
  /** Pin attempts that ended, by outcome (`pinned`, `failed`, `retry`). */
  readonly pinOutcomes: Counter<'outcome'>
  /** The last block the chain follower has fully handled. */
  readonly followerBlock: Gauge
  /** How many blocks the follower is behind the chain's head. */
  readonly followerLag: Gauge
  /** Chain events the follower handled, by event name. */
  readonly followerEvents: Counter<'event'>
  /** Bytes the followed records pinned on this node hold (what `follower.maxTotalBytes` counts); set at scrape time. */
  readonly followerStoredBytes: Gauge
  /** Re-encryptions answered by the proxy. */
  readonly reencryptions: Counter
  /** Remote pinning services: requests by remote name and remote status; set at scrape time. */
  readonly replication: Gauge<'remote' | 'status'>
  /** Calls made to remote pinning services that failed, by remote name. */
  readonly replicationErrors: Counter<'remote'>
  /** Adds a function run before each scrape (to set gauges from current state). */
  onCollect(fn: () => void): void
}

/** Creates the node's metrics (with Node.js process metrics under `medvault_node_`). */
export function createMetrics(): NodeMetrics {
  const registry = new Registry()
  collectDefaultMetrics({ register: registry, prefix: 'medvault_node_' })
  const collectors: Array<() => void> = []
  const runCollectors = (): void => {
    for (const fn of collectors) {
      try {
        fn()
      } catch {
        // A failing collector must not break the scrape of everything else.
      }
    }
  }
  const pins = new Gauge({
    name: 'medvault_pins',
    help: 'Pin requests by status and owner kind (api: Pinning Service API tokens, follower: the chain follower).',
    labelNames: ['status', 'owner'] as const,
    registers: [registry],
    collect: runCollectors,
  })
  return {
    registry,
    httpDuration: new Histogram({
      name: 'medvault_http_request_duration_seconds',
      help: 'HTTP request latency by service, method, route pattern and status code.',
      labelNames: ['service', 'method', 'route', 'status'] as const,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    refusals: new Counter({
      name: 'medvault_refusals_total',
      help: 'Refused requests by service and reason.',
      labelNames: ['service', 'reason'] as const,
      registers: [registry],
    }),
    pins,
    pinOutcomes: new Counter({
      name: 'medvault_pin_attempts_total',
      help: 'Pin attempts that ended, by outcome (pinned, failed, retry).',
      labelNames: ['outcome'] as const,
      registers: [registry],
    }),
    followerBlock: new Gauge({
      name: 'medvault_follower_block',
      help: 'The last block the chain follower has fully handled.',
      registers: [registry],
    }),
    followerLag: new Gauge({
      name: 'medvault_follower_lag_blocks',
      help: "How many blocks the chain follower is behind the chain's head.",
      registers: [registry],
    }),
    followerEvents: new Counter({
      name: 'medvault_follower_events_total',
      help: 'Chain events handled by the follower, by event name.',
      labelNames: ['event'] as const,
      registers: [registry],
    }),
    followerStoredBytes: new Gauge({
      name: 'medvault_follower_stored_bytes',
      help: 'Bytes the records the chain follower pinned hold on this node (envelopes, content, kfrag bundles).',
      registers: [registry],
    }),
    reencryptions: new Counter({
      name: 'medvault_reencryptions_total',
      help: 'Re-encryptions answered by the proxy.',
      registers: [registry],
    }),
    replication: new Gauge({
      name: 'medvault_replication_pins',
      help: 'Pins replicated to remote pinning services, by remote and the status the remote reports.',
      labelNames: ['remote', 'status'] as const,
      registers: [registry],
    }),
    replicationErrors: new Counter({
      name: 'medvault_replication_errors_total',
      help: 'Failed calls to remote pinning services, by remote.',
      labelNames: ['remote'] as const,
      registers: [registry],
    }),
    onCollect(fn) {
      collectors.push(fn)
    },
  }
}
