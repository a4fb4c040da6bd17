import * as E from 'fp-ts/lib/Either.js'
import { type PolicyResult, enforce, evaluate, policyRequestOf } from '../../domain/security/policies.js'
import { type Role, Role as RoleCodec } from '../../domain/security/roles.js'
import { type AppendCommand, validateAppendRequest } from '../../domain/streams/appendRequest.js'
import { badRequest } from '../../domain/streams/errors.js'
import type { StreamId, TenantId } from '../../domain/streams/ids.js'
import type { AppendError } from '../streams/errors.js'
import { fromStoreError } from './changePolicies.js'
import type { PolicyCache } from './policyCache.js'
import type { PayloadSizer, PolicyStore } from './ports.js'

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === 'object' && u !== null && !Array.isArray(u)

/**
 * `policies.evaluate`, the dry run: body `{ stream, events, role? }` — an append request body
 * (validated exactly as an append is; `expectedVersion`, `commitId` are accepted and ignored)
 * plus the stream and, optionally, the role to evaluate as (default: the caller's). Answers
 * `{ decision, rule?, event?, reason }` from the rules as stored now (read from the store, not a
 * cache, so it reflects a change made a moment ago). Writes nothing.
 */
export const evaluatePolicy =
  (deps: { readonly store: PolicyStore; readonly payloadBytes: PayloadSizer }) =>
  async (tenant: TenantId, callerRole: Role, body: unknown): Promise<E.Either<AppendError, PolicyResult>> => {
    if (!isRecord(body)) return E.left(badRequest('request body must be an object { stream, events, role? }'))
    if (body.role !== undefined && !RoleCodec.is(body.role)) {
      return E.left(badRequest(`role must be one of ${Object.keys(RoleCodec.keys).join(', ')}`))
    }
    const command = validateAppendRequest(tenant, body.stream, body)
    if (E.isLeft(command)) return command
    const loaded = await deps.store.get(tenant)()
    if (E.isLeft(loaded)) return E.left(fromStoreError(loaded.left))
    return E.right(evaluate(loaded.right.rules, policyRequestOf(command.right, body.role ?? callerRole, deps.payloadBytes)))
  }

/**
 * The check for the append path: decides a validated append `command` by `role` against the
 * cached rules, with no I/O. `Right` (allow or warn, with the result for logging) lets the append
 * go ahead; a deny is `Forbidden` (`reason: 'policy'`, `rule`, `event`); a tenant whose stored
 * rules are corrupt is `Unavailable` (fail closed).
 */
/** What a tenant without rules answers every append: `evaluate` with no rule and no event, built once (an `Either` is immutable). */
const NO_RULES: E.Either<AppendError, PolicyResult> = E.right(evaluate([], { tenant: '' as TenantId, stream: '' as StreamId, role: 'admin', events: [] }))

export const checkAppendPolicy =
  (deps: { readonly cache: PolicyCache; readonly payloadBytes: PayloadSizer }) =>
  (command: AppendCommand, role: Role): E.Either<AppendError, PolicyResult> => {
    const policies = deps.cache.policiesOf(command.tenant)
    if (E.isLeft(policies)) return policies
    // No rules (the common case): allow, without sizing every payload (a msgpack encode each).
    if (policies.right.rules.length === 0) return NO_RULES
    return enforce(policies.right, policyRequestOf(command, role, deps.payloadBytes))
  }
