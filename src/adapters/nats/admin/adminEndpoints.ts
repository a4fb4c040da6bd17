import type { NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { keyCommandAudit, tenantCommandAudit } from '../../../application/admin/adminAudit.js'
import { keyCommandReply, runKeyCommand } from '../../../application/admin/keyAdmin.js'
import { runTenantCommand } from '../../../application/admin/tenantAdmin.js'
import type { ApiKeyHasher, ApiKeyStore } from '../../../application/auth/ports.js'
import type { Clock } from '../../../application/streams/ports.js'
import type { TenantStore } from '../../../application/tenants/ports.js'
import type { AuditDraft } from '../../../domain/security/audit.js'
import { validateKeyCommand } from '../../../domain/security/keyRequests.js'
import { validateTenant } from '../../../domain/streams/appendRequest.js'
import { invalidId } from '../../../domain/streams/errors.js'
import { validateTenantCommand } from '../../../domain/tenants/tenantRequests.js'
import { type DroppedRequest, type Endpoint, type EndpointRoute, startEndpoint } from '../service/endpoint.js'
import { subjects } from '../subjects.js'
import { actorFromReply } from './replyActor.js'

export interface AdminEndpointsOptions {
  readonly prefix: string
  /** The queue group of the tenant endpoint; the key endpoint uses `<queue>-keys` (see {@link startAdminEndpoints}). */
  readonly queue: string
  readonly tenants: TenantStore
  readonly keys: ApiKeyStore
  readonly hasher: ApiKeyHasher
  readonly clock: Clock
  /** Auth mode: key requests whose reply is outside `_INBOX.<tenant>.` are dropped unanswered. */
  readonly tenantReplies?: boolean
  /** Told after a key is revoked (auth mode disconnects the connections using it). */
  readonly onKeyRevoked?: (tenant: string, keyId: string) => void
  /**
   * Auth mode's audit trail: told one draft per tenant or key command that changes something
   * (`tenantCommandAudit`, `keyCommandAudit`: never the key), after it ran, whatever its result;
   * `who` from the reply inbox (`actorFromReply`). Must not throw or wait (`AuditLog.record`).
   */
  readonly audit?: (draft: AuditDraft) => void
  /** Told of every key request dropped unanswered (`Endpoint.dropped`). */
  readonly onDropped?: (d: DroppedRequest) => void
}

/**
 * Tenant tokens under `allsource.admin.*.keys` that belong to other endpoints' wildcard listeners
 * (`allsource.admin.tenants.>`, `allsource.admin.projection.>`): such a request is theirs to
 * answer, so the key endpoint leaves it unanswered. Those ids cannot be created as tenants.
 */
const OTHER_ADMIN_WORDS: ReadonlySet<string> = new Set(['tenants', 'projection'])

/**
 * The admin API on NATS, request-reply in JSON or msgpack, failures through the one error table:
 *
 * - `<prefix>.admin.tenants.<create|get|list|update|suspend|activate|delete>`: bodies
 *   `{ tenant, name?, tier?, quotas? }` (create), `{ tenant, tier?, quotas? }` (update),
 *   `{ tenant }` (get, suspend, activate, delete), `{ after?, limit?, includeDeleted? }` or
 *   nothing (list) → the tenant record, or `{ tenants, next? }`;
 * - `<prefix>.admin.<tenant>.keys.<create|list|revoke>`: `{ role, name?, expiresAt? }` →
 *   `{ keyId, key }` (the only time the key is shown), nothing or `{}` → `{ keys }` (no hashes),
 *   `{ keyId }` → `{ keyId, revokedAt }`.
 *
 * Every request is answered (bad input `BAD_REQUEST`/`INVALID_ID`, never a crash), except key
 * requests whose tenant token is `tenants` or `projection`: those subjects also match the tenant
 * and projection admin endpoints, which answer them. For that, the key endpoint is in its own queue
 * group (`<queue>-keys`): in one group NATS would hand such a request to only one of the two.
 *
 * Who may call is not checked here (NATS permissions, and the service layer's reply-subject
 * check); the use cases take a caller `Identity` for when the door can tell who asks.
 */
export const startAdminEndpoints = (nc: NatsConnection, o: AdminEndpointsOptions): Endpoint[] => {
  const s = subjects(o.prefix)
  const tenantCommand = runTenantCommand({ tenants: o.tenants, clock: o.clock })
  const keyCommand = runKeyCommand({ tenants: o.tenants, store: o.keys, hasher: o.hasher, clock: o.clock })

  const tenants = startEndpoint(nc, { prefix: o.prefix, queue: o.queue, verb: 'admin.tenants', name: 'tenant-admin', tokens: 1, emptyBody: 'allowed' }, async (tokens, body, _format, request) => {
    const command = validateTenantCommand(tokens[0] ?? '', body)
    if (E.isLeft(command)) return command
    const r = await tenantCommand(command.right)
    // Only the operator may publish on the tenant subjects (NATS permissions).
    const draft = o.audit !== undefined ? tenantCommandAudit(command.right, r, actorFromReply(request.reply, undefined, true)) : undefined
    if (draft !== undefined) o.audit?.(draft)
    return r
  })

  const keysRoute: EndpointRoute = {
    ...s.adminKeysEndpoint,
    tokensOf: (subject) => {
      const parsed = s.adminKeysTokens(subject)
      if (parsed === undefined) return E.left(invalidId('subject', `not a key admin subject`))
      if (OTHER_ADMIN_WORDS.has(parsed.tenant)) return 'ignore'
      const tenant = validateTenant(parsed.tenant)
      if (E.isLeft(tenant)) return tenant
      if (parsed.rest.length !== 1) {
        return E.left(invalidId('subject', `${s.adminKeys('<tenant>', '<command>')} takes one command token after keys, got ${parsed.rest.length}`))
      }
      return E.right([tenant.right, parsed.rest[0] as string])
    },
  }
  const keys = startEndpoint(nc, { prefix: o.prefix, queue: `${o.queue}-keys`, verb: 'admin.keys', name: 'key-admin', tokens: 2, emptyBody: 'allowed', route: keysRoute, tenantReplies: o.tenantReplies ?? false, ...(o.onDropped !== undefined ? { onDropped: o.onDropped } : {}) }, async (tokens, body, _format, request) => {
    const tenant = validateTenant(tokens[0])
    if (E.isLeft(tenant)) return tenant
    const command = validateKeyCommand(tokens[1] ?? '', body)
    if (E.isLeft(command)) return command
    const r = await keyCommand(tenant.right, command.right)
    const draft = o.audit !== undefined ? keyCommandAudit(tenant.right, command.right, r, actorFromReply(request.reply, tenant.right)) : undefined
    if (draft !== undefined) o.audit?.(draft)
    if (E.isLeft(r)) return r
    if (r.right._tag === 'Revoked') o.onKeyRevoked?.(tenant.right, r.right.key.keyId)
    return E.right(keyCommandReply(r.right))
  })

  return [tenants, keys]
}
