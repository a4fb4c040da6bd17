import { JetStreamApiCodes, JetStreamApiError } from '@nats-io/jetstream'
import { Kvm, type KvEntry } from '@nats-io/kv'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import type { PolicyChange, PolicyStore, PolicyStoreError, StoredPolicies } from '../../../application/policies/ports.js'
import type { TenantId } from '../../../domain/streams/ids.js'
import { decodePolicyJson, encodePolicyJson } from '../../codec/policyJson.js'
import { keepWatching } from '../projections/projectionControl.js'

export interface KvPolicyStoreOptions {
  /** Default `ALLSOURCE_POLICIES`. */
  readonly bucket: string
  readonly replicas: number
}

const isWrongLastSequence = (e: unknown): boolean =>
  e instanceof JetStreamApiError &&
  (e.code === JetStreamApiCodes.StreamWrongLastSequence || e.code === JetStreamApiCodes.StreamWrongLastSequenceUnknown)

const unavailable = (e: unknown): E.Either<PolicyStoreError, never> =>
  E.left({ _tag: 'PolicyStoreUnavailable', message: e instanceof Error ? e.message : String(e) })

const storedOf = (e: KvEntry): E.Either<PolicyStoreError & { _tag: 'CorruptPolicySet' }, StoredPolicies> =>
  // The store never deletes a key; one deleted by hand reads as "no rules" (at the delete's revision).
  e.operation !== 'PUT'
    ? E.right({ rules: [], revision: 0 })
    : E.map((rules: StoredPolicies['rules']) => ({ rules, revision: e.revision }))(decodePolicyJson(e.key, e.revision, e.value))

/**
 * Policy rule sets in a JetStream KV bucket (file storage, history 1): one key per tenant id (a
 * valid KV key as it is), the value `{ rules }` as UTF-8 JSON, the revision the key's last stream
 * sequence. `put` is KV's compare-and-set: `create` (expected last subject sequence 0) for
 * revision 0, `update` otherwise. Every value read is checked against the `PolicySet` codec.
 *
 * `watch` is a KV watch over every key (last value per key first, then every write), kept open
 * by `keepWatching` (re-opened after a failure, re-delivering the current sets). It resolves once
 * the values stored when it opened are delivered: at once for an empty bucket, else at the entry
 * with no pending messages behind it.
 */
export const createKvPolicyStore = async (nc: NatsConnection, options: Partial<KvPolicyStoreOptions> = {}): Promise<PolicyStore> => {
  const bucket = options.bucket ?? 'ALLSOURCE_POLICIES'
  const kv = await new Kvm(nc).create(bucket, { history: 1, replicas: options.replicas ?? 1 })

  return {
    get: (tenant) => async () => {
      try {
        const e = await kv.get(tenant)
        return e === null ? E.right({ rules: [], revision: 0 }) : storedOf(e)
      } catch (err) {
        return unavailable(err)
      }
    },
    put: (tenant, rules, expectedRevision) => async () => {
      try {
        const bytes = encodePolicyJson(rules)
        const revision = expectedRevision === 0 ? await kv.create(tenant, bytes) : await kv.update(tenant, bytes, expectedRevision)
        return E.right({ rules, revision })
      } catch (err) {
        return isWrongLastSequence(err) ? E.left({ _tag: 'PolicyRevisionConflict', tenant, expected: expectedRevision }) : unavailable(err)
      }
    },
    watch: (onChange, onError) => async () => {
      try {
        let ready: () => void = () => undefined
        const delivered = new Promise<void>((r) => (ready = r))
        if ((await kv.status()).values === 0) ready()
        const stop = await keepWatching(
          () => kv.watch({ key: '>' }),
          (e) => {
            const change: PolicyChange = { tenant: e.key as TenantId, policies: storedOf(e) }
            onChange(change)
            if (e.delta === 0 || e.isUpdate) ready()
          },
          { isClosed: () => nc.isClosed(), ...(onError !== undefined ? { onError } : {}) },
        )
        const closed = nc.closed().then(() => {
          throw new Error('the connection closed before the policies were read')
        })
        try {
          await Promise.race([delivered, closed])
        } catch (err) {
          stop()
          throw err
        }
        closed.catch(() => undefined)
        return E.right(stop)
      } catch (err) {
        return unavailable(err)
      }
    },
  }
}
