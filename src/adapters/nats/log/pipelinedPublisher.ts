import { createInbox, type Msg, type MsgHdrs, type NatsConnection, type Subscription } from '@nats-io/transport-node'

/** What the server said to one publish. */
export type PublishResult =
  /** `batchCount`: present on the ack of an atomic batch's commit, the number of messages it stored (ending at `seq`). */
  | { readonly _tag: 'Stored'; readonly seq: number; readonly duplicate: boolean; readonly batchCount?: number }
  | { readonly _tag: 'Rejected'; readonly errCode: number; readonly description: string }
  | { readonly _tag: 'NoResponders' }
  | { readonly _tag: 'TimedOut' }

/** Publishes to JetStream and reports the server's answer; never rejects. */
export interface Publisher {
  publish(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<PublishResult>
  close(): void
}

interface Pending {
  readonly resolve: (r: PublishResult) => void
  readonly sentAt: number
}

interface PubAckBody {
  readonly seq?: number
  readonly duplicate?: boolean
  readonly batch?: string
  readonly count?: number
  readonly error?: { readonly err_code?: number; readonly code?: number; readonly description?: string }
}

const decoder = new TextDecoder()

/**
 * The common ack, `{"stream":"…", "seq":N}` (maybe with a domain), read without building an
 * object. Anything else (an error, a duplicate, an unexpected shape) returns undefined and is
 * parsed as JSON: the server formats some acks by hand, spacing included, so only the plain
 * stored ack is read here (not a batch's, whose count is read as JSON). A stream name cannot fake
 * `"seq":` since JSON escapes its quotes.
 */
export const storedAck = (text: string): PublishResult | undefined => {
  if (!text.startsWith('{"stream":') || text.includes('"error"') || text.includes('"duplicate"') || text.includes('"batch"')) return undefined
  const at = text.indexOf('"seq":')
  if (at < 0) return undefined
  let i = at + 6
  while (text.charCodeAt(i) === 32) i++
  const from = i
  let seq = 0
  for (; i < text.length; i++) {
    const d = text.charCodeAt(i) - 48
    if (d < 0 || d > 9) break
    seq = seq * 10 + d
  }
  return i === from ? undefined : { _tag: 'Stored', seq, duplicate: false }
}

/**
 * Publishes to JetStream without awaiting each ack in turn: every publish carries a reply
 * subject under one inbox subscription, and acks are matched to their publish by a token. Many
 * publishes (to different subjects) are in flight on one connection at once.
 *
 * Guarantees: each `publish` resolves exactly once — with the server's ack, its rejection, a
 * no-responders status, or `TimedOut` after `timeoutMs` (the message may then have been stored:
 * retry with the same `Nats-Msg-Id`). After `close()` it resolves at once as `Rejected`.
 */
export class PipelinedPublisher implements Publisher {
  private readonly inbox: string
  private readonly sub: Subscription
  private readonly pending = new Map<number, Pending>()
  private readonly timer: NodeJS.Timeout
  private next = 1
  private closed = false

  constructor(
    private readonly nc: NatsConnection,
    private readonly timeoutMs: number = 5_000,
  ) {
    this.inbox = createInbox()
    this.sub = nc.subscribe(`${this.inbox}.*`, { callback: (_err, msg) => this.onAck(msg) })
    this.timer = setInterval(() => this.expire(), Math.min(250, Math.max(10, timeoutMs / 4)))
    this.timer.unref()
  }

  get inFlight(): number {
    return this.pending.size
  }

  publish(subject: string, data: Uint8Array, headers?: MsgHdrs): Promise<PublishResult> {
    // After close() no ack could ever be matched: refuse at once rather than never settle.
    if (this.closed) return Promise.resolve({ _tag: 'Rejected', errCode: 0, description: 'publisher is closed (the processor is shutting down)' })
    const token = this.next++
    return new Promise<PublishResult>((resolve) => {
      this.pending.set(token, { resolve, sentAt: Date.now() })
      try {
        this.nc.publish(subject, data, headers === undefined ? { reply: `${this.inbox}.${token.toString(36)}` } : { reply: `${this.inbox}.${token.toString(36)}`, headers })
      } catch (e) {
        this.pending.delete(token)
        resolve({ _tag: 'Rejected', errCode: 0, description: `publish failed: ${e instanceof Error ? e.message : String(e)}` })
      }
    })
  }

  /**
   * Stops matching acks; anything still pending resolves as `TimedOut` (it may have been stored),
   * and every later `publish` resolves at once as `Rejected` (nothing sent). Idempotent.
   */
  close(): void {
    if (this.closed) return
    this.closed = true
    clearInterval(this.timer)
    this.sub.unsubscribe()
    for (const p of this.pending.values()) p.resolve({ _tag: 'TimedOut' })
    this.pending.clear()
  }

  private onAck(msg: Msg): void {
    const token = parseInt(msg.subject.slice(this.inbox.length + 1), 36)
    const p = this.pending.get(token)
    if (p === undefined) return // a late ack for a publish that already timed out
    this.pending.delete(token)
    p.resolve(this.parse(msg))
  }

  private parse(msg: Msg): PublishResult {
    if (msg.data.length === 0 && msg.headers?.code === 503) return { _tag: 'NoResponders' }
    const text = decoder.decode(msg.data)
    const fast = storedAck(text)
    if (fast !== undefined) return fast
    let ack: PubAckBody
    try {
      ack = JSON.parse(text) as PubAckBody
    } catch {
      return { _tag: 'Rejected', errCode: 0, description: 'unreadable JetStream ack' }
    }
    if (ack.error !== undefined) {
      return { _tag: 'Rejected', errCode: ack.error.err_code ?? 0, description: ack.error.description ?? 'rejected' }
    }
    return typeof ack.batch === 'string' && typeof ack.count === 'number'
      ? { _tag: 'Stored', seq: ack.seq ?? 0, duplicate: ack.duplicate === true, batchCount: ack.count }
      : { _tag: 'Stored', seq: ack.seq ?? 0, duplicate: ack.duplicate === true }
  }

  private expire(): void {
    const cutoff = Date.now() - this.timeoutMs
    for (const [token, p] of this.pending) {
      if (p.sentAt > cutoff) break // insertion order = send order
      this.pending.delete(token)
      p.resolve({ _tag: 'TimedOut' })
    }
  }
}
