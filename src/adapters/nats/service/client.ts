import { type NatsConnection, errors as natsErrors, nuid } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { validateStream, validateTenant } from '../../../domain/streams/appendRequest.js'
import type { AppendResult } from '../../../application/streams/appendResult.js'
import type { StreamPage } from '../../../application/reading/readStream.js'
import { decodeMsgpack, encodeMsgpack } from '../../codec/msgpack.js'
import { type ErrorCode, statusOf, toWireError, type WireError } from './errorCodes.js'
import type { ProjectionControl, ProjectionStatus } from '../../../domain/projections/operations.js'
import { isProjectionName } from '../../../domain/projections/projection.js'
import type { ProjectionEntry } from '../projections/projectionReader.js'
import type { QueryPage } from '../reading/query.js'
import type { AnalyticsReply } from '../../../domain/analytics/fold.js'
import { defaultPrefix, subjects } from '../subjects.js'
import { uuidv7 } from '../../system/uuidv7.js'
import { createInboxRequester } from './inboxRequester.js'

/** The service's defaults: the most events `read` and `query` return when no `limit` is given. */
const DEFAULT_LIMIT = 1_000

/** An event as a client sends it. */
export interface NewEvent {
  readonly type: string
  readonly payload: unknown
  readonly metadata?: Readonly<Record<string, unknown>>
  readonly id?: string
}

export interface AppendOptions {
  /** Default `"any"`. */
  readonly expectedVersion?: number | 'any' | 'no_stream' | 'exists'
  /** Idempotency key: a retry with the same id inside the duplicate window writes nothing. */
  readonly commitId?: string
  /** How long one request waits for its reply (default: the client's `timeoutMs`, 10 s). */
  readonly timeoutMs?: number
  /**
   * Retry the append while the answer is `UNAVAILABLE` (a timeout, no processor serving, a leader
   * election in JetStream, a full mailbox or in-flight cap), always with the same commitId (a UUIDv7
   * is generated when `commitId` is absent), so the commit is stored at most once and a retry of a
   * stored commit answers it with `duplicate: true`. `true` uses the defaults. Off by default.
   */
  readonly retry?: boolean | AppendRetry
}

/** How {@link AppendOptions.retry} retries. */
export interface AppendRetry {
  /**
   * Retries go on until this long after the first attempt (default 30000): the last starts at the
   * deadline and may take its `timeoutMs` beyond it. Its `UNAVAILABLE` is then the answer, with
   * `commitId` and `attempts` in its details.
   */
  readonly deadlineMs?: number
  /** First pause between attempts (default 100), doubled each time up to `maxDelayMs` (default 2000); a reply's `retryAfterMs` is waited at least. */
  readonly initialDelayMs?: number
  readonly maxDelayMs?: number
  /** Told of every `UNAVAILABLE` answer that is retried (for logs and metrics). */
  readonly onRetry?: (error: AllSourceError, attempt: number) => void
}

/** A failure reply from AllSource, thrown by {@link AllSourceClient.append}. */
export class AllSourceError extends Error {
  override readonly name = 'AllSourceError'
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details: Readonly<Record<string, unknown>> = {},
  ) {
    super(message)
  }
  get status(): number {
    return statusOf[this.code]
  }
}

export interface ReadOptions {
  /** First version to return; default 1. */
  readonly fromVersion?: number
  /** Most events in the page, 1..10000; default 1000. */
  readonly limit?: number
  readonly timeoutMs?: number
}

export interface ProjectionReadOptions {
  /** Read your writes: wait until the projection has folded this offset (the one an append returned). */
  readonly minOffset?: number
  /** How long the service may wait for `minOffset`; default 5000, at most 60000. */
  readonly waitMs?: number
  readonly timeoutMs?: number
}

