import { spawn } from 'node:child_process'
import type { Command } from 'commander'
import { projectRoot } from '../natsServer/findNatsServer.js'
import { act, tenantOf } from './action.js'
import { explain } from './explain.js'
import { fields, table } from './output.js'
import type { GlobalFlags } from './settings.js'

interface MicroStats {
  readonly id: string
  readonly version: string
  readonly started: string
  readonly endpoints: readonly { readonly name: string; readonly subject: string; readonly num_requests: number; readonly num_errors: number; readonly average_processing_time: number; readonly last_error: string }[]
}

/** `serve`, `bench`, `stats`. */
export const registerOpsCommands = (program: Command): void => {
  program
    .command('serve')
    .description('run the processor in this process, as `npm start` does (without building first); settings from the environment (docs/operations.md), --url sets NATS_URL')
    .action(async (_o: unknown, cmd: Command) => {
      const f = cmd.optsWithGlobals<GlobalFlags>()
      if (f.url !== undefined) process.env.NATS_URL = f.url
      // start.js runs the processor when imported and stops it on SIGINT/SIGTERM.
      await import('../start.js')
    })

  program
    .command('bench')
    .description('run the benchmarks (`npm run bench`; arguments after -- are passed on)')
    .argument('[args...]')
    .action(
      (args: string[]) =>
        new Promise<void>((resolve) => {
          const child = spawn('npm', ['run', 'bench', '--', ...args], { cwd: projectRoot(), stdio: 'inherit' })
          const forward = (sig: NodeJS.Signals) => () => child.kill(sig)
          process.once('SIGINT', forward('SIGINT'))
          child.on('exit', (code) => {
            process.exitCode = code ?? 1
            resolve()
          })
        }),
    )

  program
    .command('stats')
    .description("a tenant's usage (allsource.admin.<tenant>.stats) and, for the operator, the processors' endpoint counters ($SRV.STATS.allsource)")
    .argument('[tenant]', 'default: --tenant / ALLSOURCE_TENANT / the context')
    .action(
      act(async (s, [given]) => {
        const tenant = tenantOf(s, given)
        const usage = await s.request<Record<string, unknown>>(`allsource.admin.${tenant}.stats`, {}, tenant)
        const services: MicroStats[] = []
        if (s.settings.credential.kind === 'operator') {
          try {
            const nc = await s.nc()
            for await (const m of await nc.requestMany('$SRV.STATS.allsource', '', { maxWait: 1_000 })) services.push(JSON.parse(new TextDecoder().decode(m.data)) as MicroStats)
          } catch (e) {
            process.stderr.write(`allsource: no processor stats: ${explain(e, s.settings.url).message}\n`)
          }
        }
        s.out.result({ ...usage, processors: services }, () => {
          const rows = services.flatMap((p) => p.endpoints.map((e) => [p.id, e.name, e.subject, e.num_requests, e.num_errors, `${(e.average_processing_time / 1e6).toFixed(2)} ms`, e.last_error]))
          return `${fields(usage)}${services.length === 0 ? '' : `\n${table(['processor', 'endpoint', 'subject', 'requests', 'errors', 'avg time', 'last error'], rows)}`}`
        })
      }),
    )
}
