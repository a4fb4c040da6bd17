import { type AppendObserver, noTracing, type RequestContext, type Tracing } from '../../application/observability/ports.js'
import { appendOutcomeOf } from '../../adapters/nats/service/appendOutcome.js'
import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import type { HttpCaller } from '../../adapters/http/gatewayAuth.js'
import type { Answer, GatewayData } from '../../adapters/http/ports.js'
import { defaultIngestNames } from '../../adapters/nats/ingest/ingestStreams.js'
import { listDeadLetters, redriveDeadLetter } from '../../adapters/nats/ingest/deadLetters.js'
import type { PipelineCommands } from '../../adapters/nats/pipelines/pipelineCommands.js'
import { createProjectionCommands } from '../../adapters/nats/projections/projectionCommands.js'
import type { ProjectionReader } from '../../adapters/nats/projections/projectionReader.js'
import type { StartAt } from '../../adapters/nats/reading/subscriptions.js'
import { listStreams } from '../../adapters/nats/reading/streamList.js'
import { isUnavailable, unavailableOf } from '../../adapters/nats/service/failureOf.js'
import { subjects } from '../../adapters/nats/subjects.js'
import type { AppendCaller } from '../../application/streams/appender.js'
import { internal, notFound, unavailable } from '../../application/streams/errors.js'
import { isProjectionName } from '../../domain/projections/projection.js'
import { validateProjectionRequest } from '../../domain/projections/projectionRequest.js'
import { type AppendLimits, validateAppendRequest, validateTenant } from '../../domain/streams/appendRequest.js'
import { badRequest, invalidId } from '../../domain/streams/errors.js'
import type { AllSource, AllSourceOptions } from '../allSource.js'

/** The reply principal the operator uses on NATS (`_INBOX.<tenant>._op`): the append guard knows it as the operator. */
const OPERATOR_PRINCIPAL = '_op'

/** Runs `f`; a throw (NATS down, a defect) becomes UNAVAILABLE or INTERNAL, never a rejection. */
const guarded = async <A>(f: () => Promise<E.Either<never, A> | E.Either<unknown, A>>): Answer<A> => {
  try {
    return (await f()) as E.Either<never, A>
  } catch (e) {
    return E.left(isUnavailable(e) ? unavailableOf(e) : internal('internal error'))
  }
}

/** JetStream's "stream not found" (10059). */
const isStreamNotFound = (e: unknown): boolean => (e as { code?: unknown; api_error?: { err_code?: unknown } } | null)?.api_error?.err_code === 10059 || /stream not found/i.test(e instanceof Error ? e.message : '')

const startOf = (from: string | number | undefined): StartAt =>
  from === undefined || from === 'start' ? 'start' : from === 'end' ? 'end' : typeof from === 'number' ? { offset: from } : { time: new Date(from) }

const callerOf = (caller: HttpCaller, context: RequestContext | undefined): AppendCaller | undefined =>
  caller === undefined
    ? context === undefined
      ? undefined
      : { context }
    : { principal: caller.identity.role === 'operator' ? OPERATOR_PRINCIPAL : caller.principal, ...(context !== undefined ? { context } : {}) }

/**
 * Runs work at the next check phase, together with everything else queued before it. HTTP
 * requests arrive one socket event (one macrotask) at a time, and nats.js flushes its outbound
 * buffer at the end of each (a microtask), so appends started straight from their handlers cost
 * one socket write each, for the processor and for nats-server. Started together here, the
 * publishes of all requests read in one poll phase leave in one write, as NATS requests
 * delivered in one read do. Adds one turn of the event loop (microseconds) to an append.
 */
export const coalesce = (): (<A>(work: () => Promise<A>) => Promise<A>) => {
  let queued: (() => void)[] = []
  const run = () => {
    const now = queued
    queued = []
    for (const w of now) w()
  }
  return (work) =>
    new Promise((resolve, reject) => {
      if (queued.push(() => work().then(resolve, reject)) === 1) setImmediate(run)
    })
}

