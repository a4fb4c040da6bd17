import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import type { Snapshot, SnapshotStore } from '../../../application/streams/ports.js'
import type { StreamId, TenantId } from '../../../domain/streams/ids.js'
import { decodeMsgpack, encodeMsgpack } from '../../codec/msgpack.js'

export interface KvSnapshotStoreOptions {
  /** Default `ALLSOURCE_SNAPSHOTS`. */
  readonly bucket: string
  readonly replicas: number
}

/**
 * Snapshots in a JetStream KV bucket (file storage, one value per key), keyed
 * `<tenant>.<stream>.v<stateVersion>`; values are msgpack. Tenant and stream ids are valid KV key
 * tokens as they are (DESIGN.md's alphabets), so keys are never rewritten.
 */
export const createKvSnapshotStore = async (
  nc: NatsConnection,
  options: Partial<KvSnapshotStoreOptions> = {},
): Promise<SnapshotStore> => {
  const kv = await new Kvm(nc).create(options.bucket ?? 'ALLSOURCE_SNAPSHOTS', { history: 1, replicas: options.replicas ?? 1 })
  const key = (tenant: TenantId, stream: StreamId, stateVersion: number) => `${tenant}.${stream}.v${stateVersion}`
  return {
    async load(tenant, stream, stateVersion) {
      const entry = await kv.get(key(tenant, stream, stateVersion))
      if (entry === null || entry.operation !== 'PUT' || entry.value.length === 0) return undefined
      return decodeMsgpack(entry.value) as Snapshot
    },
    async save(tenant, stream, snapshot: Snapshot) {
      await kv.put(key(tenant, stream, snapshot.stateVersion), encodeMsgpack(snapshot))
    },
  }
}
