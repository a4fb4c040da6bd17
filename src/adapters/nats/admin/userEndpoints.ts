import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { tokenRequestAudit, userCommandAudit } from '../../../application/admin/adminAudit.js'
import { type UserAdminDeps, runUserCommand, userCommandReply } from '../../../application/admin/userAdmin.js'
import { type TokenRequestDeps, requestTokens } from '../../../application/auth/tokenRequest.js'
import type { AuditDraft } from '../../../domain/security/audit.js'
import { parsePrincipal, userPrincipal } from '../../../domain/security/principal.js'
import type { Username } from '../../../domain/security/user.js'
import { validateTokenRequest, validateUserCommand } from '../../../domain/security/userRequests.js'
import { validateTenant } from '../../../domain/streams/appendRequest.js'
import { invalidId } from '../../../domain/streams/errors.js'
import type { AppendError } from '../../../application/streams/errors.js'
import { TenantId } from '../../../domain/streams/ids.js'
import { type Endpoint, type EndpointRoute, startEndpoint } from '../service/endpoint.js'
import { actorFromReply } from './replyActor.js'

/** Tenant tokens under `allsource.admin.*.users` that are other endpoints' words (as for keys): left unanswered. */
const OTHER_ADMIN_WORDS: ReadonlySet<string> = new Set(['tenants', 'projection'])

export interface UserEndpointsOptions {
  readonly prefix: string
  /** The users endpoint runs in `<queue>-users`, the token endpoint in `<queue>-auth`. */
  readonly queue: string
  readonly users: UserAdminDeps
  readonly tokens: TokenRequestDeps
  /**
   * Asked before each `auth.token` request is served, with the tenant and principal (auth mode: the
   * token-request rate limit); a Left is answered as it is (`QUOTA_EXCEEDED` with `retryAfterMs`).
   */
  readonly throttle?: (tenant: TenantId, principal: string) => E.Either<AppendError, void>
  /** Told after a user is deleted, with the user's principal (auth mode disconnects its connections). */
  readonly onUserDeleted?: (tenant: string, principal: string) => void
  /**
   * Auth mode's audit trail: told one draft per `users.create|invite|delete` (whatever its
   * result; `who` from the reply inbox) and per `auth.token` request (`who` the principal it is
   * answered for), once its input is valid. Never a password, token or hash (`adminAudit.ts`).
   */
  readonly audit?: (draft: AuditDraft) => void
}

/** `allsource.auth.token`: where connected identities ask for access and refresh tokens. */
export const authTokenSubject = (prefix: string): string => `${prefix}.auth.token`

/**
 * The principal a reply subject names: `_INBOX.<tenant>.<principal>.<…>` (at least one token after
 * the principal, as every NATS request inbox has). Anything else is no tenant inbox.
 */
export const inboxPrincipal = (reply: string | undefined): { readonly tenant: TenantId; readonly principal: string } | undefined => {
  const parts = reply?.split('.') ?? []
  const [root, tenant, principal] = parts
  if (parts.length < 4 || root !== '_INBOX' || !TenantId.is(tenant) || parsePrincipal(principal) === undefined) return undefined
  return { tenant, principal: principal as string }
}

/**
 * The users admin API and the token endpoint on NATS (auth mode; docs/security.md "Users and tokens").
 *
 * - `<prefix>.admin.<tenant>.users.<create|invite|list|delete>` (queue `<queue>-users`, routed like
 *   the key endpoint, replies only under `_INBOX.<tenant>.`): `{ username, password, role }` → the
 *   user (no hash); `{ username, role, ttlMs? }` → `{ user, inviteToken, expiresAt }` (the only time
 *   the invitation is shown); nothing/`{ includeDeleted? }` → `{ users }`; `{ username }` → the
 *   deleted user, after which `onUserDeleted` is told (the user's connections are kicked).
 * - `<prefix>.auth.token` (queue `<queue>-auth`): the identity is the principal the **reply inbox**
 *   names, `_INBOX.<tenant>.<principal>.…`: NATS grants each principal's connections only its own
 *   inbox, so only that principal can read the answer, whoever sent the request. `{}` → a new
 *   session `{ accessToken, expiresAt, refreshToken, refreshExpiresAt }` (an API key principal:
 *   access token only); `{ refreshToken }` → the rotated pair, only for the refresh token's own
 *   user. A request whose reply is not a tenant inbox naming a principal is dropped unanswered.
 *
 * Guarantees: every other request is answered, bad input `BAD_REQUEST`/`INVALID_ID`/
 * `VALIDATION_FAILED`, never a crash; tokens, passwords and hashes appear in no reply but the one
 * that issues them (`Secret.reveal()` only there), and in no error.
 */
