import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import { defaultIngestNames, type IngestNames } from './ingestStreams.js'

/**
 * Ingest messages not yet appended and dead letters held, from two stream infos: `ALLSOURCE_INGEST`
 * is a work-queue stream, so what it still stores is exactly what its consumer has not acked.
 * Works on every instance (leaseholder or standby). Costs two JetStream API calls: sample it (with
 * a cache), never per request. Rejects when JetStream cannot answer.
 */
export const ingestBacklog = async (nc: NatsConnection, names: Pick<IngestNames, 'ingest' | 'dlq'> = defaultIngestNames): Promise<{ pending: number; deadLetters: number }> => {
  const jsm = await jetstreamManager(nc)
  const [ingest, dlq] = await Promise.all([jsm.streams.info(names.ingest), jsm.streams.info(names.dlq)])
  return { pending: ingest.state.messages, deadLetters: dlq.state.messages }
}
