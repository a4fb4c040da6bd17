import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { tokenRequestAudit } from '../../../application/admin/adminAudit.js'
import { sessionRequestAudit } from '../../../application/admin/sessionAudit.js'
import { acceptInvitation, logout, whoAmI } from '../../../application/auth/sessionRequests.js'
import { requestTokens, type TokenRequestDeps } from '../../../application/auth/tokenRequest.js'
import type { UserDeps } from '../../../application/auth/users.js'
import type { AppendError } from '../../../application/streams/errors.js'
import type { AuditDraft } from '../../../domain/security/audit.js'
import { validateAcceptInviteRequest, validateLogoutRequest, validateMeRequest, validateRefreshRequest } from '../../../domain/security/sessionRequests.js'
import { invalidId } from '../../../domain/streams/errors.js'
import { TenantId } from '../../../domain/streams/ids.js'
import { acceptInviteSubject } from '../auth/natsGrants.js'
import { type Endpoint, type EndpointRoute, startEndpoint } from '../service/endpoint.js'
import { inboxPrincipal } from './userEndpoints.js'

export interface SessionEndpointsOptions {
  readonly prefix: string
  /** Every session endpoint runs in `<queue>-auth` (as `auth.token`). */
  readonly queue: string
  readonly tokens: TokenRequestDeps
  readonly users: UserDeps
  /**
   * Asked before a refresh token is exchanged, with the tenant and principal (auth mode: the
   * `auth.token` rate limit); a Left is answered as it is (`QUOTA_EXCEEDED` with `retryAfterMs`).
   */
  readonly throttle?: (tenant: TenantId, principal: string) => E.Either<AppendError, void>
  /** Auth mode's audit trail: `auth.refresh*` per refresh, `auth.logout` per logout, `user.accept` per accepted (or refused) invitation. */
  readonly audit?: (draft: AuditDraft) => void
}

/** A route for one exact subject whose ids are in the reply inbox `_INBOX.<tenant>.<principal>.…`; any other reply is dropped unanswered. */
const inboxRoute = (subject: string): EndpointRoute => ({
  announced: subject,
  listen: [subject],
  tokensOf: (s, reply) => {
    if (s !== subject) return E.left(invalidId('subject', `${subject} takes no tokens after it`))
    const named = inboxPrincipal(reply)
    // A Left has no tenant: with `tenantReplies` the endpoint drops it unanswered.
    return named === undefined ? E.left(invalidId('reply', 'the reply is not a tenant inbox')) : E.right([named.tenant, named.principal])
  },
})

/**
 * The session requests of a connected identity on NATS (auth mode; docs/security.md "Users and
 * tokens"). As for `auth.token`, **the identity is the principal the reply inbox names**
 * (`_INBOX.<tenant>.<principal>.…`: NATS lets only that principal read its inbox), and a request
 * whose reply is not such an inbox is dropped unanswered:
 *
 * - `<prefix>.auth.refresh` `{ refreshToken }` → the rotated `{ accessToken, expiresAt,
 *   refreshToken, refreshExpiresAt }` (the user's own token only; reuse revokes the family);
 * - `<prefix>.auth.logout` `{ refreshToken }` → `{ revoked: "session" }` (that token's family, if the
 *   user's own; otherwise nothing, same answer), or `{ all: true }` → `{ revoked: "all" }` (every
 *   session of the user);
 * - `<prefix>.auth.me` (nothing or `{}`) → `{ tenant, role, subject, user? }`;
 * - `<prefix>.auth.accept-invite` `{ inviteToken, password }` → the user (no hash): reached by a
 *   connection made with `user: "<tenant>/<username>"` and the invitation token as the password,
 *   whose grant holds this one subject.
 *
 * Every request is answered (bad input `BAD_REQUEST`, never a crash); tokens appear only in the
 * refresh reply that issues them.
 */
export const startSessionEndpoints = (nc: NatsConnection, o: SessionEndpointsOptions): Endpoint[] => {
  const p = o.prefix
  const base = { prefix: p, queue: `${o.queue}-auth`, tokens: 0, emptyBody: 'allowed' as const, tenantReplies: true }
  const named = (tokens: readonly string[]): { readonly tenant: TenantId; readonly principal: string } | undefined =>
    tokens[0] !== undefined && TenantId.is(tokens[0]) ? { tenant: tokens[0], principal: tokens[1] ?? '' } : undefined
  const noInbox = () => E.left(invalidId('reply', 'the reply is not a tenant inbox'))

  const refresh = startEndpoint(nc, { ...base, verb: 'auth.refresh', name: 'auth-refresh', route: inboxRoute(`${p}.auth.refresh`) }, async (tokens, body) => {
    const who = named(tokens)
    if (who === undefined) return noInbox()
    const request = validateRefreshRequest(body)
    if (E.isLeft(request)) return request
    const throttled = o.throttle?.(who.tenant, who.principal) ?? E.right(undefined)
    if (E.isLeft(throttled)) return throttled
    let reused = false
    const tokenRequest = { _tag: 'Refresh' as const, refreshToken: request.right.refreshToken }
    const r = await requestTokens({ ...o.tokens, onReuse: (owner) => {
        reused = true
        o.tokens.onReuse?.(owner)
      } })(who.tenant, who.principal, tokenRequest)
    o.audit?.(tokenRequestAudit(who.tenant, who.principal, tokenRequest, r, reused))
    if (E.isLeft(r)) return r
    // The one place the rotated tokens leave the process.
    return E.right({
      accessToken: r.right.accessToken.reveal(),
      expiresAt: r.right.expiresAt,
      ...(r.right.refreshToken !== undefined ? { refreshToken: r.right.refreshToken.reveal() } : {}),
      ...(r.right.refreshExpiresAt !== undefined ? { refreshExpiresAt: r.right.refreshExpiresAt } : {}),
    })
  })

  const signOut = logout(o.tokens)
  const logoutEndpoint = startEndpoint(nc, { ...base, verb: 'auth.logout', name: 'auth-logout', route: inboxRoute(`${p}.auth.logout`) }, async (tokens, body) => {
    const who = named(tokens)
    if (who === undefined) return noInbox()
    const request = validateLogoutRequest(body)
    if (E.isLeft(request)) return request
    const r = await signOut(who.tenant, who.principal, request.right)
    o.audit?.(sessionRequestAudit('auth.logout', who.tenant, who.principal, r, { all: request.right._tag === 'All' }))
    return r
  })

  const identify = whoAmI({ users: o.tokens.users, clock: o.tokens.clock, keys: o.tokens.keys, tenants: o.tokens.tenants })
  const me = startEndpoint(nc, { ...base, verb: 'auth.me', name: 'auth-me', route: inboxRoute(`${p}.auth.me`) }, async (tokens, body) => {
    const who = named(tokens)
    if (who === undefined) return noInbox()
    const request = validateMeRequest(body)
    if (E.isLeft(request)) return request
    return identify(who.tenant, who.principal)
  })

  const accept = acceptInvitation({ ...o.users, tenants: o.tokens.tenants })
  const acceptEndpoint = startEndpoint(nc, { ...base, verb: 'auth.accept-invite', name: 'auth-accept-invite', route: inboxRoute(acceptInviteSubject(p)) }, async (tokens, body) => {
    const who = named(tokens)
    if (who === undefined) return noInbox()
    const request = validateAcceptInviteRequest(body)
    if (E.isLeft(request)) return request
    const r = await accept(who.tenant, who.principal, request.right)
    o.audit?.(sessionRequestAudit('user.accept', who.tenant, who.principal, r))
    return r
  })

  return [refresh, logoutEndpoint, me, acceptEndpoint]
}
