import type { Command } from 'commander'
import { subjects } from '../../adapters/nats/subjects.js'
import { act, intArg, jsonArg } from './action.js'
import { readPassword } from './password.js'
import { CliError, fields, table } from './output.js'

type Row = Readonly<Record<string, unknown>>
const s0 = subjects()
const ROLES = ['admin', 'developer', 'reader', 'service']

const roleArg = (role: string): string => {
  if (!ROLES.includes(role)) throw new CliError(`a role is one of ${ROLES.join(', ')}; got "${role}"`, 2)
  return role
}

const TENANT_HEAD = ['tenant', 'name', 'status', 'tier', 'createdAt']
const tenantRow = (t: Row) => TENANT_HEAD.map((k) => t[k])

/** `tenants …` (operator), `keys …` and `users …` (tenant admins and the operator): the admin API over NATS. */
export const registerAdminCommands = (program: Command): void => {
  const tenants = program.command('tenants').alias('tenant').description('tenants (operator): create, get, list, update, suspend, activate, delete')
  tenants
    .command('create')
    .argument('<tenant>')
    .option('--tier <tier>', 'free (default), pro or unlimited')
    .option('--name <name>', 'display name')
    .option('--quotas <json>', 'per-quota overrides, e.g. {"projections":200}')
    .action(
      act(async (s, [tenant], o) => {
        const body = { tenant, ...(o.tier !== undefined ? { tier: o.tier } : {}), ...(o.name !== undefined ? { name: o.name } : {}), ...(typeof o.quotas === 'string' ? { quotas: jsonArg(o.quotas, '--quotas') } : {}) }
        const r = await s.request<Row>(s0.adminTenants('create'), body)
        s.out.result(r, () => fields(r))
      }),
    )
  tenants
    .command('update')
    .argument('<tenant>')
    .option('--tier <tier>', 'free, pro or unlimited')
    .option('--name <name>', 'display name')
    .option('--quotas <json>', 'per-quota overrides, e.g. {"projections":200}')
    .action(
      act(async (s, [tenant], o) => {
        const body = { tenant, ...(o.tier !== undefined ? { tier: o.tier } : {}), ...(o.name !== undefined ? { name: o.name } : {}), ...(typeof o.quotas === 'string' ? { quotas: jsonArg(o.quotas, '--quotas') } : {}) }
        const r = await s.request<Row>(s0.adminTenants('update'), body)
        s.out.result(r, () => fields(r))
      }),
    )
  for (const verb of ['get', 'suspend', 'activate', 'delete'] as const) {
    tenants
      .command(verb)
      .argument('<tenant>')
      .action(
        act(async (s, [tenant]) => {
          const r = await s.request<Row>(s0.adminTenants(verb), { tenant })
          s.out.result(r, () => fields(r))
        }),
      )
  }
  tenants
    .command('list')
    .option('--after <tenant>', 'the page after this tenant')
    .option('--limit <n>', 'most tenants', intArg)
    .option('--include-deleted')
    .action(
      act(async (s, _a, o) => {
        const body = { ...(o.after !== undefined ? { after: o.after } : {}), ...(o.limit !== undefined ? { limit: o.limit } : {}), ...(o.includeDeleted === true ? { includeDeleted: true } : {}) }
        const r = await s.request<{ tenants: Row[]; next?: string }>(s0.adminTenants('list'), body)
        s.out.result(r, () => `${table(TENANT_HEAD, r.tenants.map(tenantRow))}${r.next !== undefined ? `\n(more: --after ${r.next})` : ''}`)
      }),
    )

  const keys = program.command('keys').alias('key').description("a tenant's API keys: create (shown once), list, revoke")
  keys
    .command('create')
    .argument('<tenant>')
    .argument('<role>', ROLES.join('|'))
    .option('--name <name>')
    .option('--expires-at <time>', 'ISO-8601')
    .action(
      act(async (s, [tenant, role], o) => {
        const body = { role: roleArg(role as string), ...(o.name !== undefined ? { name: o.name } : {}), ...(o.expiresAt !== undefined ? { expiresAt: o.expiresAt } : {}) }
        const r = await s.request<Row>(s0.adminKeys(tenant as string, 'create'), body, tenant)
        s.out.result(r, () => `${fields(r)}\nthe key is shown only now: keep it (e.g. \`allsource context save ${String(tenant)} --token <key> --tenant ${String(tenant)}\`)`)
      }),
    )
  keys
    .command('list')
    .argument('<tenant>')
    .action(
      act(async (s, [tenant]) => {
        const r = await s.request<{ keys: Row[] }>(s0.adminKeys(tenant as string, 'list'), {}, tenant)
        const head = ['keyId', 'role', 'name', 'createdAt', 'expiresAt', 'revokedAt', 'lastUsedAt']
        s.out.result(r, () => table(head, r.keys.map((k) => head.map((h) => k[h]))))
      }),
    )
  keys
    .command('revoke')
    .argument('<tenant>')
    .argument('<keyId>')
    .action(
      act(async (s, [tenant, keyId]) => {
        const r = await s.request<Row>(s0.adminKeys(tenant as string, 'revoke'), { keyId }, tenant)
        s.out.result(r, () => fields(r))
      }),
    )

  const users = program.command('users').alias('user').description("a tenant's users: create, invite, list, delete")
  const usersSubject = (tenant: string, verb: string) => `${s0.prefix}.admin.${tenant}.users.${verb}`
  users
    .command('create')
    .argument('<tenant>')
    .argument('<username>')
    .argument('<role>', ROLES.join('|'))
    .option('--password-stdin', 'read the password from stdin (otherwise prompted for on a terminal)')
    .action(
      act(async (s, [tenant, username, role], o) => {
        const r0 = roleArg(role as string)
        const password = await readPassword(o.passwordStdin === true, `password for ${String(username)}: `)
        const r = await s.request<Row>(usersSubject(tenant as string, 'create'), { username, password, role: r0 }, tenant)
        s.out.result(r, () => fields(r))
      }),
    )
  users
    .command('invite')
    .argument('<tenant>')
    .argument('<username>')
    .argument('<role>', ROLES.join('|'))
    .option('--ttl-ms <n>', 'how long the invitation lasts', intArg)
    .action(
      act(async (s, [tenant, username, role], o) => {
        const r = await s.request<Row>(usersSubject(tenant as string, 'invite'), { username, role: roleArg(role as string), ...(o.ttlMs !== undefined ? { ttlMs: o.ttlMs } : {}) }, tenant)
        s.out.result(r, () => `${fields(r)}\nthe invite token is shown only now`)
      }),
    )
  users
    .command('list')
    .argument('<tenant>')
    .option('--include-deleted')
    .action(
      act(async (s, [tenant], o) => {
        const r = await s.request<{ users: Row[] }>(usersSubject(tenant as string, 'list'), o.includeDeleted === true ? { includeDeleted: true } : {}, tenant)
        const head = ['username', 'role', 'createdAt', 'invitePending', 'deletedAt']
        s.out.result(r, () => table(head, r.users.map((u) => head.map((h) => u[h]))))
      }),
    )
  users
    .command('delete')
    .argument('<tenant>')
    .argument('<username>')
    .action(
      act(async (s, [tenant, username]) => {
        const r = await s.request<Row>(usersSubject(tenant as string, 'delete'), { username }, tenant)
        s.out.result(r, () => fields(r))
      }),
    )
}