export interface AllSourceClient {
  /** Appends events as one atomic commit; rejects with {@link AllSourceError}. */
  append(tenant: string, stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<AppendResult>
  /** As `append`, with the failure as a value. */
  tryAppend(tenant: string, stream: string, events: readonly NewEvent[], options?: AppendOptions): Promise<E.Either<AllSourceError, AppendResult>>
  /**
   * Up to `limit` events of a stream in version order (default 1000), following the service's
   * pages (which are also bounded by the server's max payload) until `limit` is reached or the
   * stream ends; `nextVersion` is where to go on. Rejects with {@link AllSourceError}.
   */
  read(tenant: string, stream: string, options?: ReadOptions): Promise<StreamPage>
  /** As `read`, with the failure as a value. */
  tryRead(tenant: string, stream: string, options?: ReadOptions): Promise<E.Either<AllSourceError, StreamPage>>
  /**
   * Queries a tenant's log (`{ id?, stream?, type?, since?, until?, fromOffset?, limit?, where? }`),
   * following the service's pages (including empty ones that end on the scan budget) until `limit`
   * matching events (default 1000) or the end; `nextOffset` is where to go on. Rejects with
   * {@link AllSourceError}.
   */
  query(tenant: string, request?: Readonly<Record<string, unknown>>, options?: { readonly timeoutMs?: number }): Promise<QueryPage>
  /** As `query`, with the failure as a value. */
  tryQuery(tenant: string, request?: Readonly<Record<string, unknown>>, options?: { readonly timeoutMs?: number }): Promise<E.Either<AllSourceError, QueryPage>>
  /**
   * An analytics request on `allsource.analytics.<tenant>.<kind>` (docs/analytics.md): `kind` is
   * `frequency|summary|funnel|retention|correlation|anomalies`, `request` `{ since?, until?, where?, … }`.
   * A scan over up to a million events takes seconds: the default timeout is 60 s (or the client's,
   * if longer). Rejects with {@link AllSourceError}.
   */
  analytics(tenant: string, kind: string, request?: Readonly<Record<string, unknown>>, options?: { readonly timeoutMs?: number }): Promise<AnalyticsReply>
  /** As `analytics`, with the failure as a value. */
  tryAnalytics(tenant: string, kind: string, request?: Readonly<Record<string, unknown>>, options?: { readonly timeoutMs?: number }): Promise<E.Either<AllSourceError, AnalyticsReply>>
  /** One key of a projection's read model; `NOT_FOUND` if absent, `UNAVAILABLE` if `minOffset` was not reached in time. */
  projection(tenant: string, name: string, key: string, options?: ProjectionReadOptions): Promise<ProjectionEntry>
  /** As `projection`, with the failure as a value. */
  tryProjection(tenant: string, name: string, key: string, options?: ProjectionReadOptions): Promise<E.Either<AllSourceError, ProjectionEntry>>
  /** A page of a tenant's keys in lexical order; pass `next` as `after` for the next page. */
  projectionKeys(tenant: string, name: string, page?: { readonly after?: string; readonly limit?: number }): Promise<{ readonly keys: readonly string[]; readonly next?: string }>
  /** Every projection's status, or one's. */
  projectionStatus(): Promise<readonly ProjectionStatus[]>
  projectionStatus(name: string): Promise<ProjectionStatus>
  /** Operations, carried out by whichever processor holds the projection's lease; resolve with the stored control record. */
  pauseProjection(name: string): Promise<{ readonly name: string; readonly control: ProjectionControl }>
  resumeProjection(name: string): Promise<{ readonly name: string; readonly control: ProjectionControl }>
  rebuildProjection(name: string, options?: { readonly fromOffset?: number }): Promise<{ readonly name: string; readonly control: ProjectionControl }>
}

/** The default timeout of an analytics request: a scan of up to a million events takes seconds. */
const ANALYTICS_TIMEOUT_MS = 60_000

/** A request larger than the server's `max_payload`: refused here, as the server would refuse it. */
const tooLarge = (size: number, max: number): AllSourceError =>
  new AllSourceError('TOO_LARGE', `request is ${size} bytes; the NATS server's max_payload is ${max} bytes`, { size, max, unit: 'bytes' })

const fromWire = (w: WireError): AllSourceError => {
  const { code, message, ...details } = w
  return new AllSourceError(code, message, details)
}

/**
 * A client of the append service over NATS (msgpack). Ids are checked before a subject is built,
 * so a bad id can never address another stream.
 */
export const createAllSourceClient = (
  nc: NatsConnection,
  options: {
    readonly prefix?: string
    readonly timeoutMs?: number
    /**
     * The operator's connection in auth mode: a request on a tenant's subject gets its reply under
     * `_INBOX.<tenant>._op.` (the processor answers only replies under the tenant's inbox), not
     * under the connection's inbox. A tenant's own connection sets `inboxPrefix` instead.
     */
    readonly tenantReplies?: boolean
  } = {},
): AllSourceClient => {
  const subj = subjects(options.prefix ?? defaultPrefix)
  const timeout = options.timeoutMs ?? 10_000
  const tenantScoped = ['append', 'read', 'query', 'projection', 'analytics'].map((v) => `${subj.prefix}.${v}.`)
  /** `{ reply, noMux }` for a tenant-scoped subject when `tenantReplies` is on; nothing otherwise. */
  const replyFor = (subject: string): { readonly reply: string; readonly noMux: true } | Record<string, never> => {
    if (options.tenantReplies !== true) return {}
    const scope = tenantScoped.find((p) => subject.startsWith(p))
    if (scope === undefined) return {}
    const rest = subject.slice(scope.length)
    const end = rest.indexOf('.')
    return { reply: `_INBOX.${end === -1 ? rest : rest.slice(0, end)}._op.${nuid.next()}`, noMux: true }
  }

  // One inbox subscription for every request (cheaper than nc.request: docs/performance.md); a
  // publish NATS refuses fails its request with the permissions violation, as nc.request would.
  const requester = createInboxRequester(nc)

  /** One msgpack request; a failure reply or a transport failure becomes an {@link AllSourceError}. */
  const request = async <T>(subject: string, what: string, body: unknown, timeoutMs: number, commitId?: string): Promise<E.Either<AllSourceError, T>> => {
    const data = body === undefined ? new Uint8Array() : encodeMsgpack(body)
    const max = nc.info?.max_payload
    if (max !== undefined && data.length > max) return E.left(tooLarge(data.length, max))
    try {
      const own = replyFor(subject)
      // A reply subject of the operator's in the tenant's inbox goes through nats.js; the rest share one inbox subscription.
      const reply = 'reply' in own ? await nc.request(subject, data, { timeout: timeoutMs, ...own }) : await requester.request(subject, data, timeoutMs)
      const decoded = decodeMsgpack(reply.data) as { error?: WireError }
      return decoded.error !== undefined ? E.left(fromWire(decoded.error)) : E.right(decoded as T)
    } catch (e) {
      if (e instanceof natsErrors.NoRespondersError || (e instanceof natsErrors.RequestError && e.isNoResponders())) {
        return E.left(new AllSourceError('UNAVAILABLE', `no AllSource processor is serving ${what}`))
      }
      if (e instanceof natsErrors.TimeoutError || (e instanceof Error && e.cause instanceof natsErrors.TimeoutError)) {
        return E.left(
          what === 'append'
            ? new AllSourceError('UNAVAILABLE', 'append timed out; the commit may have been stored: retry with the same commitId', { commitId })
            : new AllSourceError('UNAVAILABLE', `${what} timed out`),
        )
      }
      // nats.js checks the size again, with the headers counted.
      if (e instanceof natsErrors.InvalidArgumentError && /max_payload/.test(e.message)) return E.left(tooLarge(data.length, max ?? data.length))
      if (e instanceof natsErrors.InvalidSubjectError) return E.left(new AllSourceError('INVALID_ID', `${what}: ${e.message}`, { field: 'subject' }))
      throw e
    }
  }

  /** One request to `<prefix>.<verb>.<tenant>.<stream>`, ids checked first. */
  const call = <T>(verb: 'append' | 'read', tenant: string, stream: string, body: Record<string, unknown>, timeoutMs: number, commitId?: string): Promise<E.Either<AllSourceError, T>> => {
    const t = validateTenant(tenant)
    if (E.isLeft(t)) return Promise.resolve(E.left(fromWire(toWireError(t.left))))
    const s = validateStream(stream)
    if (E.isLeft(s)) return Promise.resolve(E.left(fromWire(toWireError(s.left))))
    return request<T>(subj[verb](t.right, s.right), verb, body, timeoutMs, commitId)
  }

  const badName = (name: string) => new AllSourceError('INVALID_ID', `projection name "${name}" is not 1–64 of A–Z a–z 0–9 _ -`, { field: 'projection' })

  /** A request on a projection: the tenant and the name checked before the subject is built. */
  const onProjection = <T>(tenant: string, name: string, body: unknown, timeoutMs: number): Promise<E.Either<AllSourceError, T>> => {
    const t = validateTenant(tenant)
    if (E.isLeft(t)) return Promise.resolve(E.left(fromWire(toWireError(t.left))))
    if (!isProjectionName(name)) return Promise.resolve(E.left(badName(name)))
    return request<T>(subj.projection(t.right, name), 'projection', body, timeoutMs)
  }

  const admin = <T>(name: string, command: string, body?: unknown): Promise<T> =>
    isProjectionName(name) ? orThrow(request<T>(subj.adminProjection(name, command), `projection ${command}`, body, timeout)) : Promise.reject(badName(name))

  const appendOnce = (tenant: string, stream: string, events: readonly NewEvent[], opts: AppendOptions): Promise<E.Either<AllSourceError, AppendResult>> => {
    const body: Record<string, unknown> = { events }
    if (opts.expectedVersion !== undefined) body.expectedVersion = opts.expectedVersion
    if (opts.commitId !== undefined) body.commitId = opts.commitId
    return call<AppendResult>('append', tenant, stream, body, opts.timeoutMs ?? timeout, opts.commitId)
  }

  const tryAppend: AllSourceClient['tryAppend'] = async (tenant, stream, events, opts = {}) => {
    if (opts.retry === undefined || opts.retry === false) return appendOnce(tenant, stream, events, opts)
    const r = opts.retry === true ? {} : opts.retry
    const deadline = Date.now() + (r.deadlineMs ?? 30_000)
    const once = { ...opts, commitId: opts.commitId ?? uuidv7() }
    for (let attempt = 1; ; attempt++) {
      const result = await appendOnce(tenant, stream, events, once)
      if (E.isRight(result) || result.left.code !== 'UNAVAILABLE') return result
      if (Date.now() >= deadline) {
        return E.left(new AllSourceError('UNAVAILABLE', result.left.message, { ...result.left.details, commitId: once.commitId, attempts: attempt }))
      }
      const hinted = result.left.details.retryAfterMs
      const backoff = Math.max(typeof hinted === 'number' ? hinted : 0, Math.min(r.maxDelayMs ?? 2_000, (r.initialDelayMs ?? 100) * 2 ** (attempt - 1)))
      const pause = Math.min(backoff, Math.max(0, deadline - Date.now()))
      r.onRetry?.(result.left, attempt)
      await new Promise((resolve) => setTimeout(resolve, pause))
    }
  }

  /** Follows pages (bounded by count and by the server's max payload) until `limit` events or the end. */
  const tryRead: AllSourceClient['tryRead'] = async (tenant, stream, opts = {}) => {
    const limit = opts.limit ?? DEFAULT_LIMIT
    const events: StreamPage['events'][number][] = []
    let from = opts.fromVersion
    for (;;) {
      const body: Record<string, unknown> = { limit: limit - events.length }
      if (from !== undefined) body.fromVersion = from
      const r = await call<StreamPage>('read', tenant, stream, body, opts.timeoutMs ?? timeout)
      if (E.isLeft(r)) return r
      events.push(...r.right.events)
      const next = r.right.nextVersion
      // A page that brought nothing cannot advance: stop rather than loop.
      // An empty page with nextOffset is the scan budget spent: go on (nextOffset always moves forward).
      if (next === undefined || events.length >= limit || (from !== undefined && next <= from)) {
        return E.right(next === undefined ? { events, version: r.right.version } : { events, version: r.right.version, nextVersion: next })
      }
      from = next
    }
  }

  const tryQuery: AllSourceClient['tryQuery'] = async (tenant, q = {}, opts = {}) => {
    const t = validateTenant(tenant)
    if (E.isLeft(t)) return E.left(fromWire(toWireError(t.left)))
    const limit = typeof q.limit === 'number' ? q.limit : DEFAULT_LIMIT
    const events: QueryPage['events'][number][] = []
    let from = q.fromOffset
    for (;;) {
      const body = { ...q, limit: Math.max(1, limit - events.length), ...(from !== undefined ? { fromOffset: from } : {}) }
      const r = await request<QueryPage>(subj.query(t.right), 'query', body, opts.timeoutMs ?? timeout)
      if (E.isLeft(r)) return r
      events.push(...r.right.events)
      const next = r.right.nextOffset
      // An empty page with nextOffset is the scan budget spent: go on (nextOffset always moves forward).
      if (next === undefined || events.length >= limit || (typeof from === 'number' && next <= from)) {
        return E.right(next === undefined ? { events } : { events, nextOffset: next })
      }
      from = next
    }
  }

  const tryAnalytics: AllSourceClient['tryAnalytics'] = async (tenant, kind, body = {}, opts = {}) => {
    const t = validateTenant(tenant)
    if (E.isLeft(t)) return E.left(fromWire(toWireError(t.left)))
    // A subject token, so a kind can never widen the subject; the service says which kinds exist.
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(kind)) return E.left(new AllSourceError('INVALID_ID', 'an analytics kind is 1–64 of A–Z a–z 0–9 _ -', { field: 'kind' }))
    return request<AnalyticsReply>(subj.analytics(t.right, kind), 'analytics', body, opts.timeoutMs ?? Math.max(timeout, ANALYTICS_TIMEOUT_MS))
  }

