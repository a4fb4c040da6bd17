import { subjects } from '../subjects.js'
import { RetentionPolicy, StorageType, type JetStreamManager } from '@nats-io/jetstream'

/** Names of the ingest side: the work-queue stream clients publish to, and the dead-letter stream. */
export interface IngestNames {
  readonly prefix: string
  readonly ingest: string
  readonly dlq: string
  readonly consumer: string
}

export const defaultIngestNames: IngestNames = {
  prefix: 'allsource',
  ingest: 'ALLSOURCE_INGEST',
  dlq: 'ALLSOURCE_DLQ',
  consumer: 'allsource-ingest',
}

/** nats-server's default max_payload (1 MiB). */
export const DEFAULT_MAX_PAYLOAD = 2 ** 20

/** Room kept free in every ingest message for the headers its dead letter adds. */
export const DEAD_LETTER_RESERVE = 1_024

type StreamConfig = Parameters<JetStreamManager['streams']['add']>[0]

const ensure = async (jsm: JetStreamManager, name: string, config: StreamConfig) => {
  try {
    const info = await jsm.streams.info(name)
    if (config.max_msg_size !== undefined && info.config.max_msg_size !== config.max_msg_size) {
      await jsm.streams.update(name, { ...info.config, max_msg_size: config.max_msg_size })
    }
  } catch (e) {
    if (!(e instanceof Error) || !/not found/i.test(e.message)) throw e
    await jsm.streams.add(config)
  }
}

/**
 * Creates `ALLSOURCE_INGEST` (file-backed work queue on `allsource.ingest.>`: a message stays
 * until the processor acks it, so nothing published and acked by JetStream is lost while no
 * processor runs) and `ALLSOURCE_DLQ` (file, `allsource.dlq.>`, kept until re-driven).
 * Ingest messages (headers and body) are limited to `maxPayload` − 1 KiB, so that a dead letter,
 * which adds its error headers, always fits; JetStream refuses a larger publish.
 */
export const ensureIngestStreams = async (jsm: JetStreamManager, n: IngestNames = defaultIngestNames, replicas = 1, maxPayload = DEFAULT_MAX_PAYLOAD): Promise<void> => {
  await ensure(jsm, n.ingest, {
    name: n.ingest,
    max_msg_size: maxPayload - DEAD_LETTER_RESERVE,
    subjects: [subjects(n.prefix).ingestWildcard],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: replicas,
  })
  await ensure(jsm, n.dlq, {
    name: n.dlq,
    subjects: [subjects(n.prefix).dlqWildcard],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: replicas,
  })
}
