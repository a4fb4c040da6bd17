import * as E from 'fp-ts/lib/Either.js'
import type { AppendCommand } from '../../domain/streams/appendRequest.js'
import { quotaExceeded } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { Tenant } from '../../domain/tenants/tenant.js'
import type { AppendError } from '../streams/errors.js'
import type { Clock } from '../streams/ports.js'
import { isPending, type MaybePromise } from '../maybePromise.js'

/** How many bytes of the log a tenant's events take now (auth mode: from JetStream, `logUsage.ts`). Rejects when the log cannot tell. */
export type TenantBytesSource = (tenant: TenantId) => Promise<number>

/** The bytes one commit will take in the log, estimated from the command (in memory, no I/O). */
export type CommitSizer = (command: AppendCommand) => number

/** Bytes counted for one append before it is made, to be given back if it fails. */
export interface BytesReservation {
  readonly tenant: string
  readonly bytes: number
}

/** The `storedBytes` quota on the append path. */
export interface StoredBytesQuota {
  /**
   * Counts the command's bytes for `tenant` if they fit under its `storedBytes` quota, else
   * `QuotaExceeded` (`quota: "storedBytes"`, `limit`, `used`, `retryAfterMs` = the resync interval).
   */
  reserve(tenant: Tenant, command: AppendCommand): MaybePromise<E.Either<AppendError, BytesReservation>>
  /** Gives a reservation back (the append failed or was a duplicate that wrote nothing). */
  release(reservation: BytesReservation): void
  /** The tenant's bytes as this processor counts them now, or undefined when not counted yet. */
  used(tenant: string): number | undefined
}

/** How often a tenant's count is read again from the log. Default of {@link createStoredBytesQuota}. */
export const STORED_BYTES_RESYNC_MS = 60_000

interface Count {
  bytes: number
  at: number
}

/**
 * The `storedBytes` quota: the bytes a tenant's events take in the log, counted in this process's
 * memory so an append costs no store read.
 *
 * - A tenant's count is **seeded** from the log (`source`, one read) on its first append with a
 *   limit, and **resynced** from the log when it is older than `resyncMs` (default 60 s): the
 *   append that finds it stale starts the read and goes on with the held count (a read in flight
 *   is shared; a failed read keeps the held count). So at most one log read per tenant per
 *   `resyncMs`, and none on the append path once seeded.
 * - Each append reserves its estimated size (`size`) before it is made, so concurrent appends do
 *   not overshoot; a failed or duplicate append is given back with `release`.
 * - An append whose bytes would take the tenant past its quota is refused with `QuotaExceeded`
 *   (`used`, `limit`, and `retryAfterMs` = `resyncMs`, when the count is read again). The quota does
 *   not reset by itself (the log keeps events for ever): it frees only when the quota is raised
 *   (seen at the next append: the quota comes from the tenant record) or data is removed.
 * - `null` (unlimited) passes with no I/O and counts nothing.
 *
 * Limits, by design: the count is an estimate (the log's bytes per tenant are estimated from its
 * commits, see `logUsageOf`, and each commit's from its command), per process: appends by other
 * processors are seen at the next resync, so N processors can overshoot by up to `resyncMs` of
 * their appends. A log that cannot be read for the seed lets the append through (a plan limit, not
 * a security boundary; the append needs the same log).
 */
export const createStoredBytesQuota = (deps: {
  readonly source: TenantBytesSource
  readonly size: CommitSizer
  readonly clock: Clock
  readonly resyncMs?: number
  /** Most tenants held (the oldest-seeded are dropped and seeded again when needed). Default 100,000. */
  readonly maxTenants?: number
}): StoredBytesQuota => {
  const resyncMs = deps.resyncMs ?? STORED_BYTES_RESYNC_MS
  const maxTenants = deps.maxTenants ?? 100_000
  const counts = new Map<string, Count>()
  const reading = new Map<string, Promise<Count | undefined>>()

  const read = (tenant: TenantId): Promise<Count | undefined> => {
    let r = reading.get(tenant)
    if (r === undefined) {
      const started = deps.clock.now().getTime()
      // Appends made while the read is in flight are counted on top of what it answers.
      const before = counts.get(tenant)?.bytes
      r = deps
        .source(tenant)
        .then(
          (bytes) => {
            const held = counts.get(tenant)
            const since = held !== undefined && before !== undefined ? Math.max(0, held.bytes - before) : 0
            if (held === undefined && counts.size >= maxTenants) counts.delete(counts.keys().next().value as string)
            const c = { bytes: bytes + since, at: started }
            counts.set(tenant, c)
            return c
          },
          () => counts.get(tenant),
        )
        .finally(() => reading.delete(tenant))
      reading.set(tenant, r)
    }
    return r
  }

  const countOf = (tenant: TenantId): MaybePromise<Count | undefined> => {
    const held = counts.get(tenant)
    if (held === undefined) return read(tenant)
    if (deps.clock.now().getTime() - held.at >= resyncMs) read(tenant).catch(() => undefined)
    return held
  }

  // Counts `bytes` if they fit under `limit`; a count not known yet lets the append through uncounted.
  const take = (count: Count | undefined, limit: number, bytes: number, command: AppendCommand): E.Either<AppendError, BytesReservation> => {
    if (count === undefined) return E.right({ tenant: command.tenant, bytes: 0 })
    if (count.bytes + bytes > limit) {
      const message = `storedBytes quota of ${limit} bytes is spent (${count.bytes} used, this append needs ${bytes}); it does not reset by itself: delete data or raise the quota`
      return E.left(quotaExceeded('storedBytes', limit, resyncMs, { used: count.bytes, message }))
    }
    count.bytes += bytes
    return E.right({ tenant: command.tenant, bytes })
  }

  return {
    reserve(tenant, command) {
      const limit = tenant.quotas.storedBytes
      if (limit === null) return E.right({ tenant: command.tenant, bytes: 0 })
      const bytes = deps.size(command)
      const count = countOf(command.tenant)
      return isPending(count) ? count.then((c) => take(c, limit, bytes, command)) : take(count, limit, bytes, command)
    },
    release(r) {
      const held = counts.get(r.tenant)
      if (held !== undefined) held.bytes = Math.max(0, held.bytes - r.bytes)
    },
    used: (tenant) => counts.get(tenant)?.bytes,
  }
}