export const startUserEndpoints = (nc: NatsConnection, o: UserEndpointsOptions): Endpoint[] => {
  const p = o.prefix
  const head = `${p}.admin.`
  const usersRoute: EndpointRoute = {
    announced: `${p}.admin.*.users.*`,
    listen: [`${p}.admin.*.users`, `${p}.admin.*.users.>`],
    tokensOf: (subject) => {
      const [tenant, word, ...rest] = subject.startsWith(head) ? subject.slice(head.length).split('.') : []
      if (tenant === undefined || word !== 'users') return E.left(invalidId('subject', 'not a user admin subject'))
      if (OTHER_ADMIN_WORDS.has(tenant)) return 'ignore'
      const valid = validateTenant(tenant)
      if (E.isLeft(valid)) return valid
      if (rest.length !== 1) return E.left(invalidId('subject', `${p}.admin.<tenant>.users.<command> takes one command token after users, got ${rest.length}`))
      return E.right([valid.right, rest[0] as string])
    },
  }
  const userCommand = runUserCommand(o.users)
  const users = startEndpoint(nc, { prefix: p, queue: `${o.queue}-users`, verb: 'admin.users', name: 'user-admin', tokens: 2, emptyBody: 'allowed', route: usersRoute, tenantReplies: true }, async (tokens, body, _format, request) => {
    const tenant = validateTenant(tokens[0])
    if (E.isLeft(tenant)) return tenant
    const command = validateUserCommand(tokens[1] ?? '', body)
    if (E.isLeft(command)) return command
    const r = await userCommand(tenant.right, command.right)
    const draft = o.audit !== undefined ? userCommandAudit(tenant.right, command.right, r, actorFromReply(request.reply, tenant.right)) : undefined
    if (draft !== undefined) o.audit?.(draft)
    if (E.isLeft(r)) return r
    if (r.right._tag === 'Deleted') o.onUserDeleted?.(tenant.right, userPrincipal(r.right.user.username as Username))
    return E.right(userCommandReply(r.right))
  })

  const subject = authTokenSubject(p)
  const tokenRoute: EndpointRoute = {
    announced: subject,
    listen: [subject],
    tokensOf: (s, reply) => {
      if (s !== subject) return E.left(invalidId('subject', `${subject} takes no tokens after it`))
      const named = inboxPrincipal(reply)
      // A Left has no tenant: with `tenantReplies` the endpoint drops it unanswered.
      return named === undefined ? E.left(invalidId('reply', 'the reply is not a tenant inbox')) : E.right([named.tenant, named.principal])
    },
  }
  const issue = requestTokens(o.tokens)
  const token = startEndpoint(nc, { prefix: p, queue: `${o.queue}-auth`, verb: 'auth.token', name: 'auth-token', tokens: 0, emptyBody: 'allowed', route: tokenRoute, tenantReplies: true }, async (tokens, body) => {
    const named = tokens[0] !== undefined && TenantId.is(tokens[0]) ? tokens[0] : undefined
    if (named === undefined) return E.left(invalidId('reply', 'the reply is not a tenant inbox'))
    const request = validateTokenRequest(body)
    if (E.isLeft(request)) return request
    const principal = tokens[1] ?? ''
    // Per request, to learn whether a refusal was reuse (the family revoked).
    const flag = { reused: false }
    const throttled = o.throttle?.(named, principal) ?? E.right(undefined)
    const r: Awaited<ReturnType<typeof issue>> = E.isLeft(throttled)
      ? throttled
      : o.audit === undefined
        ? await issue(named, principal, request.right)
        : await requestTokens({ ...o.tokens, onReuse: (owner) => {
            flag.reused = true
            o.tokens.onReuse?.(owner)
          } })(named, principal, request.right)
    o.audit?.(tokenRequestAudit(named, principal, request.right, r, flag.reused))
    if (E.isLeft(r)) return r
    const t = r.right
    // The one place tokens leave the process.
    return E.right({
      accessToken: t.accessToken.reveal(),
      expiresAt: t.expiresAt,
      ...(t.refreshToken !== undefined ? { refreshToken: t.refreshToken.reveal() } : {}),
      ...(t.refreshExpiresAt !== undefined ? { refreshExpiresAt: t.refreshExpiresAt } : {}),
    })
  })
  return [users, token]
}
