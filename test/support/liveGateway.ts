import { jetstreamManager } from '@nats-io/jetstream'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import Fastify, { type FastifyInstance } from 'fastify'
import { afterAll, beforeAll } from 'vitest'
import * as E from 'fp-ts/lib/Either.js'
import type { IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import WebSocket from 'ws'
import { createHmacApiKeyHasher } from '../../src/adapters/crypto/hmacApiKeyHasher.js'
import type { AuthorizeHttp } from '../../src/adapters/http/gatewayAuth.js'
import { type LiveRoutes, type LiveRoutesDeps, registerLiveRoutes } from '../../src/adapters/http/liveRoutes.js'
import { natsProjectionSource, replayEventSource } from '../../src/adapters/http/liveSources.js'
import type { LiveLimits } from '../../src/adapters/http/liveSocket.js'
import { EVENT_STREAM } from '../../src/adapters/nats/log/eventStream.js'
import { createProjectionReader, type ProjectionReader } from '../../src/adapters/nats/projections/projectionReader.js'
import { entityState, eventCounter } from '../../src/domain/projections/builtins.js'
import type { ProjectionDefinition } from '../../src/domain/projections/projection.js'
import { type AllSource, createAllSource } from '../../src/main/allSource.js'
import { cleanUp } from './cleanUp.js'
import { startNatsServer, type TestNatsServer } from './natsServer.js'
import { createInMemoryApiKeyStore } from '../../src/adapters/memory/inMemoryApiKeyStore.js'
import { createInMemoryTenantStore } from '../../src/adapters/memory/inMemoryTenantStore.js'
import { createKey } from '../../src/application/auth/apiKeys.js'
import { authenticate, type OperatorKey } from '../../src/application/auth/authenticate.js'
import { type CreateKeyRequest, formatApiKey } from '../../src/domain/security/apiKey.js'
import { authorize } from '../../src/domain/security/permissions.js'
import type { TenantRole } from '../../src/domain/security/roles.js'
import { unauthorized } from '../../src/domain/streams/errors.js'
import type { TenantId } from '../../src/domain/streams/ids.js'
import { type IsoTimestamp, newTenant } from '../../src/domain/tenants/tenant.js'

/**
 * The gateway's `authorize` as the gateway builds it, from the real pieces: `Authorization:
 * ApiKey <key>` or `Bearer <token>` → `authenticate` (keys in memory, real HMAC hashing, real
 * tenant admission) → the permission table's `authorize`. Tenants `acme` and `globex` exist.
 */
export interface TestAuth {
  readonly authorize: AuthorizeHttp
  /** A new key of `tenant` with `role`, as its holder presents it. */
  keyFor(tenant: string, role: TenantRole): Promise<string>
  readonly operatorKey: string
}

export const testAuth = async (): Promise<TestAuth> => {
  const hasher = createHmacApiKeyHasher({ pepper: 'pepper-for-live-tests-0123456789abcdef-0123' })
  const store = createInMemoryApiKeyStore()
  const tenants = createInMemoryTenantStore()
  const at = new Date().toISOString() as IsoTimestamp
  for (const t of ['acme', 'globex']) await tenants.create(newTenant(t as TenantId, at))()
  const op = hasher.generate()
  const operator: OperatorKey = { keyId: op.keyId, hash: hasher.hash(op.keyId, op.secret) }
  const keyDeps = { store, hasher, clock: { now: () => new Date() } }
  const authn = authenticate({ ...keyDeps, tenants, operator })
  return {
    operatorKey: formatApiKey(op.keyId, op.secret).reveal(),
    keyFor: async (tenant, role) => {
      const created = await createKey(keyDeps)(tenant as TenantId, { role } as CreateKeyRequest)
      if (E.isLeft(created)) throw new Error(JSON.stringify(created.left))
      return created.right.key.reveal()
    },
    authorize: async (header, tenant, operation) => {
      const m = header === undefined ? null : /^(Bearer|ApiKey) (.+)$/.exec(header)
      if (m === null) return E.left(unauthorized())
      const who = await authn(m[2], new Date())
      if (E.isLeft(who)) return who
      const allowed = authorize(who.right.identity, operation, tenant as TenantId)
      return E.isLeft(allowed) ? allowed : E.right(who.right)
    },
  }
}

/** A Fastify instance with only the live routes, listening on a free 127.0.0.1 port. */
export const liveGateway = async (deps: LiveRoutesDeps): Promise<{ readonly app: FastifyInstance; readonly live: LiveRoutes; readonly url: string }> => {
  const app = Fastify({ logger: false })
  const live = await registerLiveRoutes(app, deps)
  await app.listen({ host: '127.0.0.1', port: 0 })
  return { app, live, url: `ws://127.0.0.1:${(app.server.address() as AddressInfo).port}` }
}

/** What a refused upgrade answered: status, content type and the parsed body. */
export interface Refusal {
  readonly status: number
  readonly contentType: string | undefined
  readonly body: Record<string, unknown>
}

const readBody = (res: IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    let text = ''
    res.setEncoding('utf8')
    res.on('data', (c: string) => (text += c))
    res.on('end', () => resolve(text))
    res.on('error', reject)
  })

