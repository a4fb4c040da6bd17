import { type NatsConnection, nuid } from '@nats-io/transport-node'
import { decodeMsgpack, encodeMsgpack } from '../../adapters/codec/msgpack.js'
import { subjects } from '../../adapters/nats/subjects.js'

/** What an admin command prints and its exit code. */
export interface CommandOutcome {
  readonly output: unknown
  readonly exitCode: number
}

/**
 * One admin request (msgpack). A tenant-scoped subject gets its reply under `_INBOX.<tenant>._op.`
 * when `tenantReplies` is on (the operator's CLI in auth mode), as the processor requires.
 */
const adminRequest = async (nc: NatsConnection, subject: string, body: unknown, tenant: string | undefined, tenantReplies: boolean): Promise<CommandOutcome> => {
  const reply = tenant !== undefined && tenantReplies ? { reply: `_INBOX.${tenant}._op.${nuid.next()}`, noMux: true as const } : {}
  try {
    const m = await nc.request(subject, encodeMsgpack(body ?? {}), { timeout: 10_000, ...reply })
    const decoded = decodeMsgpack(m.data) as { error?: unknown }
    return { output: decoded, exitCode: decoded.error === undefined ? 0 : 1 }
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e)
    const hint = /no responders/i.test(why)
      ? 'no processor answered: start one with `npm start` (the admin API is served in auth mode)'
      : /permission/i.test(why)
        ? 'this credential may not make this request (tenant admins manage their own keys; tenants need the operator key)'
        : why
    return { output: { error: { code: 'UNAVAILABLE', message: hint } }, exitCode: 1 }
  }
}

const valueOf = (args: string[], name: string): string | undefined => {
  const i = args.indexOf(name)
  if (i < 0) return undefined
  const v = args[i + 1]
  args.splice(i, 2)
  return v
}

export const ADMIN_USAGE = `  tenants create <tenant> [--tier free|pro|unlimited] [--name NAME]
  tenants get|suspend|activate|delete <tenant>
  tenants list [--after TENANT] [--limit N] [--include-deleted]
  keys create <tenant> <admin|developer|reader|service> [--name NAME] [--expires-at ISO]   (the key is shown once)
  keys list <tenant>
  keys revoke <tenant> <keyId>
  auth server-config                              (the auth block to add to an external nats-server's configuration)`

/**
 * `tenants …` and `keys …` (the admin API over NATS; DESIGN.md, "Admin API"). Undefined when
 * `argv` is not one of them or is incomplete.
 */
export const adminCommand = async (nc: NatsConnection, argv: readonly string[], o: { readonly prefix?: string; readonly tenantReplies: boolean }): Promise<CommandOutcome | undefined> => {
  const s = subjects(o.prefix)
  const args = [...argv]
  const [group, command] = args
  if (group === 'tenants' && command === 'list') {
    const after = valueOf(args, '--after')
    const limit = valueOf(args, '--limit')
    const includeDeleted = args.includes('--include-deleted')
    return adminRequest(nc, s.adminTenants('list'), { ...(after !== undefined ? { after } : {}), ...(limit !== undefined ? { limit: Number(limit) } : {}), ...(includeDeleted ? { includeDeleted } : {}) }, undefined, o.tenantReplies)
  }
  if (group === 'tenants' && command !== undefined && args[2] !== undefined) {
    const tier = valueOf(args, '--tier')
    const name = valueOf(args, '--name')
    const body = { tenant: args[2], ...(tier !== undefined ? { tier } : {}), ...(name !== undefined ? { name } : {}) }
    return adminRequest(nc, s.adminTenants(command), body, undefined, o.tenantReplies)
  }
  if (group === 'keys' && command === 'create' && args[2] !== undefined && args[3] !== undefined) {
    const name = valueOf(args, '--name')
    const expiresAt = valueOf(args, '--expires-at')
    const body = { role: args[3], ...(name !== undefined ? { name } : {}), ...(expiresAt !== undefined ? { expiresAt } : {}) }
    return adminRequest(nc, s.adminKeys(args[2], 'create'), body, args[2], o.tenantReplies)
  }
  if (group === 'keys' && command === 'list' && args[2] !== undefined) return adminRequest(nc, s.adminKeys(args[2], 'list'), {}, args[2], o.tenantReplies)
  if (group === 'keys' && command === 'revoke' && args[2] !== undefined && args[3] !== undefined) {
    return adminRequest(nc, s.adminKeys(args[2], 'revoke'), { keyId: args[3] }, args[2], o.tenantReplies)
  }
  return undefined
}
