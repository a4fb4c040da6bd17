import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { pageTenants } from '../../../application/tenants/pageTenants.js'
import type { StoredTenant, TenantStore, TenantStoreError } from '../../../application/tenants/ports.js'
import type { TenantId } from '../../../domain/streams/ids.js'
import { decodeTenantJson, encodeTenantJson } from '../../codec/tenantJson.js'
import { listKvKeys } from '../log/kvKeys.js'
import { createLogConsumers, type LogConsumers } from '../reading/logConsumer.js'

export interface KvTenantStoreOptions {
  /** Default `ALLSOURCE_TENANTS`. */
  readonly bucket: string
  readonly replicas: number
  /** The consumer budget listings take their one short-lived consumer from. Default: its own, of 2. */
  readonly consumers?: LogConsumers
}

const isWrongLastSequence = (e: unknown): boolean =>
  e instanceof JetStreamApiError &&
  (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)

const unavailable = (e: unknown): E.Either<TenantStoreError, never> =>
  E.left({ _tag: 'TenantStoreUnavailable', message: e instanceof Error ? e.message : String(e) })

/**
 * The tenant registry in a JetStream KV bucket (file storage, history 1): one key per tenant id
 * (tenant ids are valid KV keys as they are), the value the record as JSON, the revision the
 * subject's last stream sequence. `create` and `update` are KV's compare-and-set
 * (`Nats-Expected-Last-Subject-Sequence` 0, or the expected revision). Every value read is checked
 * against the `Tenant` codec. Listing reads the keys through one consumer from `consumers`,
 * deleted when the listing ends (never `kv.keys()`, whose consumer outlives it for 5 minutes).
 */
export const createKvTenantStore = async (nc: NatsConnection, options: Partial<KvTenantStoreOptions> = {}): Promise<TenantStore> => {
  const bucket = options.bucket ?? 'ALLSOURCE_TENANTS'
  const kv = await new Kvm(nc).create(bucket, { history: 1, replicas: options.replicas ?? 1 })
  const consumers = options.consumers ?? createLogConsumers(nc, { max: 2 })

  const load = async (key: string): Promise<E.Either<TenantStoreError, StoredTenant | undefined>> => {
    try {
      const e = await kv.get(key)
      // The store never deletes a key (deletion is a status); a key deleted by hand reads as never created.
      if (e === null || e.operation !== 'PUT') return E.right(undefined)
      return E.map((record: StoredTenant['record']) => ({ record, revision: e.revision }))(decodeTenantJson(key, e.revision, e.value))
    } catch (err) {
      return unavailable(err)
    }
  }

  return {
    get: (tenant) => () => load(tenant),
    create: (record) => async () => {
      try {
        return E.right({ record, revision: await kv.create(record.tenant, encodeTenantJson(record)) })
      } catch (err) {
        return isWrongLastSequence(err) ? E.left({ _tag: 'TenantExists', tenant: record.tenant }) : unavailable(err)
      }
    },
    update: (record, expectedRevision) => async () => {
      const conflict = E.left({ _tag: 'RevisionConflict', tenant: record.tenant as TenantId, expected: expectedRevision } as const)
      if (!(expectedRevision > 0)) return conflict
      try {
        return E.right({ record, revision: await kv.update(record.tenant, encodeTenantJson(record), expectedRevision) })
      } catch (err) {
        return isWrongLastSequence(err) ? conflict : unavailable(err)
      }
    },
    list: (options) => async () => {
      let keys: string[]
      try {
        keys = await listKvKeys(consumers, bucket, '>')
      } catch (err) {
        return unavailable(err)
      }
      return pageTenants(keys, load, options)
    },
  }
}
