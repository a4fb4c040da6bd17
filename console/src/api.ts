// The console's only way to the processor: the gateway's public HTTP API (docs/http.md), with the
// credential the user logged in with. Errors come back as the gateway's problem details.
import { may } from '../../src/domain/security/permissions.js'
import type { Operation, Role } from '../../src/domain/security/roles.js'

export type Credential = { readonly kind: 'apikey'; readonly key: string } | { readonly kind: 'bearer'; readonly token: string; readonly refreshToken?: string }

export interface Session {
  readonly credential: Credential
  /** The caller's tenant; for the operator, the tenant it chose to look at. */
  readonly tenant: string
  readonly role: Role
  readonly subject: string
}

export interface Problem {
  readonly status: number
  readonly code: string
  readonly title?: string
  readonly detail?: string
  readonly [k: string]: unknown
}

export type Result<A> = { readonly ok: true; readonly data: A; readonly status: number } | { readonly ok: false; readonly problem: Problem }

export const authHeader = (c: Credential): string => (c.kind === 'apikey' ? `ApiKey ${c.key}` : `Bearer ${c.token}`)

/** One call of the gateway's API. Never throws: a network failure is a problem with status 0. */
export const call = async <A>(credential: Credential | undefined, method: string, path: string, body?: unknown): Promise<Result<A>> => {
  const headers: Record<string, string> = {}
  if (credential !== undefined) headers.authorization = authHeader(credential)
  if (body !== undefined) headers['content-type'] = 'application/json'
  let res: Response
  try {
    res = await fetch(path, { method, headers, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) })
  } catch (e) {
    return { ok: false, problem: { status: 0, code: 'UNAVAILABLE', detail: `the gateway cannot be reached: ${e instanceof Error ? e.message : String(e)}` } }
  }
  const text = await res.text()
  let parsed: unknown = undefined
  try {
    parsed = text === '' ? undefined : JSON.parse(text)
  } catch {
    parsed = text
  }
  if (res.ok) return { ok: true, data: parsed as A, status: res.status }
  const p = typeof parsed === 'object' && parsed !== null ? (parsed as Problem) : { status: res.status, code: 'INTERNAL', detail: String(parsed) }
  return { ok: false, problem: { ...p, status: res.status } }
}

/** Whether the session's role may perform `operation` (the product's one permission table). */
export const can = (s: Session, operation: Operation): boolean => may(s.role, operation)

export const enc = encodeURIComponent
export const tenantPath = (s: Session, rest: string): string => `/v1/tenants/${enc(s.tenant)}${rest}`

export const problemText = (p: Problem): string => `${p.code}${p.status > 0 ? ` (${p.status})` : ''}: ${p.detail ?? p.title ?? ''}`

/** A shell command with the credential left as a variable, never the secret itself. */
export const curlFor = (method: string, path: string, body?: unknown): string =>
  [`curl -s${method === 'GET' ? '' : ` -X ${method}`} -H "Authorization: $ALLSOURCE_AUTH"`, ...(body !== undefined ? [`-H 'Content-Type: application/json' -d '${JSON.stringify(body).replace(/'/g, "'\\''")}'`] : []), `'${location.origin}${path}'`].join(' ')

const KEY = 'allsource.console.session'
export const saveSession = (s: Session | undefined): void => {
  if (s === undefined) sessionStorage.removeItem(KEY)
  else sessionStorage.setItem(KEY, JSON.stringify(s))
}
export const loadSession = (): Session | undefined => {
  try {
    const raw = sessionStorage.getItem(KEY)
    return raw === null ? undefined : (JSON.parse(raw) as Session)
  } catch {
    return undefined
  }
}
