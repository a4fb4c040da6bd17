import { resolve } from 'node:path'
import * as E from 'fp-ts/lib/Either.js'
import { loadConfig } from '../config.js'
import { projectRoot } from '../natsServer/findNatsServer.js'
import { clientToken } from '../auth/operatorKey.js'
import { type Context, type ContextStore, configDir, contextStore } from './contexts.js'
import { CliError } from './output.js'

/** The global flags every command takes. */
export interface GlobalFlags {
  readonly url?: string
  readonly token?: string
  readonly tenant?: string
  readonly context?: string
  readonly json?: boolean
}

/**
 * The credential a command connects with, and where it came from (named in errors; the secret
 * never is). `operator`: the operator key (no tenant inbox; replies under each tenant's inbox).
 * `key`: a tenant API key. `access`: an access token from `allsource login`.
 */
export type Credential =
  | { readonly kind: 'none' }
  | { readonly kind: 'operator'; readonly token: string; readonly from: string }
  | { readonly kind: 'key' | 'access'; readonly token: string; readonly tenant: string; readonly from: string }

export interface Settings {
  readonly url: string
  readonly credential: Credential
  /** The tenant to act as or on, when one was given (`--tenant`, `ALLSOURCE_TENANT`, the context). */
  readonly tenant?: string
  /** The selected context's name, if any. */
  readonly contextName?: string
  readonly context?: Context
  readonly store: ContextStore
  readonly dataDir: string
}

const given = (v: string | undefined): string | undefined => (v === undefined || v.trim() === '' ? undefined : v.trim())

/** A JWT (header.payload.signature) rather than an `as_…` key. */
const isJwt = (token: string): boolean => /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token)

const explicit = (token: string, tenant: string | undefined, from: string): Credential => {
  if (isJwt(token)) {
    if (tenant === undefined) throw new CliError(`an access token (${from}) needs its tenant: pass --tenant or set ALLSOURCE_TENANT`, 2)
    return { kind: 'access', token, tenant, from }
  }
  return tenant === undefined ? { kind: 'operator', token, from } : { kind: 'key', token, tenant, from }
}

/**
 * Resolves where to connect and with what. Precedence, each setting on its own: flags, then the
 * environment (`NATS_URL`, `ALLSOURCE_TOKEN`, `ALLSOURCE_TENANT`, `ALLSOURCE_CONTEXT`), then the
 * selected context (`--context`, else `ALLSOURCE_CONTEXT`, else the one `context use` chose), then
 * the defaults: `127.0.0.1:4222`, and the operator key from `ALLSOURCE_BOOTSTRAP_KEY` or the data
 * dir's `auth/operator.key`. An explicit token (flag, env, context) with a tenant is that
 * tenant's key; without one it is taken for the operator's.
 */
export const resolveSettings = (flags: GlobalFlags, env: NodeJS.ProcessEnv = process.env): Settings => {
  const store = contextStore(configDir(env))
  const selected = given(flags.context) ?? given(env.ALLSOURCE_CONTEXT)
  const current = store.current()
  if (E.isLeft(current)) throw new CliError(current.left)
  const contextName = selected ?? current.right
  let context: Context | undefined
  if (contextName !== undefined) {
    const loaded = store.load(contextName)
    if (E.isLeft(loaded)) throw new CliError(loaded.left)
    if (loaded.right === undefined) throw new CliError(`no context "${contextName}": list them with \`allsource context ls\`, or save one with \`allsource context save ${contextName} --url …\``)
    context = loaded.right
  }
  const dataDir = resolve(projectRoot(), loadConfig(env).dataDir)
  const url = given(flags.url) ?? given(env.NATS_URL) ?? given(context?.url) ?? '127.0.0.1:4222'
  const tenant = given(flags.tenant) ?? given(env.ALLSOURCE_TENANT) ?? given(context?.tenant)
  const flagToken = given(flags.token)
  const envToken = given(env.ALLSOURCE_TOKEN)
  let credential: Credential
  if (flagToken !== undefined) credential = explicit(flagToken, tenant, '--token')
  else if (envToken !== undefined) credential = explicit(envToken, tenant, 'ALLSOURCE_TOKEN')
  else if (context?.accessToken !== undefined && context.tenant !== undefined) {
    const expires = Date.parse(context.expiresAt ?? '')
    if (!Number.isNaN(expires) && expires <= Date.now()) {
      throw new CliError(`the access token of context "${contextName ?? ''}" expired at ${context.expiresAt ?? ''}: run \`allsource login --tenant ${context.tenant} --user ${context.user ?? '<user>'}\` again`)
    }
    credential = { kind: 'access', token: context.accessToken, tenant: context.tenant, from: `context "${contextName ?? ''}" (login)` }
  } else if (context?.token !== undefined) credential = explicit(context.token, given(context.tenant), `context "${contextName ?? ''}"`)
  else {
    const fallback = clientToken({ ALLSOURCE_BOOTSTRAP_KEY: env.ALLSOURCE_BOOTSTRAP_KEY }, dataDir)
    const from = given(env.ALLSOURCE_BOOTSTRAP_KEY) !== undefined ? 'ALLSOURCE_BOOTSTRAP_KEY' : `the operator key in ${dataDir}/auth/operator.key`
    credential = fallback === undefined ? { kind: 'none' } : { kind: 'operator', token: fallback, from }
  }
  return {
    url,
    credential,
    ...(tenant !== undefined ? { tenant } : {}),
    ...(contextName !== undefined ? { contextName } : {}),
    ...(context !== undefined ? { context } : {}),
    store,
    dataDir,
  }
}
