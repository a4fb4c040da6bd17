import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { type AppendLimits, defaultAppendLimits, validateAppendRequest, validateStream, validateTenant } from '../../../domain/streams/appendRequest.js'
import { validateReadRequest } from '../../../domain/reading/readRequest.js'
import { validateQueryRequest } from '../../../domain/reading/queryRequest.js'
import type { Query } from '../reading/query.js'
import type { AppendCaller, Appender } from '../../../application/streams/appender.js'
import type { EventLog } from '../../../application/streams/ports.js'
import { readStream } from '../../../application/reading/readStream.js'
import { type Endpoint, type EndpointBase, principalOfReply, startEndpoint } from './endpoint.js'
import type { AppendError } from '../../../application/streams/errors.js'
import { type EndpointStats, startMicroDiscovery } from './microDiscovery.js'
import { pageBudget } from './pageBudget.js'
import { defaultPrefix, subjects } from '../subjects.js'
import { ReplyWithHeaders } from './wireCodec.js'
import { type AppendObserver, type Logger, noTracing, type Tracing } from '../../../application/observability/ports.js'
import { appendOutcomeOf } from './appendOutcome.js'
import { type PartitionRouting, type PartitionRoutingOptions, startPartitionRouting } from './partitionRouting.js'

/** The append reply header naming the policy `warn` rule that let an append through (auth mode; the body is unchanged). */
export const POLICY_WARNING_HEADER = 'AllSource-Policy-Warning'

export interface StreamServiceOptions {
  readonly prefix: string
  /** Queue group: several processors share the subjects, each request goes to one. */
  readonly queue: string
  readonly limits: AppendLimits
  readonly version: string
  /** Auth mode: drop tenant requests whose reply is outside `_INBOX.<tenant>.` (see {@link EndpointBase}). */
  readonly tenantReplies: boolean
  /** Auth mode: admit the tenant before a read or query (appends are admitted by the appender). */
  readonly admit?: EndpointBase['admit']
  /** Told of every request an endpoint drops unanswered (see {@link EndpointBase}). */
  readonly onDropped?: EndpointBase['onDropped']
  /** Failures answered 5xx and (debug) slow requests, with their request ids. */
  readonly logger?: Logger
  /** Told of every append request once answered (metrics). */
  readonly observer?: AppendObserver
  /** Spans `allsource.append`, child of the request's `traceparent` header. */
  readonly tracing?: Tracing
  /**
   * Routes appends by partition (see {@link startPartitionRouting}): also listens on the routed
   * subjects of the partitions this instance owns. Without it, every routed subject is served in
   * the shared queue group, as the contract subject is (when the server has no mapping): every
   * instance serves every stream. Do not mix instances with and without routing on one server
   * (a routed append would reach one of each).
   */
  readonly routing?: Omit<PartitionRoutingOptions, 'prefix'>
}

export const defaultStreamServiceOptions: StreamServiceOptions = {
  prefix: defaultPrefix,
  queue: defaultPrefix,
  limits: defaultAppendLimits,
  version: '0.1.0',
  tenantReplies: false,
}

export interface StreamService {
  readonly id: string
  /** Counters of the append endpoint. */
  readonly stats: EndpointStats
  /** The partition routing, when `routing` was given. */
  readonly routing?: PartitionRouting
  /** Stops taking requests and waits until those already received are answered. */
  stop(): Promise<void>
}

/**
 * Serves the processor's request-reply API in a queue group, with NATS micro discovery:
 * `allsource.append.<tenant>.<stream>`, `allsource.read.<tenant>.<stream>` and `allsource.query.<tenant>`. Resolves once
 * the server has the subscriptions (a request sent after that reaches this service).
 */
