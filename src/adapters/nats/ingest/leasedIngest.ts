import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { IngestProcessor } from './ingestProcessor.js'
import { KvLease } from '../log/kvLease.js'
import { abortableSleep as sleep, backoffMs } from '../../system/abortableSleep.js'

/** KV bucket of leases that are not a projection's: key `ingest` for durable ingest. */
export const LEASE_BUCKET = 'ALLSOURCE_LEASES'

export interface LeasedIngest extends IngestProcessor {
  /** Whether this instance holds the ingest lease and runs ingest now. */
  readonly active: boolean
}

export interface LeasedIngestOptions {
  /** This instance's name in the lease. */
  readonly owner: string
  /** How long a silent holder keeps the lease (default 10 s). */
  readonly ttlMs?: number
  /** Called when this instance starts or stops running ingest. */
  readonly onChange?: (active: boolean) => void
  readonly log?: (message: string) => void
  /** Replicas of `ALLSOURCE_LEASES` when it is created (default 1). */
  readonly replicas?: number
}

/**
 * Runs durable ingest on at most one instance at a time: the one holding the `ingest` lease in
 * `ALLSOURCE_LEASES` (see {@link KvLease}). The others wait; when the holder dies, one of them takes
 * over after the lease TTL and, as on any start, resumes at the oldest unacked message, in order.
 * A holder that loses the lease stops ingest. If two ever overlap (a holder paused past its TTL),
 * both append the same messages with the same commitIds, and the log's dedupe keeps each once.
 * Only `stop()` ends the wait for the lease: a NATS failure (a restart, a timeout) is logged and
 * the wait goes on, with backoff.
 * Resolves once the first attempt at the lease is settled (running, or standing by).
 */
export const startLeasedIngest = async (nc: NatsConnection, start: () => Promise<IngestProcessor>, o: LeasedIngestOptions): Promise<LeasedIngest> => {
  const kv = await new Kvm(nc).create(LEASE_BUCKET, { history: 1, replicas: o.replicas ?? 1 })
  const lease = new KvLease(kv, 'ingest', o.owner, o.ttlMs ?? 10_000, (m) => o.log?.(`ingest ${m}`))
  const stopping = new AbortController()
  const totals = { appended: 0, deadLettered: 0 }
  let current: IngestProcessor | undefined
  let settled: () => void = () => undefined
  const firstAttempt = new Promise<void>((resolve) => (settled = resolve))

  /**
   * Renews the lease until it is lost or stop() is called (a NATS failure is retried until the
   * lease would have expired), or until ingest failed on its own: then true, to restart it.
   */
  const hold = async (): Promise<boolean> => {
    while (!stopping.signal.aborted) {
      await sleep(lease.renewEveryMs, stopping.signal)
      if (stopping.signal.aborted) return false
      if (current?.failure !== undefined) return true
      try {
        if (!(await lease.renew())) return false
      } catch (e) {
        o.log?.(`ingest lease: renewal failed: ${e instanceof Error ? e.message : String(e)}; retrying`)
        if (!lease.isHeld()) return false
      }
    }
    return false
  }

  let failures = 0
  const loop = (async () => {
    while (!stopping.signal.aborted) {
      // Someone else holds it: say so once the first check is done, then keep waiting.
      let acquired = false
      const waited = lease.acquire(stopping.signal).then(() => {
        acquired = true
      })
      sleep(Math.min(250, lease.renewEveryMs), stopping.signal).then(
        () => acquired || settled(),
        () => undefined, // never rejects
      )
      try {
        await waited
        failures = 0
      } catch (e) {
        if (stopping.signal.aborted) break
        // Not ours to give up on: only stop() ends ingest on this instance.
        o.log?.(`ingest lease: ${e instanceof Error ? e.message : String(e)}; retrying`)
        await sleep(backoffMs(failures++, 250, 5_000), stopping.signal)
        continue
      }
      try {
        current = await start()
      } catch (e) {
        o.log?.(`ingest could not start: ${e instanceof Error ? e.message : String(e)}; retrying`)
        await lease.release()
        await sleep(backoffMs(failures++, 1_000, 5_000), stopping.signal)
        continue
      }
      failures = 0
      o.onChange?.(true)
      settled()
      const failed = await hold()
      const p = current
      current = undefined
      await p.stop().catch((e: unknown) => o.log?.(`ingest stop: ${e instanceof Error ? e.message : String(e)}`))
      totals.appended += p.appended
      totals.deadLettered += p.deadLettered
      o.onChange?.(false)
      if (stopping.signal.aborted) break
      // Still the holder after a failure: the next acquire is immediate, and ingest starts afresh.
      o.log?.(failed ? `ingest stopped (${p.failure ?? 'failed'}); restarting it` : 'ingest lease lost; standing by')
    }
    settled()
  })()

  await firstAttempt
  return {
    get active() {
      return current !== undefined
    },
    get appended() {
      return totals.appended + (current?.appended ?? 0)
    },
    get deadLettered() {
      return totals.deadLettered + (current?.deadLettered ?? 0)
    },
    async stop() {
      stopping.abort()
      await loop
      await lease.release()
    },
  }
}
