/**
 * Waits `ms`, or less if `signal` aborts first; never rejects. The abort listener is removed when
 * the timer fires, so a long-lived signal does not collect one listener per call.
 */
export const abortableSleep = (ms: number, signal?: AbortSignal): Promise<void> =>
  new Promise<void>((resolve) => {
    if (signal?.aborted === true) return resolve()
    const onAbort = () => {
      clearTimeout(timer)
      resolve()
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort)
      resolve()
    }, ms)
    signal?.addEventListener('abort', onAbort, { once: true })
  })

/** Exponential backoff: `baseMs * 2^attempt`, capped at `maxMs`. */
export const backoffMs = (attempt: number, baseMs = 100, maxMs = 5_000): number => Math.min(maxMs, baseMs * 2 ** Math.min(attempt, 30))
