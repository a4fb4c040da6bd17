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
import type { BytesReservation, StoredBytesQuota } from './storedBytes.js'
import { isPending, type MaybePromise } from '../maybePromise.js'
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
  readonly roleOf?: (tenant: string, principal: string) => MaybePromise<Role | undefined>
  /** Told of an append let through with a `warn` decision (before the quotas are checked), with who asked. */
  readonly onWarn?: (command: AppendCommand, result: PolicyResult, caller: AppendCaller | undefined) => void
  /** Told of every append that failed, refused by a check or by the append itself (auth mode audits refusals). */
  readonly onFailed?: (command: AppendCommand, error: AppendError, caller: AppendCaller | undefined) => void
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
 * Every failure, refusals and failed appends alike, is told to `deps.onFailed` once.
 *
 * Guarantees: no store read per append (policies, buckets and counts are in memory; `roleOf` is
 * the caller's to cache; the `streams` quota reads the log only to refresh a tenant's stream count,
 * at most once per its TTL, and once per append that may start a stream while the tenant is at its quota); a refused append never reaches `append` and leaves the day's count as it
 * was; the role is the principal's when `roleOf` tells it, else unknown, evaluated strictly (see
 * {@link checkPolicy}).
 *
 * Cost: a check that answers from memory (a value, not a promise) is taken synchronously, so an
 * append whose checks all answer from memory costs one promise hop (the append's own), not one per
 * check; written as stages for that reason rather than as one `async` function.
 */
export const createAppendGuard = (deps: AppendGuardDeps) => {
  const failed = <T extends E.Either<AppendError, unknown>>(r: T, command: AppendCommand, caller: AppendCaller | undefined): T => {
    if (E.isLeft(r)) deps.onFailed?.(command, r.left, caller)
    return r
  }
  const releaseBytes = (bytes: BytesReservation | undefined): void => {
    if (bytes !== undefined) deps.storedBytes?.release(bytes)
  }

  // 5–6: day and rate (synchronous), then the append; reservations given back on failure.
  const appendStage = (
    tenant: Tenant,
    command: AppendCommand,
    caller: AppendCaller | undefined,
    bytes: BytesReservation | undefined,
    append: () => Promise<E.Either<AppendError, AppendResult>>,
  ): Promise<E.Either<AppendError, AppendResult>> => {
    const reserved = deps.daily.reserve(command.tenant, command.events.length, tenant.quotas.eventsPerDay)
    if (E.isLeft(reserved)) {
      releaseBytes(bytes)
      return Promise.resolve(failed(reserved, command, caller))
    }
    const principal = caller?.principal
    const rate = deps.limiter.take({ tenant: command.tenant, tenantRate: tenant.quotas.appendsPerSecond, ...(principal !== undefined ? { keyId: principal } : {}) })
    if (E.isLeft(rate)) {
      deps.daily.release(reserved.right)
      releaseBytes(bytes)
      return Promise.resolve(failed(rate, command, caller))
    }
    return append().then((r) => {
      if (E.isLeft(r)) {
        deps.daily.release(reserved.right)
        releaseBytes(bytes)
        deps.onFailed?.(command, r.left, caller)
      } else {
        if (r.right.duplicate === true) releaseBytes(bytes)
        deps.streams?.appended(r.right)
      }
      return r
    })
  }

  // 3: stored bytes.
  const afterBytes = (
    bytes: E.Either<AppendError, BytesReservation>,
    tenant: Tenant,
    command: AppendCommand,
    caller: AppendCaller | undefined,
    append: () => Promise<E.Either<AppendError, AppendResult>>,
  ): Promise<E.Either<AppendError, AppendResult>> =>
    E.isLeft(bytes) ? Promise.resolve(failed(bytes, command, caller)) : appendStage(tenant, command, caller, bytes.right, append)
  const bytesStage = (
    tenant: Tenant,
    command: AppendCommand,
    caller: AppendCaller | undefined,
    append: () => Promise<E.Either<AppendError, AppendResult>>,
  ): Promise<E.Either<AppendError, AppendResult>> => {
    if (deps.storedBytes === undefined) return appendStage(tenant, command, caller, undefined, append)
    const bytes = deps.storedBytes.reserve(tenant, command)
    return isPending(bytes) ? bytes.then((b) => afterBytes(b, tenant, command, caller, append)) : afterBytes(bytes, tenant, command, caller, append)
  }
  const afterStreams = (
    streams: E.Either<AppendError, void>,
    tenant: Tenant,
    command: AppendCommand,
    caller: AppendCaller | undefined,
    append: () => Promise<E.Either<AppendError, AppendResult>>,
  ): Promise<E.Either<AppendError, AppendResult>> =>
    E.isLeft(streams) ? Promise.resolve(failed(streams, command, caller)) : bytesStage(tenant, command, caller, append)

  // 1–2: policies, then the `streams` quota.
  const policyStage = (
    tenant: Tenant,
    command: AppendCommand,
    caller: AppendCaller | undefined,
    role: Role | undefined,
    append: () => Promise<E.Either<AppendError, AppendResult>>,
  ): Promise<E.Either<AppendError, AppendResult>> => {
    const decided = checkPolicy(deps, command, role)
    if (E.isLeft(decided)) return Promise.resolve(failed(decided, command, caller))
    if (decided.right.decision === 'warn') {
      deps.onWarn?.(command, decided.right, caller)
      if (decided.right.rule !== undefined && caller !== undefined) caller.policyWarning = decided.right.rule
    }
    if (deps.streams === undefined) return bytesStage(tenant, command, caller, append)
    const streams = deps.streams.check(tenant, command)
    return isPending(streams) ? streams.then((r) => afterStreams(r, tenant, command, caller, append)) : afterStreams(streams, tenant, command, caller, append)
  }

  return (
    tenant: Tenant,
    command: AppendCommand,
    caller: AppendCaller | undefined,
    append: () => Promise<E.Either<AppendError, AppendResult>>,
  ): Promise<E.Either<AppendError, AppendResult>> => {
    const principal = caller?.principal
    const role = principal === undefined || deps.roleOf === undefined ? undefined : deps.roleOf(command.tenant, principal)
    return isPending(role) ? role.then((r) => policyStage(tenant, command, caller, r, append)) : policyStage(tenant, command, caller, role, append)
  }
}

export type AppendGuard = ReturnType<typeof createAppendGuard>
