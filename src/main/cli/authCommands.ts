import { resolve } from 'node:path'
import { type Command } from 'commander'
import * as E from 'fp-ts/lib/Either.js'
import { connect } from '@nats-io/transport-node'
import { userConnectOptions } from '../../adapters/nats/auth/natsGrants.js'
import { decodeMsgpack, encodeMsgpack } from '../../adapters/codec/msgpack.js'
import { loadOrCreateAuthMaterial, serverAuthBlock } from '../auth/authMaterial.js'
import { loadConfig } from '../config.js'
import { projectRoot } from '../natsServer/findNatsServer.js'
import { configDir, type Context, contextStore, isContextName, masked } from './contexts.js'
import { explain } from './explain.js'
import { CliError, createOutput, fields, table } from './output.js'
import { readPassword } from './password.js'
import { explainConnectError } from './session.js'
import { type GlobalFlags, resolveSettings } from './settings.js'
import { AllSourceError } from '../../adapters/nats/service/client.js'

const flagsOf = (cmd: Command) => cmd.optsWithGlobals<GlobalFlags & Record<string, unknown>>()

/** A context for people: secrets masked. */
const shown = (name: string, c: Context, current: boolean) => ({
  name,
  current,
  url: c.url,
  tenant: c.tenant,
  user: c.user,
  token: masked(c.token),
  accessToken: masked(c.accessToken),
  refreshToken: masked(c.refreshToken),
  expiresAt: c.expiresAt,
  description: c.description,
})

const must = <T>(r: E.Either<string, T>): T => {
  if (E.isLeft(r)) throw new CliError(r.left)
  return r.right
}

