/**
 * Receipt anchoring: the proxy batches the receipts it signed into Merkle trees (`buildReceiptTree`) and
 * anchors each root on chain (`anchorReceipts`, keyed by this proxy and the root), by count or by interval.
 * Each tree is kept, so the proxy can hand out a receipt's inclusion proof with the receipt itself.
 *
 * With a directory the trees are durable (`anchors.ndjson`): a batch line (root, receipt hashes, times) is
 * written before its transaction is sent and an anchored line after it is mined. A batch found without its
 * anchored line after a restart is sent again as it was (the chain refusing it as already anchored means the
 * earlier send was mined), so a crash never leaves a receipt in two trees or in none.
 *
 * @module
 */
import { join } from 'node:path'
import { anchorReceipts, buildReceiptTree, type MedvaultAddresses, type ReceiptTree } from '@medvault/chain'
import { type ProtocolDomain, receiptHash } from '@medvault/protocol'
import type { Account, Chain, Client, Hex, Transport } from 'viem'
import { getBlock } from 'viem/actions'
import { type AppendLog, openAppendLog, readLines } from './append-log.ts'
import { AnchorLogCorruptError } from './errors.ts'
import type { ProxyLogger } from './http.ts'
import type { SignedReceipt } from './receipt-log.ts'

/** The anchor file name inside the receipts directory. */
export const ANCHOR_LOG_FILE = 'anchors.ndjson'

/** Most receipts in one tree (a larger backlog is anchored in several). */
export const MAX_TREE_RECEIPTS = 65_536

/** Where an anchored receipt is proven: the root this proxy anchored, and the receipt's sibling path. */
export interface ReceiptAnchor {
  root: Hex
  proof: Hex[]
}

/** What the receipts route asks of the anchors. */
export interface ReceiptAnchors {
  /** The anchor of a receipt (by its EIP-712 hash), once its tree's root is anchored on chain. */
  proofOf(receiptHash: Hex): ReceiptAnchor | undefined
}

export interface AnchorerInit {
  /** Anchor once this many receipts wait. */
  maxReceipts: number
  /** Anchor what waits at least this often, in ms. */
  intervalMs: number
  /** Directory of the durable anchor file; in memory when omitted. */
  dir: string | undefined
}

export interface AnchorerComponents {
  /** Sends the anchor transactions; its account must be the proxy operator (anchors are keyed by sender). */
  walletClient: Client<Transport, Chain | undefined, Account>
  publicClient: Client<Transport, Chain | undefined, Account | undefined>
  addresses: MedvaultAddresses
  domain: ProtocolDomain
  /** Every signed receipt, oldest first. */
  receipts: () => AsyncIterable<SignedReceipt>
  logger?: ProxyLogger | undefined
}

interface Batch {
  root: Hex
  receipts: Hex[]
  fromTime: number
  toTime: number
  tree: ReceiptTree
  anchored: boolean
}

type AnchorLine =
  | { t: 'batch'; root: Hex; receipts: Hex[]; fromTime: number; toTime: number }
  | { t: 'anchored'; root: Hex; tx: Hex | null }

/** Keeps the trees and runs the anchoring loop. */
export class Anchorer implements ReceiptAnchors {
  readonly #init: AnchorerInit
  readonly #c: AnchorerComponents
  readonly #batches = new Map<Hex, Batch>()
  readonly #byReceipt = new Map<Hex, Hex>()
  #log: AppendLog | undefined
  #loaded = false
  /** Receipts signed since the last scan that are in no batch yet (a lower bound after a restart). */
  #pending = 0
  #run: Promise<unknown> = Promise.resolve()
  #loop: { stop: AbortController; done: Promise<void> } | undefined

  constructor(init: AnchorerInit, components: AnchorerComponents) {
    this.#init = init
    this.#c = components
  }

  proofOf(hash: Hex): ReceiptAnchor | undefined {
    const root = this.#byReceipt.get(hash.toLowerCase() as Hex)
    const batch = root === undefined ? undefined : this.#batches.get(root)
    if (batch === undefined || !batch.anchored) return undefined
    return { root: batch.root, proof: batch.tree.getProof(hash) }
  }

