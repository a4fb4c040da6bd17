import * as E from 'fp-ts/lib/Either.js'
import type { AuditAction, AuditDraft } from '../../domain/security/audit.js'
import { parsePrincipal } from '../../domain/security/principal.js'
import type { TenantId } from '../../domain/streams/ids.js'
import type { AppendError } from '../streams/errors.js'
import { outcomeOfFailure } from './adminAudit.js'

/**
 * The audit draft of a session request that changes something (`auth.logout`: `auth.logout`;
 * `auth.accept-invite`: `user.accept`), answered for the principal `principal` of `tenant` (the
 * reply inbox's): `who` that principal, `target: user:<name>`, outcome `succeeded`, or `denied` /
 * `failed` with the error's tag; `details.all` for a logout of every session. Never a token or a
 * password. Pure.
 */
export const sessionRequestAudit = (
  action: Extract<AuditAction, 'auth.logout' | 'user.accept'>,
  tenant: TenantId,
  principal: string,
  result: E.Either<AppendError, unknown>,
  details?: { readonly all: boolean },
): AuditDraft => {
  const p = parsePrincipal(principal)
  const who: AuditDraft['who'] =
    p?.kind === 'user' ? { kind: 'user', id: p.username, tenant } : p?.kind === 'key' ? { kind: 'key', id: p.keyId, tenant } : p?.kind === 'operator' ? { kind: 'operator' } : { kind: 'anonymous' }
  return {
    who,
    tenant,
    action,
    ...(p?.kind === 'user' ? { target: `user:${p.username}` } : {}),
    ...(E.isRight(result) ? { outcome: 'succeeded' as const } : { outcome: outcomeOfFailure(result.left), reason: result.left._tag }),
    ...(details !== undefined ? { details } : {}),
  }
}
