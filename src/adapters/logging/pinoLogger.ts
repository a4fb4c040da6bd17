import { pino, type DestinationStream, type Level } from 'pino'
import type { LogFields, Logger } from '../../application/observability/ports.js'

export type LogFormat = 'json' | 'pretty'

/**
 * Field names that hold credentials anywhere AllSource builds log fields (API keys, tokens,
 * passwords, seeds, the operator key, auth headers). Lines never name them on purpose; redaction
 * is the second line of defence, at the top level and one or two objects down.
 */
export const REDACTED_FIELDS = [
  'key',
  'apiKey',
  'token',
  'accessToken',
  'refreshToken',
  'password',
  'pass',
  'secret',
  'seed',
  'pepper',
  'bootstrapKey',
  'operatorKey',
  'authorization',
  'Authorization',
  'cookie',
] as const

const redactPaths = REDACTED_FIELDS.flatMap((f) => [f, `*.${f}`, `*.*.${f}`])

export interface PinoLoggerOptions {
  /** `trace`, `debug`, `info` (default), `warn`, `error`, `fatal`, or `silent`. */
  readonly level?: string
  /** JSON lines (default), or one compact human line per entry. */
  readonly format?: LogFormat
  /** Where lines go (default: stdout, written synchronously so a line before `process.exit` is not lost). */
  readonly destination?: { write(line: string): unknown }
  /** The `name` field of every JSON line (default `allsource`). */
  readonly name?: string
}

/** How the compact format labels each level (info goes unlabelled). */
const LEVEL_LABELS: Readonly<Record<string, string>> = { trace: 'trace', debug: 'debug', info: '', warn: 'warning', error: 'error', fatal: 'fatal' }
const RESERVED = new Set(['level', 'time', 'pid', 'hostname', 'name', 'msg'])

const valueText = (v: unknown): string => (typeof v === 'string' && /^[^\s"=]+$/.test(v) ? v : JSON.stringify(v))

/**
 * One compact line per entry, as the processor always printed them: `<ISO time> allsource
 * <message>`, `warning: ` / `error: ` before a warning's or error's text, then ` key=value` fields.
 * It formats pino's own JSON (already redacted), so nothing bypasses redaction.
 */
export const prettyLine = (json: string): string => {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(json) as Record<string, unknown>
  } catch {
    return json.endsWith('\n') ? json : `${json}\n`
  }
  const level = typeof entry.level === 'string' ? entry.level : 'info'
  const time = typeof entry.time === 'number' ? new Date(entry.time).toISOString() : new Date().toISOString()
  const msg = String(entry.msg ?? '')
  const labelled = LEVEL_LABELS[level] ?? level
  const named = labelled === '' ? '' : `${labelled}: `
  // A message that already says so (`WARNING: … running OPEN`) is not labelled twice.
  const label = msg.toLowerCase().startsWith(named) ? '' : named
  let fields = ''
  for (const [k, v] of Object.entries(entry)) if (!RESERVED.has(k)) fields += ` ${k}=${valueText(v)}`
  return `${time} ${typeof entry.name === 'string' ? entry.name : 'allsource'} ${label}${msg}${fields}\n`
}

const prettyDestination = (out: { write(line: string): unknown }): DestinationStream => ({
  write: (line: string) => {
    out.write(prettyLine(line))
  },
})

/** A {@link Logger} over pino: JSON lines or compact lines, credentials redacted (see {@link REDACTED_FIELDS}). */
export const createPinoLogger = (o: PinoLoggerOptions = {}): Logger & { readonly level: string } => {
  const out = o.destination ?? { write: (line: string) => process.stdout.write(line) }
  const destination: DestinationStream = o.format === 'pretty' ? prettyDestination(out) : { write: (line: string) => void out.write(line) }
  const p = pino(
    {
      level: o.level ?? 'info',
      base: { name: o.name ?? 'allsource' },
      redact: { paths: redactPaths, censor: '[redacted]' },
      timestamp: pino.stdTimeFunctions.epochTime,
      // `"level":"warn"` rather than pino's numbers: readable, and greppable by name.
      formatters: { level: (label) => ({ level: label }) },
    },
    destination,
  )
  const at =
    (level: Level) =>
    (message: string, fields?: LogFields): void => {
      if (fields === undefined) p[level](message)
      else p[level](fields, message)
    }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    get debugEnabled() {
      return p.isLevelEnabled('debug')
    },
    get level() {
      return p.level
    },
  }
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'])

/**
 * The processor's logger as the environment asks: `ALLSOURCE_LOG_LEVEL` (default `info`; an unknown
 * value falls back to `info` with a warning line) and `ALLSOURCE_LOG_FORMAT` `json` | `pretty`
 * (default: pretty on a terminal, JSON lines otherwise).
 */
export const loggerFromEnv = (env: NodeJS.ProcessEnv = process.env, isTTY: boolean = process.stdout.isTTY === true): Logger => {
  const asked = env.ALLSOURCE_LOG_LEVEL?.toLowerCase()
  const level = asked !== undefined && LEVELS.has(asked) ? asked : 'info'
  const f = env.ALLSOURCE_LOG_FORMAT?.toLowerCase()
  const format: LogFormat = f === 'json' || f === 'pretty' ? f : isTTY ? 'pretty' : 'json'
  const logger = createPinoLogger({ level, format })
  if (asked !== undefined && asked !== '' && !LEVELS.has(asked)) logger.warn(`ALLSOURCE_LOG_LEVEL=${JSON.stringify(asked.slice(0, 20))} is not a level (trace, debug, info, warn, error, fatal, silent); using info`)
  if (f !== undefined && f !== '' && f !== 'json' && f !== 'pretty') logger.warn(`ALLSOURCE_LOG_FORMAT=${JSON.stringify(f.slice(0, 20))} is not json or pretty; using ${format}`)
  return logger
}

/**
 * The processor's older `log(message)` callbacks over a {@link Logger}: a message starting
 * `warning: ` (or `WARNING: `) is a warning, the rest info, text unchanged otherwise.
 */
export const lineLog =
  (logger: Logger) =>
  (message: string): void => {
    if (/^warning: /i.test(message)) logger.warn(message.startsWith('WARNING') ? message : message.slice('warning: '.length))
    else logger.info(message)
  }
