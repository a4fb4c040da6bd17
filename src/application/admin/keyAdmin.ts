import * as E from 'fp-ts/lib/Either.js'
import type { ApiKeyView } from '../../domain/security/apiKey.js'
import type { KeyCommand } from '../../domain/security/keyRequests.js'
import type { Identity } from '../../domain/security/roles.js'
import type { TenantId } from '../../domain/streams/ids.js'
import { admit } from '../../domain/tenants/tenant.js'
import { type ApiKeyDeps, type CreatedKey, createKey, listKeys, revokeKey } from '../auth/apiKeys.js'
import type { AppendError } from '../streams/errors.js'
import type { TenantStore } from '../tenants/ports.js'
import { tenantForAccessAdmin } from './tenantForAdmin.js'

export interface KeyAdminDeps extends ApiKeyDeps {
  readonly tenants: TenantStore
}

/** What a key command answers: the created key (its `key` a `Secret`, revealed only by the door's one reply), the list, or the revoked key. */
export type KeyCommandResult =
  | { readonly _tag: 'Created'; readonly created: CreatedKey }
  | { readonly _tag: 'Listed'; readonly keys: readonly ApiKeyView[] }
  | { readonly _tag: 'Revoked'; readonly key: ApiKeyView }

/**
 * Runs one key admin command of `tenant` (`allsource.admin.<tenant>.keys.<command>`).
 *
 * - The tenant must exist and not be deleted (else `TenantNotFound`); `create` also needs it
 *   active (`admit`: suspended is `TenantSuspended`). `list` and `revoke` stay open on a suspended
 *   tenant, so its keys can be reviewed and revoked while it is suspended.
 * - `create` → `Created` (`createKey`: a past `expiresAt` is `BadRequest`); `list` → every key of
 *   the tenant without hashes, revoked ones included, oldest first; `revoke` is idempotent, and a
 *   keyId unknown or of another tenant is `NotFound`.
 *
 * `caller`: when known, checked with `authorize` (`manageUsersAndKeys` on `tenant`); without it no
 * check runs (NATS permissions gate the NATS door today).
 */
export const runKeyCommand =
  (deps: KeyAdminDeps) =>
  async (tenant: TenantId, command: KeyCommand, caller?: Identity): Promise<E.Either<AppendError, KeyCommandResult>> => {
    const found = await tenantForAccessAdmin(deps.tenants, tenant, caller)
    if (E.isLeft(found)) return found
    const record = found.right
    switch (command._tag) {
      case 'Create': {
        const admitted = admit(tenant, record)
        if (E.isLeft(admitted)) return admitted
        const { _tag, ...request } = command
        const created = await createKey(deps)(tenant, request)
        return E.isLeft(created) ? created : E.right({ _tag: 'Created', created: created.right })
      }
      case 'List':
        return E.right({ _tag: 'Listed', keys: await listKeys(deps)(tenant) })
      case 'Revoke': {
        const revoked = await revokeKey(deps)(tenant, command.keyId)
        return E.isLeft(revoked) ? revoked : E.right({ _tag: 'Revoked', key: revoked.right })
      }
      default: {
        const never: never = command
        return never
      }
    }
  }

/**
 * The reply body of a key command, the same on every door (NATS and HTTP): `{ keyId, key }` for a
 * created key (the one place a key leaves the process: its `Secret` is revealed here and nowhere
 * else), `{ keys }` (no hashes), `{ keyId, revokedAt }`. Pure; side effects of a revocation
 * (disconnecting, forgetting cached verifications) stay with the door.
 */
export const keyCommandReply = (result: KeyCommandResult): unknown => {
  switch (result._tag) {
    case 'Created':
      return { keyId: result.created.keyId, key: result.created.key.reveal() }
    case 'Listed':
      return { keys: result.keys }
    case 'Revoked':
      return { keyId: result.key.keyId, revokedAt: result.key.revokedAt }
    default: {
      const never: never = result
      return never
    }
  }
}
