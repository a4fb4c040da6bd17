import * as E from 'fp-ts/lib/Either.js'
import type { PolicyResult } from '../../domain/security/policies.js'
import { may } from '../../domain/security/permissions.js'
import { type Role, roles } from '../../domain/security/roles.js'
import type { AppendCommand } from '../../domain/streams/appendRequest.js'
import type { Tenant } from '../../domain/tenants/tenant.js'
import type { AppendResult } from '../streams/appendResult.js'
import type { AppendCaller } from '../streams/appender.js'
import type { AppendError } from '../streams/errors.js'
import type { DailyEventCounter } from './dailyEvents.js'
import type { RateLimiter } from './rateLimiter.js'
import type { StoredBytesQuota } from './storedBytes.js'
import type { StreamQuota } from './streamQuota.js'

/** The roles that may append at all: what an append of unknown role is evaluated as. */
export const APPENDING_ROLES: readonly Role[] = roles.filter((r) => may(r, 'append'))

export interface AppendGuardDeps {
  /** The policy check of one role (`checkAppendPolicy` over the cache): in memory, no I/O. */
  readonly policy: (command: AppendCommand, role: Role) => E.Either<AppendError, PolicyResult>
  readonly limiter: RateLimiter
  readonly daily: DailyEventCounter
  /** The `streams` quota; absent, not enforced. */
  readonly streams?: StreamQuota
  /** The `storedBytes` quota; absent, not enforced. */
  readonly storedBytes?: StoredBytesQuota
  /** The role of a principal of `tenant`, if it can be told (cached: no store read per append); undefined: unknown. */
  readonly roleOf?: (tenant: string, principal: string) => Promise<Role | undefined>
  /** Told of an append let through with a `warn` decision (before the quotas are checked), with who asked. */
  readonly onWarn?: (command: AppendCommand, result: PolicyResult, caller: AppendCaller | undefined) => void
}

/**
 * Decides an append of unknown role the strict way: it is evaluated as each role that may
 * append, and the first deny (in {@link APPENDING_ROLES} order) refuses it; else the first warn,
 * else allow. So a `deny` rule limited to some roles still binds an identity the door cannot name.
 */
const checkPolicy = (deps: AppendGuardDeps, command: AppendCommand, role: Role | undefined): E.Either<AppendError, PolicyResult> => {
  if (role !== undefined) return deps.policy(command, role)
  let warned: PolicyResult | undefined
  let allowed: PolicyResult | undefined
  for (const r of APPENDING_ROLES) {
    const result = deps.policy(command, r)
    if (E.isLeft(result)) return result
    if (result.right.decision === 'warn') warned ??= result.right
    allowed ??= result.right
  }
  return E.right(warned ?? allowed ?? { decision: 'allow', reason: 'no role may append' })
}

/**
 * The checks of an admitted tenant's append in auth mode (issue 11 items 6 and 7), before the
 * append itself, in this order:
 * 1. **policies**: `deny` → `FORBIDDEN` (`reason: "policy"`, `rule`, `event`); nothing counted;
 * 2. **`streams`** (with `deps.streams`): an append that would start a stream past the tenant's
 *    `streams` quota is `QUOTA_EXCEEDED` (see `createStreamQuota`); nothing counted;
 * 3. **`storedBytes`** (with `deps.storedBytes`): the commit's estimated bytes are reserved, or
 *    `QUOTA_EXCEEDED` with `used` (see `createStoredBytesQuota`; it does not reset by itself);
 * 4. **`eventsPerDay`**: the command's events are reserved for today, or `QUOTA_EXCEEDED` with
 *    `retryAfterMs` until the next UTC midnight;
 * 5. **`appendsPerSecond`**: one token from the tenant's bucket and, with a principal, from the
 *    principal's own bucket; else `QUOTA_EXCEEDED` with `retryAfterMs` (the reservations are
 *    given back);
 * 6. `append()`; a failed append gives the reservations back (a duplicate gives the bytes back: it
 *    wrote nothing); a stored one is told to `deps.streams`.
 *
 * Guarantees: no store read per append (policies, buckets and counts are in memory; `roleOf` is
 * the caller's to cache; the `streams` quota reads the log only to refresh a tenant's stream count,
 * at most once per its TTL, and once per append that may start a stream while the tenant is at its quota); a refused append never reaches `append` and leaves the day's count as it
 * was; the role is the principal's when `roleOf` tells it, else unknown, evaluated strictly (see
 * {@link checkPolicy}).
 */
export const createAppendGuard =
  (deps: AppendGuardDeps) =>
  async (
    tenant: Tenant,
    command: AppendCommand,
    caller: AppendCaller | undefined,
    append: () => Promise<E.Either<AppendError, AppendResult>>,
  ): Promise<E.Either<AppendError, AppendResult>> => {
    const principal = caller?.principal
    const role = principal === undefined || deps.roleOf === undefined ? undefined : await deps.roleOf(command.tenant, principal)
    const decided = checkPolicy(deps, command, role)
    if (E.isLeft(decided)) return decided
    if (decided.right.decision === 'warn') {
      deps.onWarn?.(command, decided.right, caller)
      if (decided.right.rule !== undefined) caller?.onPolicyWarning?.(decided.right.rule)
    }
    if (deps.streams !== undefined) {
      const streams = await deps.streams.check(tenant, command)
      if (E.isLeft(streams)) return streams
    }
    const bytes = deps.storedBytes === undefined ? undefined : await deps.storedBytes.reserve(tenant, command)
    if (bytes !== undefined && E.isLeft(bytes)) return bytes
    const releaseBytes = (): void => {
      if (bytes !== undefined && E.isRight(bytes)) deps.storedBytes?.release(bytes.right)
    }
    const reserved = deps.daily.reserve(command.tenant, command.events.length, tenant.quotas.eventsPerDay)
    if (E.isLeft(reserved)) {
      releaseBytes()
      return reserved
    }
    const rate = deps.limiter.take({ tenant: command.tenant, tenantRate: tenant.quotas.appendsPerSecond, ...(principal !== undefined ? { keyId: principal } : {}) })
    if (E.isLeft(rate)) {
      deps.daily.release(reserved.right)
      releaseBytes()
      return rate
    }
    const r = await append()
    if (E.isLeft(r)) {
      deps.daily.release(reserved.right)
      releaseBytes()
    } else {
      if (r.right.duplicate === true) releaseBytes()
      deps.streams?.appended(r.right)
    }
    return r
  }

export type AppendGuard = ReturnType<typeof createAppendGuard>
