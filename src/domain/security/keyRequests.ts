import * as E from 'fp-ts/lib/Either.js'
import { type DomainError, badRequest, invalidId } from '../streams/errors.js'
import { closedBody } from '../tenants/tenantRequests.js'
import { ApiKeyId, KeyName } from './apiKey.js'
import { IsoTimestamp } from '../tenants/tenant.js'
import { TenantRole } from './roles.js'

/**
 * The bodies of `allsource.admin.<tenant>.keys.<command>` (DESIGN.md "Admin API"), validated into
 * commands. Bodies are closed (an unknown field is `BadRequest`); a malformed keyId is `InvalidId`
 * (field `keyId`). `list` takes an empty body or `{}`.
 */
export type KeyCommand =
  | { readonly _tag: 'Create'; readonly role: TenantRole; readonly name?: KeyName; readonly expiresAt?: IsoTimestamp }
  | { readonly _tag: 'List' }
  | { readonly _tag: 'Revoke'; readonly keyId: ApiKeyId }

export const keyCommandNames = ['create', 'list', 'revoke'] as const

const shortType = (u: unknown): string => (u === null ? 'null' : Array.isArray(u) ? 'an array' : typeof u === 'string' ? `a string of ${u.length} characters` : typeof u)

export const validateKeyCommand = (command: string, body: unknown): E.Either<DomainError, KeyCommand> => {
  const what = `keys.${command.slice(0, 32)}`
  switch (command) {
    case 'create': {
      const b = closedBody(what, body, ['role', 'name', 'expiresAt'])
      if (E.isLeft(b)) return b
      const { role, name, expiresAt } = b.right
      if (!TenantRole.is(role)) return E.left(badRequest(`${what}: role must be one of admin, developer, reader, service; got ${shortType(role)}${typeof role === 'string' && role.length <= 20 ? ` "${role}"` : ''}`, { field: 'role' }))
      if (name !== undefined && !KeyName.is(name)) return E.left(badRequest(`${what}: name must be 1–200 characters, not only spaces, no control characters; got ${shortType(name)}`, { field: 'name' }))
      if (expiresAt !== undefined && !IsoTimestamp.is(expiresAt)) {
        return E.left(badRequest(`${what}: expiresAt must be an ISO-8601 UTC timestamp (2026-12-31T00:00:00.000Z); got ${shortType(expiresAt)}`, { field: 'expiresAt' }))
      }
      return E.right({ _tag: 'Create', role, ...(name !== undefined ? { name } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) })
    }
    case 'list': {
      const b = closedBody(what, body, [])
      return E.isLeft(b) ? b : E.right({ _tag: 'List' })
    }
    case 'revoke': {
      const b = closedBody(what, body, ['keyId'])
      if (E.isLeft(b)) return b
      const keyId = b.right.keyId
      return ApiKeyId.is(keyId) ? E.right({ _tag: 'Revoke', keyId }) : E.left(invalidId('keyId', `keyId must be 12 base62 characters; got ${shortType(keyId)}`))
    }
    default:
      return E.left(badRequest(`unknown key command "${command.slice(0, 32)}"; the commands are ${keyCommandNames.join(', ')}`, { commands: keyCommandNames }))
  }
}
