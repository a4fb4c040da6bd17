import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { createSubscriptions } from '../../../src/adapters/nats/reading/subscriptions.js'

/** What a durable subscription delivered, in delivery order. */
export interface DurableReader {
  /** Commits processed once each, in the order processed: a redelivery of an offset at or below the last processed one is skipped (and counted). */
  readonly processed: readonly { readonly offset: number; readonly stream: string; readonly versions: readonly number[] }[]
  /** Deliveries of an offset already processed (JetStream delivers at least once: an ack lost in a fault). */
  readonly redelivered: number
  /** Deliveries that went backwards past an offset never processed: a reordering (must stay 0). */
  readonly outOfOrder: number
  /** Times the subscription was opened again after its iterator failed or ended. */
  readonly reopened: number
  /** The highest offset processed. */
  last(): number
  stop(): Promise<void>
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/**
 * A durable subscriber as an application writes one with the library (`createSubscriptions`): it
 * creates subscription `name` from the start, reads and acknowledges every commit, and opens it again
 * (from its ack floor) whenever the iterator fails, as a reader that survives faults must. It keeps
 * the last offset it processed, the dedupe any at-least-once reader needs.
 */
export const startDurableReader = async (nc: NatsConnection, tenant: string, name: string): Promise<DurableReader> => {
  const subs = createSubscriptions(nc)
  for (let until = Date.now() + 60_000; ; await sleep(500)) {
    const created = await subs.create(name, { tenant, from: 'start' })
    if (E.isRight(created)) break
    if (created.left._tag !== 'Unavailable' || Date.now() > until) throw new Error(`subscription ${name}: ${JSON.stringify(created.left)}`)
  }
  const processed: { offset: number; stream: string; versions: number[] }[] = []
  let redelivered = 0
  let outOfOrder = 0
  let reopened = -1
  let stopping = false
  const last = (): number => processed.at(-1)?.offset ?? 0
  const loop = (async () => {
    while (!stopping) {
      reopened++
      try {
        const opened = await subs.open(tenant, name)
        if (E.isLeft(opened)) {
          await sleep(500)
          continue
        }
        for await (const d of opened.right) {
          if (d.offset <= last()) {
            if (processed.some((p) => p.offset === d.offset)) redelivered++
            else outOfOrder++
          } else {
            const first = d.events[0]
            processed.push({ offset: d.offset, stream: first?.stream ?? '', versions: d.events.map((e) => e.version) })
          }
          await d.ack().catch(() => undefined)
          if (stopping) break
        }
      } catch {
        await sleep(500)
      }
    }
  })()
  return {
    processed,
    get redelivered() {
      return redelivered
    },
    get outOfOrder() {
      return outOfOrder
    },
    get reopened() {
      return reopened
    },
    last,
    stop: async () => {
      stopping = true
      // Deleting the durable ends its pull; the iterator cannot be interrupted while it waits.
      await subs.remove(tenant, name).catch(() => undefined)
      await Promise.race([loop, sleep(1_000)])
    },
  }
}
