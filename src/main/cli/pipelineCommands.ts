import { readFileSync } from 'node:fs'
import type { Command } from 'commander'
import { subjects } from '../../adapters/nats/subjects.js'
import { act, intArg, jsonArg, tenantOf, type Opts } from './action.js'
import { CliError, fields, table, toJson } from './output.js'
import { readStdin } from './password.js'
import type { Session } from './session.js'

type Row = Readonly<Record<string, unknown>>
interface Status {
  readonly state?: string
  readonly generation?: number
  readonly checkpoint?: number
  readonly lag?: number
  readonly lastError?: { readonly message?: string }
}

const s0 = subjects()

/** One request on `allsource.admin.<tenant>.pipelines.<command>`, the tenant from --tenant / ALLSOURCE_TENANT / the context. */
const ask = <T>(s: Session, command: string, body: unknown): Promise<T> => {
  const tenant = tenantOf(s)
  return s.request<T>(`${s0.prefix}.admin.${tenant}.pipelines.${command}`, body, tenant)
}

/** The definition to create: `--file <path>` (`-` is stdin), or the JSON argument (`-` is stdin); exactly one. */
const definitionOf = async (json: string | undefined, o: Opts): Promise<unknown> => {
  const file = typeof o.file === 'string' ? o.file : undefined
  if ((file === undefined) === (json === undefined)) throw new CliError('give the definition once: --file <def.json> (- reads stdin), or as a JSON argument (- reads stdin)', 2)
  if (file === undefined || file === '-') {
    const fromStdin = file === '-' || json === '-'
    return jsonArg(fromStdin ? await readStdin() : (json as string), fromStdin ? 'stdin' : 'the definition')
  }
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (e) {
    throw new CliError(`cannot read ${file}: ${e instanceof Error ? e.message : String(e)}`, 1)
  }
  try {
    return JSON.parse(text) as unknown
  } catch (e) {
    throw new CliError(`${file} is not valid JSON (${e instanceof Error ? e.message : String(e)})`, 2)
  }
}

const statusText = (st: Status | undefined): string => (st?.state === undefined ? 'not started' : `${st.state}, checkpoint ${st.checkpoint ?? 0}, lag ${st.lag ?? 0}${st.lastError?.message !== undefined ? `, last error: ${st.lastError.message}` : ''}`)
const HEAD = ['pipeline', 'projection', 'version', 'state', 'generation', 'checkpoint', 'lag', 'last error']
const row = (p: Row) => {
  const st = p.status as Status | undefined
  return [p.name, p.projection, p.version, st?.state ?? '', st?.generation ?? '', st?.checkpoint ?? '', st?.lag ?? '', st?.lastError?.message ?? '']
}
const described = (p: Row): string => `${fields({ name: p.name, projection: p.projection, version: p.version, createdAt: p.createdAt, status: statusText(p.status as Status | undefined) })}\n${toJson(p.definition, 2)}`

/**
 * `pipelines create|list|get|delete|pause|resume|rebuild`: the pipeline admin subjects
 * `allsource.admin.<tenant>.pipelines.<command>` (docs/pipelines.md), with their bodies; the reply
 * is printed as it is with `--json`.
 */
export const registerPipelineCommands = (program: Command): void => {
  const pipelines = program.command('pipelines').alias('pipeline').description("a tenant's pipelines (--tenant): create, list, get, delete, pause, resume, rebuild (docs/pipelines.md)")
  pipelines
    .command('create')
    .description('create a pipeline, or replace it (a changed definition needs a higher version)')
    .argument('[definition]', 'the definition as JSON; - reads it from stdin')
    .option('--file <path>', 'read the definition from this JSON file (- is stdin)')
    .action(
      act(async (s, [json], o) => {
        const r = await ask<Row>(s, 'create', await definitionOf(json, o))
        s.out.result(r, () => `created ${String(r.name)} (projection ${String(r.projection)}, version ${String(r.version)})`)
      }),
    )
  pipelines
    .command('list')
    .action(
      act(async (s) => {
        const r = await ask<{ pipelines: Row[] }>(s, 'list', {})
        s.out.result(r, () => (r.pipelines.length === 0 ? `no pipelines for tenant ${tenantOf(s)}` : table(HEAD, r.pipelines.map(row))))
      }),
    )
  pipelines
    .command('get')
    .description('the definition and status of a pipeline')
    .argument('<name>')
    .action(
      act(async (s, [name]) => {
        const r = await ask<Row>(s, 'get', { name })
        s.out.result(r, () => described(r))
      }),
    )
  for (const [verb, done] of [['delete', 'deleted'], ['pause', 'paused'], ['resume', 'resumed']] as const) {
    pipelines
      .command(verb)
      .argument('<name>')
      .action(
        act(async (s, [name]) => {
          const r = await ask<Row>(s, verb, { name })
          s.out.result(r, () => `${done} ${String(r.name)}`)
        }),
      )
  }
  pipelines
    .command('rebuild')
    .description('refold a pipeline into a new read model (reads stay online); progress shows in `pipelines get`')
    .argument('<name>')
    .option('--from-offset <n>', 'fold only events at offsets >= this (default 0: the whole log)', intArg)
    .action(
      act(async (s, [name], o) => {
        const r = await ask<Row>(s, 'rebuild', { name, ...(o.fromOffset !== undefined ? { fromOffset: Number(o.fromOffset) } : {}) })
        s.out.result(r, () => `rebuild of ${String(r.name)} requested (from offset ${String(o.fromOffset ?? 0)})`)
      }),
    )
}
