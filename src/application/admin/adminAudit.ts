import * as E from 'fp-ts/lib/Either.js'
import type { AuditAction, AuditDraft, AuditOutcome } from '../../domain/security/audit.js'
import type { KeyCommand } from '../../domain/security/keyRequests.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { TenantCommand } from '../../domain/tenants/tenantRequests.js'
import type { AppendError } from '../streams/errors.js'
import type { KeyCommandResult } from './keyAdmin.js'

/**
 * The audit entries of admin commands (issue 11 item 8): which commands leave one, and what it
 * says. Pure: the door that runs a command hands the draft to `AuditLog.record`.
 *
 * Guarantees:
 * - every command that changes something leaves exactly one draft, whatever its result:
 *   `tenant.create|update|suspend|activate|delete`, `key.create|revoke`; reads (`get`, `list`)
 *   leave none (they decide nothing);
 * - `outcome` is `succeeded` on success, `denied` when the failure is a refusal (`Forbidden`,
 *   `Unauthorized`, `TenantSuspended`, `QuotaExceeded`), `failed` otherwise, with the error's tag
 *   as `reason`;
 * - a draft never holds a key, a hash or a request body: `target` is `tenant:<id>` or
 *   `key:<keyId>` (a created key's id only once it exists), `details` only the role and tier
 *   asked for (and the entry codec redacts whatever else might slip in).
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
