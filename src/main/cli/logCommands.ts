import { readFileSync } from 'node:fs'
import { type Command, Option } from 'commander'
import * as E from 'fp-ts/lib/Either.js'
import { openNamedReplay, type NamedReplay } from '../../adapters/nats/reading/namedReplay.js'
import type { ReplayedEvent } from '../../adapters/nats/reading/replay.js'
import { act, intArg, orFail, tenantOf, timeArg } from './action.js'
import { eventRow } from './dataCommands.js'
import { type ImportBatch, planImport } from './importPlan.js'
import { CliError, fields } from './output.js'
import type { Session } from './session.js'

const eventLine = (e: ReplayedEvent): string => eventRow(e).map(String).join('  ')

/** Closes the replay on Ctrl-C / SIGTERM, so the loop ends and the consumer is deleted. */
const closeOnSignal = (replay: NamedReplay): (() => void) => {
  const stop = () => void replay.close().catch(() => undefined)
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  return () => {
    process.off('SIGINT', stop)
    process.off('SIGTERM', stop)
  }
}

const openReplay = async (s: Session, tenant: string, o: Record<string, unknown>, follow: boolean, fromEnd: boolean) =>
  openNamedReplay(await s.nc(), {
    tenant,
    ...(typeof o.stream === 'string' ? { stream: o.stream } : {}),
    ...(typeof o.fromOffset === 'number' ? { fromOffset: o.fromOffset } : {}),
    ...(typeof o.fromTime === 'string' ? { since: new Date(o.fromTime) } : {}),
    follow,
    fromEnd,
  }).catch((e: unknown) => {
    const msg = e instanceof Error ? e.message : String(e)
    if (msg.startsWith('INVALID_ID')) throw new CliError(msg, 1, { error: { code: 'INVALID_ID', message: msg } })
    throw e
  })

/** `tail`, `replay`, `import`: the log as a stream of events, and bulk appends. */
export const registerLogCommands = (program: Command): void => {
  program
    .command('tail')
    .description("follow a tenant's log: print events as they are appended, until Ctrl-C")
    .argument('<tenant>')
    .option('--stream <stream>', 'only this stream')
    .option('--type <type>', 'only events of this type')
    .option('--from-offset <n>', 'start at this offset instead of the end', intArg)
    .action(
      act(async (s, [tenant], o) => {
        const replay = await openReplay(s, tenant as string, o, true, o.fromOffset === undefined)
        const release = closeOnSignal(replay)
        process.stderr.write(`following ${String(tenant)}${typeof o.stream === 'string' ? `/${o.stream}` : ''} on ${s.settings.url} (Ctrl-C to stop)\n`)
        try {
          for await (const c of replay) for (const e of c.events) if (o.type === undefined || e.type === o.type) s.out.line(e, () => eventLine(e))
        } finally {
          release()
        }
      }),
    )

  program
    .command('replay')
    .description("replay a tenant's log from an offset or a time (NDJSON with --json; progress on stderr)")
    .argument('<tenant>')
    .option('--stream <stream>', 'only this stream')
    .option('--type <type>', 'only events of this type')
    .addOption(new Option('--from-offset <n>', 'start at this offset (inclusive; default 1)').argParser(intArg).conflicts('fromTime'))
    .option('--from-time <time>', 'start at the first commit stored at or after this ISO-8601 time', timeArg)
    .option('--follow', 'keep following new events after the end (until Ctrl-C)')
    .action(
      act(async (s, [tenant], o) => {
        const replay = await openReplay(s, tenant as string, o, o.follow === true, false)
        const release = closeOnSignal(replay)
        const bar = s.out.progress(replay.total, 'commits')
        let commits = 0
        let events = 0
        try {
          for await (const c of replay) {
            commits++
            for (const e of c.events) {
              if (o.type !== undefined && e.type !== o.type) continue
              events++
              s.out.line(e, () => eventLine(e))
            }
            bar.update(commits, Math.max(replay.total, commits + c.pending))
          }
        } finally {
          bar.stop()
          release()
        }
        process.stderr.write(`replayed ${events} event(s) in ${commits} commit(s)\n`)
      }),
    )

  program
    .command('import')
    .description('append the events of an NDJSON file ({stream, type, payload, metadata?, id?} per line), batched per stream; a re-run within the duplicate window writes nothing twice')
    .argument('<file>')
    .option('--batch <n>', 'most events per commit (default 100; keep it the same on a re-run)', intArg, 100)
    .option('--concurrency <n>', 'streams imported at once (default 8)', intArg, 8)
    .action(
      act(async (s, [file], o) => {
        const tenant = tenantOf(s)
        const batch = Number(o.batch)
        if (batch < 1 || batch > 10_000) throw new CliError('--batch is 1..10000', 2)
        let text: string
        try {
          text = readFileSync(file as string, 'utf8')
        } catch (e) {
          throw new CliError(`cannot read ${String(file)}: ${e instanceof Error ? e.message : String(e)}`, 1)
        }
        const plan = planImport(text, batch)
        if (E.isLeft(plan)) {
          const shown = plan.left.slice(0, 10).map((l) => `  line ${l.line}: ${l.reason}`).join('\n')
          throw new CliError(`${String(file)}: ${plan.left.length} bad line(s), nothing imported:\n${shown}`, 1, { error: { code: 'BAD_REQUEST', message: 'bad lines', lines: plan.left } })
        }
        const client = await s.client()
        const bar = s.out.progress(plan.right.events, 'events')
        let done = 0
        let commits = 0
        let duplicates = 0
        let throttled = 0
        /** Appends one batch; a rate limit or a busy processor (retryAfterMs ≤ 10 s) is waited out and retried with the same commitId. */
        const send = async (b: ImportBatch) => {
          for (;;) {
            const r = await client.tryAppend(tenant, b.stream, b.events, { commitId: b.commitId })
            const wait = E.isLeft(r) && (r.left.code === 'QUOTA_EXCEEDED' || r.left.code === 'UNAVAILABLE') ? r.left.details.retryAfterMs : undefined
            if (typeof wait !== 'number' || wait > 10_000) return orFail(r)
            throttled++
            await new Promise((res) => setTimeout(res, Math.max(wait, 10)))
          }
        }
        const queue = [...plan.right.streams.values()]
        const worker = async () => {
          for (let batches = queue.shift(); batches !== undefined; batches = queue.shift()) {
            for (const b of batches) {
              const r = await send(b)
              commits++
              if (r.duplicate === true) duplicates++
              done += b.events.length
              bar.update(done)
            }
          }
        }
        try {
          await Promise.all(Array.from({ length: Math.max(1, Number(o.concurrency)) }, worker))
        } finally {
          bar.stop()
        }
        const summary = { tenant, file, events: plan.right.events, streams: plan.right.streams.size, commits, duplicates, throttled, hash: plan.right.hash }
        s.out.result(summary, () => fields(summary))
      }),
    )
}
