import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { RecordBucket } from '../../records/recordBucket.js'
import { listKvKeys } from '../log/kvKeys.js'
import { createLogConsumers, type LogConsumers } from '../reading/logConsumer.js'

export interface KvRecordBucketOptions {
  readonly bucket: string
  /** Default 1. */
  readonly replicas?: number
  /** Values older than this are removed by the server (KV `ttl`); default: kept forever. */
  readonly maxAgeMs?: number
  /** The consumer budget listings take their one short-lived consumer from. Default: its own, of 2. */
  readonly consumers?: LogConsumers
}

const isWrongLastSequence = (e: unknown): boolean =>
  e instanceof JetStreamApiError &&
  (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)

/**
 * A {@link RecordBucket} on a JetStream KV bucket (file storage, history 1, created if missing).
 * `create` and `update` are KV's compare-and-set (expected last subject sequence 0, or the given
 * revision), so racing writers are decided by the server: exactly one wins. Listing reads keys
 * through one consumer from `consumers`, deleted when the listing ends (`listKvKeys`).
 */
export const createKvRecordBucket = async (nc: NatsConnection, opts: KvRecordBucketOptions): Promise<RecordBucket> => {
  const kv = await new Kvm(nc).create(opts.bucket, {
    history: 1,
    replicas: opts.replicas ?? 1,
    ...(opts.maxAgeMs !== undefined ? { ttl: opts.maxAgeMs } : {}),
  })
  const consumers = opts.consumers ?? createLogConsumers(nc, { max: 2 })
  return {
    get: async (key) => {
      const e = await kv.get(key)
      return e === null || e.operation !== 'PUT' ? undefined : { bytes: e.value, revision: e.revision }
    },
    create: async (key, bytes) => {
      try {
        return await kv.create(key, bytes)
      } catch (e) {
        if (isWrongLastSequence(e)) return 'exists'
        throw e
      }
    },
    update: async (key, bytes, expected) => {
      try {
        return await kv.update(key, bytes, expected)
      } catch (e) {
        if (isWrongLastSequence(e)) return 'conflict'
        throw e
      }
    },
    keys: (prefix) => listKvKeys(consumers, opts.bucket, `${prefix}.>`),
  }
}
