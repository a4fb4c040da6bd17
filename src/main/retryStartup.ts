import { isUnavailable } from '../adapters/nats/service/failureOf.js'

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms))

/** JetStream's "no suitable peers for placement" (10005): a replicated stream or bucket cannot be created while a node is down. */
const isNoPeers = (e: unknown): boolean =>
  e instanceof Error && ((e as Error & { readonly code?: number }).code === 10005 || /no suitable peers for placement/i.test(e.message))

/**
 * Runs one start-up step of `npm start` (create the log, start ingest, the id index, a projection,
 * serving) and runs it again while it fails the way JetStream does during a leader election or
 * while a cluster regains its quorum: a timeout, no responders, "temporarily unavailable" (see
 * {@link isUnavailable}), or "no suitable peers for placement" (a replicated stream or bucket to
 * create while a node is down). Each failure is logged; the pause grows from 250 ms to 5 s. Any other
 * failure, or one still there `deadlineMs` after the first attempt (default 2 minutes), rejects,
 * and the processor exits with that message as before. A step must leave nothing behind when it
 * fails (every step here creates or opens idempotently).
 */
export const retryStartup = async <T>(what: string, step: () => Promise<T>, log: (message: string) => void, deadlineMs = 120_000): Promise<T> => {
  const deadline = Date.now() + deadlineMs
  for (let attempt = 0; ; attempt++) {
    try {
      return await step()
    } catch (e) {
      if (!(isUnavailable(e) || isNoPeers(e)) || Date.now() >= deadline) throw e
      const pause = Math.min(5_000, 250 * 2 ** attempt)
      log(`warning: ${what}: ${e instanceof Error ? e.message : String(e)}; JetStream cannot do it now (a leader election, a node down?), trying again in ${pause} ms`)
      await sleep(pause)
    }
  }
}
