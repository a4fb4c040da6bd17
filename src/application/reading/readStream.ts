import * as E from 'fp-ts/lib/Either.js'
import type { RecordedEvent } from '../../domain/streams/event.js'
import type { StreamId, TenantId } from '../../domain/streams/ids.js'
import type { ReadRequest } from '../../domain/reading/readRequest.js'
import type { DomainError } from '../../domain/streams/errors.js'
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
 * How large a page may grow, measured as its reply will be encoded (JSON can be larger than
 * msgpack): the sum of `sizeOf` over its events stays within `maxBytes`.
 */
export interface PageBudget {
  readonly maxBytes: number
  /** Encoded size of one event in the reply, separators included. */
  sizeOf(event: unknown): number
}

/** Sizes of a commit's events against a budget: whether they fit, and their total. */
export const fits = (budget: PageBudget | undefined, used: number, events: readonly unknown[]): { readonly ok: boolean; readonly bytes: number } => {
  if (budget === undefined) return { ok: true, bytes: 0 }
  let bytes = 0
  for (const e of events) bytes += budget.sizeOf(e)
  return { ok: used + bytes <= budget.maxBytes, bytes }
}

/** One commit too large for any reply: the only case a page cannot be cut around. */
export const tooLargeCommit = (offset: number, size: number, max: number): DomainError => ({
  _tag: 'TooLarge',
  message: `the commit at offset ${offset} is ${size} bytes encoded; a reply may carry at most ${max}`,
  size,
  max,
  unit: 'bytes',
})

/**
 * Reads events `fromVersion` on, at most `limit`, in version order. Consistent with one head:
 * events appended while the page is read are not in it (ask again from `nextVersion`).
 *
 * With a `budget`, the page also stops before the commit that would take it past `budget.maxBytes`
 * (so it ends on a commit boundary, with `nextVersion` at that commit). A first commit that is
 * larger than the whole budget on its own answers `TooLarge`: it can never be sent in one reply.
 */
export const readStream = async (
  log: EventLog,
  tenant: TenantId,
  stream: StreamId,
  req: ReadRequest,
  budget?: PageBudget,
): Promise<E.Either<DomainError, StreamPage>> => {
  const head = await log.readHead(tenant, stream)
  if (head.version < req.fromVersion) return E.right({ events: [], version: head.version })
  const events: ReadEvent[] = []
  let bytes = 0
  for await (const stored of log.readStream(tenant, stream, head.lastOffset)) {
    const last = stored.commit.events[stored.commit.events.length - 1]
    if (last === undefined || last.version < req.fromVersion) continue
    const wanted: ReadEvent[] = []
    let cut: number | undefined
    for (const e of stored.commit.events) {
      if (e.version < req.fromVersion) continue
      if (events.length + wanted.length === req.limit) {
        cut = e.version
        break
      }
      wanted.push({ ...e, offset: stored.offset })
    }
    const size = fits(budget, bytes, wanted)
    if (!size.ok) {
      const first = wanted[0]
      if (events.length === 0 || first === undefined) {
        return E.left(tooLargeCommit(stored.offset, size.bytes, budget?.maxBytes ?? 0))
      }
      return E.right({ events, version: head.version, nextVersion: first.version })
    }
    bytes += size.bytes
    events.push(...wanted)
    if (cut !== undefined) return E.right({ events, version: head.version, nextVersion: cut })
  }
  const lastRead = events[events.length - 1]?.version ?? head.version
  return E.right(lastRead < head.version ? { events, version: head.version, nextVersion: lastRead + 1 } : { events, version: head.version })
}
