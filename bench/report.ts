import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/** One row of the bench table: a figure, its unit, and the baseline it is compared with. */
export interface Row {
  readonly scenario: string
  readonly metric: string
  /** Median over the rounds; undefined for a scenario that is not built yet. */
  readonly value: number | undefined
  readonly unit: string
  /** Name of the row this one is divided by, and the target for that ratio. */
  readonly baseline?: string
  readonly target?: string
  readonly rounds?: readonly number[]
  readonly note?: string
}

export const median = (xs: readonly number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  const mid = Math.floor(s.length / 2)
  return s.length % 2 === 1 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

export const percentile = (xs: readonly number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] as number
}

const fmt = (v: number | undefined): string =>
  v === undefined ? 'pending' : v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(v >= 10 ? 1 : 2)

export const ratioOf = (row: Row, rows: readonly Row[]): number | undefined => {
  const base = rows.find((r) => `${r.scenario}/${r.metric}` === row.baseline)
  return row.value === undefined || base?.value === undefined || base.value === 0 ? undefined : row.value / base.value
}

/** A plain-text table for the terminal. */
export const table = (rows: readonly Row[]): string => {
  const lines = rows.map((r) => {
    const ratio = ratioOf(r, rows)
    return [r.scenario, r.metric, fmt(r.value), r.unit, ratio === undefined ? '' : `${ratio.toFixed(2)}×`, r.baseline ?? '', r.target ?? '']
  })
  const head = ['scenario', 'metric', 'median', 'unit', 'ratio', 'vs', 'target']
  const widths = head.map((h, i) => Math.max(h.length, ...lines.map((l) => (l[i] as string).length)))
  const row = (cells: readonly string[]) => cells.map((c, i) => c.padEnd(widths[i] as number)).join('  ')
  return [row(head), row(widths.map((w) => '-'.repeat(w))), ...lines.map(row)].join('\n')
}

const valueOf = (rows: readonly Row[], scenario: string, metric: string): number | undefined =>
  rows.find((r) => r.scenario === scenario && r.metric === metric)?.value

const targetMet = (target: string, x: number): boolean | undefined => {
  const m = /^([≥≤])\s*([\d.]+)\s*(×|ms|MB)?/.exec(target)
  if (m === null) return undefined
  const bound = Number(m[2])
  return m[1] === '≥' ? x >= bound : x <= bound
}

/** A target in a unit (`≤ 50 ms`) bounds the figure itself, even on a row with a baseline; a bare or `×` target bounds the ratio. */
const targetIsRatio = (target: string): boolean => !/^[≥≤]\s*[\d.]+\s*(ms|MB)/.test(target)

/**
 * One line per target, met or not, from this run's figures; and for the two append targets, what
 * the same run says about whether a stream-actor design can meet them at all on this machine.
 */
