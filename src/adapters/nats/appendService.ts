import type { Msg, NatsConnection, Subscription } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { type AppendLimits, defaultAppendLimits, validateAppendRequest } from '../../domain/streams/appendRequest.js'
import type { Appender } from '../../application/streams/appender.js'
import { internal, type AppendError } from '../../application/streams/errors.js'
import { toWireError } from './errorCodes.js'
import { type EndpointStats, type MicroEndpoint, newEndpointStats, startMicroDiscovery } from './microDiscovery.js'
import { subjects } from './subjects.js'
import { decodeBody, formatOf, replyError, replyOk, type WireFormat } from './wireCodec.js'

export interface AppendServiceOptions {
  readonly prefix: string
  /** Queue group: several processors share the subject, each request goes to one. */
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
  readonly stats: EndpointStats
  /** Stops taking requests and waits until those already received are answered. */
  stop(): Promise<void>
}

/**
 * Serves `allsource.append.<tenant>.<stream>` (msgpack, or JSON with `Content-Type:
 * application/json`) in a queue group, with NATS micro discovery. Malformed input gets a typed
 * error reply; nothing a client sends can throw out of the handler. Resolves once the server has
 * the subscriptions (a request sent after that reaches this service).
 */
export const startAppendService = async (
  nc: NatsConnection,
  appender: Appender,
  options: Partial<AppendServiceOptions> = {},
): Promise<AppendService> => {
  const o = { ...defaultAppendServiceOptions, ...options }
  const subj = subjects(o.prefix)
  const stats = newEndpointStats()
  let inFlight = 0
  let idle: (() => void) | undefined

  const fail = (msg: Msg, format: WireFormat, e: AppendError) => {
    stats.num_errors++
    const wire = toWireError(e)
    stats.last_error = `${wire.code}: ${wire.message}`
    replyError(msg, format, wire)
  }

  const handle = (msg: Msg): void => {
    const started = performance.now()
    stats.num_requests++
    const format = formatOf(msg)
    const finish = () => {
      stats.processing_time += Math.round((performance.now() - started) * 1e6)
      if (--inFlight === 0 && idle !== undefined) idle()
    }
    inFlight++
    const [tenant, stream, ...rest] = subj.tail(msg.subject, 'append')
    const body = decodeBody(format, msg.data)
    const command = !body.ok
      ? E.left<AppendError>({ _tag: 'BadRequest', message: body.message })
      : rest.length > 0
        ? E.left<AppendError>({ _tag: 'InvalidId', field: 'stream', message: 'stream id must be one subject token' })
        : validateAppendRequest(tenant, stream, body.value, o.limits)
    if (E.isLeft(command)) {
      fail(msg, format, command.left)
      finish()
      return
    }
    appender
      .append(command.right)
      .then(
        (r) => (E.isRight(r) ? replyOk(msg, format, r.right) : fail(msg, format, r.left)),
        (e: unknown) => fail(msg, format, internal(e instanceof Error ? e.message : String(e))),
      )
      .catch(() => undefined) // the connection closed under us: nothing left to answer on
      .finally(finish)
  }

  const sub: Subscription = nc.subscribe(subj.appendWildcard, {
    queue: o.queue,
    callback: (_err, msg) => {
      try {
        handle(msg)
      } catch (e) {
        // A defect in the handler must not take the subscription down with it.
        try {
          fail(msg, formatOf(msg), internal(e instanceof Error ? e.message : String(e)))
        } catch {
          /* connection gone */
        }
      }
    },
  })

  const endpoint: MicroEndpoint = { name: 'append', subject: subj.appendWildcard, queue_group: o.queue, stats }
  const discovery = startMicroDiscovery(
    nc,
    { name: o.prefix, version: o.version, description: 'AllSource event store: append with optimistic concurrency' },
    () => [endpoint],
  )

  await nc.flush()
  return {
    id: discovery.id,
    stats,
    async stop() {
      discovery.stop()
      await sub.drain()
      if (inFlight > 0) await new Promise<void>((resolve) => (idle = resolve))
    },
  }
}
