export { createInMemoryEventLog } from './inMemoryEventLog.js'
export type { InMemoryEventLog } from './inMemoryEventLog.js'
export { createInMemorySnapshotStore } from './inMemorySnapshotStore.js'
