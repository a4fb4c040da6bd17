import type { Command } from 'commander'
import * as E from 'fp-ts/lib/Either.js'
import { listDeadLetters, redriveDeadLetter } from '../../adapters/nats/ingest/deadLetters.js'
import { createSubscriptions, type StartAt, type SubscriptionError } from '../../adapters/nats/reading/subscriptions.js'
import { toWireError } from '../../adapters/nats/service/errorCodes.js'
import { AllSourceError } from '../../adapters/nats/service/client.js'
import { act, intArg, jsonArg } from './action.js'
import type { Filter } from '../../domain/reading/filter.js'
import { CliError, fields, table } from './output.js'

const startAt = (v: string, flag: string): StartAt => {
  if (v === 'start' || v === 'end') return v
  if (/^\d+$/.test(v)) return { offset: Number(v) }
  if (!Number.isNaN(Date.parse(v))) return { time: new Date(v) }
  throw new CliError(`${flag} is start, end, an offset or an ISO-8601 time; got "${v}"`, 2)
}

/** A subscription or dead-letter failure as the contract's error. */
const failure = (e: SubscriptionError): AllSourceError => {
  if (e._tag === 'NotFound') return new AllSourceError('NOT_FOUND', e.message)
  const { code, message, ...details } = toWireError(e)
  return new AllSourceError(code, message, details)
}

const orFail = <T>(r: E.Either<SubscriptionError, T>): T => {
  if (E.isLeft(r)) throw failure(r.left)
  return r.right
}

/** `subs create|info|reset|delete` (alias `sub`, `position` for `info`) and `dlq list|redrive`. */
export const registerSubsCommands = (program: Command): void => {
  const subs = program.command('subs').alias('sub').description('durable named subscriptions on the log (JetStream durable consumers)')
  subs
    .command('create')
    .argument('<tenant>')
    .argument('<name>')
    .option('--stream <stream>', 'only this stream')
    .option('--from <where>', 'start, end, an offset or an ISO-8601 time', 'start')
    .option('--where <filter>', 'deliver only matching events: JSON ({"eq":["type","order.placed"]}) or text (type = "order.placed"); docs/querying.md')
    .action(
      act(async (s, [tenant, name], o) => {
        // JSON is checked by the subscription API (it answers BAD_REQUEST with the fault's path).
        const where = typeof o.where === 'string' ? (/^\s*[{[]/.test(o.where) ? (jsonArg(o.where, '--where') as Filter) : o.where) : undefined
        const spec = { tenant: tenant as string, from: startAt(String(o.from), '--from'), ...(typeof o.stream === 'string' ? { stream: o.stream } : {}), ...(where !== undefined ? { where } : {}) }
        const r = orFail(await createSubscriptions(await s.nc()).create(name as string, spec))
        s.out.result(r, () => fields({ ...r }))
      }),
    )
  subs
    .command('info')
    .alias('position')
    .description('its last acknowledged offset and lag')
    .argument('<tenant>')
    .argument('<name>')
    .action(
      act(async (s, [tenant, name]) => {
        const r = orFail(await createSubscriptions(await s.nc()).position(tenant as string, name as string))
        s.out.result(r, () => fields({ ...r }))
      }),
    )
  subs
    .command('reset')
    .argument('<tenant>')
    .argument('<name>')
    .requiredOption('--to <where>', 'start, end, an offset or an ISO-8601 time')
    .action(
      act(async (s, [tenant, name], o) => {
        const r = orFail(await createSubscriptions(await s.nc()).reset(tenant as string, name as string, startAt(String(o.to), '--to')))
        s.out.result(r, () => fields({ ...r }))
      }),
    )
  subs
    .command('delete')
    .argument('<tenant>')
    .argument('<name>')
    .action(
      act(async (s, [tenant, name]) => {
        orFail(await createSubscriptions(await s.nc()).remove(tenant as string, name as string))
        s.out.result({ deleted: name }, () => `deleted subscription ${String(name)}`)
      }),
    )

  const dlq = program.command('dlq').description('dead letters of durable ingest (ALLSOURCE_DLQ; operator)')
  dlq
    .command('list')
    .option('--limit <n>', 'most dead letters', intArg)
    .action(
      act(async (s, _args, o) => {
        const tenant = s.settings.tenant
        const list = await listDeadLetters(await s.nc(), { ...(tenant !== undefined ? { tenant } : {}), ...(o.limit !== undefined ? { limit: Number(o.limit) } : {}) })
        if (s.out.json) for (const d of list) s.out.line(d, () => '')
        else s.out.result(list, () => `${table(['id', 'ingest subject', 'code', 'error', 'attempts', 'at'], list.map((d) => [d.id, d.ingestSubject, d.code, d.error, d.attempts, d.at]))}\n${list.length} dead letter(s)`)
      }),
    )
  dlq
    .command('redrive')
    .description('re-send a dead letter to its ingest subject (after fixing its cause)')
    .argument('<id>', 'its id from `dlq list`', intArg)
    .option('--content-type <type>', 'replace its Content-Type (e.g. application/json)')
    .action(
      act(async (s, [id], o) => {
        const r = await redriveDeadLetter(await s.nc(), Number(id), typeof o.contentType === 'string' ? { contentType: o.contentType } : {})
        const ok = orFail(r)
        s.out.result(ok, () => fields({ ...ok }))
      }),
    )
}
