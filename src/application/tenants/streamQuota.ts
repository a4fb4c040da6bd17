import * as E from 'fp-ts/lib/Either.js'
import type { AppendCommand } from '../../domain/streams/appendRequest.js'
import { quotaExceeded } from '../../domain/streams/errors.js'
import type { StreamId, TenantId } from '../../domain/streams/ids.js'
import type { Tenant } from '../../domain/tenants/tenant.js'
import type { AppendResult } from '../streams/appendResult.js'
import type { AppendError } from '../streams/errors.js'
import type { Clock } from '../streams/ports.js'
import { isPending, type MaybePromise } from '../maybePromise.js'

/** What the log can tell about a tenant's streams (auth mode: JetStream, `jetStreamStreamCatalog.ts`). */
export interface StreamCatalog {
  /** How many distinct streams of `tenant` hold events now. Rejects when the log cannot tell. */
  count(tenant: TenantId): Promise<number>
  /** Whether `stream` of `tenant` holds any event. Rejects when the log cannot tell. */
  exists(tenant: TenantId, stream: StreamId): Promise<boolean>
}

/** The `streams` quota on the append path. */
export interface StreamQuota {
  /** Whether `command` may append for `tenant` as far as its `streams` quota goes (see {@link createStreamQuota}). */
  check(tenant: Tenant, command: AppendCommand): MaybePromise<E.Either<AppendError, void>>
  /** Tells the quota of an append that was stored: one that started a stream counts it at once. */
  appended(result: AppendResult): void
}

const PASS: E.Either<AppendError, void> = E.right(undefined)

/** How long a tenant's stream count is used before it is read again from the log. Default of {@link createStreamQuota}. */
export const STREAM_COUNT_TTL_MS = 5_000

interface Counted {
  count: number
  readonly at: number
}

/**
 * The `streams` quota (the number of distinct streams a tenant has), checked before an append:
 *
 * - `null` (unlimited), or an append that names an existing stream (`expectedVersion` `exists` or
 *   a version > 0: it fails on its own if the stream is absent), always passes, with no I/O;
 * - otherwise the tenant's stream count (`catalog.count`, cached per tenant for `ttlMs`, one read
 *   for concurrent checks) below the quota passes;
 * - at (or above) the quota, an append that would start a stream is refused `QUOTA_EXCEEDED`
 *   (`quota: 'streams'`, `limit`, `retryAfterMs` = `ttlMs`, when the count is read again): with
 *   `expectedVersion` `no_stream` or `0` at once, with `any` after one `catalog.exists` read (an
 *   existing stream passes). So a tenant at its quota keeps appending to the streams it has.
 *
 * Limits, by design: the count is this processor's view, at most `ttlMs` old, raised at once by
 * the streams this processor starts ({@link StreamQuota.appended}); streams started at the same
 * moment, or by other processors within `ttlMs`, can each pass, so the quota can be exceeded by
 * that many. A catalog that does not answer lets the append through (a stale count is used when
 * there is one): the quota is a plan limit, not a security boundary, and the append itself needs
 * the same log.
 */
export const createStreamQuota = (deps: { readonly catalog: StreamCatalog; readonly clock: Clock; readonly ttlMs?: number }): StreamQuota => {
  const ttl = deps.ttlMs ?? STREAM_COUNT_TTL_MS
  const counts = new Map<string, Counted>()
  const reading = new Map<string, Promise<Counted | undefined>>()

  const countOf = (tenant: TenantId): MaybePromise<Counted | undefined> => {
    const now = deps.clock.now().getTime()
    const held = counts.get(tenant)
    if (held !== undefined && now - held.at < ttl) return held
    let r = reading.get(tenant)
    if (r === undefined) {
      r = deps.catalog
        .count(tenant)
        .then(
          (count) => {
            if (counts.size >= 100_000) counts.clear()
            const c = { count, at: now }
            counts.set(tenant, c)
            return c
          },
          () => held,
        )
        .finally(() => reading.delete(tenant))
      reading.set(tenant, r)
    }
    return r
  }

  // Under the quota (or the count unknown): passes; at it, a new stream is refused (`any`: after one `exists` read).
  const decide = (counted: Counted | undefined, limit: number, command: AppendCommand): MaybePromise<E.Either<AppendError, void>> => {
    if (counted === undefined || counted.count < limit) return PASS
    const refused = E.left(quotaExceeded('streams', limit, ttl))
    const ev = command.expectedVersion
    if (ev === 'no_stream' || ev === 0) return refused
    return deps.catalog.exists(command.tenant, command.stream).then(
      (exists) => (exists ? PASS : refused),
      () => PASS,
    )
  }

  return {
    check(tenant, command) {
      const limit = tenant.quotas.streams
      const ev = command.expectedVersion
      if (limit === null || ev === 'exists' || (typeof ev === 'number' && ev > 0)) return PASS
      const counted = countOf(command.tenant)
      return isPending(counted) ? counted.then((c) => decide(c, limit, command)) : decide(counted, limit, command)
    },
    appended(result) {
      if (result.fromVersion !== 1 || result.duplicate === true) return
      const held = counts.get(result.tenant)
      if (held !== undefined) held.count++
    },
  }
}
