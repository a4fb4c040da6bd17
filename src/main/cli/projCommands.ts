import type { Command } from 'commander'
import type { ProjectionStatus } from '../../domain/projections/operations.js'
import { act, intArg } from './action.js'
import { CliError, fields, table } from './output.js'

const statusRow = (p: ProjectionStatus) => [p.name, p.state, p.generation ?? '', p.checkpoint, p.lag, p.eventsPerSecond, p.rebuild !== undefined ? `${p.rebuild.checkpoint} (lag ${p.rebuild.lag})` : '', p.owner ?? '', p.lastError?.message ?? '']
const STATUS_HEAD = ['projection', 'state', 'generation', 'checkpoint', 'lag', 'events/s', 'rebuild', 'owner', 'last error']

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/** `proj status|get|keys|pause|resume|rebuild`: operate and read projections. */
export const registerProjCommands = (program: Command): void => {
  const proj = program.command('proj').alias('projections').description('projections: status, reads, pause, resume, rebuild')
  proj
    .command('status')
    .argument('[projection]')
    .description('state, checkpoint, lag, events/s, last error, owner')
    .action(
      act(async (s, [name]) => {
        const client = await s.client()
        const all = name === undefined ? await client.projectionStatus() : [await client.projectionStatus(name)]
        if (s.out.json) {
          if (name === undefined) for (const p of all) s.out.line(p, () => '')
          else s.out.result(all[0], () => '')
        } else s.out.result(all, () => table(STATUS_HEAD, all.map(statusRow)))
      }),
    )
  proj
    .command('get')
    .description("one key of a projection's read model")
    .argument('<tenant>')
    .argument('<projection>')
    .argument('<key>')
    .option('--min-offset <n>', 'wait until the projection has folded this offset (read your writes)', intArg)
    .option('--wait-ms <n>', 'how long the service may wait for --min-offset', intArg)
    .action(
      act(async (s, [tenant, name, key], o) => {
        const r = await (await s.client()).projection(tenant as string, name as string, key as string, {
          ...(o.minOffset !== undefined ? { minOffset: Number(o.minOffset) } : {}),
          ...(o.waitMs !== undefined ? { waitMs: Number(o.waitMs) } : {}),
        })
        s.out.result(r, () => fields({ ...r }))
      }),
    )
  proj
    .command('keys')
    .description("a page of a projection's keys")
    .argument('<tenant>')
    .argument('<projection>')
    .option('--after <key>')
    .option('--limit <n>', 'most keys', intArg)
    .action(
      act(async (s, [tenant, name], o) => {
        const r = await (await s.client()).projectionKeys(tenant as string, name as string, {
          ...(typeof o.after === 'string' ? { after: o.after } : {}),
          ...(o.limit !== undefined ? { limit: Number(o.limit) } : {}),
        })
        s.out.result(r, () => `${r.keys.join('\n')}${r.next !== undefined ? `\n(more: --after ${r.next})` : ''}`)
      }),
    )
  for (const verb of ['pause', 'resume'] as const) {
    proj
      .command(verb)
      .argument('<projection>')
      .action(
        act(async (s, [name]) => {
          const client = await s.client()
          const r = verb === 'pause' ? await client.pauseProjection(name as string) : await client.resumeProjection(name as string)
          s.out.result(r, () => `${verb === 'pause' ? 'paused' : 'resumed'} ${r.name}`)
        }),
      )
  }
  proj
    .command('rebuild')
    .description('rebuild into a new read model (reads stay online); shows progress until caught up unless --no-wait')
    .argument('<projection>')
    .option('--from <offset>', 'fold only events at offsets >= this (default 0: the whole log)', intArg)
    .option('--no-wait', 'return once the rebuild is requested')
    .action(
      act(async (s, [name], o) => {
        const client = await s.client()
        const before = await client.projectionStatus(name as string)
        const r = await client.rebuildProjection(name as string, o.from !== undefined ? { fromOffset: Number(o.from) } : {})
        if (o.wait === false) {
          s.out.result(r, () => `rebuild of ${r.name} requested`)
          return
        }
        const target = (before.generation ?? 1) + 1
        const bar = s.out.progress(Math.max(1, before.checkpoint + before.lag), 'commits')
        let now = before
        try {
          for (;;) {
            now = await client.projectionStatus(name as string)
            if ((now.generation ?? 0) >= target && now.state === 'live' && now.lag === 0) break
            // States a rebuild does not leave by itself: say so rather than wait for ever.
            if (now.state === 'failed' || now.state === 'stopped' || now.state === 'paused') {
              throw new CliError(
                `the rebuild of ${r.name} is requested, but the projection is ${now.state}${now.lastError !== undefined ? ` (last error: ${now.lastError.message})` : ''}: ${now.state === 'paused' ? `resume it with \`allsource proj resume ${r.name}\`` : 'check the processor\'s log (`npm start`)'}; the rebuild goes on once it runs`,
              )
            }
            if (now.rebuild !== undefined) bar.update(now.rebuild.checkpoint, now.rebuild.checkpoint + now.rebuild.lag)
            await sleep(250)
          }
        } finally {
          bar.stop()
        }
        s.out.result({ ...r, status: now }, () => `rebuilt ${r.name}: generation ${now.generation ?? ''}, live, checkpoint ${now.checkpoint}`)
      }),
    )
}
