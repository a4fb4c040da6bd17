import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { defaultPrefix, subjects } from '../subjects.js'

export interface EventStreamOptions {
  /** JetStream stream name. Default `ALLSOURCE_EVENTS`. */
  readonly name: string
  /** Subject prefix. Default `allsource`. */
  readonly prefix: string
  /** Exactly-once window for commitIds. Default 2 minutes. */
  readonly duplicateWindowMs: number
  readonly replicas: number
  /** Set `allow_atomic` (atomic batch publish, nats-server >= 2.12), for grouped commits. Default: leave it as it is. */
  readonly allowAtomic?: boolean
}

/** The JetStream stream that holds the log. */
export const EVENT_STREAM = 'ALLSOURCE_EVENTS'

export const defaultEventStreamOptions: EventStreamOptions = {
  name: EVENT_STREAM,
  prefix: defaultPrefix,
  duplicateWindowMs: 120_000,
  replicas: 1,
}

const NS_PER_MS = 1_000_000

/** The stream configuration DESIGN.md fixes: file storage, nothing ever deleted or purged. */
export const eventStreamConfig = (o: EventStreamOptions): Partial<StreamConfig> & { name: string } => ({
  name: o.name,
  subjects: [subjects(o.prefix).eventsWildcard],
  storage: StorageType.File,
  retention: RetentionPolicy.Limits,
  // No limits, and should an operator add one, refuse new commits rather than drop old ones.
  discard: DiscardPolicy.New,
  max_msgs: -1,
  max_bytes: -1,
  max_age: 0,
  deny_delete: true,
  deny_purge: true,
  allow_direct: true,
  duplicate_window: o.duplicateWindowMs * NS_PER_MS,
  num_replicas: o.replicas,
  ...(o.allowAtomic === true ? { allow_atomic: true } : {}),
})

const parseVersion = (v: string): [number, number, number] => {
  const [a = 0, b = 0, c = 0] = v.split('.').map((x) => parseInt(x, 10) || 0)
  return [a, b, c]
}
const atLeast = (v: string, min: string): boolean => {
  const x = parseVersion(v)
  const y = parseVersion(min)
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return (x[i] as number) > (y[i] as number)
  return true
}

/** Whether the connected server can publish atomic batches (nats-server >= 2.12). */
export const supportsAtomicBatches = (nc: NatsConnection): boolean => atLeast(nc.info?.version ?? '0.0.0', '2.12.0')

/**
 * Checks the server (JetStream on; replicated streams refused before 2.9.21, nats-server issue
 * 4320; a warning before 2.12) and creates `ALLSOURCE_EVENTS` or brings an existing one to the
 * contract. Settings that cannot change in place (storage) fail with a clear message.
 */
export const ensureEventStream = async (
  nc: NatsConnection,
  jsm: JetStreamManager,
  o: EventStreamOptions = defaultEventStreamOptions,
  warn: (message: string) => void = (m) => console.warn(m),
): Promise<void> => {
  const version = nc.info?.version ?? '0.0.0'
  if (o.replicas > 1 && !atLeast(version, '2.9.21')) {
    throw new Error(
      `nats-server ${version} accepts two writers with the same expected sequence on replicated streams (nats-server issue 4320); use 2.9.21 or newer for replicas > 1`,
    )
  }
  if (!atLeast(version, '2.12.0')) {
    warn(
      `nats-server ${version} is older than 2.12: it is end of life and unpatched for 2026 advisories; AllSource accepts it without auth, for single-replica streams only`,
    )
  }
  const want = eventStreamConfig(o)
  let existing: StreamConfig | undefined
  try {
    existing = (await jsm.streams.info(o.name)).config
  } catch (e) {
    if (!(e instanceof Error) || !/not found/i.test(e.message)) throw e
  }
  if (existing === undefined) {
    await jsm.streams.add(want)
    return
  }
  if (existing.storage !== StorageType.File) {
    throw new Error(`stream ${o.name} exists with ${existing.storage} storage; AllSource needs file storage (recreate it)`)
  }
  const subjectsOk = (want.subjects ?? []).every((s) => existing.subjects?.includes(s))
  const drift =
    !subjectsOk ||
    existing.deny_delete !== true ||
    existing.deny_purge !== true ||
    existing.allow_direct !== true ||
    existing.duplicate_window !== want.duplicate_window ||
    existing.num_replicas !== want.num_replicas ||
    existing.discard !== DiscardPolicy.New ||
    (o.allowAtomic === true && existing.allow_atomic !== true)
  if (!drift) return
  try {
    await jsm.streams.update(o.name, { ...existing, ...want, subjects: [...new Set([...(existing.subjects ?? []), ...(want.subjects ?? [])])] })
  } catch (e) {
    throw new Error(`stream ${o.name} exists with settings AllSource cannot adopt: ${e instanceof Error ? e.message : String(e)}`)
  }
}
