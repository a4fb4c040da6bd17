import type { Commit } from '../../domain/streams/event.js'
import type { StreamId, TenantId } from '../../domain/streams/ids.js'
import { type AppendOutcome, emptyHead, type EventLog, type StoredCommit, type StreamHead } from '../../application/streams/ports.js'

export interface InMemoryEventLog extends EventLog {
  /** Every stored commit in offset order. */
  commits(): readonly StoredCommit[]
}

/**
 * An {@link EventLog} in memory, with the JetStream adapter's semantics: offsets from 1, dedupe by
 * commitId across the whole log checked before the expected last offset, one commit per append.
 * For tests and for trying the library without a server; nothing survives the process.
 */
export const createInMemoryEventLog = (options: { readonly maxPayload?: number } = {}): InMemoryEventLog => {
  const maxPayload = options.maxPayload ?? 1024 * 1024
  const log: StoredCommit[] = []
  const byCommitId = new Map<string, StoredCommit>()
  const byStream = new Map<string, StoredCommit[]>()
  const key = (tenant: string, stream: string) => `${tenant}.${stream}`

  return {
    commits: () => log,
    async readHead(tenant: TenantId, stream: StreamId): Promise<StreamHead> {
      const last = byStream.get(key(tenant, stream))?.at(-1)
      if (last === undefined) return emptyHead
      return { version: last.commit.events.at(-1)?.version ?? 0, lastOffset: last.offset }
    },
    async *readStream(tenant: TenantId, stream: StreamId, toOffset: number, fromOffset = 1): AsyncIterable<StoredCommit> {
      for (const c of byStream.get(key(tenant, stream)) ?? []) {
        if (c.offset < fromOffset) continue
        if (c.offset > toOffset) return
        yield c
      }
    },
    async append(commit: Commit, expectedLastOffset: number): Promise<AppendOutcome> {
      const size = JSON.stringify(commit).length
      if (size > maxPayload) return { _tag: 'TooLarge', size, max: maxPayload }
      const original = byCommitId.get(commit.commitId)
      if (original !== undefined) return { _tag: 'Duplicate', original }
      const k = key(commit.tenant, commit.stream)
      const stream = byStream.get(k) ?? []
      const actual = stream.at(-1)?.offset ?? 0
      if (actual !== expectedLastOffset) return { _tag: 'Conflict', actualLastOffset: actual }
      const stored: StoredCommit = { offset: log.length + 1, commit }
      log.push(stored)
      stream.push(stored)
      byStream.set(k, stream)
      byCommitId.set(commit.commitId, stored)
      return { _tag: 'Appended', offset: stored.offset }
    },
    async findDuplicate(commit: Commit): Promise<StoredCommit | undefined> {
      return byCommitId.get(commit.commitId)
    },
  }
}
