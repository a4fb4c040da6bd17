import { render } from 'preact'
import { useEffect, useState } from 'preact/hooks'
import { call, can, type Credential, loadSession, saveSession, type Session } from './api.js'
import { Login } from './login.js'
import { AccessPage } from './pages/access.js'
import { DlqPage } from './pages/dlq.js'
import { LivePage } from './pages/live.js'
import { OverviewPage } from './pages/overview.js'
import { ProjectionsPage } from './pages/projections.js'
import { StreamsPage } from './pages/streams.js'
import { Field, inputValue } from './ui.js'

interface Page {
  readonly id: string
  readonly title: string
  readonly visible: (s: Session) => boolean
  readonly view: (p: { readonly session: Session }) => preact.JSX.Element
}

// Each page is shown only to a role that may use it (the permission table, through `can`).
const pages: readonly Page[] = [
  { id: 'overview', title: 'Overview', visible: () => true, view: OverviewPage },
  { id: 'streams', title: 'Streams', visible: (s) => can(s, 'read') && can(s, 'query'), view: StreamsPage },
  { id: 'live', title: 'Live tail', visible: (s) => can(s, 'read'), view: LivePage },
  { id: 'projections', title: 'Projections', visible: (s) => can(s, 'read'), view: ProjectionsPage },
  { id: 'dlq', title: 'Subscriptions & DLQ', visible: (s) => can(s, 'read'), view: DlqPage },
  { id: 'access', title: 'Tenants, users & keys', visible: (s) => can(s, 'manageUsersAndKeys') || can(s, 'readAudit') || can(s, 'manageTenants'), view: AccessPage },
]

const currentPage = (): string => location.hash.replace(/^#\/?/, '') || 'overview'

const TenantPicker = ({ session, onChange }: { readonly session: Session; readonly onChange: (tenant: string) => void }) => {
  const [tenants, setTenants] = useState<readonly string[]>([])
  useEffect(() => {
    void call<{ tenants: readonly { tenant: string }[] }>(session.credential, 'GET', '/v1/admin/tenants?limit=1000').then((r) => {
      if (r.ok) setTenants(r.data.tenants.map((t) => t.tenant))
    })
  }, [session.credential])
  return (
    <Field label="Tenant">
      <input list="tenant-list" value={session.tenant} onChange={(e) => onChange(inputValue(e).trim())} />
      <datalist id="tenant-list">
        {tenants.map((t) => (
          <option key={t} value={t} />
        ))}
      </datalist>
    </Field>
  )
}

const App = () => {
  const [session, setSession] = useState<Session | undefined>(loadSession())
  const [page, setPage] = useState(currentPage())
  useEffect(() => {
    const on = () => setPage(currentPage())
    addEventListener('hashchange', on)
    return () => removeEventListener('hashchange', on)
  }, [])
  const update = (s: Session | undefined) => {
    saveSession(s)
    setSession(s)
  }
  if (session === undefined) return <Login onLogin={update} />
  return <Shell session={session} page={page} update={update} />
}

const Shell = ({ session, page, update }: { readonly session: Session; readonly page: string; readonly update: (s: Session | undefined) => void }) => {
  const visible = pages.filter((p) => p.visible(session))
  const active = visible.find((p) => p.id === page) ?? visible[0]
  useEffect(() => {
    document.title = `${active?.title ?? 'Console'} · AllSource`
  }, [active?.id])
  return (
    <div class="shell">
      <header>
        <a class="brand" href="#/overview">
          AllSource
        </a>
        <nav aria-label="Console pages">
          <ul>
            {visible.map((p) => (
              <li key={p.id}>
                <a href={`#/${p.id}`} aria-current={p.id === active?.id ? 'page' : undefined}>
                  {p.title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <div class="who">
          {session.role === 'operator' ? <TenantPicker session={session} onChange={(tenant) => update({ ...session, tenant })} /> : <span>tenant {session.tenant}</span>}
          <span class="role" data-testid="role">
            {session.role}
          </span>
          <button type="button" onClick={() => logout(session, update)}>
            Log out
          </button>
        </div>
      </header>
      <main id="main" tabIndex={-1}>
        <h1>{active?.title}</h1>
        {active !== undefined && <active.view key={`${active.id}:${session.tenant}`} session={session} />}
      </main>
    </div>
  )
}

const logout = (session: Session, update: (s: Session | undefined) => void) => {
  const c: Credential = session.credential
  if (c.kind === 'bearer' && c.refreshToken !== undefined) void call(c, 'POST', '/v1/auth/logout', { refreshToken: c.refreshToken })
  update(undefined)
}

const root = document.getElementById('app')
if (root !== null) {
  root.textContent = ''
  render(<App />, root)
}
