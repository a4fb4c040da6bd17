import type { Snapshot, SnapshotStore } from '../../application/streams/ports.js'

/** Snapshots in memory, for tests and for running the library without a server. */
export const createInMemorySnapshotStore = (): SnapshotStore & { readonly size: number } => {
  const store = new Map<string, Snapshot>()
  return {
    get size() {
      return store.size
    },
    load: async (tenant, stream, stateVersion) => store.get(`${tenant}.${stream}.v${stateVersion}`),
    save: async (tenant, stream, snapshot) => {
      store.set(`${tenant}.${stream}.v${snapshot.stateVersion}`, snapshot)
    },
  }
}
