import type { ConnectionOptions } from '@nats-io/transport-node'

/**
 * The servers of a `NATS_URL` (or `ALLSOURCE_PROBE_URL`): one URL, or several separated by commas
 * (`nats://a:4222,nats://b:4222`, as the `nats` CLI takes them), in order, blanks dropped. The
 * client connects to the first that answers and fails over to the others (and to the cluster's
 * other nodes it learns from the server) when that one goes away.
 */
export const serversOf = (url: string): string[] =>
  url
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '')

/**
 * Options of the processor's long-lived connections (the processor itself, the auth callout, the
 * control connection):
 * - a stalled server is noticed within about 10 s (`pingInterval` 5 s, 2 pings outstanding; the
 *   client's default is 2 minutes), so the client moves to another node instead of letting
 *   appends wait out the stall;
 * - the connection reconnects without limit (every 0.5 s, jittered), so a node restart or a
 *   leader election longer than the client's default 10 attempts × 2 s does not close it and
 *   end the process. Requests made while it is away fail (UNAVAILABLE to clients), never queue
 *   without bound;
 * - `noAsyncTraces`: nats.js otherwise builds an `Error` (a stack capture) for every request it
 *   sends, in case it times out. The processor sends one or more requests per event it folds
 *   (read-model writes, acks with `ackAck`), and those captures were its largest single cost when
 *   events arrive one at a time (issue 14: ~130 µs per appended event with the built-in projections
 *   on). Errors still carry their message and cause, only not the caller's stack.
 */
export const longLivedConnection = (url: string): Pick<ConnectionOptions, 'servers' | 'pingInterval' | 'maxPingOut' | 'maxReconnectAttempts' | 'reconnectTimeWait' | 'noAsyncTraces'> => ({
  servers: serversOf(url),
  pingInterval: 5_000,
  maxPingOut: 2,
  maxReconnectAttempts: -1,
  reconnectTimeWait: 500,
  noAsyncTraces: true,
})