export const verdicts = (rows: readonly Row[]): string[] => {
  const out: string[] = []
  for (const r of rows) {
    if (r.target === undefined || r.value === undefined) continue
    const byRatio = r.baseline !== undefined && targetIsRatio(r.target)
    const x = byRatio ? ratioOf(r, rows) : r.value
    if (x === undefined) continue
    const met = targetMet(r.target, x)
    if (met === undefined) continue
    const shown = byRatio ? `${x.toFixed(2)}×` : `${fmt(x)} ${r.unit}`
    out.push(`- ${r.scenario}, ${r.metric}: ${shown}, target ${r.target}: **${met ? 'met' : 'not met'}**.`)
  }
  const path = valueOf(rows, '3e actor path', 'library append without I/O')
  const budget = valueOf(rows, '3d actor floor', 'library budget at 0.8× raw')
  const floor = valueOf(rows, '3d actor floor', 'xstate alone, 2 events/append')
  if (path !== undefined && budget !== undefined) {
    out.push(
      path > budget
        ? `- Library at 0.8×: out of reach for this design here. A library append costs ${fmt(path)} µs of CPU before any I/O (3e), more than the ${fmt(budget)} µs per append that 0.8× the raw limit allows the one JavaScript thread in all (3d).`
        : `- Library at 0.8×: a library append costs ${fmt(path)} µs of CPU before any I/O (3e), within the ${fmt(budget)} µs that 0.8× the raw limit allows (3d).`,
    )
  }
  const bare = valueOf(rows, '3f service, no actor', 'cpu processor')
  const svcBudget = valueOf(rows, '3f service, no actor', 'processor budget at 0.85×')
  const svc = valueOf(rows, '3b service', 'cpu processor')
  const bareRow = rows.find((r) => r.scenario === '3f service, no actor' && r.metric === 'throughput')
  const bareRatio = bareRow === undefined ? undefined : ratioOf(bareRow, rows)
  if (bare !== undefined && svcBudget !== undefined && svc !== undefined && floor !== undefined && bareRatio !== undefined) {
    const left = svcBudget - bare
    out.push(
      left < floor
        ? `- Service at 0.85×: out of reach for this design here. Without the stream actor the same service reaches ${bareRatio.toFixed(2)}× the forwarder at ${fmt(bare)} µs of processor CPU per append (3f); 0.85× allows ${fmt(svcBudget)} µs, which leaves ${fmt(Math.max(0, left))} µs for the actor, less than xstate alone costs for its two events per append (${fmt(floor)} µs, 3d). In place the actor and its supervisor cost ${fmt(svc - bare)} µs per append (3b − 3f).`
        : `- Service at 0.85×: 0.85× allows ${fmt(svcBudget)} µs of processor CPU per append; without the actor the service uses ${fmt(bare)} µs (3f), leaving ${fmt(left)} µs for the actor, which costs ${fmt(svc - bare)} µs in place (3b − 3f).`,
    )
  }
  const floorRow = rows.find((r) => r.scenario === '21 service + one bare log consumer (floor)' && r.metric === 'throughput')
  const floorRatio = floorRow === undefined ? undefined : ratioOf(floorRow, rows)
  const onRow = rows.find((r) => r.scenario === '21 service, npm start features on' && r.metric === 'throughput')
  const onRatio = onRow === undefined ? undefined : ratioOf(onRow, rows)
  const topicsRow = rows.find((r) => r.scenario === '21 service + bare consumer + 2 topic publishes (floor)' && r.metric === 'throughput')
  const topicsRatio = topicsRow === undefined ? undefined : ratioOf(topicsRow, rows)
  if (floorRatio !== undefined && topicsRatio !== undefined && onRatio !== undefined) {
    out.push(
      topicsRatio < 0.8
        ? `- Features on at 0.8×: out of reach here for any design of the built-ins that folds the log in the processor and publishes every change of entity-state and event-counter. One bare delivery of each commit takes the service to ${floorRatio.toFixed(2)}×, and with the two topic updates every commit then causes, before anything is decoded, folded or written, to ${topicsRatio.toFixed(2)}× (21 floors); the built-ins reach ${onRatio.toFixed(2)}×.`
        : `- Features on at 0.8×: the least work of the built-ins (one delivery and two topic updates per commit) takes the service to ${topicsRatio.toFixed(2)}× (21 floors; the delivery alone ${floorRatio.toFixed(2)}×); decoding, folding and writing must fit in the rest. The built-ins reach ${onRatio.toFixed(2)}×.`,
    )
  }
  return out
}

/** `docs/benchmarks.md` and the JSON beside it. */
export const writeReport = (outDir: string, jsonDir: string, rows: readonly Row[], env: Record<string, string>, method: string): void => {
  mkdirSync(outDir, { recursive: true })
  mkdirSync(jsonDir, { recursive: true })
  const md = [
    '# Benchmarks',
    '',
    'Produced by `npm run bench` (`bench/run.ts`), which starts its own nats-server(s) and measures',
    'AllSource side by side with raw JetStream in one process run. Medians of the rounds; each',
    'ratio divides a figure by its baseline from the same run.',
    '',
    ...Object.entries(env).map(([k, v]) => `- ${k}: ${v}`),
    '',
    '| scenario | metric | median | unit | ratio | vs | target |',
    '|---|---|---|---|---|---|---|',
    ...rows.map((r) => {
      const ratio = ratioOf(r, rows)
      return `| ${r.scenario} | ${r.metric} | ${fmt(r.value)} | ${r.unit} | ${ratio === undefined ? '' : `${ratio.toFixed(2)}×`} | ${r.baseline ?? ''} | ${r.target ?? ''} |`
    }),
    '',
    '## Targets',
    '',
    'Worked out from the figures above by `bench/report.ts`; see `docs/performance.md` for the profiles.',
    '',
    ...verdicts(rows),
    '',
    '## How each figure is measured',
    '',
    method,
    '',
  ].join('\n')
  writeFileSync(join(outDir, 'benchmarks.md'), md)
  writeFileSync(join(jsonDir, 'latest.json'), JSON.stringify({ env, rows }, null, 2))
}
