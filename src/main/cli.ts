import type { Filter } from '../domain/reading/filter.js'
import { connect, type NatsConnection } from '@nats-io/transport-node'
import * as E from 'fp-ts/lib/Either.js'
import { AllSourceError, type AllSourceClient, createAllSourceClient } from '../adapters/nats/service/client.js'
import { listDeadLetters, redriveDeadLetter } from '../adapters/nats/ingest/deadLetters.js'
import { toWireError } from '../adapters/nats/service/errorCodes.js'
import { bigintToJson } from '../adapters/nats/service/wireCodec.js'
import { decodeMsgpack, encodeMsgpack } from '../adapters/codec/msgpack.js'
import { validateTenant } from '../domain/streams/appendRequest.js'
import { createAllSource } from './allSource.js'
import { loadConfig } from './config.js'
import { registeredModules } from './modules.js'
import { resolve } from 'node:path'
import { clientToken } from './auth/operatorKey.js'
import { loadOrCreateAuthMaterial, serverAuthBlock } from './auth/authMaterial.js'
import { ADMIN_USAGE, adminCommand } from './cli/adminCommands.js'
import { projectRoot } from './natsServer/findNatsServer.js'
import { tenantConnectOptions } from '../adapters/nats/auth/natsGrants.js'
import { createSubscriptions, type StartAt, type SubscriptionError } from '../adapters/nats/reading/subscriptions.js'

const USAGE = `usage: npm run cli -- <command>   (connects to NATS_URL, default 127.0.0.1:4222)
  credentials: ALLSOURCE_TOKEN (an API key; with ALLSOURCE_TENANT for a tenant key), else
  ALLSOURCE_BOOTSTRAP_KEY, else data/auth/operator.key (written by \`npm start\` in auth mode)

  append <tenant> <stream> '<json events>' [--expected-version V] [--commit-id ID]
  read <tenant> <stream> [--from-version N] [--limit N]
  query <tenant> '<json query>'
  snapshot <tenant> <stream>                      (module streams; modules from src/main/modules.ts)
  state <tenant> <stream> --version N | --time <ISO time>
  dlq list [--tenant T] [--limit N]
  dlq redrive <id> [--content-type application/json]   (re-sends the body, with a corrected Content-Type if given)
  sub create <tenant> <name> [--stream S] [--from start|end|<offset>|<ISO time>] [--where '<filter: JSON or text>']
  sub position <tenant> <name>
  sub reset <tenant> <name> --to <offset>|<ISO time>
  sub delete <tenant> <name>
  proj status [<projection>]                      (state, checkpoint, lag, events/s, last error, owner)
  proj get <tenant> <projection> <key> [--min-offset N] [--wait-ms N]
  proj keys <tenant> <projection> [--after KEY] [--limit N]
  proj pause|resume <projection>
  proj rebuild <projection> [--from OFFSET]       (into a new read model; reads stay online)
${ADMIN_USAGE}`

class UsageError extends Error {}

const flag = (args: string[], name: string): string | undefined => {
  const i = args.indexOf(name)
  if (i < 0) return undefined
  const v = args[i + 1]
  if (v === undefined) throw new UsageError(`${name} needs a value`)
  args.splice(i, 2)
  return v
}

const int = (v: string | undefined, name: string): number | undefined => {
  if (v === undefined) return undefined
  const n = Number(v)
  if (!Number.isSafeInteger(n)) throw new UsageError(`${name} must be an integer`)
  return n
}

/** One JSON line: bytes as base64, big integers as the wire's JSON replies carry them (see `bigintToJson`). */
const print = (v: unknown) =>
  process.stdout.write(`${JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('base64') : typeof x === 'bigint' ? bigintToJson(x) : x))}\n`)

