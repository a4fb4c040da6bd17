import type { StreamId, TenantId } from '../../domain/streams/ids.js'
import type { StreamModule } from '../../domain/streams/module.js'
import { ModuleFailed } from './errors.js'
import type { EventLog, SnapshotStore } from './ports.js'
import type { LoadedStream } from './prepareCommit.js'

/**
 * Hydrates one stream. A plain stream needs only its head (one direct get of the last message on
 * its subject); a module stream starts from its latest snapshot for the module's `stateVersion`,
 * if any, and folds the commits after it up to that head with the module's `evolve`.
 * Rejects with {@link ModuleFailed} when `evolve` throws (a defect), with the log's own error otherwise.
 */
export const loadStream = async (
  log: EventLog,
  module: StreamModule | undefined,
  tenant: TenantId,
  stream: StreamId,
  snapshots?: SnapshotStore,
): Promise<LoadedStream> => {
  const head = await log.readHead(tenant, stream)
  if (module === undefined) return { head, state: undefined }
  let state = module.initialState
  if (head.lastOffset === 0) return { head, state }
  const snap = await snapshots?.load(tenant, stream, module.stateVersion)
  // A snapshot ahead of the log (a log restored from an older backup) is ignored.
  const usable = snap !== undefined && snap.version <= head.version && snap.offset <= head.lastOffset ? snap : undefined
  if (usable !== undefined) {
    state = usable.state
    if (usable.offset === head.lastOffset) return { head, state }
  }
  for await (const stored of log.readStream(tenant, stream, head.lastOffset, (usable?.offset ?? 0) + 1)) {
    try {
      for (const e of stored.commit.events) state = module.evolve(state, e)
    } catch (e) {
      throw new ModuleFailed(e)
    }
  }
  return { head, state }
}

/** True when an append from `before` to `after` crossed a multiple of `every` (a snapshot is due). */
export const snapshotDue = (before: number, after: number, every: number): boolean =>
  every > 0 && Math.floor(after / every) > Math.floor(before / every)
