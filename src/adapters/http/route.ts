import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import * as E from 'fp-ts/lib/Either.js'
import type * as t from 'io-ts'
import type { Operation } from '../../domain/security/roles.js'
import { authorize } from '../../domain/security/permissions.js'
import type { WireFailure } from '../nats/service/errorCodes.js'
import { decodeWith } from './decode.js'
import type { GatewayAuth, HttpCaller } from './gatewayAuth.js'
import { type JsonSchema, toJsonSchema } from './jsonSchema.js'
import { PROBLEM_JSON, sendProblem } from './problem.js'
import { ProblemReply } from './schemas.js'

/** Who may call a route: a tenant operation (tenant from the path, or from the decoded input), a platform-wide one, any identity, or anyone. */
export type RouteAccess =
  | { readonly kind: 'tenant'; readonly operation: Operation }
  | { readonly kind: 'platform'; readonly operation: Operation }
  | { readonly kind: 'identity' }
  | { readonly kind: 'public' }

export interface RouteContext<B, Q> {
  readonly params: Readonly<Record<string, string>>
  readonly body: B
  readonly query: Q
  readonly caller: HttpCaller
  readonly request: FastifyRequest
  readonly reply: FastifyReply
}

/** What a route answers: a body (status `spec.status`), or a failure with an optional HTTP status of its own (412). */
export type RouteResult = E.Either<{ readonly failure: WireFailure; readonly status?: number }, unknown>

export interface RouteSpec<B, Q> {
  readonly method: 'GET' | 'POST' | 'PATCH' | 'DELETE'
  /** Fastify pattern (`/v1/tenants/:tenant/streams/:stream`). */
  readonly url: string
  readonly summary: string
  readonly tag: string
  readonly access: RouteAccess
  /** The tenant the access check is about (default: the `tenant` path parameter). */
  readonly tenantOf?: (ctx: { readonly params: Readonly<Record<string, string>>; readonly body: B; readonly query: Q }) => string
  readonly body?: t.Type<B, unknown, unknown>
  /**
   * The codec that documents the body when another one decodes it (admin bodies: the domain's
   * closed-body validators decide, so unknown fields are refused, which an io-ts exact codec would
   * silently strip).
   */
  readonly documentedBody?: t.Mixed
  readonly bodyRequired?: boolean
  readonly query?: t.Type<Q, unknown, unknown>
  readonly reply?: t.Mixed
  /** Success status (default 200). */
  readonly status?: number
  readonly description?: string
  readonly run: (ctx: RouteContext<B, Q>) => Promise<RouteResult>
}

export const fail = (failure: WireFailure, status?: number): RouteResult => E.left(status === undefined ? { failure } : { failure, status })

/** Lifts an application answer into a route result. */
export const answer = <A>(r: E.Either<WireFailure, A>): RouteResult => (E.isLeft(r) ? fail(r.left) : r)

const paramNames = (url: string): string[] => [...url.matchAll(/:([A-Za-z]+)/g)].map((m) => m[1] as string)

const problemContent = { [PROBLEM_JSON]: { schema: toJsonSchema(ProblemReply) } }

/** The OpenAPI facts of a route, from its codecs (never a second hand-written schema). */
const openApiOf = (spec: RouteSpec<unknown, unknown>): Record<string, unknown> => {
  const params = paramNames(spec.url)
  const secured = spec.access.kind !== 'public'
  const ok: JsonSchema = spec.reply === undefined ? { description: 'No content' } : { description: 'Success', content: { 'application/json': { schema: toJsonSchema(spec.reply) } } }
  return {
    summary: spec.summary,
    tags: [spec.tag],
    ...(spec.description !== undefined ? { description: spec.description } : {}),
    ...(params.length > 0 ? { params: { type: 'object', properties: Object.fromEntries(params.map((p) => [p, { type: 'string' }])), required: params } } : {}),
    ...(spec.query !== undefined ? { querystring: toJsonSchema(spec.query) } : {}),
    ...(spec.body !== undefined ? { body: toJsonSchema(spec.documentedBody ?? spec.body) } : {}),
    ...(secured ? { security: [{ bearer: [] }, { apiKey: [] }] } : {}),
    response: {
      [spec.status ?? 200]: ok,
      '4XX': { description: 'Problem details (RFC 9457) with the contract code', content: problemContent },
      '5XX': { description: 'Problem details (RFC 9457) with the contract code', content: problemContent },
    },
  }
}

