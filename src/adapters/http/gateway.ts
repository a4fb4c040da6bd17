import { randomUUID } from 'node:crypto'
import swagger from '@fastify/swagger'
import swaggerUi from '@fastify/swagger-ui'
import Fastify, { type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import { badRequest, tooLarge } from '../../domain/streams/errors.js'
import { internal, notFound } from '../../application/streams/errors.js'
import { scanNesting } from '../codec/nestingScan.js'
import { jsonReplacer } from '../nats/service/wireCodec.js'
import { registerAdminRoutes } from './adminRoutes.js'
import { registerCompatRoutes } from './compatRoutes.js'
import { type ConsoleFiles, registerConsoleRoutes } from './consoleRoutes.js'
import { registerDataRoutes } from './dataRoutes.js'
import { registerAnalyticsRoutes } from './analyticsRoutes.js'
import { registerPipelineRoutes } from './pipelineRoutes.js'
import type { GatewayAuth } from './gatewayAuth.js'
import type { GatewayAdmin, GatewayData, GatewayHealth, GatewayMetrics } from './ports.js'
import { sendProblem } from './problem.js'
import { registerOpsRoutes } from './opsRoutes.js'

export interface GatewayDeps {
  readonly data: GatewayData
  readonly auth: GatewayAuth
  /** The admin and auth API (auth mode); absent, `/v1/admin/…` and `/v1/auth/…` answer 404 saying auth is off. */
  readonly admin?: GatewayAdmin
  readonly health: GatewayHealth
  /** Served at `/metrics`; absent, `/metrics` is a 404 problem. */
  readonly metrics?: GatewayMetrics
  /** Told of every response: the route pattern (never the URL), method, status and seconds taken. */
  readonly onRequestDone?: (route: string, method: string, status: number, seconds: number) => void
  /** Largest request body (default 1 MiB, NATS's default max payload); past it `TOO_LARGE` (413). */
  readonly bodyLimit?: number
  /** Version announced in the OpenAPI document. */
  readonly version?: string
  /** More plugins to register after the routes (the WebSocket live routes), given the gateway's auth. */
  readonly plugins?: readonly ((app: FastifyInstance, auth: GatewayAuth) => Promise<void> | void)[]
  /** The built web console served at `/console` (docs/console.md); absent, `/console` says how to build it. */
  readonly console?: ConsoleFiles
}

const REQUEST_ID_RE = /^[\x21-\x7e]{1,128}$/
const JSON_TYPES = /^application\/(?:[a-z0-9.+-]*\+)?json(?:\s*;.*)?$/i

/** Marks the errors our own JSON parser raises, so the error handler answers them as they are. */
class BodyError extends Error {
  constructor(
    message: string,
    readonly statusCode = 400,
  ) {
    super(message)
  }
}

/**
 * A reply as JSON. Dates already serialise as ISO-8601 (`toJSON`); only a 64-bit integer from a
 * msgpack payload (a BigInt) needs the wire codec's replacer, which costs a call per key: so it is
 * used only when plain `JSON.stringify` refuses the value.
 */
const serialize = (data: unknown): string => {
  try {
    return JSON.stringify(data)
  } catch {
    return JSON.stringify(data, jsonReplacer)
  }
}

/** `/a/:b/c` → a regex for concrete paths, to tell 405 (path known, method not) from 404. */
const patternOf = (url: string): RegExp => new RegExp(`^${url.replace(/[.+?^${}()|[\]\\]/g, '\\$&').replace(/:[A-Za-z]+/g, '[^/]+').replace(/\*$/, '.*')}/?$`)

/**
 * Builds the HTTP gateway (DESIGN.md "HTTP and WebSocket gateway"; docs/http.md): Fastify with the
 * contract's routes over the same application layer as NATS, problem details for every error,
 * `X-Request-Id` accepted (printable ASCII, ≤ 128) or generated and echoed, the OpenAPI 3.1
 * document at `/openapi.json` (from the io-ts codecs) and the browsable docs at `/docs`.
 *
 * Bad input never throws out of it: malformed JSON and too-deep nesting are 400, a body over
 * `bodyLimit` 413, an unknown path 404, a known path with another method 405 (with `Allow`), a
 * body that is not JSON 415, each as problem details with a contract code (`BAD_REQUEST`,
 * `TOO_LARGE`, `NOT_FOUND`); a defect is `INTERNAL` without its message. Not started: call
 * `listen` on the returned instance (after `ready()`).
 */
export const createGateway = async (deps: GatewayDeps): Promise<FastifyInstance> => {
  const bodyLimit = deps.bodyLimit ?? 1024 * 1024
  const app = Fastify({
    logger: false,
    bodyLimit,
    requestIdHeader: false,
    genReqId: (req) => {
      const given = req.headers['x-request-id']
      return typeof given === 'string' && REQUEST_ID_RE.test(given) ? given : randomUUID()
    },
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 500 },
    return503OnClosing: true,
  })
  // The io-ts codecs validate (route.ts); the schemas attached to routes only document.
  app.setValidatorCompiler(() => (data) => ({ value: data }))
  app.setSerializerCompiler(() => serialize)
  // Our parser alone (the built-in JSON one would skip the nesting scan; text/plain is not JSON: 415).
  app.removeAllContentTypeParsers()
  app.addContentTypeParser(JSON_TYPES, { parseAs: 'buffer' }, (_req: FastifyRequest, body: Buffer, done: (e: Error | null, v?: unknown) => void) => {
    if (body.length === 0) return done(null, undefined)
    // Before anything recursive touches it: a deeply nested body would overflow the stack later.
    const scan = scanNesting('json', body)
    if (!scan.ok) return done(new BodyError(scan.message))
    try {
      done(null, JSON.parse(body.toString('utf8')))
    } catch (e) {
      done(new BodyError(`malformed JSON body: ${e instanceof Error ? e.message : String(e)}`))
    }
  })

  const routes: { readonly method: string; readonly pattern: RegExp }[] = []
  app.addHook('onRoute', (r) => {
    for (const m of Array.isArray(r.method) ? r.method : [r.method]) if (m !== 'HEAD') routes.push({ method: m, pattern: patternOf(r.url ?? '') })
  })
  // A callback hook: an async one would cost a promise per response.
  app.addHook('onSend', (request, reply, payload, next) => {
    reply.header('x-request-id', request.id)
    next(null, payload)
  })
  const done = deps.onRequestDone
  if (done !== undefined) {
    app.addHook('onResponse', async (request: FastifyRequest, reply: FastifyReply) => {
      try {
        done(request.routeOptions.url ?? 'unmatched', request.method, reply.statusCode, reply.elapsedTime / 1000)
      } catch {
        // metrics must never break a response
      }
    })
  }

  app.setErrorHandler((error: FastifyError, _request, reply) => {
    if (error instanceof BodyError) return sendProblem(reply, badRequest(error.message), error.statusCode)
    switch (error.code) {
      case 'FST_ERR_CTP_BODY_TOO_LARGE': {
        const size = Number(reply.request.headers['content-length'])
        return sendProblem(reply, tooLarge(Number.isFinite(size) ? size : bodyLimit + 1, bodyLimit))
      }
      case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
        return sendProblem(reply, badRequest('the body must be JSON: send Content-Type: application/json'), 415)
      case 'FST_ERR_CTP_EMPTY_JSON_BODY':
        return sendProblem(reply, badRequest('the JSON body is empty'))
      default:
        if (typeof error.statusCode === 'number' && error.statusCode >= 400 && error.statusCode < 500) return sendProblem(reply, badRequest(error.message), error.statusCode === 413 ? 413 : 400)
        return sendProblem(reply, internal('internal error'))
    }
  })
  app.setNotFoundHandler((request, reply) => {
    const path = request.url.split('?')[0] ?? ''
    const allowed = [...new Set(routes.filter((r) => r.pattern.test(path)).map((r) => r.method))]
    if (allowed.length > 0) {
      reply.header('allow', allowed.join(', '))
      return sendProblem(reply, badRequest(`${request.method} is not allowed on ${path.slice(0, 200)}; allowed: ${allowed.join(', ')}`, { allow: allowed }), 405)
    }
    return sendProblem(reply, notFound(`no route ${request.method} ${path.slice(0, 200)}`))
  })

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: { title: 'AllSource HTTP gateway', version: deps.version ?? '0.1.0', description: 'The HTTP door to AllSource: same application layer and error codes as the NATS API. Errors are RFC 9457 problem details with the contract `code`.' },
      components: {
        securitySchemes: {
          bearer: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT', description: 'An access token from /v1/auth/login or /v1/auth/token' },
          apiKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'ApiKey <key>: an API key (as_…) or the operator key' },
        },
      },
    },
  })
  await app.register(swaggerUi, { routePrefix: '/docs', staticCSP: true })

  registerOpsRoutes(app, deps)
  registerDataRoutes(app, deps.auth, deps.data)
  registerAnalyticsRoutes(app, deps.auth, deps.data)
  registerPipelineRoutes(app, deps.auth, deps.data)
  registerAdminRoutes(app, deps.auth, deps.admin)
  registerCompatRoutes(app, deps.auth, deps.data)
  registerConsoleRoutes(app, deps.console)
  for (const plugin of deps.plugins ?? []) await plugin(app, deps.auth)
  return app
}