  const orThrow = async <T>(r: Promise<E.Either<AllSourceError, T>>): Promise<T> => {
    const x = await r
    if (E.isLeft(x)) throw x.left
    return x.right
  }

  const tryProjection: AllSourceClient['tryProjection'] = (tenant, name, key, opts = {}) =>
    onProjection(tenant, name, { key, ...(opts.minOffset !== undefined ? { minOffset: opts.minOffset } : {}), ...(opts.waitMs !== undefined ? { timeoutMs: opts.waitMs } : {}) }, opts.timeoutMs ?? timeout + (opts.waitMs ?? 5_000))

  const projectionStatus = ((name?: string) =>
    name === undefined
      ? orThrow(request<{ projections: ProjectionStatus[] }>(subj.adminProjections, 'projection status', undefined, timeout)).then((r) => r.projections)
      : admin<ProjectionStatus>(name, 'status')) as AllSourceClient['projectionStatus']

  return {
    tryAppend,
    tryRead,
    tryProjection,
    projection: (tenant, name, key, opts) => orThrow(tryProjection(tenant, name, key, opts)),
    projectionKeys: (tenant, name, page = {}) => orThrow(onProjection(tenant, name, { keys: true, ...page }, timeout)),
    projectionStatus,
    pauseProjection: (name) => admin(name, 'pause'),
    resumeProjection: (name) => admin(name, 'resume'),
    rebuildProjection: (name, opts = {}) => admin(name, 'rebuild', { fromOffset: opts.fromOffset ?? 0 }),
    append: (tenant, stream, events, opts) => orThrow(tryAppend(tenant, stream, events, opts)),
    read: (tenant, stream, opts) => orThrow(tryRead(tenant, stream, opts)),
    tryQuery,
    query: (tenant, req, opts) => orThrow(tryQuery(tenant, req, opts)),
    tryAnalytics,
    analytics: (tenant, kind, req, opts) => orThrow(tryAnalytics(tenant, kind, req, opts)),
  }
}
