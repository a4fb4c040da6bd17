import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import type { FrequencyReadModel } from '../../../application/analytics/runAnalytics.js'
import type { ReadModelTypes } from '../../../domain/analytics/frequencyReadModel.js'
import { eventFrequency, type EventFrequencyState } from '../../../domain/projections/builtins.js'
import { isProjectionKey } from '../../../domain/projections/projection.js'
import { EVENT_STREAM } from '../log/eventStream.js'
import type { ProjectionEntry, ProjectionReader } from '../projections/projectionReader.js'

/** How long a request waits, at most, for `event-frequency` to reach the log's end before it scans (docs/analytics.md). */
export const defaultReadModelWaitMs = 2_000
/**
 * Most commits the projection may be behind the log's end for a request to wait for it: further
 * behind (catching up after a restart, a rebuild from the start), it would not make it within the
 * wait, so the request scans at once rather than after the wait.
 */
export const defaultReadModelMaxLag = 20_000
/** Most event types a request without `where` reads from the read model; a tenant with more is scanned. */
export const defaultReadModelMaxTypes = 1_000
/** Reads of the read model per request: a read that finds a type moved past the checkpoint is tried again (the log grew meanwhile). */
const ATTEMPTS = 3
/** Keys read at once. */
const PARALLEL_GETS = 64

export interface FrequencyReadModelOptions {
  /** The reader (shared with the projection endpoints). */
  readonly reader: () => Promise<ProjectionReader>
  /**
   * Whether the built-in `event-frequency` (this version of it) runs in this process and is not
   * paused or failed: only then is its read model known to be this fold's, and worth waiting for.
   */
  readonly running: () => boolean
  readonly waitMs?: number
  readonly maxLag?: number
  readonly maxTypes?: number
}

const gets = async (reader: ProjectionReader, tenant: string, keys: readonly string[]): Promise<(ProjectionEntry | undefined)[]> => {
  const out: (ProjectionEntry | undefined)[] = []
  for (let i = 0; i < keys.length; i += PARALLEL_GETS) out.push(...(await Promise.all(keys.slice(i, i + PARALLEL_GETS).map((k) => reader.get(eventFrequency.name, tenant, k)))))
  return out
}

/**
 * The `event-frequency` read model as analytics reads it ({@link FrequencyReadModel}): a prefix of
 * the log, exactly.
 *
 * 1. The projection must run here (`running`) and its active read model must be this version's
 *    (the pointer's `version`), else Left at once.
 * 2. `end`: the log's last offset now. It waits (at most `waitMs`) until the projection's checkpoint
 *    `c` (its consumer's ack floor: every commit up to `c` is written) reaches `end`; not at all
 *    when the checkpoint is more than `maxLag` commits (default 20,000) behind: Left at once.
 * 3. It reads the types' entries (for `All`, the tenant's keys first). Each entry records the
 *    offset of the last event folded into it: if every one is at most `c`, each state holds exactly
 *    its type's events up to `c` (all of them, since `c` was reached before the reads, and none
 *    later), so together they are the log's prefix up to `c`, which the log was at an instant
 *    during the request. An entry past `c` (the log grew meanwhile) makes it read the checkpoint
 *    and the entries again, up to 3 times in all; a generation switch-over between the checkpoint
 *    and the reads, likewise.
 *
 * Types that are not projection keys (`a:b`) have no entry: an event of such a type parks the
 * projection (a poison key), so a checkpoint at `end` means the log has none of them.
 */
export const createFrequencyReadModel = (nc: NatsConnection, o: FrequencyReadModelOptions): FrequencyReadModel => {
  const jsmP = jetstreamManager(nc, { checkAPI: false })
  const waitMs = o.waitMs ?? defaultReadModelWaitMs
  const maxTypes = o.maxTypes ?? defaultReadModelMaxTypes
  const maxLag = o.maxLag ?? defaultReadModelMaxLag
  const name = eventFrequency.name

  const attempt = async (reader: ProjectionReader, tenant: string, types: ReadModelTypes, deadline: number): Promise<E.Either<string, readonly EventFrequencyState[]> | 'again'> => {
    const before = await reader.pointer(name)
    if (before === undefined) return E.left(`projection ${name} has no read model yet`)
    if (before.version !== eventFrequency.version) return E.left(`the read model of ${name} is version ${before.version}, not ${eventFrequency.version}`)
    const end = (await (await jsmP).streams.info(EVENT_STREAM)).state.last_seq
    const at = await reader.checkpoint(name)
    if (end - at > maxLag) return E.left(`projection ${name} is at offset ${at}, more than ${maxLag} commits behind the log's end ${end}: not waited for`)
    const waited = await reader.waitFor(name, end, Math.max(0, deadline - performance.now()))
    if (!waited.reached) return E.left(`projection ${name} is at offset ${waited.checkpoint}, not at the log's end ${end}, after waiting`)
    let keys: readonly string[]
    if (types._tag === 'All') {
      const page = await reader.keys(name, tenant, { limit: maxTypes + 1 })
      if (page.keys.length > maxTypes) return E.left(`the tenant has more than ${maxTypes} event types`)
      keys = page.keys
    } else keys = types.types.filter(isProjectionKey)
    const entries = await gets(reader, tenant, keys)
    const after = await reader.pointer(name)
    if (after?.generation !== before.generation) return 'again'
    if (entries.some((e) => e !== undefined && e.offset > waited.checkpoint)) return 'again'
    return E.right(entries.flatMap((e) => (e === undefined ? [] : [e.state as EventFrequencyState])))
  }

  return {
    async states(tenant, types) {
      if (!o.running()) return E.left(`projection ${name} (version ${eventFrequency.version}) is not running in this process`)
      try {
        const reader = await o.reader()
        const deadline = performance.now() + waitMs
        for (let i = 0; i < ATTEMPTS; i++) {
          const r = await attempt(reader, tenant, types, deadline)
          if (r !== 'again') return r
        }
        return E.left(`the log kept growing under the read model's types (${ATTEMPTS} reads)`)
      } catch (e) {
        return E.left(`reading the read model failed: ${e instanceof Error ? e.message : String(e)}`)
      }
    },
  }
}