export const startStreamService = async (
  nc: NatsConnection,
  appender: Appender,
  log: EventLog,
  query: Query,
  options: Partial<StreamServiceOptions> = {},
  /** More endpoints to serve and announce alongside (the projection API). */
  more: (base: EndpointBase) => readonly Endpoint[] = () => [],
): Promise<StreamService> => {
  const o = { ...defaultStreamServiceOptions, ...options }
  const dropped = o.onDropped !== undefined ? { onDropped: o.onDropped } : {}
  const logging = o.logger !== undefined ? { logger: o.logger } : {}
  const base = { prefix: o.prefix, tokens: 2, queue: o.queue, tenantReplies: o.tenantReplies, ...dropped, ...logging }
  const tracing = o.tracing ?? noTracing
  const observer = o.observer
  const admitted = async (tenant: string): Promise<E.Either<AppendError, unknown>> => (o.admit === undefined ? E.right(undefined) : o.admit(tenant))
  const append: Endpoint = startEndpoint(nc, { ...base, verb: 'append', routedTokens: subjects(o.prefix).routedAppendTokens }, async (tokens, body, _format, request) => {
    const started = performance.now()
    const span = tracing.start('allsource.append', request.traceparent, tracing.enabled ? { 'allsource.request_id': request.requestId, 'allsource.door': 'nats' } : undefined)
    const command = validateAppendRequest(tokens[0], tokens[1], body, o.limits)
    let r: E.Either<AppendError, unknown>
    let outcome = appendOutcomeOf(command)
    if (E.isLeft(command)) r = command
    else {
      // Auth mode: the reply inbox names the principal (NATS confines it), for per-key limits and the role.
      const principal = o.tenantReplies === true ? principalOfReply(command.right.tenant, request.reply) : undefined
      const context = span.traceparent !== undefined ? { requestId: request.requestId, traceparent: span.traceparent } : { requestId: request.requestId }
      // A policy `warn` that let the append through is told in a reply header; the body is the contract's.
      // One plain object per append (no spreads, no closure): the guard writes `policyWarning` into it.
      const caller: AppendCaller = { principal, context, policyWarning: undefined }
      const appended = await appender.append(command.right, caller)
      outcome = appendOutcomeOf(appended)
      const warning = caller.policyWarning
      r = E.isRight(appended) && warning !== undefined ? E.right(new ReplyWithHeaders(appended.right, { [POLICY_WARNING_HEADER]: warning })) : appended
    }
    span.end(outcome.outcome === 'ok' || outcome.outcome === 'duplicate' ? undefined : outcome.outcome)
    observer?.appendDone('service', outcome.outcome, (performance.now() - started) / 1_000, outcome.limit)
    return r
  })
  const read: Endpoint = startEndpoint(nc, { ...base, verb: 'read', emptyBody: 'allowed' }, async (tokens, body, format) => {
    const tenant = validateTenant(tokens[0])
    if (E.isLeft(tenant)) return tenant
    const admit = await admitted(tenant.right)
    if (E.isLeft(admit)) return admit
    const stream = validateStream(tokens[1])
    if (E.isLeft(stream)) return stream
    const req = validateReadRequest(body)
    if (E.isLeft(req)) return req
    return readStream(log, tenant.right, stream.right, req.right, pageBudget(nc, format))
  })
  const queryEndpoint: Endpoint = startEndpoint(nc, { ...base, tokens: 1, verb: 'query', emptyBody: 'allowed' }, async (tokens, body, format) => {
    const tenant = validateTenant(tokens[0])
    if (E.isLeft(tenant)) return tenant
    const admit = await admitted(tenant.right)
    if (E.isLeft(admit)) return admit
    const q = validateQueryRequest(body)
    if (E.isLeft(q)) return q
    return query(tenant.right, q.right, pageBudget(nc, format))
  })
  const endpoints = [append, read, queryEndpoint, ...more({ prefix: o.prefix, queue: o.queue, tenantReplies: o.tenantReplies, ...(o.admit !== undefined ? { admit: o.admit } : {}), ...dropped, ...logging })]
  const discovery = startMicroDiscovery(
    nc,
    { name: o.prefix, version: o.version, description: 'AllSource event store: append with optimistic concurrency, read streams' },
    () => endpoints.map((e) => e.micro),
  )
  await nc.flush()
  // Without routing, every partition the server's mapping makes is served here too, in the shared group.
  if (o.routing === undefined) await append.attach(subjects(o.prefix).routedAppend('*', '*', '*'), o.queue)
  const routing = o.routing === undefined ? undefined : await startPartitionRouting(nc, append, { prefix: o.prefix, ...o.routing })
  return {
    id: discovery.id,
    stats: append.stats,
    ...(routing !== undefined ? { routing } : {}),
    async stop() {
      // Hand the partitions over first, while the shared subjects are still served.
      await routing?.stop()
      discovery.stop()
      await Promise.all(endpoints.map((e) => e.stop()))
    },
  }
}
