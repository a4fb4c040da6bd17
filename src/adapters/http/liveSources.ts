import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { EVENT_STREAM } from '../nats/log/eventStream.js'
import type { ProjectionEntry, ProjectionReader } from '../nats/projections/projectionReader.js'
import { subscribeProjectionTopic, type TopicChange } from '../nats/projections/topicSubscription.js'
import type { ReplayedEvent, ReplayOptions } from '../nats/reading/replay.js'

/**
 * The ports the live routes read from, narrow so that the gateway can run them on anything that
 * keeps the same promises (the tests use the real ones).
 */

/** What the event stream follows: the processor's `replay` (`AllSource.replay`). */
export interface LiveEventSource {
  /** The log's last offset now (0 when empty): a stream "from now" starts after it. */
  end(): Promise<number>
  /**
   * The tenant's events from `fromOffset` (inclusive), following the log, in offset order and
   * version order within a commit, with backpressure (nothing is read ahead of the caller but one
   * pull). `return()` stops it and deletes its consumer. Rejects (on open or on any `next`) when
   * the log cannot be read.
   */
  follow(options: { readonly tenant: string; readonly stream?: string; readonly type?: string; readonly fromOffset: number }): Promise<AsyncIterator<ReplayedEvent>>
}

/** What the projection stream reads: the projection topic, and the read models for the catch-up. */
export interface LiveProjectionSource {
  /** Whether the projection has a read model (it ran at least once). */
  exists(projection: string): Promise<boolean>
  /** Every change the processor publishes for the tenant's projection from now on, until `stop()`. */
  subscribe(tenant: string, projection: string, onChange: (change: TopicChange) => void): { stop(): void }
  /** The tenant's keys in lexical order. */
  keys(projection: string, tenant: string): Promise<readonly string[]>
  /** One key's current state, or undefined. */
  get(projection: string, tenant: string, key: string): Promise<ProjectionEntry | undefined>
}

/** The event source over a processor's `replay` (`app.replay` in src/main/allSource.ts). */
export const replayEventSource = (
  nc: NatsConnection,
  replay: (options: Omit<ReplayOptions, 'prefix' | 'streamName'>) => AsyncIterableIterator<ReplayedEvent>,
  streamName: string = EVENT_STREAM,
): LiveEventSource => ({
  end: async () => (await (await jetstreamManager(nc)).streams.info(streamName)).state.last_seq,
  follow: (o) =>
    Promise.resolve(
      replay({
        tenant: o.tenant,
        ...(o.stream !== undefined ? { stream: o.stream } : {}),
        ...(o.type !== undefined ? { type: o.type } : {}),
        fromOffset: Math.max(1, o.fromOffset),
        follow: true,
      }),
    ),
})

/** The projection source over the topic and a projection reader (`createProjectionReader`). */
export const natsProjectionSource = (nc: NatsConnection, reader: ProjectionReader, prefix?: string): LiveProjectionSource => ({
  exists: async (projection) => (await reader.pointer(projection)) !== undefined,
  subscribe(tenant, projection, onChange) {
    const { subscription } = subscribeProjectionTopic(nc, tenant, projection, onChange, prefix !== undefined ? { prefix } : {})
    return { stop: () => subscription.unsubscribe() }
  },
  keys: async (projection, tenant) => (await reader.keys(projection, tenant, { limit: Number.MAX_SAFE_INTEGER })).keys,
  get: (projection, tenant, key) => reader.get(projection, tenant, key),
})