/**
 * Registers one route: authenticates (401 before anything else is looked at), decodes the query
 * string and the body with the route's io-ts codecs (400 with the path), checks the permission
 * table for the route's operation and tenant (403), then runs the route and answers its result as
 * JSON or as problem details. Nothing a client sends can make it throw: an unexpected throw is
 * answered `INTERNAL` without its message.
 */
export const defineRoute = <B = undefined, Q = undefined>(app: FastifyInstance, auth: GatewayAuth, spec: RouteSpec<B, Q>): void => {
  app.route({
    method: spec.method,
    url: spec.url,
    schema: openApiOf(spec as RouteSpec<unknown, unknown>),
    handler: async (request, reply) => {
      const authorization = request.headers.authorization
      const params = request.params as Record<string, string>
      const access = spec.access
      // The tenant in the path: authorize first (401/403 before anything in the input is looked at).
      const early = access.kind === 'tenant' && spec.tenantOf === undefined
      let caller: HttpCaller = undefined
      if (early) {
        const r = await auth.authorizeHttp(authorization, params.tenant ?? '', access.operation)
        if (E.isLeft(r)) return sendProblem(reply, r.left)
        caller = r.right
      } else if (auth.enabled && access.kind !== 'public') {
        const who = await auth.identify(authorization)
        if (E.isLeft(who)) return sendProblem(reply, who.left)
      }
      let query = undefined as Q
      if (spec.query !== undefined) {
        const q = decodeWith(spec.query, request.query ?? {}, 'query')
        if (E.isLeft(q)) return sendProblem(reply, q.left)
        query = q.right
      }
      let body = undefined as B
      if (spec.body !== undefined) {
        if (request.body === undefined && spec.bodyRequired !== false) return sendProblem(reply, { _tag: 'BadRequest', message: 'a JSON body is required (Content-Type: application/json)' })
        const b = decodeWith(spec.body, request.body ?? {}, 'body')
        if (E.isLeft(b)) return sendProblem(reply, b.left)
        body = b.right
      }
      if (!early) {
        switch (access.kind) {
          case 'tenant': {
            const tenant = spec.tenantOf !== undefined ? spec.tenantOf({ params, body, query }) : (params.tenant ?? '')
            const r = await auth.authorizeHttp(authorization, tenant, access.operation)
            if (E.isLeft(r)) return sendProblem(reply, r.left)
            caller = r.right
            break
          }
          case 'platform': {
            const r = await auth.identify(authorization)
            if (E.isLeft(r)) return sendProblem(reply, r.left)
            if (r.right !== undefined) {
              const allowed = authorize(r.right.identity, access.operation)
              if (E.isLeft(allowed)) return sendProblem(reply, allowed.left)
            }
            caller = r.right
            break
          }
          case 'identity': {
            const r = await auth.identify(authorization)
            if (E.isLeft(r)) return sendProblem(reply, r.left)
            caller = r.right
            break
          }
          case 'public':
            caller = undefined
            break
          default: {
            const never: never = access
            return never
          }
        }
      }
      const r = await spec.run({ params, body, query, caller, request, reply })
      if (E.isLeft(r)) return sendProblem(reply, r.left.failure, r.left.status)
      reply.code(spec.status ?? 200)
      return spec.reply === undefined ? reply.send() : reply.send(r.right)
    },
  })
}
