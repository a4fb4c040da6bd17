import { jetstreamManager, type JetStreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { policyCommandAudit } from '../../../application/admin/adminAudit.js'
import { createPolicy, deletePolicy, evaluatePolicy, listPolicies } from '../../../application/policies/index.js'
import type { PayloadSizer, PolicyStore } from '../../../application/policies/ports.js'
import { type AppendError, unavailable } from '../../../application/streams/errors.js'
import type { DailyEventCounter } from '../../../application/tenants/dailyEvents.js'
import type { RateLimiter } from '../../../application/tenants/rateLimiter.js'
import type { StoredBytesQuota } from '../../../application/tenants/storedBytes.js'
import type { AuditDraft } from '../../../domain/security/audit.js'
import type { Role } from '../../../domain/security/roles.js'
import { validateTenant } from '../../../domain/streams/appendRequest.js'
import { badRequest, invalidId } from '../../../domain/streams/errors.js'
import type { TenantId } from '../../../domain/streams/ids.js'
import type { Tenant } from '../../../domain/tenants/tenant.js'
import { logUsageOf } from '../tenants/logUsage.js'
import { type Endpoint, type EndpointRoute, principalOfReply, startEndpoint } from '../service/endpoint.js'
import { actorFromReply } from './replyActor.js'

export interface PolicyEndpointsOptions {
  readonly prefix: string
  /** Base queue group: the policy endpoint uses `<queue>-policies`, stats `<queue>-stats`. */
  readonly queue: string
  readonly store: PolicyStore
  readonly payloadBytes: PayloadSizer
  /** The tenant as the request path admits it (from memory): its quotas, and whether it may be served. */
  readonly admit: (tenant: string) => Promise<E.Either<AppendError, Tenant>>
  readonly limiter: RateLimiter
  readonly daily: DailyEventCounter
  /** The `storedBytes` quota's count (stats shows it as `usage.storedBytes`); absent, stats shows `bytes` as its `used`. */
  readonly storedBytes?: StoredBytesQuota
  /** The caller's role from its reply principal (`evaluate`'s default role); undefined: `admin`, the least role that may call it. */
  readonly roleOf?: (tenant: string, principal: string) => Role | undefined | Promise<Role | undefined>
  /** Auth mode: requests whose reply is outside `_INBOX.<tenant>.` are dropped unanswered. */
  readonly tenantReplies?: boolean
  /** Auth mode's audit trail: told one draft per `policies.create|delete` whose body is a rule (a rule id), whatever its result; `who` from the reply inbox. */
  readonly audit?: (draft: AuditDraft) => void
}

/** Tenant tokens that are other admin endpoints' words (see `adminEndpoints.ts`): left to them, unanswered here. */
const OTHER_ADMIN_WORDS: ReadonlySet<string> = new Set(['tenants', 'projection'])

const POLICY_COMMANDS = ['create', 'list', 'delete', 'evaluate'] as const

/**
 * A route for `<prefix>.admin.<tenant>.<word>[.<command>]`: listens on `…admin.*.<word>` and
 * `…admin.*.<word>.>`; answers `[tenant, ...commands]` when exactly `commands` tokens follow.
 */
export const tenantAdminRoute = (prefix: string, word: string, commands: number): EndpointRoute => {
  const head = `${prefix}.admin.`
  const shape = `${head}<tenant>.${word}${commands === 1 ? '.<command>' : ''}`
  return {
    announced: `${head}*.${word}${commands === 1 ? '.*' : ''}`,
    listen: [`${head}*.${word}`, `${head}*.${word}.>`],
    tokensOf: (subject) => {
      if (!subject.startsWith(head)) return E.left(invalidId('subject', `not a ${word} admin subject`))
      const [tenant = '', w, ...rest] = subject.slice(head.length).split('.')
      if (w !== word) return E.left(invalidId('subject', `not a ${word} admin subject`))
      if (OTHER_ADMIN_WORDS.has(tenant)) return 'ignore'
      const t = validateTenant(tenant)
      if (E.isLeft(t)) return t
      if (rest.length !== commands) return E.left(invalidId('subject', `${shape} takes ${commands} token${commands === 1 ? '' : 's'} after ${word}, got ${rest.length}`))
      return E.right([t.right, ...rest])
    },
  }
}

/**
 * The policy and stats admin requests on NATS (DESIGN.md, "Admin API"), request-reply in JSON or
 * msgpack, failures through the one error table:
 *
 * - `<prefix>.admin.<tenant>.policies.create` (a rule → the rule), `.list` (→ `{ rules, revision }`,
 *   evaluation order), `.delete` (`{ id }` → `{ id }`), `.evaluate` (`{ stream, events, role? }` →
 *   `{ decision, rule?, event?, reason }`, a dry run writing nothing); see `src/application/policies/`.
 * - `<prefix>.admin.<tenant>.stats` → `{ tenant, events, streams, bytes, lastActivity, quotas,
 *   usage: { eventsToday, storedBytes, appendsPerSecond, keys } }` (see `logUsageOf`; `usage` is this
 *   processor's in-memory counters; `storedBytes.used` is the quota's count, or `bytes` before the
 *   tenant's first append on this processor).
 *
 * Each in its own queue group (`<queue>-policies`, `<queue>-stats`), like the key endpoint, since
 * their listen subjects overlap the tenant and projection endpoints' (`tenants` and `projection`
 * as tenant token are left to those, unanswered here). Every other request is answered; a bad
 * subject is `INVALID_ID`, a bad body `BAD_REQUEST`, an unknown command `BAD_REQUEST`. Who may call
 * is NATS's to check (`managePolicies`, `readStats` grants) with the reply-inbox check.
 * `create` and `delete` need the tenant admitted (active); `list`, `evaluate` and `stats` need it
 * known (a suspended tenant's rules and usage can be reviewed).
 */
export const startPolicyEndpoints = (nc: NatsConnection, o: PolicyEndpointsOptions): Endpoint[] => {
  const create = createPolicy(o.store)
  const list = listPolicies(o.store)
  const remove = deletePolicy(o.store)
  const evaluate = evaluatePolicy({ store: o.store, payloadBytes: o.payloadBytes })
  let jsm: Promise<JetStreamManager> | undefined
  const tenantReplies = o.tenantReplies ?? false

  /** The tenant's record if it exists: a suspended one too when `active` is not needed. */
  const known = async (tenant: string, active: boolean): Promise<E.Either<AppendError, Tenant | undefined>> => {
    const r = await o.admit(tenant)
    if (E.isRight(r)) return r
    return !active && r.left._tag === 'TenantSuspended' ? E.right(undefined) : r
  }

  const policies = startEndpoint(
    nc,
    { prefix: o.prefix, queue: `${o.queue}-policies`, verb: 'admin.policies', name: 'policy-admin', tokens: 2, emptyBody: 'allowed', route: tenantAdminRoute(o.prefix, 'policies', 1), tenantReplies },
    async (tokens, body, _format, request) => {
      const tenant = tokens[0] as TenantId
      const command = tokens[1] ?? ''
      if (!(POLICY_COMMANDS as readonly string[]).includes(command)) {
        return E.left(badRequest(`unknown policies command "${command.slice(0, 32)}"; one of ${POLICY_COMMANDS.join(', ')}`, { field: 'subject' }))
      }
      const changes = command === 'create' || command === 'delete'
      const t = await known(tenant, changes)
      const audited = <A>(r: E.Either<AppendError, A>): E.Either<AppendError, A> => {
        const draft = changes && o.audit !== undefined ? policyCommandAudit(tenant, command, body, r, actorFromReply(request.reply, tenant)) : undefined
        if (draft !== undefined) o.audit?.(draft)
        return r
      }
      if (E.isLeft(t)) return audited(t)
      switch (command) {
        case 'create':
          return audited(await create(tenant, body))
        case 'delete':
          return audited(await remove(tenant, body))
        case 'list':
          if (body !== undefined && !(typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0)) {
            return E.left(badRequest('policies.list takes no body or {}'))
          }
          return list(tenant)
        default: {
          const principal = principalOfReply(tenant, request.reply)
          const role = (principal !== undefined && tenantReplies ? await o.roleOf?.(tenant, principal) : undefined) ?? 'admin'
          return evaluate(tenant, role, body)
        }
      }
    },
  )

  const stats = startEndpoint(
    nc,
    { prefix: o.prefix, queue: `${o.queue}-stats`, verb: 'admin.stats', name: 'tenant-stats', tokens: 1, emptyBody: 'allowed', route: tenantAdminRoute(o.prefix, 'stats', 0), tenantReplies },
    async (tokens, body) => {
      const tenant = tokens[0] as TenantId
      if (body !== undefined && !(typeof body === 'object' && body !== null && !Array.isArray(body) && Object.keys(body).length === 0)) {
        return E.left(badRequest('stats takes no body or {}'))
      }
      const admitted = await o.admit(tenant)
      // A suspended tenant's stats stay readable (by the operator: its own connections are cut).
      const record = E.isRight(admitted) ? admitted.right : admitted.left._tag === 'TenantSuspended' ? undefined : admitted
      if (record !== undefined && !('quotas' in record)) return record
      try {
        jsm ??= jetstreamManager(nc, { checkAPI: false }) // no request, so no failure to keep
        const usage = await logUsageOf(await jsm, o.prefix, tenant)
        const quotas = record?.quotas ?? null
        const budget = o.limiter.budget(tenant, quotas?.appendsPerSecond ?? null)
        return E.right({
          tenant,
          ...usage,
          quotas,
          usage: {
            eventsToday: { used: o.daily.today(tenant), limit: quotas?.eventsPerDay ?? null },
            storedBytes: { used: o.storedBytes?.used(tenant) ?? usage.bytes, limit: quotas?.storedBytes ?? null },
            appendsPerSecond: budget.tenant,
            keys: budget.keys,
          },
        })
      } catch (e) {
        jsm = undefined
        return E.left(unavailable(`the event log did not answer: ${e instanceof Error ? e.message : String(e)}`, { retryAfterMs: 1_000 }))
      }
    },
  )

  return [policies, stats]
}
