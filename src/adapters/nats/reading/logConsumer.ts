import { type Consumer, type ConsumerMessages, jetstream, type OrderedConsumerOptions } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { semaphore } from '../../system/semaphore.js'

export interface LogConsumerOptions {
  /** Most ephemeral consumers this processor holds at once (reads, queries, replays, hydrations). Default 32. */
  readonly max: number
  /** How long an open waits for a free slot before it fails with {@link ConsumerUnavailable}. Default 2000 ms. */
  readonly waitMs: number
  /**
   * The server deletes a consumer nobody pulled from for this long. Every consumer is deleted on
   * close; this is the backstop when that delete is lost (a crash, a cut connection). Default 30 s.
   */
  readonly inactiveMs: number
  /**
   * Most bytes one consumer may have requested and not yet received, so at most `max × pullBytes`
   * are in flight to this connection (32 × ~4.25 MB ≈ 136 MB by default, under the 256 MB
   * `max_pending` that nats.conf sets). Default: 4 × (the server's `max_payload` + 64 KiB). nats.js
   * tops a consumer up once a quarter of this is used, so every pull asks for at least one largest
   * commit: a pull that a single commit cannot fit would stall until the heartbeat check.
   */
  readonly pullBytes?: number
}

export const defaultLogConsumerOptions: LogConsumerOptions = { max: 32, waitMs: 2_000, inactiveMs: 30_000 }

/** No consumer slot freed in time: the processor is at its cap. Answered `UNAVAILABLE` (503). */
export class ConsumerUnavailable extends Error {
  override readonly name = 'ConsumerUnavailable'
  constructor(
    readonly max: number,
    readonly retryAfterMs: number,
  ) {
    super(`too many reads in progress (${max} log consumers in use); retry in ${retryAfterMs} ms`)
  }
}

/** An ephemeral ordered consumer holding one slot; `close()` frees both, whatever happened. */
export interface LogConsumer {
  readonly consumer: Consumer
  /**
   * Starts pulling, each pull capped by bytes (`pullBytes`, or `maxBytes` when smaller: a reader
   * that expects to stop early asks for less); `expires`: how long one pull waits (default 30 s).
   */
  consume(options?: { readonly expires?: number; readonly maxBytes?: number }): Promise<ConsumerMessages>
  /** Stops pulling, deletes the consumer on the server and frees the slot. Idempotent, never throws. */
  close(): void
  /** Settles when the delete of a closed consumer has been answered (or failed). */
  readonly closed: Promise<void>
}

export interface LogConsumers {
  /** Opens an ordered consumer on `stream` once a slot is free; rejects with {@link ConsumerUnavailable} after `waitMs`. */
  open(stream: string, options: Partial<OrderedConsumerOptions>): Promise<LogConsumer>
  /**
   * Takes a slot without a consumer, for a reader that uses direct gets (a lookup by id): the same
   * bound on concurrent reads, the same {@link ConsumerUnavailable} after `waitMs`. Resolves to the
   * slot's release (idempotent).
   */
  slot(): Promise<() => void>
  /** Slots in use now. */
  readonly inUse: number
  readonly options: LogConsumerOptions
}

/**
 * One processor's budget of ephemeral JetStream consumers. Every reader of the log (read, query,
 * replay, stream hydration, the event-id indexer) opens its consumer here, so that:
 * - a consumer is deleted when its reader ends, fails or is abandoned (and the server drops any
 *   that are missed after `inactiveMs`);
 * - at most `max` exist at once, so one processor cannot exhaust the server's consumer limit
 *   (a full pool answers `UNAVAILABLE` after `waitMs`, never a 500 for every tenant);
 * - each pull is capped by bytes as well as by count, so a burst of large commits cannot overrun
 *   the connection's pending buffer on the server (which would cut the processor's connection).
 */
export const createLogConsumers = (nc: NatsConnection, options: Partial<LogConsumerOptions> = {}): LogConsumers => {
  const o: LogConsumerOptions = { ...defaultLogConsumerOptions, ...options }
  const slots = semaphore(o.max)

  const pullBytes = () => o.pullBytes ?? 4 * ((nc.info?.max_payload ?? 1024 * 1024) + 64 * 1024)

  return {
    get inUse() {
      return slots.inUse
    },
    options: o,
    slot: () => slots.acquire(o.waitMs, () => new ConsumerUnavailable(o.max, o.waitMs)),
    async open(stream, opts) {
      const release = await slots.acquire(o.waitMs, () => new ConsumerUnavailable(o.max, o.waitMs))
      let consumer: Consumer
      try {
        consumer = await jetstream(nc).consumers.get(stream, { ...opts, inactive_threshold: o.inactiveMs })
      } catch (e) {
        release()
        throw e
      }
      let messages: ConsumerMessages | undefined
      let closing: Promise<void> | undefined
      const close = (): Promise<void> =>
        (closing ??= (async () => {
          messages?.stop()
          try {
            await consumer.delete()
          } catch {
            // Gone already, or the server is unreachable: `inactiveMs` removes it.
          } finally {
            release()
          }
        })())
      let settle: () => void = () => undefined
      const closed = new Promise<void>((r) => (settle = r))
      return {
        consumer,
        async consume(options = {}) {
          if (closing !== undefined) throw new Error('log consumer is closed')
          messages = await consumer.consume({ max_bytes: options.maxBytes !== undefined ? Math.min(options.maxBytes, pullBytes()) : pullBytes(), ...(options.expires !== undefined ? { expires: options.expires } : {}) })
          // Closed while the pull was being set up: stop it at once.
          if (closing !== undefined) messages.stop()
          return messages
        },
        close() {
          close().then(settle, settle)
        },
        closed,
      }
    },
  }
}
