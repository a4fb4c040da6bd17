import type { CommitSizer } from '../../application/tenants/storedBytes.js'
import { encodeMsgpack } from './msgpack.js'

/** What the log adds to a commit's events: subject, headers (`Nats-Msg-Id`, versions, types), the envelope and JetStream's own record. */
const COMMIT_OVERHEAD = 360
/** What the stream actor adds to each event: its id (UUIDv7), version and timestamp, and their keys. */
const EVENT_OVERHEAD = 96

/**
 * A commit's size in the log, estimated from its command: the msgpack encoding of its events as
 * proposed, plus what the actor and the log add (ids, versions, timestamps, subject, headers).
 * Close to, not exactly, the stored size; one encoding of the events, no I/O.
 */
export const estimateCommitBytes: CommitSizer = (command) =>
  encodeMsgpack(command.events).length + command.events.length * EVENT_OVERHEAD + COMMIT_OVERHEAD + command.stream.length + command.tenant.length
