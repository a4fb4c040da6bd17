import * as E from 'fp-ts/lib/Either.js'
import { type DomainError, quotaExceeded } from '../../domain/streams/errors.js'
import type { Limit } from '../../domain/tenants/tenant.js'
import { msUntilNextUtcDay, utcDayOf } from '../../domain/tenants/utcDay.js'
import type { Clock } from '../streams/ports.js'

/** Events reserved by one append, to be given back if the append fails. */
export interface DailyReservation {
  readonly tenant: string
  readonly day: number
  readonly events: number
}

/**
 * The `eventsPerDay` quota: events appended per tenant per UTC day, counted in this process's
 * memory.
 *
 * Guarantees:
 * - `reserve(tenant, n, limit)` counts `n` more events for today and answers the reservation only
 *   if today's count stays ≤ `limit` (`null`: no limit, always reserved); else `QuotaExceeded`
 *   (`quota: "eventsPerDay"`, `limit`, `retryAfterMs` until the next UTC midnight) and counts
 *   nothing. Reservations are synchronous, so concurrent appends never overshoot the limit.
 * - `release` gives a reservation back (an append that failed); a reservation of an earlier day
 *   changes nothing (today's count is new).
 * - `today(tenant)`: events counted for the tenant today.
 * - Per process and from the process's start: N processors admit up to N × the limit, and a
 *   restart starts the day at 0 (docs/security.md, "Rate limits").
 * Memory: one entry per tenant that appended (bounded by the number of tenants).
 */
export interface DailyEventCounter {
  reserve(tenant: string, events: number, limit: Limit): E.Either<DomainError, DailyReservation>
  release(reservation: DailyReservation): void
  today(tenant: string): number
}

export const createDailyEventCounter = (clock: Clock): DailyEventCounter => {
  const counts = new Map<string, { readonly day: number; readonly count: number }>()
  const current = (tenant: string, day: number): number => {
    const held = counts.get(tenant)
    return held !== undefined && held.day === day ? held.count : 0
  }
  return {
    reserve(tenant, events, limit) {
      const now = clock.now().getTime()
      const day = utcDayOf(now)
      const count = current(tenant, day)
      if (limit !== null && count + events > limit) return E.left(quotaExceeded('eventsPerDay', limit, msUntilNextUtcDay(now)))
      counts.set(tenant, { day, count: count + events })
      return E.right({ tenant, day, events })
    },
    release(r) {
      const held = counts.get(r.tenant)
      if (held === undefined || held.day !== r.day) return
      counts.set(r.tenant, { day: r.day, count: Math.max(0, held.count - r.events) })
    },
    today: (tenant) => current(tenant, utcDayOf(clock.now().getTime())),
  }
}
