import { nuid, type Msg, type NatsConnection, type Subscription } from '@nats-io/transport-node'
import { microDiscoverySubjects } from '../subjects.js'

/** Counters of one endpoint, as `$SRV.STATS` reports them. */
export interface EndpointStats {
  num_requests: number
  num_errors: number
  last_error: string
  /** Nanoseconds spent serving requests. */
  processing_time: number
}

export interface MicroEndpoint {
  readonly name: string
  readonly subject: string
  readonly queue_group: string
  readonly stats: EndpointStats
}

export interface MicroServiceInfo {
  readonly name: string
  readonly version: string
  readonly description: string
  readonly metadata?: Readonly<Record<string, string>>
}

export const newEndpointStats = (): EndpointStats => ({ num_requests: 0, num_errors: 0, last_error: '', processing_time: 0 })

/**
 * Answers NATS micro discovery (`$SRV.PING|INFO|STATS`, also `.<name>` and `.<name>.<id>`) for
 * one service instance, so `nats micro ls/info/stats` and any micro client can find it. The
 * endpoints themselves are plain queue subscriptions owned by the caller.
 */
export const startMicroDiscovery = (
  nc: NatsConnection,
  info: MicroServiceInfo,
  endpoints: () => readonly MicroEndpoint[],
): { readonly id: string; stop(): void } => {
  const id = nuid.next()
  const started = new Date().toISOString()
  const base = () => ({ name: info.name, id, version: info.version, metadata: info.metadata ?? {} })
  const answers: Record<string, () => unknown> = {
    PING: () => ({ type: 'io.nats.micro.v1.ping_response', ...base() }),
    INFO: () => ({
      type: 'io.nats.micro.v1.info_response',
      ...base(),
      description: info.description,
      endpoints: endpoints().map((e) => ({ name: e.name, subject: e.subject, queue_group: e.queue_group, metadata: {} })),
    }),
    STATS: () => ({
      type: 'io.nats.micro.v1.stats_response',
      ...base(),
      started,
      endpoints: endpoints().map((e) => ({
        name: e.name,
        subject: e.subject,
        queue_group: e.queue_group,
        ...e.stats,
        average_processing_time: e.stats.num_requests === 0 ? 0 : Math.round(e.stats.processing_time / e.stats.num_requests),
      })),
    }),
  }
  const subs: Subscription[] = []
  for (const verb of Object.keys(answers)) {
    const answer = answers[verb] as () => unknown
    const respond = (_err: unknown, msg: Msg) => {
      msg.respond(JSON.stringify(answer()))
    }
    for (const subject of microDiscoverySubjects(verb, info.name, id)) {
      subs.push(nc.subscribe(subject, { callback: respond }))
    }
  }
  return {
    id,
    stop: () => {
      for (const s of subs) s.unsubscribe()
    },
  }
}
