import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { type AppendLimits, defaultAppendLimits, validateAppendRequest, validateStream, validateTenant } from '../../domain/streams/appendRequest.js'
import { validateReadRequest } from '../../domain/reading/readRequest.js'
import { validateQueryRequest } from '../../domain/reading/queryRequest.js'
import type { Query } from './query.js'
import { readProjection } from './projectionRunner.js'
import { isProjectionKey } from '../../domain/projections/projection.js'
import { notFound } from '../../application/streams/errors.js'
import { invalidId } from '../../domain/streams/errors.js'
import type { Appender } from '../../application/streams/appender.js'
import type { EventLog } from '../../application/streams/ports.js'
import { readStream } from '../../application/reading/readStream.js'
import { type Endpoint, startEndpoint } from './endpoint.js'
import { type EndpointStats, startMicroDiscovery } from './microDiscovery.js'

export interface AppendServiceOptions {
  readonly prefix: string
  /** Queue group: several processors share the subjects, each request goes to one. */
  readonly queue: string
  readonly limits: AppendLimits
  readonly version: string
}

export const defaultAppendServiceOptions: AppendServiceOptions = {
  prefix: 'allsource',
  queue: 'allsource',
  limits: defaultAppendLimits,
  version: '0.1.0',
}

export interface AppendService {
  readonly id: string
  /** Counters of the append endpoint. */
  readonly stats: EndpointStats
  /** Stops taking requests and waits until those already received are answered. */
  stop(): Promise<void>
}

const oneToken = (rest: readonly string[]) =>
  rest.length > 2 ? E.left(invalidId('stream', 'stream id must be one subject token')) : E.right(undefined)

/**
 * Serves the processor's request-reply API in a queue group, with NATS micro discovery:
 * `allsource.append.<tenant>.<stream>`, `allsource.read.<tenant>.<stream>` and `allsource.query.<tenant>`. Resolves once
 * the server has the subscriptions (a request sent after that reaches this service).
 */
export const startAppendService = async (
  nc: NatsConnection,
  appender: Appender,
  log: EventLog,
  query: Query,
  options: Partial<AppendServiceOptions> = {},
  projections: ReadonlyMap<string, { readonly def: { readonly name: string; readonly version: number }; readonly runner: { status(): unknown } }> = new Map(),
): Promise<AppendService> => {
  const o = { ...defaultAppendServiceOptions, ...options }
  const base = { prefix: o.prefix, tokens: 2, queue: o.queue }
  const append: Endpoint = startEndpoint(nc, { ...base, verb: 'append' }, (tokens, body) => {
    const ok = oneToken(tokens)
    if (E.isLeft(ok)) return ok
    const command = validateAppendRequest(tokens[0], tokens[1], body, o.limits)
    return E.isLeft(command) ? command : appender.append(command.right)
  })
  const read: Endpoint = startEndpoint(nc, { ...base, verb: 'read', emptyBody: 'allowed' }, async (tokens, body) => {
    const tenant = validateTenant(tokens[0])
    if (E.isLeft(tenant)) return tenant
    const stream = validateStream(tokens[1])
    if (E.isLeft(stream)) return stream
    const req = validateReadRequest(body)
    if (E.isLeft(req)) return req
    return E.right(await readStream(log, tenant.right, stream.right, req.right))
  })
  const queryEndpoint: Endpoint = startEndpoint(nc, { ...base, tokens: 1, verb: 'query', emptyBody: 'allowed' }, async (tokens, body) => {
    const tenant = validateTenant(tokens[0])
    if (E.isLeft(tenant)) return tenant
    const q = validateQueryRequest(body)
    if (E.isLeft(q)) return q
    return E.right(await query(tenant.right, q.right))
  })
  const projection: Endpoint = startEndpoint(nc, { ...base, verb: 'projection', emptyBody: 'allowed' }, async (tokens, body) => {
    const tenant = validateTenant(tokens[0])
    if (E.isLeft(tenant)) return tenant
    const running = projections.get(tokens[1] ?? '')
    if (running === undefined) return E.left(notFound(`no projection "${tokens[1] ?? ''}" runs here`))
    const key = typeof body === 'object' && body !== null ? (body as { key?: unknown }).key : undefined
    if (key === undefined) return E.right(running.runner.status())
    if (typeof key !== 'string' || !isProjectionKey(key)) return E.left(invalidId('key', 'a projection key is 1–255 of A–Z a–z 0–9 _ - = .'))
    const entry = await readProjection(nc, running.def, tenant.right, key)
    return entry === undefined ? E.left(notFound(`no key "${key}" in projection "${running.def.name}" for tenant "${tenant.right}"`)) : E.right(entry)
  })
  const endpoints = [append, read, queryEndpoint, projection]
  const discovery = startMicroDiscovery(
    nc,
    { name: o.prefix, version: o.version, description: 'AllSource event store: append with optimistic concurrency, read streams' },
    () => endpoints.map((e) => e.micro),
  )
  await nc.flush()
  return {
    id: discovery.id,
    stats: append.stats,
    async stop() {
      discovery.stop()
      await Promise.all(endpoints.map((e) => e.stop()))
    },
  }
}
