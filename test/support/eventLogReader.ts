import { jetstream, jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { decodeMsgpack } from '../../src/adapters/codec/msgpack.js'

export interface LoggedCommit {
  readonly offset: number
  readonly subject: string
  readonly msgId: string
  /** `Nats-Batch-Id` when the commit was stored as part of an atomic batch (grouped commits, runs); '' otherwise. */
  readonly batchId: string
  readonly body: {
    readonly commitId: string
    readonly tenant: string
    readonly stream: string
    readonly events: readonly { id: string; type: string; version: number; timestamp: Date; payload: unknown }[]
  }
}

/** Reads every message of ALLSOURCE_EVENTS with a raw ordered consumer (no AllSource code path). */
export const readWholeLog = async (nc: NatsConnection, stream = 'ALLSOURCE_EVENTS'): Promise<LoggedCommit[]> => {
  const jsm = await jetstreamManager(nc, { checkAPI: false })
  // Right after a fault (a node killed, a leader elected) JetStream may not answer for a while: ask
  // again for up to 30 s before giving up.
  const info = await (async () => {
    for (let until = Date.now() + 30_000; ; ) {
      try {
        return await jsm.streams.info(stream)
      } catch (e) {
        if (Date.now() > until) throw e
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  })()
  const last = info.state.last_seq
  const out: LoggedCommit[] = []
  if (info.state.messages === 0) return out
  // The ordered consumer's create may time out the same way right after a fault: asked again too.
  const consumer = await (async () => {
    for (let until = Date.now() + 30_000; ; ) {
      try {
        return await jetstream(nc).consumers.get(stream)
      } catch (e) {
        if (Date.now() > until) throw e
        await new Promise((r) => setTimeout(r, 250))
      }
    }
  })()
  const messages = await consumer.consume({ max_messages: 1000 })
  for await (const m of messages) {
    out.push({
      offset: m.seq,
      subject: m.subject,
      msgId: m.headers?.get('Nats-Msg-Id') ?? '',
      batchId: m.headers?.get('Nats-Batch-Id') ?? '',
      body: decodeMsgpack(m.data) as LoggedCommit['body'],
    })
    if (m.seq >= last) break
  }
  messages.stop()
  return out
}
