import { connect, type NatsConnection, nuid } from '@nats-io/transport-node'
import { tenantConnectOptions, tokenConnectOptions } from '../../adapters/nats/auth/natsGrants.js'
import { AllSourceError, type AllSourceClient, createAllSourceClient } from '../../adapters/nats/service/client.js'
import { decodeMsgpack, encodeMsgpack } from '../../adapters/codec/msgpack.js'
import { CliError, type Output, createOutput } from './output.js'
import { type Credential, type GlobalFlags, type Settings, resolveSettings } from './settings.js'

/** What a command runs with: its settings, its output, and a connection made on first use. */
export interface Session {
  readonly settings: Settings
  readonly out: Output
  nc(): Promise<NatsConnection>
  client(): Promise<AllSourceClient>
  /**
   * One admin request (msgpack) on `subject`; a failure reply becomes an {@link AllSourceError}.
   * `tenant`: the subject's tenant, so the operator asks for the reply under its inbox.
   */
  request<T>(subject: string, body: unknown, tenant?: string, timeoutMs?: number): Promise<T>
  close(): Promise<void>
}

const connectOptionsOf = (c: Credential) => {
  try {
    switch (c.kind) {
      case 'none':
        return {}
      case 'operator':
        return { token: c.token }
      case 'key':
        return tenantConnectOptions(c.tenant, c.token)
      case 'access':
        return tokenConnectOptions(c.tenant, c.token)
      default: {
        const never: never = c
        return never
      }
    }
  } catch {
    throw new CliError(`the token from ${c.kind === 'none' ? '' : c.from} is not an AllSource API key (as_…) or access token: check it, or run \`allsource login\``, 2)
  }
}

const credentialHint = (c: Credential): string =>
  c.kind === 'none'
    ? 'no credential was found: set ALLSOURCE_TOKEN, save a context (`allsource context save`), run `allsource login`, or run where the data dir holds auth/operator.key'
    : `the server refused the credentials (${c.from}): check ALLSOURCE_TOKEN / the context's token, or run \`allsource login\``

/** Turns a connect failure into what to do next. */
export const explainConnectError = (e: unknown, url: string, c: Credential): CliError => {
  const why = e instanceof Error ? e.message : String(e)
  if (/authoriz|authentication/i.test(why)) return new CliError(`${url}: ${credentialHint(c)}`)
  if (/ECONNREFUSED|connection refused|CONNECTION_REFUSED/i.test(why)) {
    return new CliError(`no NATS server at ${url}: start the processor with \`npm start\` (or \`allsource serve\`; it starts an embedded nats-server), or point --url / NATS_URL / the context at yours`)
  }
  if (/timeout/i.test(why)) return new CliError(`no answer from a NATS server at ${url} in time: check the address (--url, NATS_URL, the context)`)
  return new CliError(`cannot connect to ${url}: ${why}`)
}

/** Refresh when less than this much of a login's access token is left. */
const REFRESH_BEFORE_MS = 10 * 60_000

/**
 * Keeps a login alive: on a connection made with the context's access token, when less than
 * {@link REFRESH_BEFORE_MS} of it is left, trades the refresh token for a new pair
 * (`allsource.auth.token` with `{ refreshToken }`, asked on this very connection, whose inbox
 * names the user) and saves it in the context (0600). A failed refresh only warns: the current
 * token still works until it expires.
 */
const refreshLogin = async (c: NatsConnection, settings: Settings): Promise<void> => {
  const ctx = settings.context
  const name = settings.contextName
  if (settings.credential.kind !== 'access' || ctx?.refreshToken === undefined || name === undefined || settings.credential.token !== ctx.accessToken) return
  const expires = Date.parse(ctx.expiresAt ?? '')
  if (!Number.isNaN(expires) && expires - Date.now() > REFRESH_BEFORE_MS) return
  try {
    const m = await c.request('allsource.auth.token', encodeMsgpack({ refreshToken: ctx.refreshToken }), { timeout: 10_000 })
    const r = decodeMsgpack(m.data) as { error?: { code: string }; accessToken?: string; refreshToken?: string; expiresAt?: string }
    if (r.error !== undefined || r.accessToken === undefined || r.refreshToken === undefined) throw new Error(r.error?.code ?? 'no tokens in the reply')
    settings.store.save(name, { ...ctx, accessToken: r.accessToken, refreshToken: r.refreshToken, ...(r.expiresAt !== undefined ? { expiresAt: r.expiresAt } : {}) })
  } catch (e) {
    process.stderr.write(`allsource: could not refresh the login of context "${name}" (${e instanceof Error ? e.message : String(e)}); run \`allsource login\` before ${ctx.expiresAt ?? 'it expires'}\n`)
  }
}

/** Opens a session for a command; nothing connects until a command asks for it. */
export const openSession = (flags: GlobalFlags): Session => {
  const out = createOutput(flags.json === true)
  const settings = resolveSettings(flags)
  let ncP: Promise<NatsConnection> | undefined
  const nc = () =>
    (ncP ??= connect({ servers: settings.url, reconnect: false, timeout: 5_000, name: 'allsource-cli', ...connectOptionsOf(settings.credential) })
      .catch((e: unknown) => {
        throw explainConnectError(e, settings.url, settings.credential)
      })
      .then(async (c) => {
        await refreshLogin(c, settings)
        return c
      }))
  const tenantReplies = settings.credential.kind === 'operator'
  return {
    settings,
    out,
    nc,
    client: async () => createAllSourceClient(await nc(), { tenantReplies, timeoutMs: 30_000 }),
    request: async <T>(subject: string, body: unknown, tenant?: string, timeoutMs = 10_000): Promise<T> => {
      const conn = await nc()
      const reply = tenant !== undefined && tenantReplies ? { reply: `_INBOX.${tenant}._op.${nuid.next()}`, noMux: true as const } : {}
      const m = await conn.request(subject, encodeMsgpack(body ?? {}), { timeout: timeoutMs, ...reply })
      const decoded = decodeMsgpack(m.data) as { error?: { code: AllSourceError['code']; message: string } & Record<string, unknown> }
      if (decoded.error !== undefined) {
        const { code, message, ...details } = decoded.error
        throw new AllSourceError(code, message, details)
      }
      return decoded as T
    },
    close: async () => {
      if (ncP === undefined) return
      const c = await ncP.catch(() => undefined)
      await c?.close()
    },
  }
}
