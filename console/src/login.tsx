import { useState } from 'preact/hooks'
import type { Role } from '../../src/domain/security/roles.js'
import { call, type Credential, type Problem, type Session } from './api.js'
import { Field, inputValue, ProblemBox } from './ui.js'

interface Me {
  readonly tenant?: string
  readonly role: Role
  readonly subject: string
}

/** Who the credential is (`GET /v1/auth/me`), as a session; the operator looks at `tenant` (or the first tenant). */
const sessionOf = async (credential: Credential, tenant: string): Promise<{ session?: Session; problem?: Problem }> => {
  const me = await call<Me>(credential, 'GET', '/v1/auth/me')
  if (me.ok) return { session: { credential, tenant: me.data.tenant ?? tenant, role: me.data.role, subject: me.data.subject } }
  // `me` answers FORBIDDEN for the operator key (it has no tenant identity): the operator is the
  // credential that may list tenants.
  if (me.problem.status !== 403) return { problem: me.problem }
  const list = await call<{ tenants: readonly { tenant: string }[] }>(credential, 'GET', '/v1/admin/tenants?limit=1')
  if (!list.ok) return { problem: me.problem }
  return { session: { credential, tenant: tenant !== '' ? tenant : (list.data.tenants[0]?.tenant ?? ''), role: 'operator', subject: 'operator' } }
}

/** Login with an API key (the operator key too) or a tenant user's name and password. */
export const Login = ({ onLogin }: { readonly onLogin: (s: Session) => void }) => {
  const [mode, setMode] = useState<'key' | 'password'>('key')
  const [key, setKey] = useState('')
  const [tenant, setTenant] = useState('')
  const [username, setUsername] = useState('')
  const [password, setPassword] = useState('')
  const [problem, setProblem] = useState<Problem | undefined>()
  const [busy, setBusy] = useState(false)

  const submit = async (e: Event) => {
    e.preventDefault()
    setBusy(true)
    setProblem(undefined)
    let credential: Credential
    if (mode === 'key') credential = { kind: 'apikey', key: key.trim() }
    else {
      const r = await call<{ accessToken: string; refreshToken: string }>(undefined, 'POST', '/v1/auth/login', { tenant: tenant.trim(), username: username.trim(), password })
      if (!r.ok) {
        setBusy(false)
        return setProblem(r.problem)
      }
      credential = { kind: 'bearer', token: r.data.accessToken, refreshToken: r.data.refreshToken }
    }
    const s = await sessionOf(credential, tenant.trim())
    setBusy(false)
    if (s.session !== undefined) onLogin(s.session)
    else setProblem(s.problem)
  }

  return (
    <main class="login" id="main">
      <h1>AllSource console</h1>
      <form onSubmit={(e) => void submit(e)} aria-label="Log in">
        <fieldset>
          <legend>Log in with</legend>
          <label class="radio">
            <input type="radio" name="mode" checked={mode === 'key'} onChange={() => setMode('key')} /> an API key
          </label>
          <label class="radio">
            <input type="radio" name="mode" checked={mode === 'password'} onChange={() => setMode('password')} /> a username and password
          </label>
        </fieldset>
        {mode === 'key' ? (
          <>
            <Field label="API key">
              <input type="password" autocomplete="off" required value={key} onInput={(e) => setKey(inputValue(e))} />
            </Field>
            <Field label="Tenant (operator key only, optional)">
              <input value={tenant} onInput={(e) => setTenant(inputValue(e))} />
            </Field>
          </>
        ) : (
          <>
            <Field label="Tenant">
              <input required value={tenant} onInput={(e) => setTenant(inputValue(e))} />
            </Field>
            <Field label="Username">
              <input required autocomplete="username" value={username} onInput={(e) => setUsername(inputValue(e))} />
            </Field>
            <Field label="Password">
              <input type="password" required autocomplete="current-password" value={password} onInput={(e) => setPassword(inputValue(e))} />
            </Field>
          </>
        )}
        <button type="submit" disabled={busy}>
          {busy ? 'Logging in…' : 'Log in'}
        </button>
        <ProblemBox problem={problem} />
      </form>
      <p class="hint">The key or token stays in this tab only (session storage) and is sent to this gateway alone.</p>
    </main>
  )
}
