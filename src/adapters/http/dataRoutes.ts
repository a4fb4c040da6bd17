import { requestContextOf } from './requestContext.js'
import type { FastifyInstance } from 'fastify'
import * as E from 'fp-ts/lib/Either.js'
import type { AppendError } from '../../application/streams/errors.js'
import { notFound } from '../../application/streams/errors.js'
import { badRequest } from '../../domain/streams/errors.js'
import type { GatewayAuth } from './gatewayAuth.js'
import type { GatewayData } from './ports.js'
import { answer, defineRoute, fail } from './route.js'
import {
  AppendBody,
  AppendReply,
  DlqQuery,
  DlqReply,
  ProjectionCommandBody,
  StreamListQuery,
  StreamListReply,
  ProjectionCommandReply,
  ProjectionEntryReply,
  ProjectionQuery,
  ProjectionStatusReply,
  ProjectionsReply,
  QueriedEvent,
  QueryQuery,
  QueryReply,
  ReadQuery,
  ReadReply,
  RedriveBody,
  RedriveReply,
  SubscriptionCreate,
  SubscriptionPositionReply,
  SubscriptionReset,
} from './schemas.js'

type ExpectedFromHeader = number | 'exists' | 'no_stream'

/**
 * The expected version an `If-Match` / `If-None-Match` header asks for: `If-Match: "<n>"` (an
 * ETag this gateway gave, weak or strong) is version n, `If-Match: *` is `exists`,
 * `If-None-Match: *` is `no_stream`. Absent headers give undefined; anything else `BAD_REQUEST`.
 */
export const expectedFromHeaders = (ifMatch: string | undefined, ifNoneMatch: string | undefined): E.Either<AppendError, ExpectedFromHeader | undefined> => {
  if (ifMatch !== undefined && ifNoneMatch !== undefined) return E.left(badRequest('send If-Match or If-None-Match, not both'))
  if (ifNoneMatch !== undefined) return ifNoneMatch.trim() === '*' ? E.right('no_stream') : E.left(badRequest('If-None-Match on an append must be *', { header: 'If-None-Match' }))
  if (ifMatch === undefined) return E.right(undefined)
  const v = ifMatch.trim()
  if (v === '*') return E.right('exists')
  const m = /^(?:W\/)?"([0-9]{1,15})"$/.exec(v)
  return m === null ? E.left(badRequest('If-Match must be a stream version as an ETag, e.g. "3", or *', { header: 'If-Match' })) : E.right(Number(m[1]))
}

/** Parses `where`: JSON text (starting with `{`) is decoded; anything else is passed on as the text form. */
export const whereOf = (where: string): E.Either<AppendError, unknown> => {
  if (!where.trimStart().startsWith('{')) return E.right(where)
  try {
    return E.right(JSON.parse(where))
  } catch {
    return E.left(badRequest('where is not valid JSON', { path: 'where' }))
  }
}

/**
 * The data routes (DESIGN.md "HTTP and WebSocket gateway"): append, read, query, event by id,
 * projections, durable subscriptions and dead letters. Each is one call of {@link GatewayData}.
 */
