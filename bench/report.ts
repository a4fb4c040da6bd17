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
    '## How each figure is measured',
    '',
    method,
    '',
  ].join('\n')
  writeFileSync(join(outDir, 'benchmarks.md'), md)
  writeFileSync(join(jsonDir, 'latest.json'), JSON.stringify({ env, rows }, null, 2))
}
