import { jetstreamManager } from '@nats-io/jetstream'
import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import type { HttpCaller } from '../../adapters/http/gatewayAuth.js'
import type { Answer, GatewayAdmin } from '../../adapters/http/ports.js'
import { logUsageOf } from '../../adapters/nats/tenants/logUsage.js'
import { isUnavailable, unavailableOf } from '../../adapters/nats/service/failureOf.js'
import type { WireFailure } from '../../adapters/nats/service/errorCodes.js'
import { systemClock } from '../../adapters/system/systemClock.js'
import { keyCommandAudit, policyCommandAudit, tenantCommandAudit, tokenRequestAudit, userCommandAudit } from '../../application/admin/adminAudit.js'
import { keyCommandReply, runKeyCommand } from '../../application/admin/keyAdmin.js'
import { runTenantCommand } from '../../application/admin/tenantAdmin.js'
import { runUserCommand, userCommandReply } from '../../application/admin/userAdmin.js'
import { queryAudit } from '../../application/audit/queryAudit.js'
import { requestTokens } from '../../application/auth/tokenRequest.js'
import { login } from '../../application/auth/users.js'
import { acceptInvitation, logout, whoAmI } from '../../application/auth/sessionRequests.js'
import { sessionRequestAudit } from '../../application/admin/sessionAudit.js'
import { validateAcceptInviteRequest, validateLogoutRequest } from '../../domain/security/sessionRequests.js'
import { createPolicy, deletePolicy, evaluatePolicy, listPolicies } from '../../application/policies/index.js'
import { type AppendError, internal } from '../../application/streams/errors.js'
import { msgpackPayloadBytes } from '../../adapters/codec/payloadSize.js'
import type { AuditDraft } from '../../domain/security/audit.js'
import { validateKeyCommand } from '../../domain/security/keyRequests.js'
import { userPrincipal } from '../../domain/security/principal.js'
import type { Identity } from '../../domain/security/roles.js'
import { Username } from '../../domain/security/user.js'
import { validateUserCommand } from '../../domain/security/userRequests.js'
import { secret } from '../../domain/security/secret.js'
import { validateTenant } from '../../domain/streams/appendRequest.js'
import { badRequest, forbidden, unauthorized } from '../../domain/streams/errors.js'
import type { TenantId } from '../../domain/streams/ids.js'
import { validateTenantCommand } from '../../domain/tenants/tenantRequests.js'
import type { Tenant } from '../../domain/tenants/tenant.js'
import type { AuthPlane } from '../auth/authPlane.js'

const POLICY_COMMANDS = ['create', 'list', 'delete', 'evaluate']

/** The audit `who` of an HTTP caller: a proven identity (the credential verified), unlike NATS's reply-inbox guess. */
export const actorOf = (caller: HttpCaller): AuditDraft['who'] => {
  if (caller === undefined) return { kind: 'anonymous' }
  const id = caller.identity
  if (id.role === 'operator') return { kind: 'operator', id: caller.principal }
  return caller.principal.startsWith('u_') ? { kind: 'user', id: caller.principal.slice(2).replace(/~/g, '.'), tenant: id.tenant } : { kind: 'key', id: caller.principal, tenant: id.tenant }
}

const guarded = async (f: () => Promise<E.Either<WireFailure, unknown>>): Answer<unknown> => {
  try {
    return await f()
  } catch (e) {
    return E.left(isUnavailable(e) ? unavailableOf(e) : internal('internal error'))
  }
}

const identityOf = (caller: HttpCaller): Identity | undefined => caller?.identity

/**
 * The gateway's admin port over auth mode's control plane: the same use cases the NATS admin
 * endpoints run, with the caller's verified identity passed in (each checks `authorize` again),
 * and the same audit drafts. Secrets (`Secret.reveal()`) leave only in the one reply that issues them.
 */
