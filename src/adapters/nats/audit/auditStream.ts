import { DiscardPolicy, RetentionPolicy, StorageType, type JetStreamManager, type StreamConfig } from '@nats-io/jetstream'
import { defaultPrefix, subjects } from '../subjects.js'

export interface AuditStreamOptions {
  /** JetStream stream name. Default `ALLSOURCE_AUDIT`. */
  readonly stream: string
  /** Subject prefix. Default `allsource`. */
  readonly prefix: string
  readonly replicas: number
  /** How long an entry is kept; 0 keeps entries forever. Default 90 days. */
  readonly maxAgeMs: number
  /** Most bytes the stream keeps (oldest dropped first); -1 for no limit. Default -1. */
  readonly maxBytes: number
  /** A retried write with the same entry id inside this window is stored once. Default 2 minutes. */
  readonly duplicateWindowMs: number
}

export const AUDIT_STREAM = 'ALLSOURCE_AUDIT'

export const DAY_MS = 86_400_000

export const defaultAuditStreamOptions: AuditStreamOptions = {
  stream: AUDIT_STREAM,
  prefix: defaultPrefix,
  replicas: 1,
  maxAgeMs: 90 * DAY_MS,
  maxBytes: -1,
  duplicateWindowMs: 120_000,
}

/** An entry is a few KiB at most (bounded by its codec); anything larger is not an entry. */
export const AUDIT_MAX_MSG_SIZE = 64 * 1024

const NS_PER_MS = 1_000_000

/**
 * `ALLSOURCE_AUDIT`: file storage, subjects `allsource.audit.>`, limits retention by age (and
 * optionally bytes), discarding the oldest. `deny_delete` and `deny_purge`: no client can remove
 * single entries or empty the log through the JetStream API; only the retention limits expire
 * entries (deleting the whole stream is still possible for whoever may manage streams).
 */
export const auditStreamConfig = (o: AuditStreamOptions): Partial<StreamConfig> & { name: string } => ({
  name: o.stream,
  subjects: [subjects(o.prefix).auditWildcard],
  storage: StorageType.File,
  retention: RetentionPolicy.Limits,
  discard: DiscardPolicy.Old,
  max_msgs: -1,
  max_bytes: o.maxBytes,
  max_age: o.maxAgeMs * NS_PER_MS,
  max_msg_size: AUDIT_MAX_MSG_SIZE,
  deny_delete: true,
  deny_purge: true,
  duplicate_window: Math.min(o.duplicateWindowMs, o.maxAgeMs > 0 ? o.maxAgeMs : o.duplicateWindowMs) * NS_PER_MS,
  num_replicas: o.replicas,
})

/**
 * Creates the audit stream, or brings an existing one's retention (age, bytes), duplicate window
 * and replicas to `o` (so a changed retention setting takes effect on the next start). File
 * storage cannot change in place: a stream with other storage is an error.
 */
export const ensureAuditStream = async (jsm: JetStreamManager, o: AuditStreamOptions = defaultAuditStreamOptions): Promise<void> => {
  const want = auditStreamConfig(o)
  let existing: StreamConfig | undefined
  try {
    existing = (await jsm.streams.info(o.stream)).config
  } catch (e) {
    if (!(e instanceof Error) || !/not found/i.test(e.message)) throw e
  }
  if (existing === undefined) {
    await jsm.streams.add(want)
    return
  }
  if (existing.storage !== StorageType.File) throw new Error(`stream ${o.stream} exists with ${existing.storage} storage; the audit log needs file storage`)
  const drift =
    !(want.subjects ?? []).every((s) => existing.subjects?.includes(s)) ||
    existing.max_age !== want.max_age ||
    existing.max_bytes !== want.max_bytes ||
    existing.duplicate_window !== want.duplicate_window ||
    existing.num_replicas !== want.num_replicas ||
    existing.deny_delete !== true ||
    existing.deny_purge !== true
  if (!drift) return
  await jsm.streams.update(o.stream, { ...existing, ...want, subjects: [...new Set([...(existing.subjects ?? []), ...(want.subjects ?? [])])] })
}
