/**
 * Hedged requests: get `needed` good answers out of a list of candidates that may be down, slow or lying.
 *
 * `needed` attempts start at once. A failed attempt (an error, a timeout, an answer that fails its check)
 * is replaced by the next candidate at once; every `delayMs` without enough answers, one more candidate is
 * started even though none failed (a slow one must not hold the read up). As soon as `needed` attempts have
 * succeeded, the others are aborted. Candidates are tried in order and each at most once.
 *
 * @module
 */

/** One candidate's outcome. */
export type HedgeOutcome<C, R> = { candidate: C; index: number } & (
  | { ok: true; value: R }
  | { ok: false; error: unknown }
)

export interface HedgeOptions<C, R> {
  /** In order of preference. */
  candidates: readonly C[]
  /** How many successes are needed. */
  needed: number
  /** Start one more candidate after this long without enough successes. Default 250 ms. */
  delayMs?: number
  /** Give up on one attempt after this long (it then counts as failed). Default 10 s. */
  attemptTimeoutMs?: number
  /** Aborts every attempt and rejects with the signal's reason. */
  signal?: AbortSignal | undefined
  /**
   * Runs one attempt; resolves with a checked value or throws. `signal` fires when the attempt is no longer
   * wanted (enough successes elsewhere, its timeout, or the caller's abort).
   */
  attempt: (candidate: C, signal: AbortSignal) => Promise<R>
  /** Told when an attempt starts (`hedged`: started by the delay rather than to replace a failure). */
  onStart?: (candidate: C, reason: 'initial' | 'failure' | 'delay') => void
  /** Told when an attempt settles. */
  onSettle?: (outcome: HedgeOutcome<C, R>) => void
}

export interface HedgeResult<C, R> {
  /** Exactly `needed` successes when `ok`, in the order they arrived. */
  successes: Extract<HedgeOutcome<C, R>, { ok: true }>[]
  /** Every failed attempt, in the order it failed (attempts aborted after success are not listed). */
  failures: Extract<HedgeOutcome<C, R>, { ok: false }>[]
  /** Whether `needed` successes were reached. */
  ok: boolean
}

/** Thrown as the failure of an attempt that ran past `attemptTimeoutMs`. */
export class AttemptTimeoutError extends Error {
  override name = 'AttemptTimeoutError' as const
  constructor(ms: number) {
    super(`No answer within ${ms} ms.`)
  }
}

/**
 * Runs hedged attempts until `needed` succeed or every candidate has failed. Never rejects for a failed
 * attempt (see `ok` and `failures`); rejects only when `signal` aborts.
 */
export function hedge<C, R>(options: HedgeOptions<C, R>): Promise<HedgeResult<C, R>> {
  const { candidates, needed, signal } = options
  const delayMs = options.delayMs ?? 250
  const attemptTimeoutMs = options.attemptTimeoutMs ?? 10_000
  if (!Number.isInteger(needed) || needed < 1) throw new RangeError('needed must be a positive integer')

  return new Promise<HedgeResult<C, R>>((resolve, reject) => {
    const successes: HedgeResult<C, R>['successes'] = []
    const failures: HedgeResult<C, R>['failures'] = []
    const controllers = new Set<AbortController>()
    let next = 0
    let inFlight = 0
    // Attempts the delay has added beyond what is needed; a failure does not use one up.
    let extra = 0
    let done = false
    let timer: ReturnType<typeof setInterval> | undefined

    const finish = (result: HedgeResult<C, R> | { error: unknown }): void => {
      if (done) return
      done = true
      if (timer !== undefined) clearInterval(timer)
      signal?.removeEventListener('abort', onAbort)
      for (const c of controllers) c.abort(new Error('no longer needed'))
      controllers.clear()
      if ('error' in result) reject(result.error)
      else resolve(result)
    }

    const onAbort = (): void => finish({ error: signal?.reason })

    const launch = (reason: 'initial' | 'failure' | 'delay'): void => {
      const index = next++
      const candidate = candidates[index] as C
      const controller = new AbortController()
      controllers.add(controller)
      inFlight++
      options.onStart?.(candidate, reason)
      const timeout = setTimeout(
        () => controller.abort(new AttemptTimeoutError(attemptTimeoutMs)),
        attemptTimeoutMs,
      )
      const timedOut = new Promise<never>((_, rejectTimeout) => {
        controller.signal.addEventListener('abort', () => rejectTimeout(controller.signal.reason), {
          once: true,
        })
      })
      // An attempt that ignores its signal still cannot outlive its timeout.
      Promise.race([options.attempt(candidate, controller.signal), timedOut]).then(
        (value) => settle({ candidate, index, ok: true, value }),
        (error: unknown) => settle({ candidate, index, ok: false, error }),
      )

      function settle(outcome: HedgeOutcome<C, R>): void {
        clearTimeout(timeout)
        controllers.delete(controller)
        inFlight--
        if (done) return
        options.onSettle?.(outcome)
        if (outcome.ok) successes.push(outcome)
        else failures.push(outcome)
        if (successes.length >= needed) {
          finish({ successes, failures, ok: true })
          return
        }
        fill(outcome.ok ? 'delay' : 'failure')
        if (inFlight === 0 && next >= candidates.length) finish({ successes, failures, ok: false })
      }
    }

    /** Starts attempts until enough are in flight for what is still needed (plus the hedges). */
    const fill = (reason: 'initial' | 'failure' | 'delay'): void => {
      while (!done && next < candidates.length && inFlight + successes.length < needed + extra) launch(reason)
    }

    if (signal?.aborted === true) {
      reject(signal.reason)
      return
    }
    signal?.addEventListener('abort', onAbort, { once: true })
    if (candidates.length === 0) {
      finish({ successes, failures, ok: false })
      return
    }
    fill('initial')
    timer = setInterval(() => {
      if (next >= candidates.length) {
        clearInterval(timer)
        return
      }
      extra++
      fill('delay')
    }, delayMs)
  })
}
