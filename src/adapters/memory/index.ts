export { createInMemoryEventLog } from './inMemoryEventLog.js'
export type { InMemoryEventLog } from './inMemoryEventLog.js'
