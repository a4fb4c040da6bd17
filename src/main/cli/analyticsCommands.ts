import type { Command } from 'commander'
import { analyticsKinds } from '../../domain/analytics/analyticsRequest.js'
import { act, intArg, jsonArg, orFail, timeArg } from './action.js'
import { CliError, table } from './output.js'

/** A filter flag: JSON when it starts with `{`, else the text form (`type = "a"`). */
const filterArg = (v: string, flag: string): unknown => (/^\s*[{[]/.test(v) ? jsonArg(v, flag) : v)

const numberArg = (v: string): number => {
  const n = Number(v)
  if (v.trim() === '' || !Number.isFinite(n)) throw new CliError(`expected a number, got "${v}"`, 2)
  return n
}

const collect = (v: string, prev: string[] = []): string[] => [...prev, v]

/** A reply of any kind as a table (the JSON output is the reply as is). */
const human = (kind: string, r: Record<string, unknown>): string => {
  const rows = (k: string) => (Array.isArray(r[k]) ? (r[k] as Record<string, unknown>[]) : [])
  switch (kind) {
    case 'frequency':
      return table(['start', 'count'], rows('buckets').map((b) => [b.start, b.count]))
    case 'summary':
      return [table(['type', 'count'], rows('types').map((x) => [x.type, x.count])), table(['stream', 'count'], rows('streams').map((x) => [x.stream, x.count])), table(['day', 'count'], rows('days').map((x) => [x.day, x.count]))].join('\n')
    case 'funnel':
      return table(['step', 'streams'], rows('steps').map((x, i) => [i + 1, x.count]))
    case 'retention':
      return table(['cohort', 'size', 'active per period'], rows('cohorts').map((c) => [c.start, c.size, (c.active as number[]).join(' ')]))
    case 'anomalies':
      return table(['start', 'count', 'z'], rows('anomalies').map((a) => [a.start, a.count, (a.z as number).toFixed(2)]))
    default:
      return JSON.stringify(r)
  }
}

/** `analytics <kind> <tenant> [json]`: `allsource.analytics.<tenant>.<kind>` (docs/analytics.md). */
export const registerAnalyticsCommands = (program: Command): void => {
  program
    .command('analytics')
    .description(`analytics over a tenant's log: ${analyticsKinds.join(', ')} (docs/analytics.md)`)
    .argument('<kind>', analyticsKinds.join(' | '))
    .argument('<tenant>')
    .argument('[json]', 'the whole request as JSON, e.g. {"bucket":"day"} (flags override its fields)')
    .option('--since <time>', 'ISO-8601, inclusive', timeArg)
    .option('--until <time>', 'ISO-8601, inclusive', timeArg)
    .option('--where <filter>', 'a filter on the events: JSON or text (type = "order.placed")')
    .option('--bucket <b>', 'frequency, anomalies: minute, hour (default) or day')
    .option('--period <p>', 'retention: day or week (default)')
    .option('--top <n>', 'summary: how many types and streams (default 10)', intArg)
    .option('--step <filter>', 'funnel: a step (repeat, in order)', collect)
    .option('--within-ms <n>', 'funnel, correlation: the window in milliseconds', intArg)
    .option('--a <filter>', 'correlation: the first event')
    .option('--b <filter>', 'correlation: the event that follows')
    .option('--threshold <z>', 'anomalies: |z| at least this (default 3)', numberArg)
    .action(
      act(async (s, [kind, tenant, json], o) => {
        const base = json === undefined ? {} : jsonArg(json, 'the request')
        if (typeof base !== 'object' || base === null || Array.isArray(base)) throw new CliError('the request is a JSON object, e.g. {"bucket":"day"}', 2)
        const q: Record<string, unknown> = { ...(base as Record<string, unknown>) }
        for (const k of ['since', 'until', 'bucket', 'period', 'top', 'withinMs', 'threshold'] as const) if (o[k] !== undefined) q[k] = o[k]
        for (const k of ['where', 'a', 'b'] as const) if (typeof o[k] === 'string') q[k] = filterArg(o[k], `--${k}`)
        const steps = (o as Record<string, unknown>).step
        if (Array.isArray(steps)) q.steps = (steps as string[]).map((x) => filterArg(x, '--step'))
        const r = orFail(await (await s.client()).tryAnalytics(tenant as string, kind as string, q))
        s.out.result(r, () => human(kind as string, r as unknown as Record<string, unknown>))
      }),
    )
}
