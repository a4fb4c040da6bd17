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
import type { ApiKeyStore, UserStore } from '../../application/auth/ports.js'
import { checkAppendPolicy, type PolicyCache, type PolicyStore, startPolicyCache } from '../../application/policies/index.js'
import { createAppendGuard } from '../../application/tenants/appendGuard.js'
import { createRefusalAuditor } from '../../application/audit/refusalAudit.js'
import { createPolicyWarnAuditor } from '../../application/audit/policyWarnAudit.js'
import { createStreamQuota, type StreamQuota } from '../../application/tenants/streamQuota.js'
import { createStoredBytesQuota, type StoredBytesQuota } from '../../application/tenants/storedBytes.js'
import { estimateCommitBytes } from '../../adapters/codec/commitSize.js'
import { logCountsOf } from '../../adapters/nats/tenants/logUsage.js'
import { createSubscriptionCount } from '../../adapters/nats/reading/subscriptionCount.js'
import { checkProjectionQuota } from '../../application/tenants/projectionQuota.js'
import { jetstreamManager } from '@nats-io/jetstream'
import { createJetStreamStreamCatalog } from '../../adapters/nats/tenants/jetStreamStreamCatalog.js'
import { createDailyEventCounter, type DailyEventCounter } from '../../application/tenants/dailyEvents.js'
import type { RateLimiter } from '../../application/tenants/rateLimiter.js'
import type { ApiKeyId } from '../../domain/security/apiKey.js'
import type { AuditDraft } from '../../domain/security/audit.js'
import { parsePrincipal } from '../../domain/security/principal.js'
import type { Role } from '../../domain/security/roles.js'
import { TenantId } from '../../domain/streams/ids.js'
import type { AllSourceOptions } from '../allSource.js'
import type { MaybePromise } from '../../application/maybePromise.js'
import type { AppendCommand } from '../../domain/streams/appendRequest.js'
import type { AppendError } from '../../application/streams/errors.js'
import type { AppendCaller } from '../../application/streams/appender.js'

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
  /** The principal roles the append guard and `evaluate` use (`forget` after a user is deleted). */
  readonly roles: PrincipalRoles
  /** The `streams` quota on the append path (counts from the event log, cached per tenant). */
  readonly streams: StreamQuota
  /** The `storedBytes` quota on the append path (counted in memory, seeded and resynced from the event log). */
  readonly storedBytes: StoredBytesQuota
  /** The `projections` quota before a durable subscription is created (`createSubscriptions`' `beforeCreate`). */
  readonly beforeSubscriptionCreate: NonNullable<ServiceAuth['beforeSubscriptionCreate']>
  stop(): void
}

type ServiceAuth = NonNullable<AllSourceOptions['auth']>

const KEY_ID_RE = /^[0-9A-Za-z]{12}$/
/** The operator's reply principal (`_INBOX.<tenant>._op.…`, client.ts and the CLI). */
const OPERATOR_PRINCIPAL = '_op'
const MAX_CACHED_ROLES = 100_000

/** The role of a reply principal of a tenant (undefined: unknown), and `forget` to drop one principal's cached role. */
export interface PrincipalRoles {
  (tenant: string, principal: string): MaybePromise<Role | undefined>
  forget(tenant: string, principal: string): void
}

/**
 * The role of a reply principal: `_op` is the operator; an API key's id is looked up once in the
 * key store, a user's (`u_<name>`, `parsePrincipal`) once in the user store (one KV get per
 * principal per process, then cached: neither a key's nor a user's role changes, and a revoked
 * key's or deleted user's connections are cut at once); anything else (an unknown or revoked-
 * before-lookup key, an unknown or deleted user, a failed lookup) is undefined, evaluated
 * strictly (fail closed). A user name is never reused in its tenant, so a cached role never
 * passes to another person; `forget` drops a deleted user's entry in this process.
 */
