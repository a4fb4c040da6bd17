import type { StreamId, TenantId } from '../../domain/streams/ids.js'
import type { StreamModule } from '../../domain/streams/module.js'
import { loadStream } from '../streams/loadStream.js'
import type { EventLog, Snapshot, SnapshotStore } from '../streams/ports.js'

/**
 * Takes a snapshot of a module stream now: hydrates it (from its last snapshot and the tail) and
 * stores the folded state at its current head. Answers the snapshot, or undefined for an empty
 * stream. Safe at any time: a snapshot is a fold of the log up to a known offset.
 */
export const takeSnapshot = async (
  log: EventLog,
  snapshots: SnapshotStore,
  module: StreamModule,
  tenant: TenantId,
  stream: StreamId,
  now: Date,
): Promise<Snapshot | undefined> => {
  const loaded = await loadStream(log, module, tenant, stream, snapshots)
  if (loaded.head.version === 0) return undefined
  const snapshot: Snapshot = {
    stateVersion: module.stateVersion,
    version: loaded.head.version,
    offset: loaded.head.lastOffset,
    state: loaded.state,
    takenAt: now,
  }
  await snapshots.save(tenant, stream, snapshot)
  return snapshot
}

/** Where to stop folding: at a version, or at the last event at or before a time. */
export type AsOf = { readonly version: number } | { readonly time: Date }

/**
 * The state of a module stream as of a version or a time: a fold from the start of the stream
 * up to there (snapshots are not used, so any point in history can be asked for). Answers the
 * state and the version it reflects.
 */
export const stateAsOf = async (
  log: EventLog,
  module: StreamModule,
  tenant: TenantId,
  stream: StreamId,
  asOf: AsOf,
): Promise<{ readonly state: unknown; readonly version: number }> => {
  const head = await log.readHead(tenant, stream)
  let state = module.initialState
  let version = 0
  if (head.lastOffset === 0) return { state, version }
  const stop = (e: { version: number; timestamp: Date }) =>
    'version' in asOf ? e.version > asOf.version : new Date(e.timestamp).getTime() > asOf.time.getTime()
  for await (const stored of log.readStream(tenant, stream, head.lastOffset)) {
    for (const e of stored.commit.events) {
      if (stop(e)) return { state, version }
      state = module.evolve(state, e)
      version = e.version
    }
  }
  return { state, version }
}
