import type { RecordedEvent } from '../../domain/streams/event.js'
import type { StreamId, TenantId } from '../../domain/streams/ids.js'
import type { ReadRequest } from '../../domain/reading/readRequest.js'
import type { EventLog } from '../streams/ports.js'

/** An event as read back, with the offset of the commit that holds it. */
export type ReadEvent = RecordedEvent & { readonly offset: number }

/** One page of a stream: events in version order, the stream's version, and where to go on. */
export interface StreamPage {
  readonly events: readonly ReadEvent[]
  /** The stream's current version (0 for an empty or unknown stream). */
  readonly version: number
  /** The next version to ask for, when the page stopped before the end. */
  readonly nextVersion?: number
}

/**
 * Reads events `fromVersion` on, at most `limit`, in version order. Consistent with one head:
 * events appended while the page is read are not in it (ask again from `nextVersion`).
 */
export const readStream = async (log: EventLog, tenant: TenantId, stream: StreamId, req: ReadRequest): Promise<StreamPage> => {
  const head = await log.readHead(tenant, stream)
  if (head.version < req.fromVersion) return { events: [], version: head.version }
  const events: ReadEvent[] = []
  for await (const stored of log.readStream(tenant, stream, head.lastOffset)) {
    const last = stored.commit.events[stored.commit.events.length - 1]
    if (last === undefined || last.version < req.fromVersion) continue
    for (const e of stored.commit.events) {
      if (e.version < req.fromVersion) continue
      if (events.length === req.limit) {
        return { events, version: head.version, nextVersion: e.version }
      }
      events.push({ ...e, offset: stored.offset })
    }
  }
  const lastRead = events[events.length - 1]?.version ?? head.version
  return lastRead < head.version ? { events, version: head.version, nextVersion: lastRead + 1 } : { events, version: head.version }
}
