import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { msgpackPayloadBytes } from '../../adapters/codec/payloadSize.js'
import { createInMemoryRateLimiter } from '../../adapters/memory/inMemoryRateLimiter.js'
import { rateLimitedLog } from '../../adapters/nats/ingest/deadLetterLog.js'
import { startPolicyEndpoints } from '../../adapters/nats/admin/policyEndpoints.js'
import { createKvPolicyStore } from '../../adapters/nats/policies/kvPolicyStore.js'
import type { TenantDirectory } from '../../adapters/nats/tenants/tenantDirectory.js'
import type { Endpoint, EndpointBase } from '../../adapters/nats/service/endpoint.js'
import { systemClock } from '../../adapters/system/systemClock.js'
import type { ApiKeyStore } from '../../application/auth/ports.js'
import { checkAppendPolicy, type PolicyCache, type PolicyStore, startPolicyCache } from '../../application/policies/index.js'
import { createAppendGuard } from '../../application/tenants/appendGuard.js'
import { createStreamQuota, type StreamQuota } from '../../application/tenants/streamQuota.js'
import { createJetStreamStreamCatalog } from '../../adapters/nats/tenants/jetStreamStreamCatalog.js'
import { createDailyEventCounter, type DailyEventCounter } from '../../application/tenants/dailyEvents.js'
import type { RateLimiter } from '../../application/tenants/rateLimiter.js'
import type { ApiKeyId } from '../../domain/security/apiKey.js'
import type { Role } from '../../domain/security/roles.js'
import type { AllSourceOptions } from '../allSource.js'

/** Policies, quotas and rates of auth mode (issue 11 items 6 and 7), for `startAuthPlane`. */
export interface PolicyPlane {
  /** `auth` with the append guard and the policy and stats endpoints added (its own endpoints kept). */
  guarding(auth: ServiceAuth): ServiceAuth
  readonly guardAppend: NonNullable<NonNullable<AllSourceOptions['auth']>['guardAppend']>
  readonly endpoints: (base: EndpointBase) => readonly Endpoint[]
  readonly store: PolicyStore
  readonly cache: PolicyCache
  readonly limiter: RateLimiter
  readonly daily: DailyEventCounter
  /** The `streams` quota on the append path (counts from the event log, cached per tenant). */
  readonly streams: StreamQuota
  stop(): void
}

type ServiceAuth = NonNullable<AllSourceOptions['auth']>

const KEY_ID_RE = /^[0-9A-Za-z]{12}$/
/** The operator's reply principal (`_INBOX.<tenant>._op.…`, client.ts and the CLI). */
const OPERATOR_PRINCIPAL = '_op'
const MAX_CACHED_ROLES = 100_000

/**
 * The role of a reply principal: `_op` is the operator; an API key's id is looked up once (one KV
 * get per key per process, then cached: a key's role never changes, and a revoked key's
 * connections are cut); anything else (a user, an unknown key) is undefined, evaluated strictly.
 */
const keyRoles = (keys: ApiKeyStore) => {
  const cache = new Map<string, Role>()
  return async (tenant: string, principal: string): Promise<Role | undefined> => {
    if (principal === OPERATOR_PRINCIPAL) return 'operator'
    if (!KEY_ID_RE.test(principal)) return undefined
    const id = `${tenant}.${principal}`
    const held = cache.get(id)
    if (held !== undefined) return held
    try {
      const record = await keys.get(principal as ApiKeyId)
      if (record === undefined || record.tenant !== tenant) return undefined
      if (cache.size >= MAX_CACHED_ROLES) cache.clear()
      cache.set(id, record.role)
      return record.role
    } catch {
      return undefined
    }
  }
}

/**
 * Starts the policy store (KV `ALLSOURCE_POLICIES`) and its cache, the in-memory rate limiter and
 * day counter, and answers the append guard and the policy/stats admin endpoints over them.
 * Resolves once every stored rule set is in the cache (appends are checked from the first one).
 */
export const startPolicyPlane = async (
  nc: NatsConnection,
  deps: {
    readonly directory: TenantDirectory
    readonly keys: ApiKeyStore
    readonly replicas: number
    readonly log: (message: string) => void
    /** The subject prefix of the event log, for the `streams` quota's counts; default `allsource`. */
    readonly prefix?: string
  },
): Promise<PolicyPlane> => {
  const store = await createKvPolicyStore(nc, { replicas: deps.replicas })
  const started = await startPolicyCache(store, (e) => deps.log(`warning: policy watch: ${e instanceof Error ? e.message : String(e)}; reopening`))()
  if (E.isLeft(started)) throw new Error(`the policies could not be loaded: ${started.left._tag}${'message' in started.left ? `: ${started.left.message}` : ''}`)
  const cache = started.right
  const limiter = createInMemoryRateLimiter({ clock: systemClock })
  const daily = createDailyEventCounter(systemClock)
  const roleOf = keyRoles(deps.keys)
  const streams = createStreamQuota({ catalog: createJetStreamStreamCatalog(nc, { prefix: deps.prefix ?? 'allsource' }), clock: systemClock })
  const warnLog = rateLimitedLog(deps.log, 'policy warnings')
  const guard = createAppendGuard({
    policy: checkAppendPolicy({ cache, payloadBytes: msgpackPayloadBytes }),
    limiter,
    daily,
    streams,
    roleOf,
    onWarn: (command, result) => warnLog(`policy warn: ${command.tenant}/${command.stream}: ${result.reason}`),
  })
  const guardAppend: PolicyPlane['guardAppend'] = async (command, caller, append) => {
    const tenant = await deps.directory.admit(command.tenant)
    return E.isLeft(tenant) ? tenant : guard(tenant.right, command, caller, append)
  }
  const endpoints: PolicyPlane['endpoints'] = (base) =>
    startPolicyEndpoints(nc, {
      prefix: base.prefix,
      queue: base.queue,
      store,
      payloadBytes: msgpackPayloadBytes,
      admit: (t) => deps.directory.admit(t),
      limiter,
      daily,
      roleOf,
      tenantReplies: true,
    })
  return {
    guarding: (auth) => ({ ...auth, guardAppend, endpoints: (base) => [...endpoints(base), ...(auth.endpoints?.(base) ?? [])] }),
    guardAppend,
    endpoints,
    store,
    cache,
    limiter,
    daily,
    streams,
    stop: () => {
      cache.stop()
      warnLog.flush()
    },
  }
}
