import { connect, type NatsConnection, nkeyAuthenticator } from '@nats-io/transport-node'
import { resolve } from 'node:path'
import { createHmacApiKeyHasher } from '../../adapters/crypto/hmacApiKeyHasher.js'
import { createKvApiKeyStore } from '../../adapters/nats/auth/kvApiKeyStore.js'
import { startAdminEndpoints } from '../../adapters/nats/admin/adminEndpoints.js'
import { startAuditEndpoints } from '../../adapters/nats/admin/auditEndpoints.js'
import { replyRootOf } from '../../adapters/nats/admin/replyActor.js'
import { createJetStreamAuditLog } from '../../adapters/nats/audit/jetStreamAuditLog.js'
import { connectionAudit } from '../../adapters/nats/auth/connectionAudit.js'
import { type AuthCallout, type CalloutDecision, startAuthCallout } from '../../adapters/nats/auth/authCallout.js'
import { type ConnectionKicker, createConnectionKicker } from '../../adapters/nats/auth/connectionKicker.js'
import { type ConnectionCounter, createConnectionCounter } from '../../adapters/nats/auth/connectionCounter.js'
import { createKvTenantStore } from '../../adapters/nats/tenants/kvTenantStore.js'
import { createKvTenantDirectory, type TenantDirectory } from '../../adapters/nats/tenants/tenantDirectory.js'
import type { DroppedRequest, Endpoint, EndpointBase } from '../../adapters/nats/service/endpoint.js'
import { openProjectionCatalog } from '../../adapters/nats/projections/projectionControl.js'
import { durableName } from '../../domain/projections/operations.js'
import { systemClock } from '../../adapters/system/systemClock.js'
import { createDropAuditor } from '../../application/audit/dropAudit.js'
import type { AuditLog } from '../../application/audit/ports.js'
import type { AuthObserver } from '../../application/observability/ports.js'
import { authenticate, type OperatorKey } from '../../application/auth/authenticate.js'
import { createLoginThrottle, type LoginThrottle } from '../../application/auth/loginThrottle.js'
import { createWindowedAuditor } from '../../application/audit/windowedAudit.js'
import type { ApiKeyHasher, ApiKeyStore } from '../../application/auth/ports.js'
import type { TenantStore } from '../../application/tenants/ports.js'
import type { AllSourceOptions } from '../allSource.js'
import type { Config } from '../config.js'
import { APP_ACCOUNT, type AuthMaterial } from './authMaterial.js'
import { loadOrCreateOperatorKey } from './operatorKey.js'
import { type PolicyPlane, startPolicyPlane } from './policyPlane.js'
import { projectRoot } from '../natsServer/findNatsServer.js'
import { openUserPlane, type UserPlane } from './userPlane.js'
import { longLivedConnection } from '../natsConnection.js'

/** The control plane of one processor in auth mode. */
export interface AuthPlane {
  /** What `createAllSource` needs: tenant admission on the request path, and the admin endpoints. */
  readonly serviceAuth: NonNullable<AllSourceOptions['auth']>
  readonly tenants: TenantStore
  readonly keys: ApiKeyStore
  readonly hasher: ApiKeyHasher
  readonly directory: TenantDirectory
  readonly callout: AuthCallout
  /** Disconnects a tenant's (or one key's) live connections. */
  readonly kicker: ConnectionKicker
  /**
   * Live connections per tenant (from the servers' connect and disconnect events, seeded by one
   * CONNZ listing): the callout refuses a tenant connection at its `connections` quota.
   */
  readonly connections: ConnectionCounter
  /** Policies, quotas and rates on the append path, and their admin endpoints. */
  readonly policies: PolicyPlane
  /** Users, refresh tokens and the access-token signer (docs/security.md "Users and tokens"). */
  readonly userPlane: UserPlane
  /** Login rate limits of this processor: failed password logins per username and tenant, token requests per principal. */
  readonly loginThrottle: LoginThrottle
  /**
   * The audit log (`ALLSOURCE_AUDIT`, replicas from the config): every callout decision, every
   * tenant, key, user and policy command that changes something, every `auth.token` request,
   * every audit query, and (rate-limited) requests
   * dropped for a foreign reply subject are recorded here. Closed by `stop`.
   */
  readonly audit: AuditLog
  /** Reports a request dropped unanswered to the audit log (`request.denied`, at most one entry per tenant a minute; see `createDropAuditor`). */
  readonly onDropped: (d: DroppedRequest) => void
  /** The operator key's id and keyed hash (never the key): the HTTP gateway authenticates with the callout's `authenticate`. */
  readonly operator: OperatorKey
  stop(): Promise<void>
}

const te = new TextEncoder()

