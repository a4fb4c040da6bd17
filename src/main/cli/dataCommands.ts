import { type Command, Option } from 'commander'
import * as E from 'fp-ts/lib/Either.js'
import { toWireError } from '../../adapters/nats/service/errorCodes.js'
import { AllSourceError, type NewEvent } from '../../adapters/nats/service/client.js'
import { loadConfig } from '../config.js'
import { act, intArg, jsonArg, orFail, timeArg } from './action.js'
import { CliError, cell, fields, table, toJson } from './output.js'
import { readStdin } from './password.js'

/** One event as a table row: where it is, what it is, its payload (cut to fit a terminal). */
export const eventRow = (e: { offset?: number; stream?: string; version: number; type: string; timestamp: unknown; payload: unknown; id: string }) => {
  const payload = toJson(e.payload)
  return [e.offset ?? '', e.stream ?? '', e.version, e.type, cell(e.timestamp), payload.length > 60 ? `${payload.slice(0, 59)}…` : payload]
}
export const EVENT_HEAD = ['offset', 'stream', 'version', 'type', 'timestamp', 'payload']

const expectedVersionArg = (v: string): number | 'any' | 'no_stream' | 'exists' => {
  if (/^\d+$/.test(v)) return Number(v)
  if (v === 'any' || v === 'no_stream' || v === 'exists') return v
  throw new CliError(`--expected-version is a number, any, no_stream or exists; got "${v}"`, 2)
}

/** The in-process app (modules, actors): loaded only by the commands that need it, so the others start fast. */
const inProcessApp = async (nc: Parameters<typeof import('../allSource.js')['createAllSource']>[0]['nc']) => {
  const [{ createAllSource }, { registeredModules }] = await Promise.all([import('../allSource.js'), import('../modules.js')])
  return createAllSource({ nc, modules: registeredModules(loadConfig()), warn: () => undefined })
}

const wireFailure = (e: Parameters<typeof toWireError>[0]): AllSourceError => {
  const { code, message, ...details } = toWireError(e)
  return new AllSourceError(code, message, details)
}

/** `append`, `read`, `query`, `snapshot`, `state`: the stream and query requests. */
export const registerDataCommands = (program: Command): void => {
  program
    .command('append')
    .description('append events to a stream as one atomic commit')
    .argument('<tenant>')
    .argument('<stream>')
    .argument('<events>', 'JSON: one event {type, payload, metadata?, id?} or an array of them; - reads it from stdin')
    .option('--expected-version <v>', 'a number (0 = empty), any, no_stream or exists')
    .option('--commit-id <id>', 'idempotency key: a retry with the same id inside the duplicate window writes nothing')
    .action(
      act(async (s, [tenant, stream, events], o) => {
        const parsed = jsonArg(events === '-' ? await readStdin() : (events as string), events === '-' ? 'stdin' : 'the events argument')
        const list = (Array.isArray(parsed) ? parsed : [parsed]) as NewEvent[]
        const r = orFail(
          await (await s.client()).tryAppend(tenant as string, stream as string, list, {
            ...(o.expectedVersion !== undefined ? { expectedVersion: expectedVersionArg(String(o.expectedVersion)) } : {}),
            ...(o.commitId !== undefined ? { commitId: String(o.commitId) } : {}),
          }),
        )
        s.out.result(r, () => fields({ ...r, eventIds: r.eventIds.join(', ') }))
      }),
    )

  program
    .command('read')
    .description('read one stream in version order')
    .argument('<tenant>')
    .argument('<stream>')
    .option('--from-version <n>', 'first version (default 1)', intArg)
    .option('--limit <n>', 'most events (default 1000)', intArg)
    .action(
      act(async (s, [tenant, stream], o) => {
        const r = orFail(
          await (await s.client()).tryRead(tenant as string, stream as string, {
            ...(o.fromVersion !== undefined ? { fromVersion: Number(o.fromVersion) } : {}),
            ...(o.limit !== undefined ? { limit: Number(o.limit) } : {}),
          }),
        )
        s.out.result(r, () => `${table(EVENT_HEAD, r.events.map((e) => eventRow({ ...e, stream: stream as string })))}\nversion ${r.version}${r.nextVersion !== undefined ? `; more from version ${r.nextVersion} (--from-version ${r.nextVersion})` : ''}`)
      }),
    )

  program
    .command('query')
    .description("query a tenant's log across streams")
    .argument('<tenant>')
    .argument('[json]', 'the whole query as JSON, e.g. {"type":"order.placed"} (flags override its fields)')
    .option('--id <id>', 'one event by id')
    .option('--stream <stream>')
    .option('--type <type>')
    .option('--since <time>', 'ISO-8601, inclusive', timeArg)
    .option('--until <time>', 'ISO-8601, inclusive', timeArg)
    .option('--from-offset <n>', 'start at this log offset', intArg)
    .option('--limit <n>', 'most events (default 1000)', intArg)
    .option('--where <filter>', 'a filter: JSON ({"eq":["payload.total",42]}) or text (payload.total > 40); passed as `where`')
    .action(
      act(async (s, [tenant, json], o) => {
        const base = json === undefined ? {} : jsonArg(json, 'the query')
        if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new CliError('the query is a JSON object, e.g. {"type":"order.placed"}', 2)
        const where = typeof o.where === 'string' ? (/^\s*[{[]/.test(o.where) ? jsonArg(o.where, '--where') : o.where) : undefined
        const q: Record<string, unknown> = { ...(base as Record<string, unknown>) }
        for (const k of ['id', 'stream', 'type', 'since', 'until', 'fromOffset', 'limit'] as const) if (o[k] !== undefined) q[k] = o[k]
        if (where !== undefined) q.where = where
        const r = orFail(await (await s.client()).tryQuery(tenant as string, q, { timeoutMs: 30_000 }))
        s.out.result(r, () => `${table(EVENT_HEAD, r.events.map(eventRow))}\n${r.events.length} event(s)${r.nextOffset !== undefined ? `; more from offset ${r.nextOffset} (--from-offset ${r.nextOffset})` : ''}`)
      }),
    )

  program
    .command('snapshot')
    .description("a module stream's latest snapshot (modules from src/main/modules.ts; in-process, operator)")
    .argument('<tenant>')
    .argument('<stream>')
    .action(
      act(async (s, [tenant, stream]) => {
        const app = await inProcessApp(await s.nc())
        try {
          const r = await app.snapshot(tenant as string, stream as string)
          if (E.isLeft(r)) throw wireFailure(r.left)
          const doc = r.right ?? { snapshot: null, reason: 'the stream is empty' }
          s.out.result(doc, () => fields(doc as Record<string, unknown>))
        } finally {
          await app.close()
        }
      }),
    )

  program
    .command('state')
    .description("a module stream's state as of a version or a time (in-process, operator)")
    .argument('<tenant>')
    .argument('<stream>')
    .addOption(new Option('--version <n>', 'as of this version').argParser(intArg).conflicts('time'))
    .option('--time <time>', 'as of this time (ISO-8601)', timeArg)
    .action(
      act(async (s, [tenant, stream], o) => {
        if (o.version === undefined && o.time === undefined) throw new CliError('state needs --version N or --time <ISO time>', 2)
        const app = await inProcessApp(await s.nc())
        try {
          const r = await app.stateAt(tenant as string, stream as string, o.version !== undefined ? { version: Number(o.version) } : { time: new Date(String(o.time)) })
          if (E.isLeft(r)) throw wireFailure(r.left)
          s.out.result(r.right, () => fields(r.right as unknown as Record<string, unknown>))
        } finally {
          await app.close()
        }
      }),
    )
}
