import websocket, { type WebsocketPluginOptions } from '@fastify/websocket'
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify'
import * as E from 'fp-ts/lib/Either.js'
import type { WebSocket } from 'ws'
import { notFound } from '../../application/streams/errors.js'
import { type EventsLiveRequest, type ProjectionLiveRequest, validateEventsLive, validateProjectionLive } from '../../domain/reading/liveRequest.js'
import { badRequest } from '../../domain/streams/errors.js'
import type { ReplayedEvent } from '../nats/reading/replay.js'
import { failureOf } from '../nats/service/failureOf.js'
import type { WireFailure } from '../nats/service/errorCodes.js'
import type { AuthorizeHttp } from './gatewayAuth.js'
import { authorizationOf, selectLiveProtocol } from './liveCredentials.js'
import { closeOnFailure, pumpEvents } from './liveEvents.js'
import { pumpProjection } from './liveProjections.js'
import { CLOSE, defaultLiveLimits, type LiveLimits, type LiveSocket, liveSocket } from './liveSocket.js'
import type { LiveEventSource, LiveProjectionSource } from './liveSources.js'
import { sendProblem } from './problem.js'

export interface LiveRoutesDeps {
  /** The gateway's check of a credential against the permission table (events: `read`, projections: `subscribe`). */
  readonly authorize: AuthorizeHttp
  readonly events: LiveEventSource
  readonly projections: LiveProjectionSource
  readonly limits?: Partial<LiveLimits>
  /** Told of failures behind a stream (never a credential, a URL or a payload). */
  readonly log?: (line: string) => void
}

/** The live routes' counters, for tests and metrics. */
export interface LiveStats {
  /** Live connections open now. */
  readonly open: number
  /** Connections dropped as slow consumers (close 1008) since start. */
  readonly dropped: number
  /** The most bytes any one connection held unsent at once since start. */
  readonly peakBufferedBytes: number
}

export interface LiveRoutes {
  stats(): LiveStats
}

const SHUTDOWN_REASON = 'server shutting down; resume from your last offset'

/**
 * The `@fastify/websocket` options the live routes need, for a gateway that registers the plugin
 * itself (before any route): the subprotocol choice, a small `maxPayload` (clients send nothing),
 * and a shutdown that tells every client 1001 with a reason (the plugin's default sends no code).
 */
export const liveWebsocketOptions: WebsocketPluginOptions = {
  options: { maxPayload: 64 * 1024, handleProtocols: (protocols) => selectLiveProtocol(protocols) },
  preClose(done) {
    for (const client of this.websocketServer.clients) client.close(CLOSE.goingAway, SHUTDOWN_REASON)
    this.websocketServer.close()
    done()
  },
}

type Parsed = { readonly kind: 'events'; readonly request: EventsLiveRequest & { readonly fromOffset: number } } | { readonly kind: 'projection'; readonly request: ProjectionLiveRequest }

/** Stops a replay (its consumer is deleted); it never throws, and nothing waits for it. */
const stopQuietly = (it: AsyncIterator<unknown> | undefined): void => {
  Promise.resolve(it?.return?.()).catch(() => undefined)
}

const notUpgraded = (_req: FastifyRequest, reply: FastifyReply): FastifyReply =>
  sendProblem(reply, badRequest('this is a WebSocket endpoint: connect with an Upgrade: websocket request'))

/**
 * Registers `GET /v1/tenants/{tenant}/events/live` and `GET /v1/tenants/{tenant}/projections/{name}/live`
 * (docs/http-live.md). Everything that can fail is checked before the upgrade and answered as a
 * problem: bad parameters 400 (`INVALID_ID`, `BAD_REQUEST`), a missing or bad credential 401, a
 * role without the operation or another tenant 403, an unknown projection 404. Registers
 * `@fastify/websocket` (with {@link liveWebsocketOptions}) unless the instance has it already.
 */