/**
 * Starts auth mode's control plane on a processor connection `nc`: the tenant registry and key
 * store, the in-memory tenant directory the request path admits from, the operator key, and the
 * auth callout on its own connection (the callout user, account `AUTH`, exempt from the callout).
 * Logs where the operator key is, never the key.
 */
export const startAuthPlane = async (
  nc: NatsConnection,
  auth: { readonly material: AuthMaterial; readonly url: string },
  config: Config,
  log: (message: string) => void,
  /** Told of every refused connection (metrics: auth failures by reason, quota refusals). */
  observer?: AuthObserver,
): Promise<AuthPlane> => {
  const hasher = createHmacApiKeyHasher({ pepper: auth.material.pepper })
  let writeErrors = 0
  const audit = await createJetStreamAuditLog(nc, {
    replicas: config.replicas,
    // The entry is already redacted: safe to name. Every drop is reported, never silent.
    onDropped: (entry, reason) => log(`warning: audit entry ${entry?.id ?? '(invalid draft)'} (${entry?.action ?? '?'}) dropped: ${reason}`),
    // One line per outage, not per retry: the first failure, then every 100th.
    onWriteError: (e, consecutive) => {
      if (consecutive === 1 || ++writeErrors % 100 === 0) log(`warning: audit log write failed (${e instanceof Error ? e.message : String(e)}); retrying`)
    },
  })
  const auditDrop = createDropAuditor((draft) => audit.record(draft))
  // A JetStream delivery onto an endpoint's subject (cause `subject`) is no one's request: counted, not audited.
  const onDropped = (d: DroppedRequest): void =>
    d.cause === 'subject'
      ? undefined
      : auditDrop({ reason: d.cause === 'reply' ? 'FOREIGN_REPLY' : 'BAD_SUBJECT', endpoint: d.endpoint, ...(d.tenant !== undefined ? { tenant: d.tenant } : {}), ...(d.reply !== undefined ? { replyRoot: replyRootOf(d.reply) as string } : {}) })
  const tenants = await createKvTenantStore(nc, { replicas: config.replicas })
  const keys = await createKvApiKeyStore(nc, { replicas: config.replicas, onCorrupt: (r) => log(`warning: API key record ${r.key} (revision ${r.revision}) is corrupt (${r.message}); treated as absent`) })
  const sysNc = await connect({ ...longLivedConnection(auth.url), name: 'allsource-control', authenticator: nkeyAuthenticator(te.encode(auth.material.systemSeed)) })
  const kicker = createConnectionKicker(sysNc, { account: APP_ACCOUNT })
  const directory = await createKvTenantDirectory(nc, {
    replicas: config.replicas,
    onError: (e) => log(`warning: tenant watch: ${e instanceof Error ? e.message : String(e)}; reopening`),
    // A tenant that may no longer be served loses its live connections now, not at grant expiry.
    onChange: (tenant, record) => {
      if (record?.status === 'active') return
      kicker.kick(tenant).then(
        (n) => n > 0 && log(`auth: tenant ${tenant} is ${record?.status ?? 'gone'}: disconnected ${n} connection${n === 1 ? '' : 's'}`),
        (e: unknown) => log(`warning: could not disconnect tenant ${tenant}'s connections (${e instanceof Error ? e.message : String(e)}); their grants expire within ${config.grantTtlMs} ms`),
      )
    },
  })
  const dataDir = resolve(projectRoot(), config.dataDir)
  const op = loadOrCreateOperatorKey(dataDir, config.bootstrapKey, hasher)
  log(
    op.source === 'ALLSOURCE_BOOTSTRAP_KEY'
      ? 'auth on: the operator key is ALLSOURCE_BOOTSTRAP_KEY'
      : `auth on: the operator key is in ${op.file} (mode 0600${op.source === 'created' ? ', created now' : ''}); the CLI uses it by itself`,
  )
  // The operator's connections are never counted against a tenant (a tenant may be named `operator`).
  const connections = await createConnectionCounter(sysNc, {
    account: APP_ACCOUNT,
    skip: (user) => user === `operator:${op.operator.keyId}`,
    onError: (e) => log(`warning: could not list connections (${e instanceof Error ? e.message : String(e)}); the connections quota counts from events only until the next resync`),
  })
  const generations = new Map<string, number>()
  const catalog = await openProjectionCatalog(nc, { replicas: config.replicas })
  const stopPointers = await catalog.watchPointers(
    (name, p) => generations.set(name, p.generation),
    (e) => log(`warning: projection pointer watch: ${e instanceof Error ? e.message : String(e)}; reopening`),
  )
  // Login rate limits (per processor): failed password logins per username and tenant, token requests per principal.
  const loginThrottle = createLoginThrottle(systemClock)
  const userPlane = await openUserPlane(nc, { replicas: config.replicas, tenants, keys, hasher, throttle: loginThrottle })
  // Throttled connects cost no password work, so they could come fast: at most one entry a minute per quota and host, with a count.
  const auditThrottled = createWindowedAuditor((draft) => audit.record(draft), 'refused')
  // Refused connections are all audited; the log gets at most one line a second (a storm of bad
  // connects must not flood it), and the client's name is quoted (it is the client's text).
  let lastRefusalLog = 0
  let refusalsUnlogged = 0
  const logRefusal = (d: CalloutDecision): void => {
    const now = Date.now()
    if (now - lastRefusalLog < 1_000) {
      refusalsUnlogged++
      return
    }
    const more = refusalsUnlogged > 0 ? ` (and ${refusalsUnlogged} more refusals since the last line; all are in the audit log)` : ''
    lastRefusalLog = now
    refusalsUnlogged = 0
    log(`auth: refused a connection from ${d.client.host ?? '?'}${d.client.name !== undefined ? ` (${JSON.stringify(d.client.name.slice(0, 100))})` : ''}: ${d.code ?? ''}${d.quota !== undefined ? ` (${d.quota.name} quota of ${d.quota.limit})` : ''}${more}`)
  }
  const calloutNc = await connect({ ...longLivedConnection(auth.url), name: 'allsource-auth-callout', authenticator: nkeyAuthenticator(te.encode(auth.material.calloutSeed)) })
  const callout = startAuthCallout(calloutNc, {
    issuerSeed: auth.material.issuerSeed,
    xkeySeed: auth.material.xkeySeed,
    account: APP_ACCOUNT,
    grantTtlMs: config.grantTtlMs,
    authenticate: authenticate({ store: keys, hasher, clock: systemClock, tenants, admit: (t) => directory.admit(t), liveConnections: (t) => connections.live(t), operator: op.operator, userAuth: userPlane.userAuth, loginThrottle }),
    // The processor's projection consumers (current generation and the next, a rebuild's target) are denied to tenants.
    grants: () => ({ prefix: config.prefix, processorConsumers: [...generations].flatMap(([name, g]) => [durableName(name, g), durableName(name, g + 1)]) }),
    onDecision: (d) => {
      const draft = connectionAudit(d)
      if (draft.action === 'auth.connect.throttled') auditThrottled(`${d.quota?.name ?? ''}|${d.client.host ?? ''}`, draft)
      else audit.record(draft)
      if (d.outcome === 'refused') {
        logRefusal(d)
        observer?.authRefused(d.code ?? 'UNKNOWN', d.quota?.name)
      }
    },
  })
  await calloutNc.flush()
  const policies = await startPolicyPlane(nc, { directory, keys, users: userPlane.users, replicas: config.replicas, log, prefix: config.prefix, audit: (draft) => audit.record(draft) })
  return {
    serviceAuth: policies.guarding({
      admit: (tenant) => directory.admit(tenant),
      onDropped,
      endpoints: (base: EndpointBase): readonly Endpoint[] => [
        ...startAdminEndpoints(nc, {
          prefix: base.prefix,
          queue: base.queue,
          tenants,
          keys,
          hasher,
          clock: systemClock,
          tenantReplies: true,
          audit: (draft) => audit.record(draft),
          onDropped,
          onKeyRevoked: (tenant, keyId) => {
            kicker.kick(tenant, keyId).then(
              (n) => n > 0 && log(`auth: key ${tenant}:${keyId} revoked: disconnected ${n} connection${n === 1 ? '' : 's'}`),
              () => undefined,
            )
          },
        }),
        // Deleting a user disconnects its connections (named `<tenant>:u_<username>`).
        ...userPlane.endpoints(
          base,
          (tenant, principal) => {
            policies.roles.forget(tenant, principal)
            kicker.kick(tenant, principal).then(
              (n) => n > 0 && log(`auth: user ${tenant}:${principal} deleted: disconnected ${n} connection${n === 1 ? '' : 's'}`),
              () => undefined,
            )
          },
          (draft) => audit.record(draft),
        ),
        ...startAuditEndpoints(nc, { prefix: base.prefix, queue: base.queue, log: audit, tenantReplies: true, onDropped }),
      ],
    }),
    tenants,
    keys,
    hasher,
    directory,
    callout,
    kicker,
    connections,
    policies,
    userPlane,
    loginThrottle,
    audit,
    onDropped,
    operator: op.operator,
    async stop() {
      policies.stop()
      await callout.stop()
      directory.stop()
      stopPointers()
      connections.stop()
      await calloutNc.close()
      await sysNc.close()
      // After the callout: its last decisions are recorded too. Entries still unwritten are reported dropped.
      await audit.close()
    },
  }
}