const run = async (nc: NatsConnection, argv: string[], clientOptions: { readonly tenantReplies: boolean }): Promise<number> => {
  const args = [...argv]
  const [cmd, sub] = args
  const client = createAllSourceClient(nc, clientOptions)
  if (cmd === 'append' && args.length >= 4) {
    const expected = flag(args, '--expected-version')
    const commitId = flag(args, '--commit-id')
    const events = JSON.parse(args[3] as string) as unknown
    const r = await client.tryAppend(args[1] as string, args[2] as string, Array.isArray(events) ? events : [events], {
      ...(expected !== undefined ? { expectedVersion: /^\d+$/.test(expected) ? Number(expected) : (expected as 'any') } : {}),
      ...(commitId !== undefined ? { commitId } : {}),
    })
    print(E.isRight(r) ? r.right : { error: { code: r.left.code, message: r.left.message, ...r.left.details } })
    return E.isRight(r) ? 0 : 1
  }
  if (cmd === 'read' && args.length >= 3) {
    const fromVersion = int(flag(args, '--from-version'), '--from-version')
    const limit = int(flag(args, '--limit'), '--limit')
    const r = await client.tryRead(args[1] as string, args[2] as string, { ...(fromVersion !== undefined ? { fromVersion } : {}), ...(limit !== undefined ? { limit } : {}) })
    print(E.isRight(r) ? r.right : { error: { code: r.left.code, message: r.left.message, ...r.left.details } })
    return E.isRight(r) ? 0 : 1
  }
  if (cmd === 'query' && args[1] !== undefined) {
    const body = JSON.parse(args[2] ?? '{}') as unknown
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new UsageError('the query is a JSON object')
    const t0 = performance.now()
    // Follows the service's pages (bounded by the server's max payload) up to the query's limit.
    const r = await client.tryQuery(args[1], body as Record<string, unknown>, { timeoutMs: 30_000 })
    print(E.isRight(r) ? r.right : { error: { code: r.left.code, message: r.left.message, ...r.left.details } })
    process.stderr.write(`(${(performance.now() - t0).toFixed(1)} ms)\n`)
    return E.isRight(r) ? 0 : 1
  }
  if ((cmd === 'snapshot' || cmd === 'state') && args[1] !== undefined && args[2] !== undefined) {
    const version = int(flag(args, '--version'), '--version')
    const time = flag(args, '--time')
    const app = await createAllSource({ nc, modules: registeredModules(loadConfig()), warn: () => undefined })
    try {
      const [, tenant, stream] = args as [string, string, string]
      if (cmd === 'snapshot') {
        const r = await app.snapshot(tenant, stream)
        print(E.isRight(r) ? (r.right ?? { snapshot: null, reason: 'the stream is empty' }) : { error: toWireError(r.left) })
        return E.isRight(r) ? 0 : 1
      }
      if (version === undefined && (time === undefined || Number.isNaN(Date.parse(time)))) throw new UsageError('state needs --version N or --time <ISO time>')
      const r = await app.stateAt(tenant, stream, version !== undefined ? { version } : { time: new Date(time as string) })
      print(E.isRight(r) ? r.right : { error: toWireError(r.left) })
      return E.isRight(r) ? 0 : 1
    } finally {
      await app.close()
    }
  }
  if (cmd === 'dlq' && sub === 'list') {
    const tenant = flag(args, '--tenant')
    const limit = int(flag(args, '--limit'), '--limit')
    for (const d of await listDeadLetters(nc, { ...(tenant !== undefined ? { tenant } : {}), ...(limit !== undefined ? { limit } : {}) })) print(d)
    return 0
  }
  if (cmd === 'dlq' && sub === 'redrive' && args[2] !== undefined) {
    const contentType = flag(args, '--content-type')
    const id = int(args[2], 'id') as number
    const r = await redriveDeadLetter(nc, id, contentType !== undefined ? { contentType } : {})
    if (E.isRight(r)) print(r.right)
    else print({ error: r.left._tag === 'NotFound' ? { code: 'NOT_FOUND', message: r.left.message } : toWireError(r.left) })
    return E.isRight(r) ? 0 : 1
  }
  if (cmd === 'sub' && args[2] !== undefined && args[3] !== undefined) {
    const subs = createSubscriptions(nc)
    const [, , tenant, name] = args as [string, string, string, string]
    const at = (v: string | undefined): StartAt | undefined =>
      v === undefined ? undefined : v === 'start' || v === 'end' ? v : /^\d+$/.test(v) ? { offset: Number(v) } : Number.isNaN(Date.parse(v)) ? (() => { throw new UsageError(`not an offset or a time: ${v}`) })() : { time: new Date(v) }
    let r: E.Either<SubscriptionError, unknown>
    if (sub === 'create') {
      const stream = flag(args, '--stream')
      const where = flag(args, '--where')
      // JSON form when it parses as a JSON object, else the text form.
      const filter = where === undefined ? undefined : where.trimStart().startsWith('{') ? (JSON.parse(where) as Filter) : where
      r = await subs.create(name, { tenant, from: at(flag(args, '--from')) ?? 'start', ...(stream !== undefined ? { stream } : {}), ...(filter !== undefined ? { where: filter } : {}) })
    } else if (sub === 'position') r = await subs.position(tenant, name)
    else if (sub === 'reset') {
      const to = at(flag(args, '--to'))
      if (to === undefined) throw new UsageError('sub reset needs --to')
      r = await subs.reset(tenant, name, to)
    } else if (sub === 'delete') r = await subs.remove(tenant, name)
    else throw new UsageError(`unknown sub command ${sub ?? ''}`)
    if (E.isRight(r)) print(r.right ?? { deleted: name })
    else print({ error: r.left._tag === 'NotFound' ? { code: 'NOT_FOUND', message: r.left.message } : toWireError(r.left) })
    return E.isRight(r) ? 0 : 1
  }
  if (cmd === 'proj' && sub !== undefined) return projectionCommand(client, sub, args.slice(2))
  if (cmd === 'tenants' || cmd === 'keys') {
    const outcome = await adminCommand(nc, args, clientOptions)
    if (outcome === undefined) throw new UsageError(`unknown or incomplete ${cmd} command`)
    print(outcome.output)
    return outcome.exitCode
  }
  throw new UsageError('unknown command')
}