/** Opens a WebSocket: the socket once open, or the refusal the server answered instead. */
export const connectLive = (url: string, options: WebSocket.ClientOptions & { readonly protocols?: string[] } = {}): Promise<{ readonly ws: WebSocket } | { readonly refused: Refusal }> =>
  new Promise((resolve, reject) => {
    const { protocols, ...rest } = options
    const ws = new WebSocket(url, protocols ?? [], rest)
    ws.once('open', () => resolve({ ws }))
    ws.once('unexpected-response', (_req, res) => {
      readBody(res).then((text) => {
        let body: Record<string, unknown> = {}
        try {
          body = JSON.parse(text) as Record<string, unknown>
        } catch {
          body = { raw: text }
        }
        resolve({ refused: { status: res.statusCode ?? 0, contentType: res.headers['content-type'], body } })
        ws.terminate()
      }, reject)
    })
    ws.once('error', reject)
  })

/** Messages of an open socket, parsed, and how it closed. */
export interface Received {
  readonly messages: Record<string, unknown>[]
  /** Resolves when `n` messages have arrived (or the socket closed first). */
  until(n: number): Promise<Record<string, unknown>[]>
  readonly closed: Promise<{ readonly code: number; readonly reason: string }>
}

export const receive = (ws: WebSocket): Received => {
  const messages: Record<string, unknown>[] = []
  let wake: (() => void) | undefined
  let isClosed = false
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.once('close', (code, reason) => {
      isClosed = true
      resolve({ code, reason: reason.toString() })
      wake?.()
    }),
  )
  ws.on('message', (data) => {
    messages.push(JSON.parse(String(data)) as Record<string, unknown>)
    wake?.()
  })
  return {
    messages,
    closed,
    async until(n) {
      while (messages.length < n && !isClosed && ws.readyState !== WebSocket.CLOSED) await new Promise<void>((r) => (wake = r))
      return messages.slice(0, n)
    },
  }
}

/** A test file's nats-server, in-process processor (projections `entity-state` and `event-counter`), test auth, and live gateways. */
export interface LiveFixture {
  readonly nc: NatsConnection
  readonly app: AllSource
  readonly auth: TestAuth
  /** The live routes with the default limits. */
  readonly gw: { readonly app: FastifyInstance; readonly live: LiveRoutes; readonly url: string }
  /** The live routes with `tight` limits (slow-consumer tests). */
  readonly tight: { readonly app: FastifyInstance; readonly live: LiveRoutes; readonly url: string }
  /** What the gateways were built from, for a test's own gateway. */
  readonly deps: LiveRoutesDeps
  /** Ephemeral consumers on the log now (each live event stream holds one). */
  logConsumers(): Promise<number>
}

/** Vitest helper: starts everything in `beforeAll`, stops everything in `afterAll`, whatever fails. */
export const withLiveFixture = (tight: Partial<LiveLimits>): (() => LiveFixture) => {
  let server: TestNatsServer | undefined
  let nc: NatsConnection | undefined
  let app: AllSource | undefined
  let reader: ProjectionReader | undefined
  const gateways: FastifyInstance[] = []
  let fixture: LiveFixture | undefined
  beforeAll(async () => {
    server = await startNatsServer()
    nc = await connect({ servers: server.url })
    app = await createAllSource({ nc, warn: () => undefined })
    await app.startProjections([entityState, eventCounter] as ProjectionDefinition<unknown>[])
    reader = await createProjectionReader(nc)
    const auth = await testAuth()
    const deps: LiveRoutesDeps = { authorize: auth.authorize, events: replayEventSource(nc, app.replay), projections: natsProjectionSource(nc, reader) }
    const gw = await liveGateway(deps)
    gateways.push(gw.app)
    const t = await liveGateway({ ...deps, limits: tight })
    gateways.push(t.app)
    const conn = nc
    fixture = {
      nc,
      app,
      auth,
      gw,
      tight: t,
      deps,
      logConsumers: async () => (await (await jetstreamManager(conn)).consumers.list(EVENT_STREAM).next()).filter((c) => c.config.durable_name === undefined).length,
    }
  })
  afterAll(async () => {
    await cleanUp(
      ...gateways.map((g) => () => g.close()),
      () => reader?.close(),
      () => app?.close(),
      () => nc?.close(),
      () => server?.stop(),
    )
  })
  return () => {
    if (fixture === undefined) throw new Error('withLiveFixture: not started')
    return fixture
  }
}
