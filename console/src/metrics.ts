/** One sample of Prometheus text: `name{labels} value`. */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Parses the Prometheus text format's samples (comments and malformed lines skipped). */
export const parseMetrics = (text: string): readonly Sample[] => {
  const out: Sample[] = []
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue
    const m = LINE.exec(line)
    if (m === null) continue
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1')
    const value = Number(m[3])
    if (!Number.isNaN(value)) out.push({ name: m[1] as string, labels, value })
  }
  return out
}

export const sum = (samples: readonly Sample[], name: string): number => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0)

/** The histogram's cumulative buckets summed over every other label: `le` → count. */
export const buckets = (samples: readonly Sample[], name: string): Map<number, number> => {
  const m = new Map<number, number>()
  for (const s of samples) {
    if (s.name !== `${name}_bucket`) continue
    const le = s.labels.le === '+Inf' ? Infinity : Number(s.labels.le)
    m.set(le, (m.get(le) ?? 0) + s.value)
  }
  return m
}

/** The `q` quantile's bucket bound (seconds) of the counts `now - before`; undefined without observations. */
export const quantile = (q: number, now: Map<number, number>, before?: Map<number, number>): number | undefined => {
  const bounds = [...now.keys()].sort((a, b) => a - b)
  const delta = bounds.map((le) => (now.get(le) ?? 0) - (before?.get(le) ?? 0))
  const total = delta[delta.length - 1] ?? 0
  if (total <= 0) return undefined
  const i = delta.findIndex((c) => c >= q * total)
  const b = bounds[i]
  return b === undefined || b === Infinity ? bounds[bounds.length - 2] : b
}