export const registerLiveRoutes = async (app: FastifyInstance, deps: LiveRoutesDeps): Promise<LiveRoutes> => {
  const limits: LiveLimits = { ...defaultLiveLimits, ...deps.limits }
  const parsed = new WeakMap<FastifyRequest, Parsed>()
  const sessions = new Set<LiveSocket>()
  let dropped = 0
  let peak = 0
  // Before the plugin's own (when this registers it): streams end with 1001 and stop their sources at once.
  app.addHook('preClose', async () => {
    for (const s of [...sessions]) s.close(CLOSE.goingAway, SHUTDOWN_REASON)
  })
  if (!app.hasDecorator('websocketServer')) await app.register(websocket, liveWebsocketOptions)

  const open = (socket: WebSocket, onEnd: () => void): LiveSocket => {
    const sock: LiveSocket = liveSocket(socket, limits, {
      onEnd: () => {
        sessions.delete(sock)
        peak = Math.max(peak, sock.stats.peakBuffered)
        onEnd()
      },
      onDrop: () => dropped++,
    })
    sessions.add(sock)
    return sock
  }

  /** Authorizes a valid request, then settles what the stream needs before the upgrade; a problem otherwise. */
  const admit = async (req: FastifyRequest, reply: FastifyReply, r: E.Either<WireFailure, EventsLiveRequest | ProjectionLiveRequest>): Promise<FastifyReply | undefined> => {
    if (E.isLeft(r)) return sendProblem(reply, r.left)
    const request = r.right
    const isProjection = 'projection' in request
    try {
      const caller = await deps.authorize(authorizationOf(req.headers, (req.query ?? {}) as Record<string, unknown>), request.tenant, isProjection ? 'subscribe' : 'read')
      if (E.isLeft(caller)) return sendProblem(reply, caller.left)
      if (isProjection) {
        if (!(await deps.projections.exists(request.projection))) return sendProblem(reply, notFound(`no projection "${request.projection}"`))
        parsed.set(req, { kind: 'projection', request })
      } else {
        // "From now" is fixed before the upgrade: what is appended once the client sees the connection open is delivered.
        parsed.set(req, { kind: 'events', request: { ...request, fromOffset: request.fromOffset ?? (await deps.events.end()) + 1 } })
      }
    } catch (e) {
      // A store that does not answer is 503; anything else thrown is a defect, 500 (never the credential).
      return sendProblem(reply, failureOf(e))
    }
    return undefined
  }

  app.route({
    method: 'GET',
    url: '/v1/tenants/:tenant/events/live',
    preValidation: async (req, reply) => {
      const params = req.params as Record<string, unknown>
      const r = validateEventsLive(params.tenant, (req.query ?? {}) as Record<string, unknown>)
      return admit(req, reply, r)
    },
    handler: notUpgraded,
    wsHandler: (socket, req) => {
      const p = parsed.get(req)
      if (p?.kind !== 'events') return socket.close(CLOSE.internal, 'internal error')
      let events: AsyncIterator<ReplayedEvent> | undefined
      const sock = open(socket, () => stopQuietly(events))
      socket.on('message', () => undefined)
      deps.events.follow(p.request).then(
        (it) => {
          events = it
          if (!sock.open) return stopQuietly(it)
          return pumpEvents(sock, it)
        },
        (e: unknown) => {
          deps.log?.(`live events for tenant ${p.request.tenant} could not start: ${e instanceof Error ? e.message : String(e)}`)
          closeOnFailure(sock, e)
        },
      ).catch(() => undefined)
    },
  })

  app.route({
    method: 'GET',
    url: '/v1/tenants/:tenant/projections/:name/live',
    preValidation: async (req, reply) => {
      const params = req.params as Record<string, unknown>
      const r = validateProjectionLive(params.tenant, params.name, (req.query ?? {}) as Record<string, unknown>)
      return admit(req, reply, r)
    },
    handler: notUpgraded,
    wsHandler: (socket, req) => {
      const p = parsed.get(req)
      if (p?.kind !== 'projection') return socket.close(CLOSE.internal, 'internal error')
      let stop: (() => void) | undefined
      const sock = open(socket, () => stop?.())
      socket.on('message', () => undefined)
      stop = pumpProjection(sock, deps.projections, p.request)
      if (!sock.open) stop()
    },
  })

  return {
    stats: () => ({
      open: sessions.size,
      dropped,
      peakBufferedBytes: Math.max(peak, ...[...sessions].map((s) => s.stats.peakBuffered)),
    }),
  }
}
