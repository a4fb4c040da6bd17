import { EVENT_STREAM } from '../log/eventStream.js'
import { AckPolicy, DeliverPolicy, jetstream, jetstreamManager, type ConsumerConfig, type JetStreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { validateStream, validateTenant } from '../../../domain/streams/appendRequest.js'
import { badRequest, invalidId, type DomainError } from '../../../domain/streams/errors.js'
import type { ReplayedEvent } from './replay.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import type { Unavailable } from '../../../application/streams/errors.js'
import { isUnavailable, unavailableOf } from '../service/failureOf.js'
import { defaultPrefix, subjects } from '../subjects.js'
import { validateFilter, type Filter } from '../../../domain/reading/filter.js'
import { admitsTypes, planScan } from '../../../domain/reading/queryPlan.js'
import { parseWhere } from '../../../domain/reading/where.js'

/** Where a subscription starts, or is reset to. */
export type StartAt = 'start' | 'end' | { readonly offset: number } | { readonly time: Date }

export interface SubscriptionSpec {
  readonly tenant: string
  readonly stream?: string
  readonly from: StartAt
  /**
   * Only events this filter accepts are delivered (docs/querying.md; the JSON or the text
   * form). Stored with the subscription; a commit with no accepted event is acknowledged by the
   * subscription itself and never delivered.
   */
  readonly where?: Filter | string
}

export interface SubscriptionPosition {
  readonly name: string
  readonly tenant: string
  readonly stream?: string
  /** The subscription's filter, when it has one. */
  readonly where?: Filter
  /** The offset of the last acknowledged commit (0 before the first). */
  readonly acknowledged: number
  /** Commits on the subscription's subject (its tenant or stream) not acknowledged yet; `where` is not applied here. */
  readonly lag: number
}

/** A subscription's delivery sequence skipped (a delivery lost in a leader change): open the subscription again. */
export class DeliveryGap extends Error {
  constructor(name: string, last: number, got: number) {
    super(`subscription "${name}": delivery ${last + 1} was lost (got ${got} after ${last}, e.g. while the consumer's leader moved); open the subscription again to resume right after the last acknowledged commit`)
    this.name = 'DeliveryGap'
  }
}

/** One commit delivered to a subscription; `ack()` moves the subscription past it. */
export interface Delivery {
  readonly offset: number
  readonly events: readonly ReplayedEvent[]
  ack(): Promise<void>
}

/** `Unavailable`: NATS could not serve the call (down, timed out, the server's consumer limit reached); retry later. */
export type SubscriptionError = DomainError | Unavailable | { readonly _tag: 'NotFound'; readonly message: string }

/** JetStream's "consumer not found". */
const CONSUMER_NOT_FOUND = 10014
const NAME_RE = /^[A-Za-z0-9_-]{1,64}$/
const STREAM = EVENT_STREAM
/** What the durable names of a tenant's subscriptions start with: `sub=<tenant>=`. Tenants cannot contain "=", so it is the tenant's alone. */
export const subscriptionDurablePrefix = (tenant: string): string => `sub=${tenant}=`
const durable = (tenant: string, name: string) => `${subscriptionDurablePrefix(tenant)}${name}`
const notFound = (name: string): SubscriptionError => ({ _tag: 'NotFound', message: `no subscription "${name}"` })
/** The consumer metadata key that holds a subscription's filter (its JSON form). */
const WHERE_KEY = 'allsource_where'
const MAX_STORED_WHERE = 65_536
/** How long one pull of an open subscription waits (docs/reliability.md: a lost pull costs at most about this). */
const SUBSCRIPTION_PULL_EXPIRES_MS = 5_000

/** The filter stored with a durable, if any; a stored value that no longer validates is a defect. */
const storedWhere = (metadata: Record<string, string> | undefined): Filter | undefined => {
  const raw = metadata?.[WHERE_KEY]
  if (raw === undefined) return undefined
  const f = validateFilter(JSON.parse(raw))
  if (E.isLeft(f)) throw new Error(`the stored where of a subscription is invalid: ${f.left.path} ${f.left.message}`)
  return f.right
}

const startConfig = async (jsm: JetStreamManager, from: StartAt): Promise<E.Either<DomainError, Partial<ConsumerConfig>>> => {
  if (from === 'start') return E.right({ deliver_policy: DeliverPolicy.All })
  if (from === 'end') return E.right({ deliver_policy: DeliverPolicy.New })
  if ('time' in from) {
    const t = from.time instanceof Date ? from.time.getTime() : Number.NaN
    // JetStream reads the start time as RFC 3339, which has four-digit years only.
    const year = Number.isNaN(t) ? Number.NaN : new Date(t).getUTCFullYear()
    if (Number.isNaN(t) || year < 0 || year > 9999) return E.left(badRequest('time must be a valid date between the years 0000 and 9999', { time: Number.isNaN(t) ? String(from.time) : new Date(t).toISOString() }))
    return E.right({ deliver_policy: DeliverPolicy.StartTime, opt_start_time: new Date(t).toISOString() })
  }
  if (!('offset' in from)) return E.left(badRequest('start must be "start", "end", { offset } or { time }'))
  if (!Number.isSafeInteger(from.offset) || from.offset < 1) return E.left(badRequest('offset must be an integer >= 1', { offset: from.offset }))
  const last = (await jsm.streams.info(STREAM)).state.last_seq
  if (from.offset > last + 1) return E.left(badRequest(`offset ${from.offset} is beyond the end of the log (${last})`, { offset: from.offset, end: last }))
  return E.right({ deliver_policy: DeliverPolicy.StartSequence, opt_start_seq: from.offset })
}

/**
 * Durable named subscriptions on the log: JetStream durable consumers on `ALLSOURCE_EVENTS`
 * filtered to a tenant (or one stream). Their position survives restarts; `open` resumes right
 * after the last acknowledged commit (nothing acknowledged is delivered again, nothing is
 * skipped). One reader per subscription at a time. `options.beforeCreate` may refuse a create
 * (auth mode: the `projections` quota).
 */
export interface SubscriptionsOptions {
  /**
   * Asked before a subscription is created (after its name and spec are checked, before anything is
   * written): a Left refuses the create with that error. Auth mode: the tenant's `projections` quota.
   */
  readonly beforeCreate?: (tenant: string) => Promise<E.Either<SubscriptionError, void>>
}

export const createSubscriptions = (nc: NatsConnection, prefix = defaultPrefix, options: SubscriptionsOptions = {}) => {
  // No $JS.API.INFO probe: tenant credentials may not ask it (docs/security.md), and a timeout kept
  // here would fail every later call; every call reports its own failure.
  const jsmP = jetstreamManager(nc, { checkAPI: false })
  const filterOf = (tenant: string, stream?: string) => subjects(prefix).eventsOf(tenant, stream)

  const check = (tenant: string, name: string, stream?: string): E.Either<DomainError, void> => {
    if (E.isLeft(validateTenant(tenant))) return E.left(invalidId('tenant', `tenant must be 1–64 chars of A–Z a–z 0–9 _ -`))
    if (!NAME_RE.test(name)) return E.left(invalidId('name', 'a subscription name is 1–64 chars of A–Z a–z 0–9 _ -'))
    if (stream !== undefined && E.isLeft(validateStream(stream))) return E.left(invalidId('stream', 'stream must be 1–200 chars of A–Z a–z 0–9 _ - ='))
    return E.right(undefined)
  }

  /** The durable's info, undefined when it does not exist; any other failure (NATS down) throws. */
  const info = async (tenant: string, name: string) =>
    (await jsmP).consumers.info(STREAM, durable(tenant, name)).catch((e: unknown) => {
      if (e instanceof Error && (e.name === 'ConsumerNotFoundError' || (e as { code?: unknown }).code === CONSUMER_NOT_FOUND)) return undefined
      throw e
    })

  const define = async (tenant: string, name: string, filter: string, start: Partial<ConsumerConfig>, metadata: Record<string, string> | undefined) => {
    await (await jsmP).consumers.add(STREAM, {
      durable_name: durable(tenant, name),
      filter_subject: filter,
      ack_policy: AckPolicy.Explicit,
      max_ack_pending: 1_000,
      ...(metadata !== undefined ? { metadata } : {}),
      ...start,
    })
  }

  /** NATS failing under a call (down, timeout, the server's consumer limit) is `Unavailable`, not a throw; defects still throw. */
  const guarded = async <T>(f: () => Promise<E.Either<SubscriptionError, T>>): Promise<E.Either<SubscriptionError, T>> => {
    try {
      return await f()
    } catch (e) {
      if (!isUnavailable(e)) throw e
      return E.left(unavailableOf(e))
    }
  }

  const api = {
    /** Creates a subscription; BAD_REQUEST if the name is taken or the start is beyond the log. */
    create(name: string, spec: SubscriptionSpec): Promise<E.Either<SubscriptionError, SubscriptionPosition>> {
      return guarded(async () => {
        const ok = check(spec.tenant, name, spec.stream)
        if (E.isLeft(ok)) return ok
        const where = spec.where === undefined ? undefined : parseWhere(spec.where)
        if (where !== undefined && E.isLeft(where)) return where
        const stored = where === undefined ? undefined : JSON.stringify(where.right)
        // Stored in the consumer's config, which travels in one JetStream API request.
        if (stored !== undefined && stored.length > MAX_STORED_WHERE) {
          return E.left(badRequest(`where: a subscription's filter is at most ${MAX_STORED_WHERE} characters as JSON`, { field: 'where', path: '' }))
        }
        if ((await info(spec.tenant, name)) !== undefined) return E.left(badRequest(`subscription "${name}" already exists`))
        const allowed = (await options.beforeCreate?.(spec.tenant)) ?? E.right(undefined)
        if (E.isLeft(allowed)) return allowed
        const start = await startConfig(await jsmP, spec.from)
        if (E.isLeft(start)) return start
        await define(spec.tenant, name, filterOf(spec.tenant, spec.stream), start.right, stored === undefined ? undefined : { [WHERE_KEY]: stored })
        return api.position(spec.tenant, name)
      })
    },

    /** Where a subscription stands: its last acknowledged offset and how many commits it lags. */
    position(tenant: string, name: string): Promise<E.Either<SubscriptionError, SubscriptionPosition>> {
      return guarded(async () => {
        const ok = check(tenant, name)
        if (E.isLeft(ok)) return ok
        const ci = await info(tenant, name)
        if (ci === undefined) return E.left(notFound(name))
        const stream = ci.config.filter_subject?.split('.').slice(3).join('.')
        const where = storedWhere(ci.config.metadata)
        return E.right({
          name,
          tenant,
          ...(stream !== undefined && stream !== '>' ? { stream } : {}),
          ...(where !== undefined ? { where } : {}),
          acknowledged: ci.ack_floor.stream_seq,
          lag: ci.num_pending + ci.num_ack_pending,
        })
      })
    },

    /** Moves a subscription to an offset or a time; nothing changes on a bad target. */
    reset(tenant: string, name: string, to: StartAt): Promise<E.Either<SubscriptionError, SubscriptionPosition>> {
      return guarded(async () => {
        const ok = check(tenant, name)
        if (E.isLeft(ok)) return ok
        const ci = await info(tenant, name)
        if (ci === undefined) return E.left(notFound(name))
        const start = await startConfig(await jsmP, to)
        if (E.isLeft(start)) return start
        await (await jsmP).consumers.delete(STREAM, durable(tenant, name))
        await define(tenant, name, ci.config.filter_subject ?? filterOf(tenant), start.right, ci.config.metadata)
        return api.position(tenant, name)
      })
    },

    remove(tenant: string, name: string): Promise<E.Either<SubscriptionError, void>> {
      return guarded(async () => {
        const ok = check(tenant, name)
        if (E.isLeft(ok)) return ok
        if ((await info(tenant, name)) === undefined) return E.left(notFound(name))
        await (await jsmP).consumers.delete(STREAM, durable(tenant, name))
        return E.right(undefined)
      })
    },

    /**
     * Opens a subscription for reading: first re-anchors it right after its last acknowledged
     * commit (so commits a crashed reader had received but not acknowledged come again at once,
     * in order), then yields commits; call `ack()` on each when done with it.
     */
    open(tenant: string, name: string): Promise<E.Either<SubscriptionError, AsyncGenerator<Delivery>>> {
      return guarded(async () => {
        const ok = check(tenant, name)
        if (E.isLeft(ok)) return ok
        const ci = await info(tenant, name)
        if (ci === undefined) return E.left(notFound(name))
        const reanchored = ci.num_ack_pending > 0
        if (reanchored) {
          await (await jsmP).consumers.delete(STREAM, durable(tenant, name))
          await define(tenant, name, ci.config.filter_subject ?? filterOf(tenant), {
            deliver_policy: DeliverPolicy.StartSequence,
            opt_start_seq: ci.ack_floor.stream_seq + 1,
          }, ci.config.metadata)
        }
        // A re-created consumer starts its delivery sequence at 1; a kept one after what it delivered.
        const baseline = reanchored ? 0 : ci.delivered.consumer_seq
        const where = storedWhere(ci.config.metadata)
        const plan = where === undefined ? undefined : planScan(where)
        const consumer = await jetstream(nc).consumers.get(STREAM, durable(tenant, name))
        async function* deliveries(): AsyncGenerator<Delivery> {
          // Pulls capped by bytes (as the log consumers': each top-up fits the largest commit), so a backlog of big commits cannot overrun the connection.
          // Each pull expires after 5 s (nats.js: 30 s): a pull lost when the consumer's leader moves
          // (a node killed or cut off) is renewed within seconds, not after half a minute of silence.
          const messages = await consumer.consume({ max_bytes: 4 * ((nc.info?.max_payload ?? 1024 * 1024) + 64 * 1024), expires: SUBSCRIPTION_PULL_EXPIRES_MS })
          // Deliveries must come one after the other (the consumer's delivery sequence): a delivery
          // lost when the consumer's leader moved would otherwise be skipped, its successor handed
          // out first. On a gap the iterator fails before yielding anything past it; opening the
          // subscription again resumes right after the last acknowledged commit (nothing skipped).
          let delivered = baseline
          try {
            for await (const m of messages) {
              if (m.info.deliverySequence !== delivered + 1) {
                throw new DeliveryGap(name, delivered, m.info.deliverySequence)
              }
              delivered = m.info.deliverySequence
              // The header is parsed only when the filter has types to check (nats.js parses every header of the message).
              const types = plan?.types === undefined ? undefined : m.headers?.get('AllSource-Types')
              if (plan !== undefined && !admitsTypes(plan, types === undefined || types === '' ? undefined : types.split(','))) {
                m.ack() // nothing here for this subscription: skipped undecoded
                continue
              }
              const commit = decodeCommit(m.data, m.seq)
              const events = commit.events.map((e) => ({ ...e, offset: m.seq, tenant: commit.tenant, stream: commit.stream }))
              const wanted = plan === undefined ? events : events.filter(plan.matches)
              if (wanted.length === 0) {
                m.ack()
                continue
              }
              yield {
                offset: m.seq,
                events: wanted,
                ack: async () => {
                  await m.ackAck()
                },
              }
            }
          } finally {
            messages.stop()
          }
        }
        return E.right(deliveries())
      })
    },
  }
  return api
}

export type Subscriptions = ReturnType<typeof createSubscriptions>
