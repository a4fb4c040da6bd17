import { existsSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { AppendObserver, Tracing } from '../../application/observability/ports.js'
import type { NatsConnection } from '@nats-io/transport-node'
import type { FastifyInstance } from 'fastify'
import { createGateway, type GatewayDeps } from '../../adapters/http/gateway.js'
import { createGatewayAuth, type GatewayAuth } from '../../adapters/http/gatewayAuth.js'
import { createProjectionReader } from '../../adapters/nats/projections/projectionReader.js'
import { systemClock } from '../../adapters/system/systemClock.js'
import { authenticate } from '../../application/auth/authenticate.js'
import { defaultAppendLimits } from '../../domain/streams/appendRequest.js'
import type { AllSource } from '../allSource.js'
import type { AuthPlane } from '../auth/authPlane.js'
import { openPipelineCatalog } from '../../adapters/nats/pipelines/pipelineCatalog.js'
import { createPipelineCommands } from '../../adapters/nats/pipelines/pipelineCommands.js'
import { createGatewayAdmin } from './gatewayAdmin.js'
import { createGatewayData } from './gatewayData.js'
import { registerLiveRoutes } from '../../adapters/http/liveRoutes.js'
import { natsProjectionSource, replayEventSource } from '../../adapters/http/liveSources.js'
import { overloadOf } from '../../adapters/nats/service/inFlightLimit.js'

/** `dist/console` of the package this module belongs to, from `src/main/http` (tsx) or `dist/src/main/http` (built). */
export const defaultConsoleDir = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let i = 0; i < 6 && !existsSync(join(dir, 'package.json')); i++) dir = dirname(dir)
  return join(dir, 'dist', 'console')
}

export interface GatewayOptions {
  readonly nc: NatsConnection
  readonly app: AllSource
  /** Auth mode's control plane; absent, the gateway is open like NATS with auth off. */
  readonly plane?: AuthPlane
  readonly prefix: string
  readonly maxEventsPerCommit?: number
  /** Port (0 = any free one) and host to listen on. */
  readonly port: number
  readonly host: string
  readonly version?: string
  readonly log: (message: string) => void
  /** Spans of HTTP appends (`allsource.append`, door `http`); default off. */
  readonly tracing?: Tracing
  /** Append outcomes and times of HTTP appends (source `http`), e.g. the processor's metrics. */
  readonly observer?: AppendObserver
  /** Passed through to the gateway (metrics, request observer, more plugins). */
  readonly extra?: Pick<GatewayDeps, 'metrics' | 'onRequestDone' | 'plugins' | 'bodyLimit'>
  /** The built web console's directory; default `dist/console` of this package (docs/console.md). */
  readonly consoleDir?: string
}

export interface RunningGateway {
  readonly server: FastifyInstance
  readonly auth: GatewayAuth
  /** The base URL it listens on (`http://127.0.0.1:3900`). */
  readonly url: string
  close(): Promise<void>
}

/**
 * Builds and starts the HTTP gateway on the processor: the data port over `app`, auth from the
 * control plane's `authenticate` (the callout's) when `plane` is given, the admin port over the
 * plane. Resolves once listening; rejects with the listen error (e.g. `EADDRINUSE`), after
 * releasing what it opened.
 */
export const startGateway = async (o: GatewayOptions): Promise<RunningGateway> => {
  const reader = await createProjectionReader(o.nc, (m) => o.log(`warning: gateway projection reader: ${m}`), o.app.consumers)
  // The bucket exists once the processor serves; opening an existing bucket leaves its configuration as it is.
  const pipelineCatalog = await openPipelineCatalog(o.nc, { consumers: o.app.consumers }).catch((e: unknown) => {
    reader.close()
    throw e
  })
  const pipelines = createPipelineCommands(o.nc, pipelineCatalog, reader.catalog)
  const plane = o.plane
  const auth = createGatewayAuth(
    plane === undefined
      ? undefined
      : {
          authenticate: authenticate({ store: plane.keys, hasher: plane.hasher, clock: systemClock, tenants: plane.tenants, admit: (t) => plane.directory.admit(t), operator: plane.operator, userAuth: plane.userPlane.userAuth }),
          admit: (t) => plane.directory.admit(t),
        },
  )
  const limits = { ...defaultAppendLimits, ...(o.maxEventsPerCommit !== undefined ? { maxEventsPerCommit: o.maxEventsPerCommit } : {}) }
  let serving = true
  const server = await createGateway({
    data: createGatewayData({
      nc: o.nc,
      app: o.app,
      reader,
      pipelines,
      prefix: o.prefix,
      limits,
      ...(plane !== undefined ? { auth: plane.serviceAuth } : {}),
      ...(o.tracing !== undefined ? { tracing: o.tracing } : {}),
      ...(o.observer !== undefined ? { observer: o.observer } : {}),
    }),
    auth,
    ...(plane !== undefined ? { admin: createGatewayAdmin(o.nc, plane, { prefix: o.prefix, onRevoked: (p) => auth.forget(p) }) } : {}),
    health: {
      ready: () => serving && !o.nc.isClosed(),
      overloaded: () => overloadOf(o.app.requests),
      info: () => ({ nats: o.nc.info?.version ?? null, auth: plane !== undefined ? 'on' : 'off', requests: { inFlight: o.app.requests.inFlight, limit: o.app.requests.limit, refused: o.app.requests.refused } }),
    },
    ...(o.version !== undefined ? { version: o.version } : {}),
    console: { dir: o.consoleDir ?? defaultConsoleDir() },
    ...o.extra,
    // The WebSocket live streams (docs/http-live.md), authorized by the same gateway auth.
    plugins: [
      async (app, gatewayAuth) => {
        await registerLiveRoutes(app, {
          authorize: gatewayAuth.authorizeHttp,
          events: replayEventSource(o.nc, (options) => o.app.replay(options)),
          projections: natsProjectionSource(o.nc, reader, o.prefix),
        })
      },
      ...(o.extra?.plugins ?? []),
    ],
  })
  try {
    await server.listen({ port: o.port, host: o.host })
  } catch (e) {
    reader.close()
    await server.close().catch(() => undefined)
    throw e
  }
  const address = server.server.address()
  const port = typeof address === 'object' && address !== null ? address.port : o.port
  const host = o.host.includes(':') ? `[${o.host}]` : o.host
  return {
    server,
    auth,
    url: `http://${host}:${port}`,
    async close() {
      serving = false
      await server.close()
      reader.close()
    },
  }
}
