import type { JetStreamManager } from '@nats-io/jetstream'
import { EVENT_STREAM } from '../log/eventStream.js'
import { subjects } from '../subjects.js'

/** One page of a tenant's streams, in name order. */
export interface StreamListPage {
  /** Each stream with its commit count (log messages: one per commit, not per event). */
  readonly streams: readonly { readonly stream: string; readonly commits: number }[]
  /** More matched: pass it as `after` for the next page. */
  readonly next?: string
}

/**
 * The tenant's streams whose name starts with `namePrefix`, in name order, after `after`
 * (exclusive), at most `limit`. Each stream is one subject `<prefix>.events.<tenant>.<stream>` of
 * the log, so this is one stream info filtered to `<prefix>.events.<tenant>.>` (JetStream pages the
 * subject counts, the client collects them): O(the tenant's streams) per call, the same read the
 * tenant's `stats` makes, and nothing on the append path. Rejects when JetStream does not answer.
 */
export const listStreams = async (
  jsm: JetStreamManager,
  prefix: string,
  tenant: string,
  page: { readonly namePrefix: string; readonly after?: string; readonly limit: number },
): Promise<StreamListPage> => {
  const info = await jsm.streams.info(EVENT_STREAM, { subjects_filter: subjects(prefix).eventsOf(tenant) })
  const head = `${prefix}.events.${tenant}.`
  const names = Object.entries(info.state.subjects ?? {})
    .map(([subject, commits]) => ({ stream: subject.slice(head.length), commits }))
    .filter((s) => s.stream.startsWith(page.namePrefix) && (page.after === undefined || s.stream > page.after))
    .sort((a, b) => (a.stream < b.stream ? -1 : a.stream > b.stream ? 1 : 0))
  const streams = names.slice(0, page.limit)
  const last = streams[streams.length - 1]
  return names.length > page.limit && last !== undefined ? { streams, next: last.stream } : { streams }
}
