/**
 * A counting semaphore whose waiters give up after a while: bounds how many of something (log
 * consumers, commit lookups) one process holds at once. Waiters are served in arrival order; a
 * slot freed while someone waits is handed straight to them.
 */
export interface Semaphore {
  /**
   * Takes a slot, waiting up to `waitMs` for one; rejects with `timedOut()` after that. Resolves to
   * the slot's release, which may be called any number of times (only the first counts).
   */
  acquire(waitMs: number, timedOut: () => Error): Promise<() => void>
  /** Slots taken now. */
  readonly inUse: number
}

export const semaphore = (size: number): Semaphore => {
  let inUse = 0
  const waiting: (() => void)[] = []

  const releaser = (): (() => void) => {
    let released = false
    return () => {
      if (released) return
      released = true
      const next = waiting.shift()
      if (next !== undefined) next()
      else inUse--
    }
  }

  return {
    get inUse() {
      return inUse
    },
    acquire(waitMs, timedOut) {
      if (inUse < size) {
        inUse++
        return Promise.resolve(releaser())
      }
      return new Promise<() => void>((resolve, reject) => {
        const granted = () => {
          clearTimeout(timer)
          resolve(releaser())
        }
        const timer = setTimeout(
          () => {
            const i = waiting.indexOf(granted)
            if (i >= 0) waiting.splice(i, 1)
            reject(timedOut())
          },
          Math.max(0, waitMs),
        )
        waiting.push(granted)
      })
    },
  }
}
