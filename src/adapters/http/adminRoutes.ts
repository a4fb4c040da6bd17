import type { FastifyInstance } from 'fastify'
import { notFound } from '../../application/streams/errors.js'
import type { GatewayAuth } from './gatewayAuth.js'
import type { GatewayAdmin } from './ports.js'
import { sendProblem } from './problem.js'
import { answer, defineRoute, type RouteSpec } from './route.js'
import {
  AdminBody,
  AdminReply,
  AuditQueryString,
  KeyCreateBody,
  KeyCreatedReply,
  KeyListReply,
  KeyRevokedReply,
  AcceptInviteBody,
  AcceptedUserReply,
  LogoutReply,
  MeReply,
  RotatedReply,
  LoginBody,
  LogoutBody,
  RefreshBody,
  TenantListQuery,
  TenantListReply,
  TenantReply,
  TokensReply,
  UserListQuery,
  UserListReply,
  UserReply,
} from './schemas.js'

/** A body-less command is sent to the use case as "no body" (the NATS door's empty body). */
const optionalBody = { body: AdminBody, bodyRequired: false } as const

/**
 * The admin and auth API over HTTP, mirroring the NATS admin subjects (DESIGN.md "Admin API"):
 * `allsource.admin.tenants.<command>` → `/v1/admin/tenants…` (operator), and
 * `allsource.admin.<tenant>.<keys|users|policies|stats|audit>…` → `/v1/admin/<tenant>/…` (the
 * tenant's admins and the operator), `allsource.auth.token` → `/v1/auth/token`, plus
 * `/v1/auth/login` and `/v1/auth/refresh`. Bodies are the NATS bodies; the domain's closed-body
 * validators check them. With auth off (`admin` undefined) every such path answers 404
 * `NOT_FOUND` saying auth is off.
 */
