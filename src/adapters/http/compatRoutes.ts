import { requestContextOf } from './requestContext.js'
import type { FastifyInstance } from 'fastify'
import * as E from 'fp-ts/lib/Either.js'
import { notFound } from '../../application/streams/errors.js'
import { entityState } from '../../domain/projections/builtins.js'
import type { GatewayAuth } from './gatewayAuth.js'
import type { GatewayData } from './ports.js'
import { answer, defineRoute, fail } from './route.js'
import { CompatEventBody, CompatEventReply, CompatQuery, CompatQueryReply, CompatStateQuery, CompatStateReply } from './schemas.js'

/** The tenant of a compatibility request that names none (the original core API had one tenant). */
export const COMPAT_DEFAULT_TENANT = 'default'

interface ReadEvent {
  readonly id: string
  readonly type: string
  readonly version: number
  readonly timestamp: Date
  readonly payload: unknown
  readonly metadata?: unknown
}

/**
 * The original AllSource core API (its paths, snake_case fields and reply shapes), so its clients
 * move over unchanged (DESIGN.md, "Compatibility"): `POST /api/v1/events`, `GET
 * /api/v1/events/query`, `GET /api/v1/entities/{id}/state?as_of`. `entity_id` is the stream;
 * `tenant_id` comes from the body or the query string, `default` when neither names one. Same
 * auth, errors (problem details) and application calls as the `/v1` routes.
 */
export const registerCompatRoutes = (app: FastifyInstance, auth: GatewayAuth, data: GatewayData): void => {
  defineRoute(app, auth, {
    method: 'POST',
    url: '/api/v1/events',
    summary: 'Append one event (original core API)',
    tag: 'compatibility',
    access: { kind: 'tenant', operation: 'append' },
    tenantOf: ({ body, query }) => body.tenant_id ?? query.tenant_id ?? COMPAT_DEFAULT_TENANT,
    body: CompatEventBody,
    query: CompatStateQuery,
    reply: CompatEventReply,
    run: async ({ body, query, caller, request }) => {
      const tenant = body.tenant_id ?? query.tenant_id ?? COMPAT_DEFAULT_TENANT
      const event = { type: body.event_type, payload: body.payload, ...(body.metadata !== undefined ? { metadata: body.metadata } : {}) }
      const command = data.validateAppend(tenant, body.entity_id, { events: [event] })
      if (E.isLeft(command)) return fail(command.left)
      const r = await data.append(command.right, caller, requestContextOf(request))
      if (E.isLeft(r)) return fail(r.left)
      // The reply names the stored timestamp, which the append result does not carry: one read.
      const page = await data.read(tenant, body.entity_id, { fromVersion: r.right.toVersion, limit: 1 })
      const stored = E.isRight(page) ? (page.right.events[0] as ReadEvent | undefined) : undefined
      return E.right({ event_id: r.right.eventIds[0] ?? '', timestamp: (stored?.timestamp ?? new Date()).toISOString() })
    },
  })

  defineRoute(app, auth, {
    method: 'GET',
    url: '/api/v1/events/query',
    summary: 'Query events (original core API)',
    tag: 'compatibility',
    access: { kind: 'tenant', operation: 'query' },
    tenantOf: ({ query }) => query.tenant_id ?? COMPAT_DEFAULT_TENANT,
    query: CompatQuery,
    reply: CompatQueryReply,
    run: async ({ query }) => {
      const tenant = query.tenant_id ?? COMPAT_DEFAULT_TENANT
      const r = await data.query(tenant, {
        ...(query.entity_id !== undefined ? { stream: query.entity_id } : {}),
        ...(query.event_type !== undefined ? { type: query.event_type } : {}),
        ...(query.since !== undefined ? { since: query.since } : {}),
        ...(query.until !== undefined ? { until: query.until } : {}),
        ...(query.limit !== undefined ? { limit: query.limit } : {}),
      })
      if (E.isLeft(r)) return fail(r.left)
      const events = (r.right.events as (ReadEvent & { readonly stream: string; readonly tenant: string })[]).map((e) => ({
        id: e.id,
        event_type: e.type,
        entity_id: e.stream,
        payload: e.payload,
        timestamp: e.timestamp,
        version: e.version,
        tenant_id: e.tenant,
        ...(e.metadata !== undefined ? { metadata: e.metadata } : {}),
      }))
      return E.right({ events, count: events.length })
    },
  })

  defineRoute(app, auth, {
    method: 'GET',
    url: '/api/v1/entities/:id/state',
    summary: "An entity's state: its payloads merged in version order (original core API)",
    description: '`as_of` (ISO-8601) folds only events stored at or before it. An entity without events is 404.',
    tag: 'compatibility',
    access: { kind: 'tenant', operation: 'read' },
    tenantOf: ({ query }) => query.tenant_id ?? COMPAT_DEFAULT_TENANT,
    query: CompatStateQuery,
    reply: CompatStateReply,
    run: async ({ params, query }) => {
      const tenant = query.tenant_id ?? COMPAT_DEFAULT_TENANT
      const asOf = query.as_of === undefined ? undefined : new Date(query.as_of)
      if (asOf !== undefined && Number.isNaN(asOf.getTime())) return fail({ _tag: 'BadRequest', message: 'as_of must be an ISO-8601 time', details: { path: 'as_of' } })
      let state = entityState.initialState
      let version = 0
      for (let from = 1; ; ) {
        const page = await data.read(tenant, params.id ?? '', { fromVersion: from, limit: 1000 })
        if (E.isLeft(page)) return answer(page)
        for (const e of page.right.events as readonly ReadEvent[]) {
          if (asOf !== undefined && e.timestamp.getTime() > asOf.getTime()) break
          state = entityState.fold(state, { ...e, tenant, stream: params.id ?? '', offset: 0 } as never)
          version = e.version
        }
        const next = page.right.nextVersion
        const past = asOf !== undefined && page.right.events.some((e) => (e as ReadEvent).timestamp.getTime() > asOf.getTime())
        if (next === undefined || past) break
        from = next
      }
      if (version === 0) return fail(notFound(`entity ${JSON.stringify((params.id ?? '').slice(0, 200))} has no events${asOf !== undefined ? ' at that time' : ''}`))
      return E.right({ entity_id: params.id ?? '', current_state: state, version, as_of: asOf?.toISOString() ?? null })
    },
  })
}
