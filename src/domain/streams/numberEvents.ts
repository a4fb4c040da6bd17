import type { EventId, Version } from './ids.js'
import type { ProposedEvent, RecordedEvent } from './event.js'

/**
 * Turns proposed events into recorded ones: consecutive versions after `currentVersion`, one
 * shared timestamp, the client's id or a fresh one from `newId`. Pure given `newId`.
 */
export const numberEvents = (
  events: readonly ProposedEvent[],
  currentVersion: number,
  timestamp: Date,
  newId: () => EventId,
): RecordedEvent[] =>
  events.map((e, i) => {
    const recorded: RecordedEvent = {
      id: e.id ?? newId(),
      type: e.type,
      version: (currentVersion + i + 1) as Version,
      timestamp,
      payload: e.payload,
    }
    return e.metadata === undefined ? recorded : { ...recorded, metadata: e.metadata }
  })
