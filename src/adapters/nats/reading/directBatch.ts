import { createInbox, type Msg, type NatsConnection } from '@nats-io/transport-node'

/**
 * One JetStream batch direct get (`$JS.API.DIRECT.GET.<stream>`, nats-server 2.11 and newer, the
 * stream with `allow_direct`): the server answers up to `batch` messages from a start (a store
 * time or a sequence), each the next one matching `next_by_subj`, then an end-of-batch status
 * (204 EOB, carrying how many matching messages are left). No consumer is created, so nothing
 * has to be deleted afterwards and nothing counts against the consumer limits.
 */
export interface DirectBatchRequest {
  /** First message stored at or after this time (ISO-8601). Exclusive with `seq`. */
  readonly start_time?: string
  /** First message at or after this sequence. Exclusive with `start_time`. */
  readonly seq?: number
  /** Only messages on subjects matching this filter (wildcards allowed). */
  readonly next_by_subj?: string
  /** Most messages answered (≥ 1). */
  readonly batch: number
  /** The server stops once this many bytes (subjects, headers and bodies) were answered. */
  readonly max_bytes?: number
}

/** One stored message of a batch. */
export interface DirectMessage {
  readonly seq: number
  readonly subject: string
  /** Store time in whole milliseconds (the server's clock, truncated as {@link storeMillisOf} does). */
  readonly storeMs: number
  readonly data: Uint8Array
}

/** How a batch ended. */
export type DirectBatchEnd =
  /** The visitor asked to stop (the rest of the batch, still arriving, is dropped). */
  | { readonly _tag: 'Stopped' }
  /** The batch was answered in full: `lastSeq` the last message sent, `pending` matching messages after it. */
  | { readonly _tag: 'EndOfBatch'; readonly lastSeq: number; readonly pending: number }
  /** Nothing matches from the start on. */
  | { readonly _tag: 'NoResults' }

/** The server refused a batch, or answered nothing in time. */
export class DirectBatchError extends Error {
  override readonly name = 'DirectBatchError'
}

/**
 * Whole milliseconds of a store time as the server formats it in direct get headers (RFC 3339,
 * UTC, up to nine fractional digits, trailing zeros trimmed): truncated, never rounded, so it is
 * the same millisecond as `Math.floor(timestampNanos / 1e6)` of a consumer's delivery. NaN for
 * anything else.
 */
export const storeMillisOf = (ts: string): number => {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?Z$/.exec(ts)
  if (m === null) return Number.NaN
  const whole = Date.parse(`${m[1] ?? ''}Z`)
  const frac = m[2] ?? ''
  return whole + (frac === '' ? 0 : Math.floor(Number(frac.padEnd(9, '0')) / 1e6))
}

const header = (m: Msg, name: string): string => m.headers?.last(name) ?? ''

/**
 * Sends one batch direct get and hands each message to `visit`, in stream order, until `visit`
 * returns true (stop) or the batch ends. Settles once: with how the batch ended, or rejects with
 * {@link DirectBatchError} on a refusal (a status other than 204 or 404) or when nothing arrived
 * for `idleMs`, or with what `visit` threw, or what publishing threw (a closed connection). The subscription is removed in every case. On a server before 2.11 the request is
 * answered as a plain get (one message, no end-of-batch status): callers check the server version.
 */
export const directBatch = (
  nc: NatsConnection,
  stream: string,
  request: DirectBatchRequest,
  visit: (m: DirectMessage) => boolean,
  idleMs = 5_000,
): Promise<DirectBatchEnd> =>
  new Promise<DirectBatchEnd>((resolve, reject) => {
    const inbox = createInbox((nc as { readonly options?: { readonly inboxPrefix?: string } }).options?.inboxPrefix)
    let done = false
    let timer: ReturnType<typeof setTimeout> | undefined
    const finish = (end: DirectBatchEnd | Error) => {
      if (done) return
      done = true
      clearTimeout(timer)
      sub.unsubscribe()
      if (end instanceof Error) reject(end)
      else resolve(end)
    }
    const arm = () => {
      clearTimeout(timer)
      timer = setTimeout(() => finish(new DirectBatchError(`direct get on ${stream}: no answer in ${idleMs} ms`)), idleMs)
    }
    const sub = nc.subscribe(inbox, {
      callback: (err, m) => {
        if (done) return
        if (err !== null) return finish(new DirectBatchError(`direct get on ${stream}: ${err.message}`))
        const code = m.headers?.code ?? 0
        if (code === 204) return finish({ _tag: 'EndOfBatch', lastSeq: Number(header(m, 'Nats-Last-Sequence')) || 0, pending: Number(header(m, 'Nats-Num-Pending')) || 0 })
        if (code === 404) return finish({ _tag: 'NoResults' })
        if (code !== 0) return finish(new DirectBatchError(`direct get on ${stream}: ${code} ${m.headers?.description ?? ''}`.trim()))
        arm()
        let stop: boolean
        try {
          stop = visit({ seq: Number(header(m, 'Nats-Sequence')), subject: header(m, 'Nats-Subject'), storeMs: storeMillisOf(header(m, 'Nats-Time-Stamp')), data: m.data })
        } catch (e) {
          return finish(e instanceof Error ? e : new Error(String(e)))
        }
        if (stop) finish({ _tag: 'Stopped' })
      },
    })
    arm()
    try {
      nc.publish(`$JS.API.DIRECT.GET.${stream}`, JSON.stringify(request), { reply: inbox })
    } catch (e) {
      finish(e instanceof Error ? e : new Error(String(e)))
    }
  })