const projectionCommand = async (client: AllSourceClient, sub: string, rest: string[]): Promise<number> => {
  const printError = (e: unknown): number => {
    if (!(e instanceof AllSourceError)) throw e
    print({ error: { code: e.code, message: e.message, ...e.details } })
    return 1
  }
  try {
    if (sub === 'status') {
      const all = rest[0] === undefined ? await client.projectionStatus() : [await client.projectionStatus(rest[0])]
      for (const s of all) print(s)
      return 0
    }
    if (sub === 'get' && rest.length >= 3) {
      const minOffset = int(flag(rest, '--min-offset'), '--min-offset')
      const waitMs = int(flag(rest, '--wait-ms'), '--wait-ms')
      const [tenant, name, key] = rest as [string, string, string]
      print(await client.projection(tenant, name, key, { ...(minOffset !== undefined ? { minOffset } : {}), ...(waitMs !== undefined ? { waitMs } : {}) }))
      return 0
    }
    if (sub === 'keys' && rest.length >= 2) {
      const after = flag(rest, '--after')
      const limit = int(flag(rest, '--limit'), '--limit')
      print(await client.projectionKeys(rest[0] as string, rest[1] as string, { ...(after !== undefined ? { after } : {}), ...(limit !== undefined ? { limit } : {}) }))
      return 0
    }
    if ((sub === 'pause' || sub === 'resume') && rest[0] !== undefined) {
      print(await (sub === 'pause' ? client.pauseProjection(rest[0]) : client.resumeProjection(rest[0])))
      return 0
    }
    if (sub === 'rebuild' && rest[0] !== undefined) {
      const from = int(flag(rest, '--from'), '--from')
      print(await client.rebuildProjection(rest[0], from !== undefined ? { fromOffset: from } : {}))
      return 0
    }
  } catch (e) {
    return printError(e)
  }
  throw new UsageError(`unknown or incomplete proj command "${sub}"`)
}

/** `npm run cli -- …`: a thin shell over the client and the DLQ tools; JSON lines out. */
const main = async (): Promise<void> => {
  const argv = process.argv.slice(2)
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === 'help') {
    process.stdout.write(`${USAGE}\n`)
    return
  }
  if (argv[0] === 'auth' && argv[1] === 'server-config') {
    // Needs no server: the block comes from the data dir's auth material (created if missing).
    process.stdout.write(`${serverAuthBlock(loadOrCreateAuthMaterial(resolve(projectRoot(), loadConfig().dataDir)))}\n`)
    return
  }
  const url = process.env.NATS_URL || '127.0.0.1:4222'
  const token = clientToken(process.env, resolve(projectRoot(), loadConfig().dataDir))
  const tenant = process.env.ALLSOURCE_TENANT
  // A tenant key needs its tenant (for the inbox its grant allows); otherwise the token is taken
  // for the operator's, whose tenant requests get replies under the tenant's inbox.
  const auth = token === undefined ? {} : tenant !== undefined && tenant !== '' ? tenantConnectOptions(tenant, token) : { token }
  const nc = await connect({ servers: url, reconnect: false, timeout: 5_000, ...auth }).catch((e: unknown) => {
    const why = e instanceof Error ? e.message : String(e)
    throw new Error(
      /authoriz/i.test(why)
        ? `${url} refused the credentials (${token === undefined ? 'none given: set ALLSOURCE_TOKEN to an API key, or run where the data dir holds auth/operator.key' : 'ALLSOURCE_TOKEN, ALLSOURCE_BOOTSTRAP_KEY or data/auth/operator.key'}): ${why}`
        : `cannot connect to ${url}: ${why}${/ECONNREFUSED|connection refused/i.test(why) ? '; start a processor with `npm start`' : ''}`,
    )
  })
  try {
    process.exitCode = await run(nc, argv, { tenantReplies: token !== undefined && !(tenant !== undefined && tenant !== '') })
  } finally {
    await nc.close()
  }
}

main().catch((e: unknown) => {
  if (e instanceof UsageError) {
    process.stderr.write(`allsource: ${e.message}\n${USAGE}\n`)
    process.exitCode = 2
  } else {
    process.stderr.write(`allsource: ${e instanceof Error ? e.message : String(e)}\n`)
    process.exitCode = 1
  }
})