/** `context save|use|ls|rm|show`, `login`, `auth server-config`. */
export const registerAuthCommands = (program: Command): void => {
  const context = program.command('context').alias('ctx').description('named contexts: a URL and credentials, stored 0600 under $ALLSOURCE_CONFIG_DIR (default ~/.config/allsource)')
  context
    .command('save')
    .description('create or update a context from --url, --token, --tenant (the global flags); --select makes it the current one')
    .argument('<name>')
    .option('--user <username>', 'the user it logs in as (see `allsource login`)')
    .option('--description <text>')
    .option('--select', 'make it the current context')
    .action((name: string, o: Record<string, unknown>, cmd: Command) => {
      const f = flagsOf(cmd)
      if (!isContextName(name)) throw new CliError(`"${name}" is not a context name (1–64 of A–Z a–z 0–9 _ - ., not starting with a dot)`, 2)
      const store = contextStore(configDir())
      const old = must(store.load(name)) ?? {}
      // A new token replaces a login's tokens: the context now speaks for that key.
      const base: Context = f.token !== undefined ? { ...old, accessToken: undefined, refreshToken: undefined, expiresAt: undefined } : old
      const next: Context = JSON.parse(JSON.stringify({ ...base, ...(f.url !== undefined ? { url: f.url } : {}), ...(f.token !== undefined ? { token: f.token } : {}), ...(f.tenant !== undefined ? { tenant: f.tenant } : {}), ...(typeof o.user === 'string' ? { user: o.user } : {}), ...(typeof o.description === 'string' ? { description: o.description } : {}) })) as Context
      store.save(name, next)
      if (o.select === true) store.select(name)
      const out = createOutput(f.json === true)
      const doc = shown(name, next, o.select === true || must(store.current()) === name)
      out.result(doc, () => `${fields(doc)}\nsaved in ${store.fileOf(name)} (mode 0600)`)
    })
  context
    .command('use')
    .alias('select')
    .argument('<name>')
    .action((name: string, _o: unknown, cmd: Command) => {
      const store = contextStore(configDir())
      if (must(store.load(name)) === undefined) throw new CliError(`no context "${name}": list them with \`allsource context ls\``)
      store.select(name)
      createOutput(flagsOf(cmd).json === true).result({ current: name }, () => `using context ${name}`)
    })
  context
    .command('ls')
    .alias('list')
    .action((_o: unknown, cmd: Command) => {
      const store = contextStore(configDir())
      const current = must(store.current())
      const all = store.list().map((n) => shown(n, must(store.load(n)) ?? {}, n === current))
      createOutput(flagsOf(cmd).json === true).result(all, () =>
        all.length === 0 ? 'no contexts: save one with `allsource context save <name> --url … --token …`' : table(['', 'name', 'url', 'tenant', 'user', 'credential'], all.map((c) => [c.current ? '*' : '', c.name, c.url, c.tenant, c.user, c.accessToken !== undefined ? 'login' : c.token !== undefined ? 'token' : ''])),
      )
    })
  context
    .command('rm')
    .alias('remove')
    .argument('<name>')
    .action((name: string, _o: unknown, cmd: Command) => {
      const store = contextStore(configDir())
      if (!isContextName(name) || !store.remove(name)) throw new CliError(`no context "${name}": list them with \`allsource context ls\``)
      if (must(store.current()) === name) store.select(undefined)
      createOutput(flagsOf(cmd).json === true).result({ removed: name }, () => `removed context ${name}`)
    })
  context
    .command('show')
    .alias('info')
    .argument('[name]', 'default: the current context')
    .action((name: string | undefined, _o: unknown, cmd: Command) => {
      const f = flagsOf(cmd)
      const store = contextStore(configDir())
      const current = must(store.current())
      const which = [name, f.context, process.env.ALLSOURCE_CONTEXT, current].find((n) => n !== undefined && n !== '')
      if (which === undefined) throw new CliError('no context selected: `allsource context use <name>` (or `context ls`)')
      const c = must(store.load(which))
      if (c === undefined) throw new CliError(`no context "${which}": list them with \`allsource context ls\``)
      const doc = shown(which, c, which === current)
      createOutput(f.json === true).result(doc, () => `${fields(doc)}\n${store.fileOf(which)}`)
    })

  program
    .command('login')
    .description('log in as a tenant user (--tenant, --user): asks allsource.auth.token and saves the access and refresh tokens in the current context (0600)')
    .requiredOption('--user <username>')
    .option('--password-stdin', 'read the password from stdin (otherwise prompted for on a terminal)')
    .action(async (o: Record<string, unknown>, cmd: Command) => {
      const f = flagsOf(cmd)
      const settings = resolveSettings({ ...f, token: undefined })
      const tenant = settings.tenant
      if (tenant === undefined) throw new CliError('login needs --tenant <tenant>', 2)
      const user = String(o.user)
      const password = await readPassword(o.passwordStdin === true, `password for ${tenant}/${user}: `)
      let auth: ReturnType<typeof userConnectOptions>
      try {
        auth = userConnectOptions(tenant, user, password)
      } catch {
        throw new CliError(`"${user}" is not a valid username (1–64 of a–z 0–9 . _ -)`, 2)
      }
      const nc = await connect({ servers: settings.url, reconnect: false, timeout: 5_000, name: 'allsource-cli', ...auth }).catch((e: unknown) => {
        const err = explainConnectError(e, settings.url, { kind: 'key', token: '', tenant, from: `user ${tenant}/${user} and its password` })
        throw /refused the credentials/.test(err.message) ? new CliError(`${settings.url} refused ${tenant}/${user}: check the tenant, the username and the password`) : err
      })
      try {
        const m = await nc.request('allsource.auth.token', encodeMsgpack({}), { timeout: 10_000 })
        const r = decodeMsgpack(m.data) as { error?: { code: AllSourceError['code']; message: string }; accessToken?: string; refreshToken?: string; expiresAt?: string }
        if (r.error !== undefined) throw new AllSourceError(r.error.code, r.error.message)
        const store = settings.store
        const name = settings.contextName ?? 'default'
        const old = must(store.load(name)) ?? {}
        const next: Context = JSON.parse(JSON.stringify({ ...old, url: settings.url, tenant, user, accessToken: r.accessToken, refreshToken: r.refreshToken, expiresAt: r.expiresAt })) as Context
        store.save(name, next)
        if (settings.contextName === undefined) store.select(name)
        const doc = { context: name, tenant, user, expiresAt: r.expiresAt, file: store.fileOf(name) }
        createOutput(f.json === true).result(doc, () => `logged in as ${tenant}/${user}; the access token (until ${r.expiresAt ?? '?'}) is saved in context "${name}" (${store.fileOf(name)}, mode 0600)`)
      } catch (e) {
        throw explain(e, settings.url)
      } finally {
        await nc.close()
      }
    })

  program
    .command('auth')
    .description('auth mode helpers')
    .command('server-config')
    .description("print the auth block to add to an external nats-server's configuration (from the data dir's auth material, created if missing)")
    .action(() => {
      process.stdout.write(`${serverAuthBlock(loadOrCreateAuthMaterial(resolve(projectRoot(), loadConfig().dataDir)))}\n`)
    })
}
