import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream'
import type { KV, KvEntry } from '@nats-io/kv'
import { abortableSleep } from '../../system/abortableSleep.js'

const json = (e: KvEntry | null): unknown => (e === null || e.operation !== 'PUT' ? undefined : e.json())
const message = (e: unknown): string => (e instanceof Error ? e.message : String(e))

/** The server refused the compare-and-set: someone else wrote the entry since our revision. */
const isConflict = (e: unknown): boolean =>
  (e instanceof JetStreamApiError && e.code === JetStreamApiCodes.StreamWrongLastSequence) || /wrong last sequence/i.test(message(e))

/**
 * A lease in a KV entry: at most one instance holds it (a projection's fold, durable ingest). The
 * holder renews it by compare-and-set every `ttlMs / 3`. Another instance takes it over when the
 * entry's revision has not changed for `ttlMs` by its own clock (so clock skew between machines does
 * not matter), or at once when the holder released it on a clean stop. A holder that cannot renew
 * must stop its work; the work itself should be fenced too (projections write by compare-and-set,
 * ingest relies on the log's dedupe), since a paused holder learns of the loss only when it wakes.
 */
export class KvLease {
  private revision = 0
  private held = false
  /** When the lease was last acquired or renewed, by this process's clock. */
  private renewedAt = 0

  constructor(
    private readonly kv: KV,
    private readonly key: string,
    private readonly owner: string,
    private readonly ttlMs: number,
    /** Told of each NATS failure while waiting for the lease (the wait goes on). */
    private readonly onError: (message: string) => void = () => undefined,
  ) {}

  /**
   * Whether this instance holds the lease: it was acquired or renewed less than `ttlMs` ago and
   * not lost since. While NATS is unreachable renewals fail, and after `ttlMs` the holder counts
   * itself out (another instance may take over by then), until a renewal succeeds again.
   */
  isHeld(): boolean {
    return this.held && performance.now() - this.renewedAt < this.ttlMs
  }

  /**
   * Resolves once the lease is ours; polls until then. Rejects only when `signal` aborts: a NATS
   * failure (disconnected, timeout, no JetStream yet after a restart) is reported to `onError` and
   * the poll goes on.
   */
  async acquire(signal: AbortSignal): Promise<void> {
    let watched: { revision: number; since: number } | undefined
    while (!signal.aborted) {
      let e: KvEntry | null
      try {
        e = await this.kv.get(this.key)
      } catch (err) {
        this.onError(`lease ${this.key}: ${message(err)}; retrying`)
        await abortableSleep(this.pollMs, signal)
        continue
      }
      const v = json(e) as { owner?: string; released?: boolean; ttlMs?: number } | undefined
      const now = performance.now()
      if (e !== null && (watched === undefined || watched.revision !== e.revision)) watched = { revision: e.revision, since: now }
      const free = e === null || v === undefined || v.released === true || v.owner === this.owner
      const expired = watched !== undefined && now - watched.since >= Math.max(this.ttlMs, v?.ttlMs ?? 0)
      if (free || expired) {
        try {
          const body = JSON.stringify({ owner: this.owner, ttlMs: this.ttlMs })
          this.revision = e === null ? await this.kv.create(this.key, body) : await this.kv.update(this.key, body, e.revision)
          this.held = true
          this.renewedAt = performance.now()
          return
        } catch {
          // someone else got it first
        }
      }
      await abortableSleep(this.pollMs, signal)
    }
    throw new Error('stopped')
  }

  private get pollMs(): number {
    return Math.max(50, Math.min(this.ttlMs / 4, 1_000))
  }

  /**
   * Renews the lease: true when renewed, false (and no longer held) if someone else took it.
   * Rejects on a NATS failure (disconnected, timeout): the lease may still be ours, so the caller
   * tries again and stops its work once `isHeld()` turns false.
   */
  async renew(): Promise<boolean> {
    try {
      this.revision = await this.kv.update(this.key, JSON.stringify({ owner: this.owner, ttlMs: this.ttlMs }), this.revision)
      this.renewedAt = performance.now()
      return true
    } catch (e) {
      if (!isConflict(e)) throw e
      this.held = false
      return false
    }
  }

  /** Gives the lease up at once, so another instance need not wait for it to expire. */
  async release(): Promise<void> {
    if (!this.held) return
    this.held = false
    await this.kv.update(this.key, JSON.stringify({ owner: this.owner, released: true }), this.revision).catch(() => undefined)
  }

  get renewEveryMs(): number {
    return Math.max(50, Math.floor(this.ttlMs / 3))
  }
}
