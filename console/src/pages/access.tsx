import { useState } from 'preact/hooks'
import { call, can, enc, type Problem, type Session } from '../api.js'
import { Copyable, Field, inputValue, ProblemBox, Section, usePoll } from '../ui.js'

interface Tenant {
  readonly tenant: string
  readonly status: string
  readonly tier: string
}
interface Key {
  readonly keyId: string
  readonly role: string
  readonly name?: string
  readonly createdAt: string
  readonly revokedAt?: string
  readonly lastUsedAt?: string
}
interface User {
  readonly username: string
  readonly role: string
  readonly createdAt: string
  readonly invitePending: boolean
}
interface AuditEntry {
  readonly id: string
  readonly at: string
  readonly who: { readonly kind: string; readonly id?: string; readonly role?: string }
  readonly action: string
  readonly target?: string
  readonly outcome: string
}

const ROLES = ['reader', 'service', 'developer', 'admin'] as const
export const ACCESS_INTERVAL_MS = 5_000

/** Tenants (operator), API keys and users (`manageUsersAndKeys`), the audit log (`readAudit`): each part only for a role that may use it. */
export const AccessPage = ({ session }: { readonly session: Session }) => {
  const [problem, setProblem] = useState<Problem | undefined>()
  const [refresh, setRefresh] = useState(0)
  const bump = () => setRefresh((n) => n + 1)
  const report = (r: { ok: boolean; problem?: Problem }) => {
    setProblem(r.ok ? undefined : r.problem)
    if (r.ok) bump()
    return r.ok
  }
  return (
    <>
      <ProblemBox problem={problem} />
      {can(session, 'manageTenants') && <Tenants session={session} report={report} refresh={refresh} />}
      {can(session, 'manageUsersAndKeys') && <Keys session={session} report={report} refresh={refresh} />}
      {can(session, 'manageUsersAndKeys') && <Users session={session} report={report} refresh={refresh} />}
      {can(session, 'readAudit') && <Audit session={session} />}
    </>
  )
}

interface PartProps {
  readonly session: Session
  readonly report: (r: { ok: boolean; problem?: Problem }) => boolean
  readonly refresh: number
}

