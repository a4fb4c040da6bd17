import type { Clock, IdGenerator } from '../../application/streams/ports.js'
import type { CommitId, EventId } from '../../domain/streams/ids.js'
import { uuidv7 } from './uuidv7.js'

/** The machine's wall clock. */
export const systemClock: Clock = { now: () => new Date() }

/** UUIDv7 ids: time-ordered, unique within and across processes. */
export const uuidv7Ids: IdGenerator = {
  eventId: () => uuidv7() as EventId,
  commitId: () => uuidv7() as CommitId,
}
