import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream'
import { Kvm } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import type { ApiKeyStore } from '../../../application/auth/ports.js'
import { type ApiKeyId, type ApiKeyRecord, ApiKeyRecord as ApiKeyRecordCodec, oldestFirst } from '../../../domain/security/apiKey.js'
import type { TenantId } from '../../../domain/streams/ids.js'
import { type CorruptApiKeyRecord, decodeApiKeyJson, encodeApiKeyJson } from '../../codec/apiKeyJson.js'
import { listKvKeys } from '../log/kvKeys.js'
import { createLogConsumers, type LogConsumers } from '../reading/logConsumer.js'

export interface KvApiKeyStoreOptions {
  /** Default `ALLSOURCE_KEYS`. */
  readonly bucket: string
  /** Default 1. */
  readonly replicas: number
  /** The consumer budget listings take their one short-lived consumer from. Default: its own, of 2. */
  readonly consumers?: LogConsumers
  /**
   * Told about every stored value that is not a valid record (it is then treated as absent). The
   * report names the key and why, never the value. Default: one `console.warn` line.
   */
  readonly onCorrupt?: (report: CorruptApiKeyRecord) => void
  /** Most read → change → compare-and-set rounds of one `update` before it throws. Default 100. */
  readonly maxUpdateAttempts?: number
}

/** The KV key of a key's record: `id.<keyId>`. */
export const recordKey = (keyId: string): string => `id.${keyId}`
/** The KV key that lists a key under its tenant: `tenant.<tenant>.<keyId>` (empty value). */
export const tenantIndexKey = (tenant: string, keyId: string): string => `tenant.${tenant}.${keyId}`

const EMPTY = new Uint8Array(0)
const LOAD_BATCH = 32

const isWrongLastSequence = (e: unknown): boolean =>
  e instanceof JetStreamApiError &&
  (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)

const warnCorrupt = (r: CorruptApiKeyRecord): void =>
  console.warn(`API key store: the value under ${r.key} (revision ${r.revision}) is not a valid record (${r.message}); treated as absent`)

/**
 * API key records in a JetStream KV bucket (file storage, history 1), two kinds of keys:
 *
 * - `id.<keyId>`: the record as UTF-8 JSON. `get` is one KV get of it: the connect path of every
 *   key-authenticated client reads nothing else.
 * - `tenant.<tenant>.<keyId>`: an empty marker, written once after the record. `listByTenant`
 *   lists the markers under `tenant.<tenant>.*` (a subject filter the server applies, so the cost
 *   follows that tenant's keys, not the bucket's) through one short-lived consumer, then reads
 *   each record.
 *
 * Guarantees (the `ApiKeyStore` port's):
 * - `insert` is KV create (expected last subject sequence 0) of `id.<keyId>`: of two inserts of
 *   one keyId exactly one answers true. Its marker is written after; if that write fails `insert`
 *   throws, leaving a record nobody was ever shown the key of (unlisted, never usable).
 * - `update` reads, applies `change`, and writes with compare-and-set on the revision it read,
 *   again from the new record on a conflict, so concurrent changes are each applied to the
 *   record as stored (a `lastUsedAt` write cannot un-revoke). No write when `change` returns the
 *   same record. `change` may not alter `keyId` or `tenant` (a defect: throws).
 * - A value that is not a valid record of its key (not UTF-8 JSON, fails the codec, another
 *   keyId) never throws: `get` and `update` treat it as absent (an unreadable record
 *   authenticates nobody), `listByTenant` skips it (and any record whose tenant differs from its
 *   marker's), and each is reported to `onCorrupt`. `insert` of its keyId answers false.
 * - NATS failures reject the promise (the outcome of a write is then unknown).
 * Never uses `kv.keys()`, whose consumer outlives the listing by 5 minutes.
 */
export const createKvApiKeyStore = async (nc: NatsConnection, options: Partial<KvApiKeyStoreOptions> = {}): Promise<ApiKeyStore> => {
  const bucket = options.bucket ?? 'ALLSOURCE_KEYS'
  const kv = await new Kvm(nc).create(bucket, { history: 1, replicas: options.replicas ?? 1 })
  const consumers = options.consumers ?? createLogConsumers(nc, { max: 2 })
  const onCorrupt = options.onCorrupt ?? warnCorrupt
  const maxUpdateAttempts = options.maxUpdateAttempts ?? 100

  /** The record of `keyId` and its revision; undefined when absent, deleted by hand, or corrupt (reported). */
  const load = async (keyId: string): Promise<{ readonly record: ApiKeyRecord; readonly revision: number } | undefined> => {
    const key = recordKey(keyId)
    const e = await kv.get(key)
    if (e === null || e.operation !== 'PUT') return undefined
    const decoded = decodeApiKeyJson(key, keyId, e.revision, e.value)
    if (E.isLeft(decoded)) {
      onCorrupt(decoded.left)
      return undefined
    }
    return { record: decoded.right, revision: e.revision }
  }

  return {
    get: async (keyId) => (await load(keyId))?.record,

    insert: async (record) => {
      try {
        await kv.create(recordKey(record.keyId), encodeApiKeyJson(record))
      } catch (e) {
        if (isWrongLastSequence(e)) return false
        throw e
      }
      await kv.put(tenantIndexKey(record.tenant, record.keyId), EMPTY)
      return true
    },

    update: async (keyId: ApiKeyId, change) => {
      for (let attempt = 1; attempt <= maxUpdateAttempts; attempt++) {
        const current = await load(keyId)
        if (current === undefined) return undefined
        const next = change(current.record)
        if (next === current.record) return next
        if (next.keyId !== keyId || next.tenant !== current.record.tenant || !ApiKeyRecordCodec.is(next)) {
          throw new Error(`an API key change must keep the keyId and tenant and give a valid record (key ${keyId})`)
        }
        try {
          await kv.update(recordKey(keyId), encodeApiKeyJson(next), current.revision)
          return next
        } catch (e) {
          if (!isWrongLastSequence(e)) throw e
        }
      }
      throw new Error(`update of API key ${keyId}: ${maxUpdateAttempts} revision conflicts in a row`)
    },

    listByTenant: async (tenant: TenantId) => {
      const prefix = tenantIndexKey(tenant, '')
      const keyIds = (await listKvKeys(consumers, bucket, `${prefix}*`)).map((k) => k.slice(prefix.length))
      const records: ApiKeyRecord[] = []
      for (let from = 0; from < keyIds.length; from += LOAD_BATCH) {
        const loaded = await Promise.all(keyIds.slice(from, from + LOAD_BATCH).map(load))
        loaded.forEach((l, i) => {
          if (l === undefined) return
          if (l.record.tenant !== tenant) {
            const key = recordKey(keyIds[from + i] as string)
            onCorrupt({ _tag: 'CorruptApiKeyRecord', key, revision: l.revision, message: `listed under tenant ${tenant} but the record is of another tenant` })
            return
          }
          records.push(l.record)
        })
      }
      return records.sort(oldestFirst)
    },
  }
}