/** The characters of a stream name (DESIGN.md ids), for a prefix of one. */
const STREAM_NAME_PART = /^[A-Za-z0-9_=-]{1,200}$/

export interface GatewayDataDeps {
  readonly nc: NatsConnection
  readonly app: AllSource
  readonly reader: ProjectionReader
  /** The pipeline admin commands (the NATS endpoint's, `createPipelineCommands`). */
  readonly pipelines: PipelineCommands
  readonly prefix: string
  readonly limits: AppendLimits
  /** Auth mode's request path (`AuthPlane.serviceAuth`): appends through `guardAppend`. */
  readonly auth?: AllSourceOptions['auth']
  /** Spans `allsource.append` (door `http`) for each append, parent of the actor's and the publish's (docs/observability.md). Default off. */
  readonly tracing?: Tracing
  /** Told of each append's outcome and time (source `http`), as NATS appends tell theirs. */
  readonly observer?: AppendObserver
}

/**
 * The gateway's data port over the processor: the same calls the NATS endpoints make. Appends go
 * to the stream supervisor through auth mode's `guardAppend` (policies, quotas, rate limits, with
 * the caller's principal: per-key buckets and the role), as NATS appends do.
 */
export const createGatewayData = (d: GatewayDataDeps): GatewayData => {
  const jsm = jetstreamManager(d.nc)
  const together = coalesce()
  const commands = createProjectionCommands(d.nc, d.reader)
  const tracing = d.tracing ?? noTracing
  return {
    validateAppend: (tenant, stream, body) => validateAppendRequest(tenant, stream, body, d.limits),
    append: async (command, caller, given) => {
      const started = performance.now()
      const span = tracing.start('allsource.append', given?.traceparent, tracing.enabled ? { 'allsource.request_id': given?.requestId ?? '', 'allsource.door': 'http' } : undefined)
      // The actor's and the publish's spans are children of this one (of the client's, tracing off).
      const context = given === undefined ? undefined : span.traceparent !== undefined ? { ...given, traceparent: span.traceparent } : given
      const r = await together(() =>
        guarded(async () => {
          const append = () => d.app.supervisor.append(command, context)
          const auth = d.auth
          if (auth === undefined) return append()
          if (auth.guardAppend !== undefined) return auth.guardAppend(command, callerOf(caller, context), append)
          const admitted = await auth.admit(command.tenant)
          return E.isLeft(admitted) ? admitted : append()
        }),
      )
      const outcome = appendOutcomeOf(r)
      span.end(outcome.outcome === 'ok' || outcome.outcome === 'duplicate' ? undefined : outcome.outcome)
      d.observer?.appendDone('http', outcome.outcome, (performance.now() - started) / 1_000, outcome.limit)
      return r
    },
    streams: (tenant, request) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t)) return t
        const limit = request.limit ?? 100
        if (!Number.isInteger(limit) || limit < 1 || limit > 1000) return E.left(badRequest('limit must be an integer from 1 to 1000', { limit }))
        // A prefix or an `after` is a stream name or the start of one: anything else could widen the subject filter.
        for (const [field, v] of [['prefix', request.prefix], ['after', request.after]] as const) {
          if (v !== undefined && v !== '' && !STREAM_NAME_PART.test(v)) return E.left(invalidId(field, 'a stream name (or its start) is 1–200 of A–Z a–z 0–9 _ = -'))
        }
        const page = await listStreams(await jsm, d.prefix, t.right, { namePrefix: request.prefix ?? '', limit, ...(request.after !== undefined && request.after !== '' ? { after: request.after } : {}) }).catch((e: unknown) => {
          if (isStreamNotFound(e)) return { streams: [] }
          throw e
        })
        return E.right(page)
      }),
    read: (tenant, stream, request) => guarded(() => d.app.read(tenant, stream, request)),
    query: (tenant, request) => guarded(() => d.app.query(tenant, request)),
    analytics: (tenant, kind, body) => guarded(() => d.app.analyticsAnswer(tenant, kind, body)),
    projections: () => guarded(async () => E.right(await d.reader.catalog.statuses())),
    projectionStatus: (name) =>
      guarded(async () => {
        if (!isProjectionName(name)) return E.left(invalidId('projection', 'a projection name is 1–64 of A–Z a–z 0–9 _ -'))
        const status = (await d.reader.pointer(name)) === undefined ? undefined : await d.reader.catalog.status(name)
        return status === undefined ? E.left(notFound(`no projection "${name}"`)) : E.right(status)
      }),
    projection: (tenant, name, key, minOffset, timeoutMs) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t)) return t
        if (!isProjectionName(name)) return E.left(invalidId('projection', 'a projection name is 1–64 of A–Z a–z 0–9 _ -'))
        const req = validateProjectionRequest({ key, ...(minOffset !== undefined ? { minOffset } : {}), ...(timeoutMs !== undefined ? { timeoutMs } : {}) })
        if (E.isLeft(req)) return req
        if (req.right._tag !== 'Get') return E.left(invalidId('key', 'a projection key is 1–255 of A–Z a–z 0–9 _ - = .'))
        if ((await d.reader.pointer(name)) === undefined) return E.left(notFound(`no projection "${name}"`))
        const r = req.right
        if (r.minOffset !== undefined) {
          const waited = await d.reader.waitFor(name, r.minOffset, r.timeoutMs)
          if (!waited.reached) return E.left(unavailable(`projection "${name}" has not reached offset ${r.minOffset} within ${r.timeoutMs} ms`, { minOffset: r.minOffset, checkpoint: waited.checkpoint }))
        }
        const entry = await d.reader.get(name, t.right, r.key)
        return entry === undefined ? E.left(notFound(`no key "${r.key}" in projection "${name}" for tenant "${t.right}"`)) : E.right(entry)
      }),
    projectionCommand: (name, command, body) => guarded(() => commands.run(name, command, body)),
    pipeline: (tenant, command, body) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        return E.isLeft(t) ? t : d.pipelines.run(t.right, command, body)
      }),
    subscriptionCreate: (tenant, name, stream, from) => guarded(() => d.app.subscriptions.create(name, { tenant, from: startOf(from), ...(stream !== undefined ? { stream } : {}) })),
    subscriptionPosition: (tenant, name) => guarded(() => d.app.subscriptions.position(tenant, name)),
    subscriptionReset: (tenant, name, to) => guarded(() => d.app.subscriptions.reset(tenant, name, startOf(to))),
    subscriptionDelete: (tenant, name) => guarded(() => d.app.subscriptions.remove(tenant, name)),
    deadLetters: (tenant, limit) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t)) return t
        // No ALLSOURCE_DLQ yet (ingest never started anywhere): no dead letters.
        const letters = await listDeadLetters(d.nc, { tenant: t.right, limit: Math.max(1, Math.min(limit, 1000)), prefix: d.prefix }).catch((e: unknown) => {
          if (isStreamNotFound(e)) return []
          throw e
        })
        return E.right(letters.map(({ data, ...rest }) => ({ ...rest, data: Buffer.from(data).toString('base64') })))
      }),
    redrive: (tenant, id, contentType) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t)) return t
        // Only the tenant's own dead letters: another tenant's id answers as an unknown one.
        const m = await (await jsm).streams.getMessage(defaultIngestNames.dlq, { seq: id }).catch(() => null)
        if (m === null || !m.subject.startsWith(`${subjects(d.prefix).dlqOf(t.right).slice(0, -1)}`)) return E.left(notFound(`no dead letter ${id}`))
        return redriveDeadLetter(d.nc, id, { prefix: d.prefix, ...(contentType !== undefined ? { contentType } : {}) })
      }),
  }
}