const Tenants = ({ session, report, refresh }: PartProps) => {
  const [tenants, setTenants] = useState<readonly Tenant[]>([])
  const [id, setId] = useState('')
  const [tier, setTier] = useState('free')
  usePoll(
    async () => {
      const r = await call<{ tenants: readonly Tenant[] }>(session.credential, 'GET', '/v1/admin/tenants?limit=1000')
      if (r.ok) setTenants(r.data.tenants)
    },
    ACCESS_INTERVAL_MS,
    [refresh],
  )
  const create = async (e: Event) => {
    e.preventDefault()
    if (report(await call(session.credential, 'POST', '/v1/admin/tenants', { tenant: id.trim(), tier }))) setId('')
  }
  return (
    <Section title="Tenants">
      <form class="row" onSubmit={(e) => void create(e)} aria-label="Create a tenant">
        <Field label="New tenant id">
          <input required value={id} onInput={(e) => setId(inputValue(e))} />
        </Field>
        <Field label="Tier">
          <select value={tier} onChange={(e) => setTier(inputValue(e))}>
            {['free', 'pro', 'unlimited'].map((t) => (
              <option key={t}>{t}</option>
            ))}
          </select>
        </Field>
        <button type="submit">Create tenant</button>
      </form>
      <table>
        <caption class="sr-only">Tenants</caption>
        <thead>
          <tr>
            <th scope="col">Tenant</th>
            <th scope="col">Status</th>
            <th scope="col">Tier</th>
          </tr>
        </thead>
        <tbody data-testid="tenants">
          {tenants.map((t) => (
            <tr key={t.tenant}>
              <th scope="row">{t.tenant}</th>
              <td>{t.status}</td>
              <td>{t.tier}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  )
}

const Keys = ({ session, report, refresh }: PartProps) => {
  const [keys, setKeys] = useState<readonly Key[]>([])
  const [role, setRole] = useState<string>('reader')
  const [name, setName] = useState('')
  const [created, setCreated] = useState<{ keyId: string; key: string } | undefined>()
  const base = `/v1/admin/${enc(session.tenant)}/keys`
  usePoll(
    async () => {
      const r = await call<{ keys: readonly Key[] }>(session.credential, 'GET', base)
      if (r.ok) setKeys(r.data.keys)
    },
    ACCESS_INTERVAL_MS,
    [refresh, session.tenant],
  )
  const create = async (e: Event) => {
    e.preventDefault()
    const r = await call<{ keyId: string; key: string }>(session.credential, 'POST', base, { role, ...(name.trim() !== '' ? { name: name.trim() } : {}) })
    if (report(r) && r.ok) setCreated(r.data)
  }
  return (
    <Section title={`API keys of ${session.tenant}`}>
      <form class="row" onSubmit={(e) => void create(e)} aria-label="Create an API key">
        <Field label="Key role">
          <select value={role} onChange={(e) => setRole(inputValue(e))}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </Field>
        <Field label="Key name (optional)">
          <input value={name} onInput={(e) => setName(inputValue(e))} />
        </Field>
        <button type="submit">Create key</button>
      </form>
      {created !== undefined && (
        <div class="secret" role="status" data-testid="new-key">
          <p>
            Key <code>{created.keyId}</code> created. Copy it now: it is shown this once and never again.
          </p>
          <Copyable label="the new API key" text={created.key} />
          <button type="button" onClick={() => setCreated(undefined)}>
            I have copied it
          </button>
        </div>
      )}
      <table>
        <caption class="sr-only">API keys</caption>
        <thead>
          <tr>
            <th scope="col">Key id</th>
            <th scope="col">Name</th>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">Last used</th>
            <th scope="col">Revoked</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody data-testid="keys">
          {keys.map((k) => (
            <tr key={k.keyId}>
              <td class="mono">{k.keyId}</td>
              <td>{k.name ?? ''}</td>
              <td>{k.role}</td>
              <td>{k.createdAt}</td>
              <td>{k.lastUsedAt ?? '–'}</td>
              <td>{k.revokedAt ?? '–'}</td>
              <td>
                {k.revokedAt === undefined && (
                  <button type="button" class="danger" onClick={() => void call(session.credential, 'DELETE', `${base}/${enc(k.keyId)}`).then(report)} aria-label={`Revoke key ${k.name ?? k.keyId}`}>
                    Revoke
                  </button>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  )
}

const Users = ({ session, report, refresh }: PartProps) => {
  const [users, setUsers] = useState<readonly User[]>([])
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [role, setRole] = useState<string>('reader')
  const base = `/v1/admin/${enc(session.tenant)}/users`
  usePoll(
    async () => {
      const r = await call<{ users: readonly User[] }>(session.credential, 'GET', base)
      if (r.ok) setUsers(r.data.users)
    },
    ACCESS_INTERVAL_MS,
    [refresh, session.tenant],
  )
  const create = async (e: Event) => {
    e.preventDefault()
    if (report(await call(session.credential, 'POST', base, { username: username.trim(), password, role }))) {
      setUsername('')
      setPassword('')
    }
  }
  return (
    <Section title={`Users of ${session.tenant}`}>
      <form class="row" onSubmit={(e) => void create(e)} aria-label="Create a user">
        <Field label="Username">
          <input required autocomplete="off" value={username} onInput={(e) => setUsername(inputValue(e))} />
        </Field>
        <Field label="Initial password">
          <input required type="password" autocomplete="new-password" value={password} onInput={(e) => setPassword(inputValue(e))} />
        </Field>
        <Field label="User role">
          <select value={role} onChange={(e) => setRole(inputValue(e))}>
            {ROLES.map((r) => (
              <option key={r}>{r}</option>
            ))}
          </select>
        </Field>
        <button type="submit">Create user</button>
      </form>
      <table>
        <caption class="sr-only">Users</caption>
        <thead>
          <tr>
            <th scope="col">Username</th>
            <th scope="col">Role</th>
            <th scope="col">Created</th>
            <th scope="col">Actions</th>
          </tr>
        </thead>
        <tbody data-testid="users">
          {users.map((u) => (
            <tr key={u.username}>
              <th scope="row">{u.username}</th>
              <td>{u.role}</td>
              <td>
                {u.createdAt}
                {u.invitePending ? ' (invited)' : ''}
              </td>
              <td>
                <button type="button" class="danger" onClick={() => void call(session.credential, 'DELETE', `${base}/${enc(u.username)}`).then(report)} aria-label={`Delete user ${u.username}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  )
}

const Audit = ({ session }: { readonly session: Session }) => {
  const [action, setAction] = useState('')
  const [user, setUser] = useState('')
  const [since, setSince] = useState('')
  const [entries, setEntries] = useState<readonly AuditEntry[]>([])
  const [problem, setProblem] = useState<Problem | undefined>()
  const load = async (e?: Event) => {
    e?.preventDefault()
    const q = new URLSearchParams({ limit: '50' })
    if (action.trim() !== '') q.set('action', action.trim())
    if (user.trim() !== '') q.set('user', user.trim())
    if (since !== '') q.set('since', new Date(since).toISOString())
    const r = await call<{ entries: readonly AuditEntry[] }>(session.credential, 'GET', `/v1/admin/${enc(session.tenant)}/audit?${q.toString()}`)
    setProblem(r.ok ? undefined : r.problem)
    if (r.ok) setEntries([...r.data.entries].reverse())
  }
  return (
    <Section title={`Audit log of ${session.tenant}`}>
      <form class="row" onSubmit={(e) => void load(e)} aria-label="Filter the audit log">
        <Field label="Action (e.g. key.create or key.>)">
          <input value={action} onInput={(e) => setAction(inputValue(e))} />
        </Field>
        <Field label="Actor id (key id or username)">
          <input value={user} onInput={(e) => setUser(inputValue(e))} />
        </Field>
        <Field label="Since">
          <input type="datetime-local" value={since} onInput={(e) => setSince(inputValue(e))} />
        </Field>
        <button type="submit">Show entries</button>
      </form>
      <ProblemBox problem={problem} />
      <table>
        <caption class="sr-only">Audit entries</caption>
        <thead>
          <tr>
            <th scope="col">At</th>
            <th scope="col">Action</th>
            <th scope="col">Who</th>
            <th scope="col">Target</th>
            <th scope="col">Outcome</th>
          </tr>
        </thead>
        <tbody data-testid="audit">
          {entries.map((a) => (
            <tr key={a.id}>
              <td>{a.at}</td>
              <td>{a.action}</td>
              <td>
                {a.who.kind}
                {a.who.id !== undefined ? ` ${a.who.id}` : ''}
                {a.who.role !== undefined ? ` (${a.who.role})` : ''}
              </td>
              <td>{a.target ?? ''}</td>
              <td>{a.outcome}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  )
}