export const registerDataRoutes = (app: FastifyInstance, auth: GatewayAuth, data: GatewayData): void => {
  defineRoute(app, auth, {
    method: 'POST',
    url: '/v1/tenants/:tenant/streams/:stream',
    summary: 'Append events to a stream as one atomic commit',
    description: 'Body as the NATS append. `If-Match: "<version>"` sets expectedVersion (a stale one answers 412), `If-Match: *` is "exists", `If-None-Match: *` "no_stream"; a stale expectedVersion in the body answers 409. The reply carries `ETag: "<toVersion>"`.',
    tag: 'streams',
    access: { kind: 'tenant', operation: 'append' },
    body: AppendBody,
    reply: AppendReply,
    status: 201,
    run: async ({ params, body, caller, request, reply }) => {
      const header = expectedFromHeaders(request.headers['if-match'], request.headers['if-none-match'])
      if (E.isLeft(header)) return fail(header.left)
      const fromHeader = header.right
      if (fromHeader !== undefined && body.expectedVersion !== undefined && body.expectedVersion !== fromHeader) {
        return fail(badRequest('If-Match and the body expectedVersion disagree', { expectedVersion: body.expectedVersion, ifMatch: fromHeader }))
      }
      const command = data.validateAppend(params.tenant ?? '', params.stream ?? '', fromHeader === undefined ? body : { ...body, expectedVersion: fromHeader })
      if (E.isLeft(command)) return fail(command.left)
      const r = await data.append(command.right, caller, requestContextOf(request))
      if (E.isLeft(r)) return fail(r.left, r.left._tag === 'WrongExpectedVersion' && fromHeader !== undefined ? 412 : undefined)
      reply.header('etag', `"${r.right.toVersion}"`)
      return r
    },
  })

  defineRoute(app, auth, {
    method: 'GET',
    url: '/v1/tenants/:tenant/streams',
    summary: "The tenant's streams, by name prefix",
    description: '`prefix` (the start of a stream name), `after` (the previous page\'s `next`), `limit` (1–1000, default 100) → `{ streams: [{ stream, commits }], next? }` in name order. `commits` counts log messages (one per commit).',
    tag: 'streams',
    access: { kind: 'tenant', operation: 'read' },
    query: StreamListQuery,
    reply: StreamListReply,
    run: async ({ params, query }) => answer(await data.streams(params.tenant ?? '', query)),
  })

  defineRoute(app, auth, {
    method: 'GET',
    url: '/v1/tenants/:tenant/streams/:stream',
    summary: 'Read one stream in version order',
    description: 'An empty or unknown stream answers `{ events: [], version: 0 }`. `ETag: "<version>"` is the stream version, for a later `If-Match`.',
    tag: 'streams',
    access: { kind: 'tenant', operation: 'read' },
    query: ReadQuery,
    reply: ReadReply,
    run: async ({ params, query, reply }) => {
      const r = await data.read(params.tenant ?? '', params.stream ?? '', query)
      if (E.isRight(r)) reply.header('etag', `"${r.right.version}"`)
      return answer(r)
    },
  })

  defineRoute(app, auth, {
    method: 'GET',
    url: '/v1/tenants/:tenant/events',
    summary: 'Query the tenant log',
    description: 'The query fields of the NATS query; `where` is a JSON filter (or the text form). Pages hold whole commits; `nextOffset` continues.',
    tag: 'events',
    access: { kind: 'tenant', operation: 'query' },
    query: QueryQuery,
    reply: QueryReply,
    run: async ({ params, query }) => {
      const { where, ...rest } = query
      if (where === undefined) return answer(await data.query(params.tenant ?? '', rest))
      const w = whereOf(where)
      return E.isLeft(w) ? fail(w.left) : answer(await data.query(params.tenant ?? '', { ...rest, where: w.right }))
    },
  })

  defineRoute(app, auth, {
    method: 'GET',
    url: '/v1/tenants/:tenant/events/:id',
    summary: 'One event by its id',
    tag: 'events',
    access: { kind: 'tenant', operation: 'query' },
    reply: QueriedEvent,
    run: async ({ params }) => {
      const r = await data.query(params.tenant ?? '', { id: params.id, limit: 1 })
      if (E.isLeft(r)) return fail(r.left)
      const event = r.right.events[0]
      return event === undefined ? fail(notFound(`no event ${JSON.stringify((params.id ?? '').slice(0, 128))} in tenant ${params.tenant ?? ''}`)) : E.right(event)
    },
  })

  defineRoute(app, auth, {
    method: 'GET',
    url: '/v1/tenants/:tenant/projections',
    summary: 'Status of every projection',
    tag: 'projections',
    access: { kind: 'tenant', operation: 'read' },
    reply: ProjectionsReply,
    run: async () => {
      const r = await data.projections()
      return E.isLeft(r) ? fail(r.left) : E.right({ projections: r.right })
    },
  })

  defineRoute(app, auth, {
    method: 'GET',
    url: '/v1/tenants/:tenant/projections/:name',
    summary: "One projection's status (state, checkpoint, lag, events/s)",
    tag: 'projections',
    access: { kind: 'tenant', operation: 'read' },
    reply: ProjectionStatusReply,
    run: async ({ params }) => answer(await data.projectionStatus(params.name ?? '')),
  })

  defineRoute(app, auth, {
    method: 'GET',
    url: '/v1/tenants/:tenant/projections/:name/:key',
    summary: 'One key of a projection',
    description: 'With `minOffset` (the offset an append returned), first waits up to `timeoutMs` (default 5000) until the projection has folded it: read-your-writes; 503 if it has not.',
    tag: 'projections',
    access: { kind: 'tenant', operation: 'read' },
    query: ProjectionQuery,
    reply: ProjectionEntryReply,
    run: async ({ params, query }) => answer(await data.projection(params.tenant ?? '', params.name ?? '', params.key ?? '', query.minOffset, query.timeoutMs)),
  })

  defineRoute(app, auth, {
    method: 'POST',
    url: '/v1/admin/projections/:name/:command',
    summary: 'Pause, resume or rebuild a projection (operator)',
    description:
      '`command`: `pause`, `resume`, `rebuild` (body `{ fromOffset? }`, 0 = the whole log) or `status`. Projections are the platform\'s: only the operator may. The command is stored and carried out by the processor holding the projection\'s lease; the reply is the stored control, and the progress of a rebuild shows in the status (`rebuild.checkpoint`, `rebuild.lag`). Same call as `allsource.admin.projection.<name>.<command>`.',
    tag: 'projections',
    access: { kind: 'platform', operation: 'manageProjections' },
    body: ProjectionCommandBody,
    reply: ProjectionCommandReply,
    run: async ({ params, body }) => answer(await data.projectionCommand(params.name ?? '', params.command ?? '', body ?? {})),
  })

  defineRoute(app, auth, {
    method: 'POST',
    url: '/v1/tenants/:tenant/subscriptions',
    summary: 'Create a durable named subscription',
    description: '`from`: "start" (default), "end", an offset, or an ISO-8601 time.',
    tag: 'subscriptions',
    access: { kind: 'tenant', operation: 'manageSubscriptions' },
    body: SubscriptionCreate,
    reply: SubscriptionPositionReply,
    status: 201,
    run: async ({ params, body }) => answer(await data.subscriptionCreate(params.tenant ?? '', body.name, body.stream, body.from)),
  })
  defineRoute(app, auth, {
    method: 'GET',
    url: '/v1/tenants/:tenant/subscriptions/:name',
    summary: 'Position of a subscription (last acknowledged offset, lag)',
    tag: 'subscriptions',
    access: { kind: 'tenant', operation: 'read' },
    reply: SubscriptionPositionReply,
    run: async ({ params }) => answer(await data.subscriptionPosition(params.tenant ?? '', params.name ?? '')),
  })
  defineRoute(app, auth, {
    method: 'POST',
    url: '/v1/tenants/:tenant/subscriptions/:name/reset',
    summary: 'Move a subscription to an offset or a time',
    tag: 'subscriptions',
    access: { kind: 'tenant', operation: 'manageSubscriptions' },
    body: SubscriptionReset,
    reply: SubscriptionPositionReply,
    run: async ({ params, body }) => answer(await data.subscriptionReset(params.tenant ?? '', params.name ?? '', body.to)),
  })
  defineRoute(app, auth, {
    method: 'DELETE',
    url: '/v1/tenants/:tenant/subscriptions/:name',
    summary: 'Delete a subscription',
    tag: 'subscriptions',
    access: { kind: 'tenant', operation: 'manageSubscriptions' },
    status: 204,
    run: async ({ params }) => answer(await data.subscriptionDelete(params.tenant ?? '', params.name ?? '')),
  })

  defineRoute(app, auth, {
    method: 'GET',
    url: '/v1/tenants/:tenant/dlq',
    summary: "The tenant's dead letters (rejected ingest messages), oldest first",
    tag: 'dlq',
    access: { kind: 'tenant', operation: 'read' },
    query: DlqQuery,
    reply: DlqReply,
    run: async ({ params, query }) => {
      const r = await data.deadLetters(params.tenant ?? '', query.limit ?? 100)
      return E.isLeft(r) ? fail(r.left) : E.right({ deadLetters: r.right })
    },
  })
  defineRoute(app, auth, {
    method: 'POST',
    url: '/v1/tenants/:tenant/dlq/:id/redrive',
    summary: 'Re-drive one dead letter to the ingest subject it came from',
    description: '`contentType` replaces the message Content-Type (e.g. for a JSON body sent without one).',
    tag: 'dlq',
    access: { kind: 'tenant', operation: 'ingest' },
    body: RedriveBody,
    bodyRequired: false,
    reply: RedriveReply,
    run: async ({ params, body }) => {
      const id = Number(params.id)
      if (!/^[0-9]{1,15}$/.test(params.id ?? '') || !Number.isSafeInteger(id) || id < 1) return fail(badRequest('a dead letter id is a positive integer', { path: 'id' }))
      return answer(await data.redrive(params.tenant ?? '', id, body.contentType))
    },
  })
}
