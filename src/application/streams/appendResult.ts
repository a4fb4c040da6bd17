import type { StreamId, TenantId } from '../../domain/streams/ids.js'
import { versionRange } from '../../domain/streams/event.js'
import type { StoredCommit } from './ports.js'

/** The reply to a successful append. */
export interface AppendResult {
  readonly tenant: TenantId
  readonly stream: StreamId
  /** The commit's log offset (JetStream sequence); shared by all its events. */
  readonly offset: number
  readonly fromVersion: number
  readonly toVersion: number
  readonly eventIds: readonly string[]
  /** True when this commitId was already stored and nothing new was written. */
  readonly duplicate?: boolean
}

export const appendResultOf = (stored: StoredCommit, duplicate: boolean): AppendResult => {
  const { from, to } = versionRange(stored.commit)
  const base: AppendResult = {
    tenant: stored.commit.tenant,
    stream: stored.commit.stream,
    offset: stored.offset,
    fromVersion: from,
    toVersion: to,
    eventIds: stored.commit.events.map((e) => e.id),
  }
  return duplicate ? { ...base, duplicate: true } : base
}