export const principalRoles = (keys: ApiKeyStore, users?: UserStore): PrincipalRoles => {
  const cache = new Map<string, Role>()
  const lookup = async (tenant: string, principal: string): Promise<Role | undefined> => {
    if (KEY_ID_RE.test(principal)) {
      const record = await keys.get(principal as ApiKeyId)
      return record === undefined || record.tenant !== tenant ? undefined : record.role
    }
    const p = parsePrincipal(principal)
    if (p?.kind !== 'user' || users === undefined || !TenantId.is(tenant)) return undefined
    const found = await users.get(tenant, p.username)()
    const record = E.isRight(found) ? found.right?.record : undefined
    return record === undefined || record.deletedAt !== undefined ? undefined : record.role
  }
  const remember = async (id: string, tenant: string, principal: string): Promise<Role | undefined> => {
    try {
      const role = await lookup(tenant, principal)
      if (role === undefined) return undefined
      if (cache.size >= MAX_CACHED_ROLES) cache.clear()
      cache.set(id, role)
      return role
    } catch {
      return undefined
    }
  }
  // A cached role is answered as a value (the append guard takes it without a promise hop).
  const roleOf = (tenant: string, principal: string): MaybePromise<Role | undefined> => {
    if (principal === OPERATOR_PRINCIPAL) return 'operator'
    const id = `${tenant}.${principal}`
    return cache.get(id) ?? remember(id, tenant, principal)
  }
  return Object.assign(roleOf, { forget: (tenant: string, principal: string) => void cache.delete(`${tenant}.${principal}`) })
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
    /** Where user principals' roles are read (absent: users are evaluated strictly). */
    readonly users?: UserStore
    readonly replicas: number
    readonly log: (message: string) => void
    /** Auth mode's audit trail, for `policies.create|delete`. */
    readonly audit?: (draft: AuditDraft) => void
    /** The subject prefix of the event log, for the `streams` quota's counts; default `allsource`. */
    readonly prefix?: string
    /** How often the `storedBytes` count of a tenant is read again from the log (default 60 s). */
    readonly storedBytesResyncMs?: number
  },
): Promise<PolicyPlane> => {
  const store = await createKvPolicyStore(nc, { replicas: deps.replicas })
  const started = await startPolicyCache(store, (e) => deps.log(`warning: policy watch: ${e instanceof Error ? e.message : String(e)}; reopening`))()
  if (E.isLeft(started)) throw new Error(`the policies could not be loaded: ${started.left._tag}${'message' in started.left ? `: ${started.left.message}` : ''}`)
  const cache = started.right
  const limiter = createInMemoryRateLimiter({ clock: systemClock })
  const daily = createDailyEventCounter(systemClock)
  const roleOf = principalRoles(deps.keys, deps.users)
  const streams = createStreamQuota({ catalog: createJetStreamStreamCatalog(nc, { prefix: deps.prefix ?? 'allsource' }), clock: systemClock })
  let jsm: ReturnType<typeof jetstreamManager> | undefined
  const storedBytes = createStoredBytesQuota({
    source: async (tenant) => {
      try {
        return (await logCountsOf(await (jsm ??= jetstreamManager(nc)), deps.prefix ?? 'allsource', tenant)).bytes
      } catch (e) {
        jsm = undefined
        throw e
      }
    },
    size: estimateCommitBytes,
    clock: systemClock,
    ...(deps.storedBytesResyncMs !== undefined ? { resyncMs: deps.storedBytesResyncMs } : {}),
  })
  // The `projections` quota counts the tenant's durable subscriptions (docs/security.md, Tiers).
  const projectionQuota = checkProjectionQuota({ admit: (t) => deps.directory.admit(t), count: createSubscriptionCount(nc) })
  const beforeSubscriptionCreate: PolicyPlane['beforeSubscriptionCreate'] = async (tenant) => {
    const r = await projectionQuota(tenant)
    return E.isLeft(r) && r.left._tag === 'Internal' ? E.left({ _tag: 'Unavailable', message: r.left.message }) : (r as Awaited<ReturnType<PolicyPlane['beforeSubscriptionCreate']>>)
  }
  const warnLog = rateLimitedLog(deps.log, 'policy warnings')
  // Warned appends are audited (policy.warned, at most one entry per tenant and rule a minute).
  const warned = deps.audit === undefined ? undefined : createPolicyWarnAuditor(deps.audit)
  // Policy denies, quota refusals and refused tenants are audited (request.denied, rate-limited).
  const audited = deps.audit === undefined ? undefined : createRefusalAuditor(deps.audit)
  const onFailed = (command: AppendCommand, error: AppendError, caller: AppendCaller | undefined): void => {
    const principal = caller?.principal
    audited?.({ tenant: command.tenant, operation: principal !== undefined ? 'append' : 'ingest', error, ...(principal !== undefined ? { principal } : {}) })
  }
  const guard = createAppendGuard({
    policy: checkAppendPolicy({ cache, payloadBytes: msgpackPayloadBytes }),
    limiter,
    daily,
    streams,
    storedBytes,
    roleOf,
    onWarn: (command, result, caller) => {
      warnLog(`policy warn: ${command.tenant}/${command.stream}: ${result.reason}`)
      if (warned !== undefined && result.rule !== undefined) {
        warned({ tenant: command.tenant, rule: result.rule, stream: command.stream, operation: caller?.principal !== undefined ? 'append' : 'ingest', ...(caller?.principal !== undefined ? { principal: caller.principal } : {}) })
      }
    },
    ...(audited !== undefined ? { onFailed } : {}),
  })
  // The tenant is admitted from memory when the directory holds it (no promise hop), else looked up.
  const guardAppend: PolicyPlane['guardAppend'] = (command, caller, append) => {
    const held = deps.directory.peek(command.tenant)
    if (held !== undefined) return E.isLeft(held) ? Promise.resolve(refused(held, command, caller)) : guard(held.right, command, caller, append)
    return deps.directory.admit(command.tenant).then((t) => (E.isLeft(t) ? refused(t, command, caller) : guard(t.right, command, caller, append)))
  }
  const refused = <T extends E.Left<AppendError>>(r: T, command: AppendCommand, caller: AppendCaller | undefined): T => {
    if (audited !== undefined) onFailed(command, r.left, caller)
    return r
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
      storedBytes,
      roleOf,
      tenantReplies: true,
      ...(deps.audit !== undefined ? { audit: deps.audit } : {}),
    })
  return {
    guarding: (auth) => ({ ...auth, guardAppend, beforeSubscriptionCreate, endpoints: (base) => [...endpoints(base), ...(auth.endpoints?.(base) ?? [])] }),
    guardAppend,
    endpoints,
    store,
    cache,
    limiter,
    daily,
    roles: roleOf,
    streams,
    storedBytes,
    beforeSubscriptionCreate,
    stop: () => {
      cache.stop()
      warnLog.flush()
    },
  }
}
