import * as E from 'fp-ts/lib/Either.js'
import type { AuditAction, AuditDraft, AuditOutcome } from '../../domain/security/audit.js'
import type { KeyCommand } from '../../domain/security/keyRequests.js'
import { RuleId, validateRule } from '../../domain/security/policies.js'
import { parsePrincipal } from '../../domain/security/principal.js'
import type { TokenRequest, UserCommand } from '../../domain/security/userRequests.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { TenantCommand } from '../../domain/tenants/tenantRequests.js'
import type { AppendError } from '../streams/errors.js'
import type { KeyCommandResult } from './keyAdmin.js'
import type { UserCommandResult } from './userAdmin.js'

/**
 * The audit entries of admin commands (issue 11 item 8): which commands leave one, and what it
 * says. Pure: the door that runs a command hands the draft to `AuditLog.record`.
 *
 * Guarantees:
 * - every command that changes something leaves exactly one draft, whatever its result:
 *   `tenant.create|update|suspend|activate|delete`, `key.create|revoke`, `user.create|invite|delete`,
 *   `policy.create|delete`, and each `allsource.auth.token` request (`auth.token`, `auth.refresh`,
 *   `auth.refresh.failed`, `auth.refresh.reuse`); reads (`get`, `list`, `evaluate`) leave none
 *   (they decide nothing), nor does input refused before anything is decided (a body that is no
 *   command, no rule, no rule id);
 * - `outcome` is `succeeded` on success, `denied` when the failure is a refusal (`Forbidden`,
 *   `Unauthorized`, `TenantSuspended`, `QuotaExceeded`), `failed` otherwise, with the error's tag
 *   as `reason`;
 * - a draft never holds a key, a password, a token, a hash or a request body: `target` is
 *   `tenant:<id>`, `key:<keyId>` (a created key's id only once it exists), `user:<username>` or
 *   `policy:<ruleId>`, `details` only the role, tier or rule effect asked for (and the entry codec
 *   redacts whatever else might slip in).
 */

/** What a failure counts as in the log: a refusal (`denied`) or a failure (`failed`). */
export const outcomeOfFailure = (e: AppendError): AuditOutcome => {
  switch (e._tag) {
    case 'Forbidden':
    case 'Unauthorized':
    case 'TenantSuspended':
    case 'QuotaExceeded':
      return 'denied'
    default:
      return 'failed'
  }
}

const ended = <A>(r: E.Either<AppendError, A>): Pick<AuditDraft, 'outcome' | 'reason'> =>
  E.isRight(r) ? { outcome: 'succeeded' } : { outcome: outcomeOfFailure(r.left), reason: r.left._tag }

const tenantActions: Readonly<Record<TenantCommand['_tag'], AuditAction | undefined>> = {
  Create: 'tenant.create',
  Update: 'tenant.update',
  Suspend: 'tenant.suspend',
  Activate: 'tenant.activate',
  Delete: 'tenant.delete',
  Get: undefined,
  List: undefined,
}

/** The draft for a tenant command (`allsource.admin.tenants.<command>`) run by `who`; undefined for reads. The entry is in the commanded tenant's scope. */
export const tenantCommandAudit = (command: TenantCommand, result: E.Either<AppendError, unknown>, who: AuditDraft['who']): AuditDraft | undefined => {
  const action = tenantActions[command._tag]
  if (action === undefined || command._tag === 'List' || command._tag === 'Get') return undefined
  const tier = command._tag === 'Create' || command._tag === 'Update' ? command.tier : undefined
  return {
    who,
    tenant: command.tenant,
    action,
    target: `tenant:${command.tenant}`,
    ...ended(result),
    ...(tier !== undefined ? { details: { tier } } : {}),
  }
}

/** The draft for a key command of `tenant` (`allsource.admin.<tenant>.keys.<command>`) run by `who`; undefined for `list`. Never the key. */
export const keyCommandAudit = (tenant: TenantId, command: KeyCommand, result: E.Either<AppendError, KeyCommandResult>, who: AuditDraft['who']): AuditDraft | undefined => {
  switch (command._tag) {
    case 'List':
      return undefined
    case 'Create': {
      const keyId = E.isRight(result) && result.right._tag === 'Created' ? result.right.created.keyId : undefined
      return { who, tenant, action: 'key.create', ...(keyId !== undefined ? { target: `key:${keyId}` } : {}), ...ended(result), details: { role: command.role } }
    }
    case 'Revoke':
      return { who, tenant, action: 'key.revoke', target: `key:${command.keyId}`, ...ended(result) }
    default: {
      const never: never = command
      return never
    }
  }
}

