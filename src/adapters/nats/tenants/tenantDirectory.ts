import { Kvm, type KvEntry } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { type AppendError, unavailable } from '../../../application/streams/errors.js'
import type { Tenant } from '../../../domain/tenants/tenant.js'
import { admit } from '../../../domain/tenants/tenant.js'
import { decodeTenantJson } from '../../codec/tenantJson.js'
import { keepWatching } from '../projections/projectionControl.js'

/**
 * The tenants the request path admits, held in memory: `admit` answers from memory, so the
 * append path reads no KV per request.
 */
export interface TenantDirectory {
  /**
   * The tenant, if it may be served now: unknown or deleted → `TENANT_NOT_FOUND`, suspended →
   * `TENANT_SUSPENDED`, registry unreachable on a first lookup → `UNAVAILABLE`.
   */
  admit(tenant: string): Promise<E.Either<AppendError, Tenant>>
  /**
   * `admit`'s answer when memory holds it (a tenant the watch or a lookup has seen, or an absent one
   * within its miss cache), else undefined: then `admit` must ask the registry. No I/O, no promise:
   * the append path's fast check.
   */
  peek(tenant: string): E.Either<AppendError, Tenant> | undefined
  stop(): void
}

const MISS_TTL_MS = 1_000

/**
 * A {@link TenantDirectory} over the `ALLSOURCE_TENANTS` KV bucket: a watch keeps every record
 * current (a suspension or deletion is applied within the watch's delivery delay, typically
 * milliseconds, with no restart); a tenant not yet seen is read with one KV get and cached
 * (an absent one for 1 s, so a flood of requests for unknown tenants costs one get per second
 * per tenant). A record that does not decode counts as absent.
 */
export const createKvTenantDirectory = async (
  nc: NatsConnection,
  options: {
    readonly bucket?: string
    readonly replicas?: number
    readonly onError?: (e: unknown) => void
    /** Called for each record the watch delivers after the first load (a change), with the record or undefined when removed. */
    readonly onChange?: (tenant: string, record: Tenant | undefined) => void
  } = {},
): Promise<TenantDirectory> => {
  const kv = await new Kvm(nc).create(options.bucket ?? 'ALLSOURCE_TENANTS', { history: 1, replicas: options.replicas ?? 1 })
  const known = new Map<string, Tenant | undefined>()
  const missedAt = new Map<string, number>()

  const revisions = new Map<string, number>()

  // A get racing the watch may read an older revision than the watch already applied: keep the newest.
  const apply = (e: KvEntry): void => {
    if ((revisions.get(e.key) ?? 0) > e.revision) return
    revisions.set(e.key, e.revision)
    if (e.operation !== 'PUT') {
      known.set(e.key, undefined)
      return
    }
    const d = decodeTenantJson(e.key, e.revision, e.value)
    known.set(e.key, E.isRight(d) ? d.right : undefined)
    missedAt.delete(e.key)
  }
  const fromWatch = (e: KvEntry): void => {
    apply(e)
    try {
      options.onChange?.(e.key, known.get(e.key))
    } catch {
      // a failing listener must not end the watch
    }
  }
  const stopWatch = await keepWatching(() => kv.watch(), fromWatch, { onError: options.onError ?? (() => undefined), isClosed: () => nc.isClosed() })

  const lookup = async (tenant: string): Promise<E.Either<AppendError, Tenant | undefined>> => {
    if (known.has(tenant)) return E.right(known.get(tenant))
    const missed = missedAt.get(tenant)
    if (missed !== undefined && Date.now() - missed < MISS_TTL_MS) return E.right(undefined)
    try {
      const e = await kv.get(tenant)
      if (e === null) {
        if (missedAt.size > 10_000) missedAt.clear()
        missedAt.set(tenant, Date.now())
        return E.right(undefined)
      }
      apply(e)
      return E.right(known.get(tenant))
    } catch {
      return E.left(unavailable('the tenant registry did not answer; retry', { retryAfterMs: 1_000 }))
    }
  }

  return {
    peek: (tenant) => {
      if (known.has(tenant)) return admit(tenant as Tenant['tenant'], known.get(tenant))
      const missed = missedAt.get(tenant)
      return missed !== undefined && Date.now() - missed < MISS_TTL_MS ? admit(tenant as Tenant['tenant'], undefined) : undefined
    },
    admit: async (tenant) => {
      const r = await lookup(tenant)
      return E.isLeft(r) ? r : admit(tenant as Tenant['tenant'], r.right)
    },
    stop: stopWatch,
  }
}
