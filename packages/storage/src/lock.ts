/**
 * A small shared/exclusive lock for whole operations.
 *
 * Writers of DAGs (put, import, pin) hold it shared for the whole operation; `gc()` holds it exclusively.
 * Block-level locking is not enough: a put writes many blocks and pins the root only at the end, and a
 * gc running in between would see those blocks as unpinned garbage.
 */
export class SharedExclusiveLock {
  #readers = 0
  #writer = false
  #waiting: Array<{ exclusive: boolean; resolve: () => void }> = []

  async shared(): Promise<() => void> {
    if (!this.#writer && !this.#waiting.some((w) => w.exclusive)) {
      this.#readers++
      return this.#releaseShared
    }
    await new Promise<void>((resolve) => this.#waiting.push({ exclusive: false, resolve }))
    return this.#releaseShared
  }

  async exclusive(): Promise<() => void> {
    if (!this.#writer && this.#readers === 0) {
      this.#writer = true
      return this.#releaseExclusive
    }
    await new Promise<void>((resolve) => this.#waiting.push({ exclusive: true, resolve }))
    return this.#releaseExclusive
  }

  readonly #releaseShared = (): void => {
    this.#readers--
    this.#drain()
  }

  readonly #releaseExclusive = (): void => {
    this.#writer = false
    this.#drain()
  }

  #drain(): void {
    while (this.#waiting.length > 0 && !this.#writer) {
      const next = this.#waiting[0]!
      if (next.exclusive) {
        if (this.#readers > 0) return
        this.#waiting.shift()
        this.#writer = true
        next.resolve()
        return
      }
      this.#waiting.shift()
      this.#readers++
      next.resolve()
    }
  }
}
