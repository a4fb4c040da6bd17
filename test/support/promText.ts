/** One sample of a Prometheus exposition text. */
export interface Sample {
  readonly name: string
  readonly labels: Readonly<Record<string, string>>
  readonly value: number
}

const LINE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/
const LABEL = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g

/** Every sample of an exposition text (comments skipped). */
export const samples = (text: string): Sample[] =>
  text.split('\n').flatMap((line) => {
    const m = LINE.exec(line)
    if (m === null) return []
    const labels: Record<string, string> = {}
    for (const l of (m[2] ?? '').matchAll(LABEL)) labels[l[1] as string] = (l[2] as string).replace(/\\(.)/g, '$1')
    return [{ name: m[1] as string, labels, value: Number(m[3]) }]
  })

/** The value of the one sample with this name whose labels include `labels`, or undefined. */
export const sampleValue = (text: string, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined =>
  samples(text).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
