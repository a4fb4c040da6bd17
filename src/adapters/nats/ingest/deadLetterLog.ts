/**
 * Logs dead letters without flooding the log: at most `max` lines per `windowMs`; the rest of a
 * window is summed up in one "N more … not logged" line when the window ends.
 */
export interface RateLimitedLog {
  (line: string): void
  /** Writes the pending summary line now (on stop). */
  flush(): void
}

export const rateLimitedLog = (log: (line: string) => void, what: string, max = 10, windowMs = 10_000): RateLimitedLog => {
  let windowStart = Number.NEGATIVE_INFINITY
  let logged = 0
  let suppressed = 0
  let timer: ReturnType<typeof setTimeout> | undefined
  const flush = () => {
    if (timer !== undefined) clearTimeout(timer)
    timer = undefined
    if (suppressed > 0) log(`${suppressed} more ${what} not logged in the last ${Math.round(windowMs / 1000)} s`)
    suppressed = 0
  }
  const write = (line: string) => {
    const now = performance.now()
    if (now - windowStart >= windowMs) {
      flush()
      windowStart = now
      logged = 0
    }
    if (logged < max) {
      logged++
      log(line)
      return
    }
    suppressed++
    if (timer === undefined) {
      timer = setTimeout(flush, Math.max(0, windowStart + windowMs - now))
      timer.unref?.()
    }
  }
  return Object.assign(write, { flush })
}
