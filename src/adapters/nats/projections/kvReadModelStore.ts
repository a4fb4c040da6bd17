import type { KV } from '@nats-io/kv'
import type { Entry, Known, ReadModelStore, WriteOutcome } from '../../../application/projections/ports.js'
import { decodeMsgpack, encodeMsgpack } from '../../codec/msgpack.js'
import type { Publisher } from '../log/pipelinedPublisher.js'
import { WireHeaders } from '../log/wireHeaders.js'
import { kvSubject } from '../subjects.js'

/** JetStream's "wrong last sequence" (the subject's last sequence is not the one expected). */
const WRONG_LAST_SEQUENCE = 10071

/**
 * A read model in one JetStream KV bucket (history 1): an entry is msgpack, its revision is the
 * subject's last stream sequence. Writes are pipelined on `publisher` (many keys in flight at once)
 * and expect the subject's last sequence (`Nats-Expected-Last-Subject-Sequence`), which is KV's
 * compare-and-set: 0 expects no message on the subject yet.
 */
export const kvReadModelStore = <S>(kv: KV, bucket: string, publisher: Publisher): ReadModelStore<S> => ({
  isEmpty: async () => (await kv.status()).values === 0,
  async get(key): Promise<Known<S>> {
    const e = await kv.get(key)
    if (e === null) return { revision: 0 }
    return e.operation === 'PUT' ? { entry: decodeMsgpack(e.value) as Entry<S>, revision: e.revision } : { revision: e.revision }
  },
  async put(key, entry, expectedRevision): Promise<WriteOutcome> {
    const h = WireHeaders.of(['Nats-Expected-Last-Subject-Sequence', String(expectedRevision)])
    const r = await publisher.publish(kvSubject(bucket, key), encodeMsgpack(entry), h)
    switch (r._tag) {
      case 'Stored':
        return { _tag: 'Stored', revision: r.seq }
      case 'Rejected':
        return r.errCode === WRONG_LAST_SEQUENCE ? { _tag: 'Fenced', message: r.description } : { _tag: 'Failed', message: r.description }
      default:
        return { _tag: 'Failed', message: r._tag }
    }
  },
})
