import type { Commit, RecordedEvent } from '../../domain/streams/event.js'
import { decodeMsgpack, encodeMsgpack } from './msgpack.js'

/**
 * The commit body as stored in the log (msgpack):
 * `{ commitId, tenant, stream, events: [ { id, type, version, timestamp, payload, metadata? } ] }`.
 */
export const encodeCommit = (commit: Commit): Uint8Array =>
  encodeMsgpack({
    commitId: commit.commitId,
    tenant: commit.tenant,
    stream: commit.stream,
    events: commit.events.map((e) => {
      const out: Record<string, unknown> = {
        id: e.id,
        type: e.type,
        version: e.version,
        timestamp: e.timestamp,
        payload: e.payload,
      }
      if (e.metadata !== undefined) out.metadata = e.metadata
      return out
    }),
  })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null

/**
 * Decodes a stored commit. The log is written only by AllSource, so a body that is not a commit
 * is a defect (someone published to `allsource.events.>` by hand): it throws with the offset.
 */
export const decodeCommit = (bytes: Uint8Array, offset: number): Commit => {
  const body = decodeMsgpack(bytes)
  if (!isRecord(body) || !Array.isArray(body.events) || typeof body.commitId !== 'string') {
    throw new Error(`message at offset ${offset} is not an AllSource commit`)
  }
  return body as unknown as Commit
}

/** The distinct event types of a commit, comma-separated, for the `AllSource-Types` header. */
export const typesHeader = (events: readonly RecordedEvent[]): string => {
  if (events.length === 1) return (events[0] as RecordedEvent).type
  return [...new Set(events.map((e) => e.type))].join(',')
}