  /** Loads the anchor file (once), counts what waits, and starts the interval loop. */
  async start(): Promise<void> {
    if (this.#loop !== undefined) return
    if (this.#init.dir !== undefined) {
      const path = join(this.#init.dir, ANCHOR_LOG_FILE)
      if (!this.#loaded) await this.#replay(path)
      this.#log = await openAppendLog(path)
    }
    this.#loaded = true
    this.#pending = (await this.#waiting()).length
    const stop = new AbortController()
    this.#loop = { stop, done: this.#tick(stop.signal) }
  }

  async stop(): Promise<void> {
    const loop = this.#loop
    this.#loop = undefined
    loop?.stop.abort()
    await loop?.done
    await this.#run.catch(() => {})
    await this.#log?.close()
    this.#log = undefined
  }

  /** Called after each receipt is signed: anchors once `maxReceipts` wait. */
  noteReceipt(): void {
    this.#pending++
    if (this.#pending >= this.#init.maxReceipts && this.#loop !== undefined) {
      void this.anchorNow().catch(() => {})
    }
  }

  /**
   * Anchors every receipt in no tree yet (and resends a batch whose transaction did not make it). Calls run
   * one after the other. Resolves with the trees anchored by this call.
   */
  anchorNow(): Promise<{ root: Hex; count: number }[]> {
    const next = this.#run.catch(() => {}).then(() => this.#anchor())
    this.#run = next
    return next
  }

  async #anchor(): Promise<{ root: Hex; count: number }[]> {
    const done: { root: Hex; count: number }[] = []
    for (const batch of this.#batches.values()) {
      if (!batch.anchored && (await this.#send(batch)))
        done.push({ root: batch.root, count: batch.receipts.length })
    }
    const waiting = await this.#waiting()
    this.#pending = 0
    for (let i = 0; i < waiting.length; i += MAX_TREE_RECEIPTS) {
      const slice = waiting.slice(i, i + MAX_TREE_RECEIPTS)
      const tree = buildReceiptTree(slice.map((w) => w.hash))
      const times = slice.map((w) => w.at)
      const chainNow = Number((await getBlock(this.#c.publicClient, { blockTag: 'latest' })).timestamp)
      // A receipt dated by this proxy's clock may be ahead of the latest block: the chain refuses a future time.
      const toTime = Math.min(Math.max(...times), chainNow)
      const batch: Batch = {
        root: tree.root,
        receipts: [...tree.receipts],
        fromTime: Math.min(...times, toTime),
        toTime,
        tree,
        anchored: false,
      }
      await this.#write({
        t: 'batch',
        root: batch.root,
        receipts: batch.receipts,
        fromTime: batch.fromTime,
        toTime: batch.toTime,
      })
      this.#add(batch)
      if (await this.#send(batch)) done.push({ root: batch.root, count: batch.receipts.length })
    }
    return done
  }

  /** Sends one batch's anchor; false (logged) when the chain did not take it this time. */
  async #send(batch: Batch): Promise<boolean> {
    let tx: Hex | null = null
    try {
      ;({ hash: tx } = await anchorReceipts(this.#c.walletClient, {
        addresses: this.#c.addresses,
        tree: batch.tree,
        fromTime: batch.fromTime,
        toTime: batch.toTime,
      }))
    } catch (err) {
      // Our own earlier send of this very batch was mined (a crash or a lost answer in between).
      if (!(err instanceof Error && err.name === 'RootAlreadyAnchoredError')) {
        this.#c.logger?.error?.('anchor failed', {
          root: batch.root,
          error: err instanceof Error ? err.name : 'unknown',
        })
        return false
      }
    }
    await this.#write({ t: 'anchored', root: batch.root, tx })
    batch.anchored = true
    this.#c.logger?.info?.('anchored', { root: batch.root, count: batch.receipts.length })
    return true
  }

  /** Receipts of the log that are in no batch, oldest first. */
  async #waiting(): Promise<{ hash: Hex; at: number }[]> {
    const out: { hash: Hex; at: number }[] = []
    const seen = new Set<Hex>()
    for await (const { receipt } of this.#c.receipts()) {
      const hash = receiptHash(this.#c.domain, receipt).toLowerCase() as Hex
      if (this.#byReceipt.has(hash) || seen.has(hash)) continue
      seen.add(hash)
      out.push({ hash, at: receipt.at })
    }
    return out
  }

  #add(batch: Batch): void {
    this.#batches.set(batch.root, batch)
    for (const r of batch.receipts) this.#byReceipt.set(r, batch.root)
  }

  async #write(line: AnchorLine): Promise<void> {
    await this.#log?.append([JSON.stringify(line)])
  }

  async #replay(path: string): Promise<void> {
    for await (const { line, number } of readLines(path)) {
      let value: AnchorLine
      try {
        value = JSON.parse(line) as AnchorLine
      } catch (err) {
        throw new AnchorLogCorruptError({ file: ANCHOR_LOG_FILE, line: number, cause: err })
      }
      if (value?.t === 'batch' && Array.isArray(value.receipts) && value.receipts.length > 0) {
        let tree: ReceiptTree
        try {
          tree = buildReceiptTree(value.receipts)
        } catch (err) {
          throw new AnchorLogCorruptError({ file: ANCHOR_LOG_FILE, line: number, cause: err })
        }
        if (tree.root !== value.root) throw new AnchorLogCorruptError({ file: ANCHOR_LOG_FILE, line: number })
        this.#add({ ...value, receipts: [...tree.receipts], tree, anchored: false })
      } else if (value?.t === 'anchored' && this.#batches.has(value.root)) {
        this.#batches.get(value.root)!.anchored = true
      } else {
        throw new AnchorLogCorruptError({ file: ANCHOR_LOG_FILE, line: number })
      }
    }
  }

  async #tick(signal: AbortSignal): Promise<void> {
    while (!signal.aborted) {
      await sleep(this.#init.intervalMs, signal)
      if (signal.aborted) break
      const unsent = [...this.#batches.values()].some((b) => !b.anchored)
      if (this.#pending === 0 && !unsent) continue
      try {
        await this.anchorNow()
      } catch (err) {
        this.#c.logger?.error?.('anchor failed', { error: err instanceof Error ? err.name : 'unknown' })
      }
    }
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve()
    const timer = setTimeout(done, ms)
    function done(): void {
      clearTimeout(timer)
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
  })
}
