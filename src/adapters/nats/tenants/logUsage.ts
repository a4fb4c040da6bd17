import type { JetStreamManager } from '@nats-io/jetstream'
import { EVENT_STREAM } from '../log/eventStream.js'
import { subjects } from '../subjects.js'

/** `{ events, streams, bytes, lastActivity }` of a tenant's part of the log. */
export interface LogUsage {
  /** Log messages under the tenant's subjects: one per commit (an append of n events is one message), so commits, not events. */
  readonly events: number
  readonly streams: number
  /** Estimated: `events` × the log's mean message size (JetStream counts bytes per stream, not per subject). */
  readonly bytes: number
  /** When the tenant's newest event was stored (ISO 8601), or null for none. */
  readonly lastActivity: string | null
}

/** The tenant's commits, streams and estimated bytes (see {@link logUsageOf}), without `lastActivity`. */
export const logCountsOf = async (jsm: JetStreamManager, prefix: string, tenant: string): Promise<Omit<LogUsage, 'lastActivity'>> => {
  const info = await jsm.streams.info(EVENT_STREAM, { subjects_filter: subjects(prefix).eventsOf(tenant) })
  const counts = Object.values(info.state.subjects ?? {})
  const events = counts.reduce((a, b) => a + b, 0)
  const bytes = info.state.messages > 0 ? Math.round((events * info.state.bytes) / info.state.messages) : 0
  return { events, streams: counts.length, bytes }
}

/**
 * A tenant's usage of the log from JetStream: one stream info filtered to
 * `<prefix>.events.<tenant>.>` (each stream is one subject, so the filtered subject counts give
 * commits — one log message each — and streams; the server pages them, the client collects the
 * pages: O(streams) for one admin request or one quota resync, nothing on the append path), and
 * one direct get of the last message under that filter for `lastActivity`.
 */
export const logUsageOf = async (jsm: JetStreamManager, prefix: string, tenant: string): Promise<LogUsage> => {
  const counts = await logCountsOf(jsm, prefix, tenant)
  let lastActivity: string | null = null
  if (counts.events > 0) {
    try {
      const last = await jsm.streams.getMessage(EVENT_STREAM, { last_by_subj: subjects(prefix).eventsOf(tenant) })
      lastActivity = last === null ? null : last.time.toISOString()
    } catch {
      lastActivity = null
    }
  }
  return { ...counts, lastActivity }
}