const userActions = { Create: 'user.create', Invite: 'user.invite', Delete: 'user.delete' } as const

/**
 * The draft for a user command of `tenant` (`allsource.admin.<tenant>.users.<command>`) run by
 * `who`; undefined for `list`. `target: user:<username>` (the validated, folded name),
 * `details.role` the role asked for (create, invite) or held (delete). Never the password, the
 * invitation token or a hash: the command's `password` is a `Secret` this function does not read.
 */
export const userCommandAudit = (tenant: TenantId, command: UserCommand, result: E.Either<AppendError, UserCommandResult>, who: AuditDraft['who']): AuditDraft | undefined => {
  if (command._tag === 'List') return undefined
  const done = E.isRight(result) ? result.right : undefined
  const user = done?._tag === 'Created' || done?._tag === 'Deleted' ? done.user : done?._tag === 'Invited' ? done.invitation.user : undefined
  const username = user?.username ?? (typeof command.username === 'string' ? command.username : undefined)
  const role = user?.role ?? ('role' in command && typeof command.role === 'string' ? command.role : undefined)
  return {
    who,
    tenant,
    action: userActions[command._tag],
    ...(username !== undefined ? { target: `user:${username}` } : {}),
    ...ended(result),
    ...(role !== undefined ? { details: { role } } : {}),
  }
}

/**
 * The draft for `policies.create` (`body` a rule) or `policies.delete` (`body` `{ id }`) of
 * `tenant` run by `who`; undefined for any other command, and for a body refused before anything
 * was decided (not a valid rule; no valid rule id). `target: policy:<ruleId>`; `details.effect`
 * for a create. A refusal after validation (an id taken by another rule, the 101st rule, an
 * unknown id, a suspended tenant) is recorded with its tag.
 */
export const policyCommandAudit = (tenant: TenantId, command: string, body: unknown, result: E.Either<AppendError, unknown>, who: AuditDraft['who']): AuditDraft | undefined => {
  if (command === 'create') {
    const rule = validateRule(body)
    if (E.isLeft(rule)) return undefined
    return { who, tenant, action: 'policy.create', target: `policy:${rule.right.id}`, ...ended(result), details: { effect: rule.right.effect } }
  }
  if (command === 'delete') {
    const id = typeof body === 'object' && body !== null && 'id' in body ? (body as { readonly id: unknown }).id : undefined
    if (typeof id !== 'string' || !RuleId.is(id)) return undefined
    return { who, tenant, action: 'policy.delete', target: `policy:${id}`, ...ended(result) }
  }
  return undefined
}

/**
 * The draft for one `allsource.auth.token` request, answered for `principal` of `tenant` (the
 * principal its reply inbox names, which is also `who`):
 * - `{}` → `auth.token` (`succeeded`: a new session for a user, an access token for a key);
 * - `{ refreshToken }` → `auth.refresh` (`succeeded`: rotated), `auth.refresh.reuse` when the
 *   exchange was refused as reuse and the token's family revoked (`reused`), else
 *   `auth.refresh.failed`;
 * - a refusal is `denied` (or `failed` for the store's trouble) with the error's tag.
 * `target` is `user:<username>` or `key:<keyId>`. Never a token: the request's `refreshToken` is
 * a `Secret` this function does not read, and the reply's tokens are not given to it.
 */
export const tokenRequestAudit = (tenant: TenantId, principal: string, request: TokenRequest, result: E.Either<AppendError, unknown>, reused: boolean): AuditDraft => {
  const p = parsePrincipal(principal)
  const who: AuditDraft['who'] =
    p?.kind === 'user' ? { kind: 'user', id: p.username, tenant } : p?.kind === 'key' ? { kind: 'key', id: p.keyId, tenant } : p?.kind === 'operator' ? { kind: 'operator' } : { kind: 'anonymous' }
  const target = p?.kind === 'user' ? `user:${p.username}` : p?.kind === 'key' ? `key:${p.keyId}` : undefined
  const action: AuditAction = request._tag === 'New' ? 'auth.token' : E.isRight(result) ? 'auth.refresh' : reused ? 'auth.refresh.reuse' : 'auth.refresh.failed'
  return { who, tenant, action, ...(target !== undefined ? { target } : {}), ...ended(result), ...(reused ? { details: { familyRevoked: true } } : {}) }
}
