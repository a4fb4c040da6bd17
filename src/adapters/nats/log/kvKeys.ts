import { DeliverPolicy } from '@nats-io/jetstream'
import type { LogConsumers } from '../reading/logConsumer.js'
import { kvSubject } from '../subjects.js'

/**
 * The live keys of a KV bucket that match `filter` (a key pattern: `acme.>`, `*.status`), in the
 * order the server keeps them, without deleted or purged keys.
 *
 * It reads the headers of the bucket's last value per key through one consumer taken from
 * `consumers` and deleted when the listing ends, however it ends. nats.js's own `kv.keys()` only
 * stops its consumer, which then stays on the server for its 5-minute inactivity threshold: enough
 * listings (a status or key-page request each) would exhaust the server's consumer limit.
 */
export const listKvKeys = async (consumers: LogConsumers, bucket: string, filter: string): Promise<string[]> => {
  const prefix = kvSubject(bucket, '')
  const lease = await consumers.open(`KV_${bucket}`, { filter_subjects: [kvSubject(bucket, filter)], deliver_policy: DeliverPolicy.LastPerSubject, headers_only: true })
  try {
    const keys: string[] = []
    if ((await lease.consumer.info(true)).num_pending === 0) return keys
    for await (const m of await lease.consume()) {
      const op = m.headers?.get('KV-Operation') ?? ''
      if (op !== 'DEL' && op !== 'PURGE') keys.push(m.subject.slice(prefix.length))
      if (m.info.pending === 0) break
    }
    return keys
  } finally {
    lease.close()
  }
}
