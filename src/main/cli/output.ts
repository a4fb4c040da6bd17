import cliProgress from 'cli-progress'
import Table from 'cli-table3'
import { bigintToJson } from '../../adapters/nats/service/wireCodec.js'

/**
 * A failure the CLI explains and exits on: `message` says what went wrong and what to do next
 * (never a secret); `exitCode` 1 for a failed command, 2 for a usage error; `body` is the JSON
 * error document printed on stdout with `--json`.
 */
export class CliError extends Error {
  override readonly name = 'CliError'
  constructor(
    message: string,
    readonly exitCode: 1 | 2 = 1,
    readonly body?: unknown,
  ) {
    super(message)
  }
}

/** JSON with bytes as base64 and 64-bit integers as the wire's JSON replies carry them. */
export const toJson = (v: unknown, indent?: number): string =>
  JSON.stringify(v, (_k, x: unknown) => (x instanceof Uint8Array ? Buffer.from(x).toString('base64') : typeof x === 'bigint' ? bigintToJson(x) : x), indent)

/** A cell: strings as they are, dates as ISO, everything else as compact JSON. */
export const cell = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'string' ? v : v instanceof Date ? v.toISOString() : toJson(v))

/** How a command prints: one JSON document (`--json`), or text and tables for people. */
export interface Output {
  readonly json: boolean
  /** Prints `doc` as JSON with `--json`, else what `human` renders. */
  result(doc: unknown, human: () => string): void
  /** One line of a stream of results: NDJSON with `--json`, else the rendered line. */
  line(doc: unknown, human: () => string): void
  /** A progress bar on stderr when stderr is a terminal (and not CI), else nothing. */
  progress(total: number, unit: string): Progress
}

export interface Progress {
  update(value: number, total?: number): void
  stop(): void
}

/** No line between rows: compact, still aligned. */
const compact = { mid: '', 'left-mid': '', 'mid-mid': '', 'right-mid': '' }

/** A table with a header row. */
export const table = (head: readonly string[], rows: readonly (readonly unknown[])[]): string => {
  const t = new Table({ head: [...head], chars: compact, style: { head: [], border: [] } })
  for (const r of rows) t.push(r.map(cell))
  return t.toString()
}

/** A two-column table of an object's fields. */
export const fields = (o: Readonly<Record<string, unknown>>): string => {
  const t = new Table({ chars: compact, style: { head: [], border: [] } })
  for (const [k, v] of Object.entries(o)) if (v !== undefined) t.push({ [k]: cell(v) })
  return t.toString()
}

const noProgress: Progress = { update: () => undefined, stop: () => undefined }

/** Output to the process's stdout (results) and stderr (progress). */
export const createOutput = (json: boolean, stdout: NodeJS.WriteStream = process.stdout, stderr: NodeJS.WriteStream = process.stderr): Output => ({
  json,
  result: (doc, human) => void stdout.write(`${json ? toJson(doc) : human()}\n`),
  line: (doc, human) => void stdout.write(`${json ? toJson(doc) : human()}\n`),
  progress: (total, unit) => {
    if (stderr.isTTY !== true || process.env.CI === 'true') return noProgress
    const started = Date.now()
    const bar = new cliProgress.SingleBar(
      {
        stream: stderr,
        format: `{bar} {percentage}% | {value}/{total} ${unit} | {rate} ${unit}/s | ETA {eta_formatted}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    )
    bar.start(total, 0, { rate: '0' })
    return {
      update: (value, newTotal) => {
        if (newTotal !== undefined) bar.setTotal(newTotal)
        const secs = (Date.now() - started) / 1000
        bar.update(value, { rate: secs > 0 ? Math.round(value / secs).toString() : '0' })
      },
      stop: () => bar.stop(),
    }
  },
})
