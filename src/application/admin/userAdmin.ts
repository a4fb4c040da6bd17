import * as E from 'fp-ts/lib/Either.js'
import type { UserView } from '../../domain/security/user.js'
import type { UserCommand } from '../../domain/security/userRequests.js'
import type { Identity } from '../../domain/security/roles.js'
import type { TenantId } from '../../domain/streams/ids.js'
import { admit } from '../../domain/tenants/tenant.js'
import type { RefreshTokenStore } from '../auth/ports.js'
import { type Invitation, type UserDeps, createUser, deleteUser, inviteUser, listUsers } from '../auth/users.js'
import type { AppendError } from '../streams/errors.js'
import type { TenantStore } from '../tenants/ports.js'
import { tenantForAccessAdmin } from './tenantForAdmin.js'

export interface UserAdminDeps extends UserDeps {
  readonly tenants: TenantStore
  readonly refreshTokens: RefreshTokenStore
}

/** What a user command answers: the created user, the invitation (its token a `Secret`), the list, or the deleted user. */
export type UserCommandResult =
  | { readonly _tag: 'Created'; readonly user: UserView }
  | { readonly _tag: 'Invited'; readonly invitation: Invitation }
  | { readonly _tag: 'Listed'; readonly users: readonly UserView[] }
  | { readonly _tag: 'Deleted'; readonly user: UserView }

/**
 * Runs one user admin command of `tenant` (`allsource.admin.<tenant>.users.<command>`).
 *
 * - The tenant must exist and not be deleted (else `TenantNotFound`); `create` and `invite` also
 *   need it active (`admit`). `list` and `delete` stay open on a suspended tenant (incident response).
 * - `create` → `createUser` (policy and name checks there); `invite` → `inviteUser`; `list` →
 *   `listUsers` (no hashes); `delete` → `deleteUser` (soft, revokes the user's refresh tokens,
 *   idempotent; unknown is `NotFound`). The door disconnects the deleted user's connections.
 *
 * `caller`: when known, checked with `authorize` (`manageUsersAndKeys` on `tenant`).
 */
export const runUserCommand =
  (deps: UserAdminDeps) =>
  async (tenant: TenantId, command: UserCommand, caller?: Identity): Promise<E.Either<AppendError, UserCommandResult>> => {
    const found = await tenantForAccessAdmin(deps.tenants, tenant, caller)
    if (E.isLeft(found)) return found
    const record = found.right
    switch (command._tag) {
      case 'Create': {
        const admitted = admit(tenant, record)
        if (E.isLeft(admitted)) return admitted
        const created = await createUser(deps)(tenant, command)
        return E.isLeft(created) ? created : E.right({ _tag: 'Created', user: created.right })
      }
      case 'Invite': {
        const admitted = admit(tenant, record)
        if (E.isLeft(admitted)) return admitted
        const invited = await inviteUser(deps)(tenant, command)
        return E.isLeft(invited) ? invited : E.right({ _tag: 'Invited', invitation: invited.right })
      }
      case 'List': {
        const listed = await listUsers(deps)(tenant, { includeDeleted: command.includeDeleted })
        return E.isLeft(listed) ? listed : E.right({ _tag: 'Listed', users: listed.right })
      }
      case 'Delete': {
        const deleted = await deleteUser(deps)(tenant, command.username)
        return E.isLeft(deleted) ? deleted : E.right({ _tag: 'Deleted', user: deleted.right })
      }
      default: {
        const never: never = command
        return never
      }
    }
  }

/**
 * The reply body of a user command, the same on every door (NATS and HTTP): the user (created or
 * deleted; never a hash), `{ user, inviteToken, expiresAt }` for an invitation (the one place its
 * token leaves the process), `{ users }`. Pure; what a deletion does to live sessions stays with
 * the door.
 */
export const userCommandReply = (result: UserCommandResult): unknown => {
  switch (result._tag) {
    case 'Created':
    case 'Deleted':
      return result.user
    case 'Invited':
      return { user: result.invitation.user, inviteToken: result.invitation.inviteToken.reveal(), expiresAt: result.invitation.expiresAt }
    case 'Listed':
      return { users: result.users }
    default: {
      const never: never = result
      return never
    }
  }
}