export const registerAdminRoutes = (app: FastifyInstance, auth: GatewayAuth, admin: GatewayAdmin | undefined): void => {
  if (admin === undefined) {
    const off = async (_req: unknown, reply: Parameters<typeof sendProblem>[0]) => sendProblem(reply, notFound('the admin and auth API needs auth mode; this processor runs with auth off (ALLSOURCE_AUTH)'))
    for (const url of ['/v1/admin', '/v1/admin/*', '/v1/auth', '/v1/auth/*']) app.all(url, { schema: { hide: true } }, off)
    return
  }
  const route = <B, Q>(spec: RouteSpec<B, Q>) => defineRoute(app, auth, spec)
  const tenantCommand = (method: 'POST' | 'GET' | 'PATCH' | 'DELETE', url: string, command: string, summary: string, status = 200) =>
    route<Record<string, unknown>, Record<string, unknown>>({
      method,
      url,
      summary,
      tag: 'admin: tenants',
      access: { kind: 'platform', operation: 'manageTenants' },
      ...(method === 'GET' || method === 'DELETE' ? {} : optionalBody),
      ...(command === 'list' ? { query: TenantListQuery as never } : {}),
      reply: command === 'list' ? TenantListReply : TenantReply,
      status,
      run: async ({ params, body, query }) => {
        const list = command === 'list' ? { ...query, ...(query?.includeDeleted !== undefined ? { includeDeleted: query.includeDeleted === 'true' } : {}) } : undefined
        const b = list ?? (params.tenant !== undefined ? { ...body, tenant: params.tenant } : body)
        return answer(await admin.tenant(command, b, undefined))
      },
    })
  tenantCommand('POST', '/v1/admin/tenants', 'create', 'Create a tenant', 201)
  tenantCommand('GET', '/v1/admin/tenants', 'list', 'List tenants')
  tenantCommand('GET', '/v1/admin/tenants/:tenant', 'get', 'A tenant')
  tenantCommand('PATCH', '/v1/admin/tenants/:tenant', 'update', "Change a tenant's tier or quotas")
  tenantCommand('POST', '/v1/admin/tenants/:tenant/suspend', 'suspend', 'Suspend a tenant')
  tenantCommand('POST', '/v1/admin/tenants/:tenant/activate', 'activate', 'Activate a tenant')
  tenantCommand('DELETE', '/v1/admin/tenants/:tenant', 'delete', 'Delete a tenant (soft)')

  route<Record<string, unknown>, undefined>({ method: 'POST', url: '/v1/admin/:tenant/keys', summary: 'Create an API key (the key is shown once)', tag: 'admin: keys', access: { kind: 'tenant', operation: 'manageUsersAndKeys' }, body: AdminBody, documentedBody: KeyCreateBody, reply: KeyCreatedReply, status: 201, run: async ({ params, body, caller }) => answer(await admin.key(params.tenant ?? '', 'create', body, caller)) })
  route({ method: 'GET', url: '/v1/admin/:tenant/keys', summary: "The tenant's keys (no secrets)", tag: 'admin: keys', access: { kind: 'tenant', operation: 'manageUsersAndKeys' }, reply: KeyListReply, run: async ({ params, caller }) => answer(await admin.key(params.tenant ?? '', 'list', undefined, caller)) })
  route({ method: 'DELETE', url: '/v1/admin/:tenant/keys/:keyId', summary: 'Revoke a key', tag: 'admin: keys', access: { kind: 'tenant', operation: 'manageUsersAndKeys' }, reply: KeyRevokedReply, run: async ({ params, caller }) => answer(await admin.key(params.tenant ?? '', 'revoke', { keyId: params.keyId }, caller)) })

  route<Record<string, unknown>, undefined>({ method: 'POST', url: '/v1/admin/:tenant/users', summary: 'Create a user', tag: 'admin: users', access: { kind: 'tenant', operation: 'manageUsersAndKeys' }, body: AdminBody, reply: UserReply, status: 201, run: async ({ params, body, caller }) => answer(await admin.user(params.tenant ?? '', 'create', body, caller)) })
  route<Record<string, unknown>, undefined>({ method: 'POST', url: '/v1/admin/:tenant/users/invite', summary: 'Invite a user (the invitation token is shown once)', tag: 'admin: users', access: { kind: 'tenant', operation: 'manageUsersAndKeys' }, body: AdminBody, reply: AdminReply, status: 201, run: async ({ params, body, caller }) => answer(await admin.user(params.tenant ?? '', 'invite', body, caller)) })
  route<undefined, { includeDeleted?: 'true' | 'false' }>({ method: 'GET', url: '/v1/admin/:tenant/users', summary: "The tenant's users (no hashes)", tag: 'admin: users', access: { kind: 'tenant', operation: 'manageUsersAndKeys' }, query: UserListQuery, reply: UserListReply, run: async ({ params, query, caller }) => answer(await admin.user(params.tenant ?? '', 'list', query.includeDeleted !== undefined ? { includeDeleted: query.includeDeleted === 'true' } : undefined, caller)) })
  route({ method: 'DELETE', url: '/v1/admin/:tenant/users/:username', summary: 'Delete a user (soft; its sessions are revoked)', tag: 'admin: users', access: { kind: 'tenant', operation: 'manageUsersAndKeys' }, reply: UserReply, run: async ({ params, caller }) => answer(await admin.user(params.tenant ?? '', 'delete', { username: params.username }, caller)) })

  route<Record<string, unknown>, undefined>({ method: 'POST', url: '/v1/admin/:tenant/policies', summary: 'Create a policy rule', tag: 'admin: policies', access: { kind: 'tenant', operation: 'managePolicies' }, body: AdminBody, reply: AdminReply, status: 201, run: async ({ params, body, caller }) => answer(await admin.policy(params.tenant ?? '', 'create', body, caller)) })
  route({ method: 'GET', url: '/v1/admin/:tenant/policies', summary: "The tenant's rules in evaluation order", tag: 'admin: policies', access: { kind: 'tenant', operation: 'managePolicies' }, reply: AdminReply, run: async ({ params, caller }) => answer(await admin.policy(params.tenant ?? '', 'list', undefined, caller)) })
  route({ method: 'DELETE', url: '/v1/admin/:tenant/policies/:id', summary: 'Delete a policy rule', tag: 'admin: policies', access: { kind: 'tenant', operation: 'managePolicies' }, reply: AdminReply, run: async ({ params, caller }) => answer(await admin.policy(params.tenant ?? '', 'delete', { id: params.id }, caller)) })
  route<Record<string, unknown>, undefined>({ method: 'POST', url: '/v1/admin/:tenant/policies/evaluate', summary: 'Evaluate the policies against an append (dry run)', tag: 'admin: policies', access: { kind: 'tenant', operation: 'managePolicies' }, body: AdminBody, reply: AdminReply, run: async ({ params, body, caller }) => answer(await admin.policy(params.tenant ?? '', 'evaluate', body, caller)) })

  route({ method: 'GET', url: '/v1/admin/:tenant/stats', summary: "The tenant's usage and quotas", tag: 'admin: stats', access: { kind: 'tenant', operation: 'readStats' }, reply: AdminReply, run: async ({ params, caller }) => answer(await admin.stats(params.tenant ?? '', caller)) })
  route<undefined, Record<string, unknown>>({
    method: 'GET',
    url: '/v1/admin/:tenant/audit',
    summary: "The tenant's audit entries",
    tag: 'admin: audit',
    access: { kind: 'tenant', operation: 'readAudit' },
    query: AuditQueryString as never,
    reply: AdminReply,
    run: async ({ params, query, caller }) => {
      const { limit, ...rest } = query
      return answer(await admin.audit(params.tenant ?? '', { ...rest, ...(limit !== undefined ? { limit } : {}) }, caller))
    },
  })

  route({ method: 'POST', url: '/v1/auth/login', summary: 'Log in with a password: access and refresh tokens', tag: 'auth', access: { kind: 'public' }, body: LoginBody, reply: TokensReply, run: async ({ body }) => answer(await admin.login(body.tenant, body.username, body.password)) })
  route({ method: 'POST', url: '/v1/auth/refresh', summary: 'Exchange a refresh token for a new pair (rotation; reuse revokes the family)', tag: 'auth', access: { kind: 'public' }, body: RefreshBody, reply: TokensReply, run: async ({ body }) => answer(await admin.refresh(body.tenant, body.username, body.refreshToken)) })
  route({ method: 'POST', url: '/v1/auth/token', summary: 'An access token for the calling identity (a key or a user)', tag: 'auth', access: { kind: 'identity' }, reply: TokensReply, run: async ({ caller }) => answer(await admin.token(caller)) })
  route({ method: 'GET', url: '/v1/auth/me', summary: 'Who the calling identity is: tenant, role, and the user record (no hash)', tag: 'auth', access: { kind: 'identity' }, reply: MeReply, run: async ({ caller }) => answer(await admin.me(caller)) })
  route({ method: 'POST', url: '/v1/auth/logout', summary: 'End one session (its refresh token) or every session of the calling user', tag: 'auth', access: { kind: 'identity' }, body: LogoutBody, reply: LogoutReply, run: async ({ body, caller }) => answer(await admin.logout(caller, body)) })
  route({
    method: 'POST',
    url: '/v1/auth/accept-invite',
    summary: 'Accept an invitation: set the password (the invitation token works once)',
    tag: 'auth',
    access: { kind: 'public' },
    body: AcceptInviteBody,
    reply: AcceptedUserReply,
    run: async ({ body }) => answer(await admin.acceptInvite(body.tenant, body.username, { inviteToken: body.inviteToken, password: body.password })),
  })
  route({ method: 'POST', url: '/v1/admin/signing-keys/rotate', summary: 'Rotate the access-token signing key (old tokens verify until they expire)', tag: 'admin: tenants', access: { kind: 'platform', operation: 'manageTenants' }, ...optionalBody, reply: RotatedReply, run: async ({ caller }) => answer(await admin.rotateSigningKey(caller)) })
}
