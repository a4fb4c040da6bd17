import { DeliverPolicy } from '@nats-io/jetstream'
import { defaultIdWindow, type IdScanPass, type IdWindow, planIdScan } from '../../../domain/reading/idWindow.js'
import type { Commit } from '../../../domain/streams/event.js'
import { decodeCommit } from '../../codec/commitCodec.js'
import { EVENT_STREAM } from '../log/eventStream.js'
import type { LogConsumers } from './logConsumer.js'

/**
 * Bytes one pull of a lookup asks for: a lookup usually stops after a few hundred commits, and
 * what the server sent past the hit is read for nothing (nats.js tops the pull up as it goes).
 */
const LOOKUP_PULL_BYTES = 256 * 1024

/** The last millisecond of the year 9999: ISO-8601 times after it need a sign, which JetStream does not take. */
const LAST_STORE_MS = Date.UTC(9999, 11, 31, 23, 59, 59, 999)

/** A commit of the tenant that holds the event looked up. */
export interface FoundCommit {
  readonly offset: number
  readonly commit: Commit
}

/** Store time of a log message in whole milliseconds (the server's clock). */
export const storeMillis = (timestampNanos: number): number => Math.floor(timestampNanos / 1e6)

/**
 * Whether the commit body can hold an event with this id: event ids are printable ASCII and
 * msgpack stores a string's bytes as they are, so a commit without the id's bytes anywhere in its
 * body cannot hold it, and is skipped without being decoded. A hit is confirmed on the decoded commit.
 */
export const mayHoldId = (body: Uint8Array, idBytes: Uint8Array): boolean =>
  Buffer.from(body.buffer, body.byteOffset, body.byteLength).indexOf(idBytes) >= 0

/** The commit in `body` if it holds an event with exactly this id. */
export const commitHolding = (body: Uint8Array, offset: number, id: string, idBytes: Uint8Array): Commit | undefined => {
  if (!mayHoldId(body, idBytes)) return undefined
  const commit = decodeCommit(body, offset)
  return commit.events.some((e) => e.id === id) ? commit : undefined
}

/**
 * Looks a UUIDv7 event id up by time: each pass of {@link planIdScan} is an ordered consumer on
 * the tenant's subjects (`<prefix>.events.<tenant>.>`, so another tenant's events are never
 * seen), started at the pass's store time (`opt_start_time`), reading until the store time passes
 * the pass's end or the log ends. Commits whose body does not contain the id's bytes are skipped
 * undecoded. Resolves to the first commit that holds the id, or undefined when none in the window
 * does (the event may then be in the supplied-id index, or not exist).
 */
export const createTimeWindowLookup = (
  consumers: LogConsumers,
  tenantFilter: (tenant: string) => string,
  window: IdWindow = defaultIdWindow,
) => {
  const pass = async (tenant: string, id: string, idBytes: Uint8Array, p: IdScanPass): Promise<FoundCommit | undefined> => {
    const lease = await consumers.open(EVENT_STREAM, {
      filter_subjects: [tenantFilter(tenant)],
      deliver_policy: DeliverPolicy.StartTime,
      opt_start_time: new Date(Math.max(0, p.fromMs)).toISOString(),
    })
    try {
      if ((await lease.consumer.info(true)).num_pending === 0) return undefined
      for await (const m of await lease.consume({ maxBytes: LOOKUP_PULL_BYTES })) {
        if (storeMillis(m.info.timestampNanos) > p.untilMs) return undefined
        const commit = commitHolding(m.data, m.seq, id, idBytes)
        if (commit !== undefined) return { offset: m.seq, commit }
        if (m.info.pending === 0) return undefined
      }
      return undefined
    } finally {
      lease.close()
    }
  }

  return async (tenant: string, id: string): Promise<FoundCommit | undefined> => {
    const idBytes = Buffer.from(id, 'latin1')
    for (const p of planIdScan(id, window)) {
      // A UUIDv7 can name any time up to the year 10889; nothing was stored before 1970 or after 9999.
      if (p.untilMs < 0 || p.fromMs > LAST_STORE_MS) continue
      const found = await pass(tenant, id, idBytes, p)
      if (found !== undefined) return found
    }
    return undefined
  }
}