export const createGatewayAdmin = (nc: NatsConnection, plane: AuthPlane, o: { readonly prefix: string; readonly onRevoked?: (principal: string) => void }): GatewayAdmin => {
  const tenantCommand = runTenantCommand({ tenants: plane.tenants, clock: systemClock })
  const keyCommand = runKeyCommand({ tenants: plane.tenants, store: plane.keys, hasher: plane.hasher, clock: systemClock })
  const up = plane.userPlane
  const session = { users: up.users, refreshTokens: up.refreshTokens, signer: up.tokens, tokenHasher: plane.hasher, clock: systemClock }
  const userCommand = runUserCommand({ ...session, passwords: up.userAuth.passwords, tenants: plane.tenants })
  const tokens = requestTokens({ ...session, tenants: plane.tenants, keys: plane.keys })
  const doLogin = login({ ...session, passwords: up.userAuth.passwords })
  const identify = whoAmI({ users: up.users, clock: systemClock, keys: plane.keys, tenants: plane.tenants })
  const signOut = logout({ ...session, tenants: plane.tenants })
  const accept = acceptInvitation({ ...session, passwords: up.userAuth.passwords, tenants: plane.tenants })
  const store = plane.policies.store
  const record = (draft: AuditDraft | undefined) => draft !== undefined && plane.audit.record(draft)
  const jsm = jetstreamManager(nc)
  /** The tenant's record if it exists; a suspended one too unless `active` is needed. */
  const known = async (tenant: string, active: boolean): Promise<E.Either<AppendError, Tenant | undefined>> => {
    const r = await plane.directory.admit(tenant)
    if (E.isRight(r)) return r
    return !active && r.left._tag === 'TenantSuspended' ? E.right(undefined) : r
  }

  return {
    tenant: (command, body, caller) =>
      guarded(async () => {
        const c = validateTenantCommand(command, body)
        if (E.isLeft(c)) return c
        const r = await tenantCommand(c.right, identityOf(caller))
        record(tenantCommandAudit(c.right, r, actorOf(caller)))
        return r
      }),
    key: (tenant, command, body, caller) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t)) return t
        const c = validateKeyCommand(command, body)
        if (E.isLeft(c)) return c
        const r = await keyCommand(t.right, c.right, identityOf(caller))
        record(keyCommandAudit(t.right, c.right, r, actorOf(caller)))
        if (E.isLeft(r)) return r
        if (r.right._tag === 'Revoked') {
          o.onRevoked?.(r.right.key.keyId)
          plane.kicker.kick(t.right, r.right.key.keyId).catch(() => undefined)
        }
        return E.right(keyCommandReply(r.right))
      }),
    user: (tenant, command, body, caller) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t)) return t
        const c = validateUserCommand(command, body)
        if (E.isLeft(c)) return c
        const r = await userCommand(t.right, c.right, identityOf(caller))
        record(userCommandAudit(t.right, c.right, r, actorOf(caller)))
        if (E.isLeft(r)) return r
        if (r.right._tag === 'Deleted') {
          const principal = userPrincipal(r.right.user.username as Username)
          plane.policies.roles.forget(t.right, principal)
          o.onRevoked?.(principal)
          plane.kicker.kick(t.right, principal).catch(() => undefined)
        }
        return E.right(userCommandReply(r.right))
      }),
    policy: (tenant, command, body, caller) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t)) return t
        if (!POLICY_COMMANDS.includes(command)) return E.left(badRequest(`unknown policies command "${command.slice(0, 32)}"`))
        const changes = command === 'create' || command === 'delete'
        const admitted = await known(t.right, changes)
        const audited = <A>(r: E.Either<AppendError, A>): E.Either<AppendError, A> => {
          if (changes) record(policyCommandAudit(t.right, command, body, r, actorOf(caller)))
          return r
        }
        if (E.isLeft(admitted)) return audited(admitted)
        if (command === 'create') return audited(await createPolicy(store)(t.right, body))
        if (command === 'delete') return audited(await deletePolicy(store)(t.right, body))
        if (command === 'list') return listPolicies(store)(t.right)
        const role = caller?.identity.role ?? 'admin'
        return evaluatePolicy({ store, payloadBytes: msgpackPayloadBytes })(t.right, role, body)
      }),
    stats: (tenant) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t)) return t
        const admitted = await known(t.right, false)
        if (E.isLeft(admitted)) return admitted
        const usage = await logUsageOf(await jsm, o.prefix, t.right)
        const quotas = admitted.right?.quotas ?? null
        const budget = plane.policies.limiter.budget(t.right, quotas?.appendsPerSecond ?? null)
        return E.right({
          tenant: t.right,
          ...usage,
          quotas,
          // The same shape as allsource.admin.<t>.stats (policyEndpoints.ts).
          usage: {
            eventsToday: { used: plane.policies.daily.today(t.right), limit: quotas?.eventsPerDay ?? null },
            storedBytes: { used: plane.policies.storedBytes.used(t.right) ?? usage.bytes, limit: quotas?.storedBytes ?? null },
            appendsPerSecond: budget.tenant,
            keys: budget.keys,
          },
        })
      }),
    audit: (tenant, query, caller) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t)) return t
        const identity = identityOf(caller) ?? ({ role: 'operator' } as const)
        return queryAudit(plane.audit)(identity, query, t.right, actorOf(caller))()
      }),
    login: (tenant, username, password) =>
      guarded(async () => {
        // The callout's login budgets (docs/security.md "Login rate limits"): while a username's or
        // its tenant's failures have spent theirs, even the right password is refused, before any
        // argon2 work; only a failed password takes from them.
        const throttle = plane.loginThrottle
        const key = { tenant: tenant.slice(0, 64), username: username.slice(0, 64) }
        const allowed = throttle.checkLogin(key.tenant, key.username)
        if (E.isLeft(allowed)) {
          record({ who: Username.is(username) ? { kind: 'user', id: username, tenant: tenant as TenantId } : { kind: 'anonymous' }, tenant: tenant as TenantId, action: 'auth.login.failed', outcome: 'denied', reason: 'QuotaExceeded' })
          return allowed
        }
        const r = await doLogin(tenant, username, password)
        if (E.isLeft(r) && r.left._tag === 'Unauthorized') throttle.loginFailed(key.tenant, key.username)
        const who: AuditDraft['who'] = Username.is(username) ? { kind: 'user', id: username, tenant: tenant as TenantId } : { kind: 'anonymous' }
        const ok = E.isRight(r)
        record({ who, tenant: tenant as TenantId, action: ok ? 'auth.login' : 'auth.login.failed', outcome: ok ? 'succeeded' : 'denied', ...(ok ? { target: `user:${username}` } : { reason: r.left._tag }) })
        if (E.isLeft(r)) return r
        const admitted = await plane.directory.admit(tenant)
        if (E.isLeft(admitted)) return admitted
        const s = r.right
        return E.right({ accessToken: s.accessToken.reveal(), expiresAt: s.expiresAt, refreshToken: s.refreshToken.reveal(), refreshExpiresAt: s.refreshExpiresAt })
      }),
    refresh: (tenant, username, refreshToken) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t) || !Username.is(username)) return E.left(unauthorized())
        const principal = userPrincipal(username)
        const throttled = plane.loginThrottle.takeTokenRequest(t.right, principal)
        if (E.isLeft(throttled)) return throttled
        const request = { _tag: 'Refresh', refreshToken: secret(refreshToken) } as const
        let reused = false
        const r = await requestTokens({ ...session, tenants: plane.tenants, keys: plane.keys, onReuse: () => (reused = true) })(t.right, principal, request)
        record(tokenRequestAudit(t.right, principal, request, r, reused))
        return E.isLeft(r) ? r : E.right(revealTokens(r.right))
      }),
    me: (caller) =>
      guarded(async () => {
        if (caller === undefined) return E.left(unauthorized())
        const id = caller.identity
        if (id.role === 'operator') return E.left(forbidden('role', 'the operator has no tenant identity: it uses the operator key'))
        return identify(id.tenant, caller.principal)
      }),
    logout: (caller, body) =>
      guarded(async () => {
        if (caller === undefined) return E.left(unauthorized())
        const id = caller.identity
        if (id.role === 'operator') return E.left(forbidden('role', 'the operator has no sessions: it uses the operator key'))
        const request = validateLogoutRequest(body)
        if (E.isLeft(request)) return request
        const r = await signOut(id.tenant, caller.principal, request.right)
        record(sessionRequestAudit('auth.logout', id.tenant, caller.principal, r, { all: request.right._tag === 'All' }))
        return r
      }),
    acceptInvite: (tenant, username, body) =>
      guarded(async () => {
        const t = validateTenant(tenant)
        if (E.isLeft(t) || !Username.is(username)) return E.left(unauthorized())
        const request = validateAcceptInviteRequest(body)
        if (E.isLeft(request)) return request
        // The invitation token is a secret to guess: the same budget as a password.
        const allowed = plane.loginThrottle.checkLogin(t.right, username)
        if (E.isLeft(allowed)) return allowed
        const principal = userPrincipal(username)
        const r = await accept(t.right, principal, request.right)
        if (E.isLeft(r) && r.left._tag === 'Unauthorized') plane.loginThrottle.loginFailed(t.right, username)
        record(sessionRequestAudit('user.accept', t.right, principal, r))
        return r
      }),
    rotateSigningKey: (caller) =>
      guarded(async () => {
        if (caller?.identity.role !== 'operator') return E.left(forbidden('role', 'only the operator rotates signing keys'))
        const r = await up.rotateSigningKey()
        record({
          who: { kind: 'operator' },
          action: 'signingkey.rotate',
          ...(E.isRight(r) ? { outcome: 'succeeded' as const, target: `signingkey:${r.right.active}`, details: { retired: r.right.retired.length } } : { outcome: 'failed' as const, reason: r.left._tag }),
        })
        return r
      }),
    token: (caller) =>
      guarded(async () => {
        if (caller === undefined) return E.left(unauthorized())
        const id = caller.identity
        if (id.role === 'operator') return E.left(forbidden('role', 'the operator has no access or refresh tokens: it uses the operator key'))
        const throttled = plane.loginThrottle.takeTokenRequest(id.tenant, caller.principal)
        if (E.isLeft(throttled)) return throttled
        const r = await tokens(id.tenant, caller.principal, { _tag: 'New' })
        record(tokenRequestAudit(id.tenant, caller.principal, { _tag: 'New' }, r, false))
        return E.isLeft(r) ? r : E.right(revealTokens(r.right))
      }),
  }
}

const revealTokens = (t: { readonly accessToken: { reveal(): string }; readonly expiresAt: string; readonly refreshToken?: { reveal(): string }; readonly refreshExpiresAt?: string }) => ({
  accessToken: t.accessToken.reveal(),
  expiresAt: t.expiresAt,
  ...(t.refreshToken !== undefined ? { refreshToken: t.refreshToken.reveal() } : {}),
  ...(t.refreshExpiresAt !== undefined ? { refreshExpiresAt: t.refreshExpiresAt } : {}),
})
