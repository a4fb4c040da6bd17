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

const ensure = async (jsm: JetStreamManager, name: string, config: Parameters<JetStreamManager['streams']['add']>[0]) => {
  try {
    await jsm.streams.info(name)
  } catch (e) {
    if (!(e instanceof Error) || !/not found/i.test(e.message)) throw e
    await jsm.streams.add(config)
  }
}

/**
 * Creates `ALLSOURCE_INGEST` (file-backed work queue on `allsource.ingest.>`: a message stays
 * until the processor acks it, so nothing published and acked by JetStream is lost while no
 * processor runs) and `ALLSOURCE_DLQ` (file, `allsource.dlq.>`, kept until re-driven).
 */
export const ensureIngestStreams = async (jsm: JetStreamManager, n: IngestNames = defaultIngestNames, replicas = 1): Promise<void> => {
  await ensure(jsm, n.ingest, {
    name: n.ingest,
    subjects: [`${n.prefix}.ingest.>`],
    retention: RetentionPolicy.Workqueue,
    storage: StorageType.File,
    num_replicas: replicas,
  })
  await ensure(jsm, n.dlq, {
    name: n.dlq,
    subjects: [`${n.prefix}.dlq.>`],
    retention: RetentionPolicy.Limits,
    storage: StorageType.File,
    num_replicas: replicas,
  })
}
