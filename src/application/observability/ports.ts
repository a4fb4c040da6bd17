/**
 * Observability ports: what the application, the actors and the NATS doors report, free of any
 * metrics, logging or tracing library (the adapters in `src/adapters/metrics`, `logging` and
 * `tracing` implement them). Every method must be cheap and must not throw.
 */

/** Where an append came from: a NATS request, the HTTP gateway, the library, durable ingest. */
export type AppendSource = 'service' | 'http' | 'library' | 'ingest'

/**
 * Told of every append once it is answered. `outcome` is `ok`, `duplicate` (a retried commitId)
 * or the contract's error code (`WRONG_EXPECTED_VERSION`, `QUOTA_EXCEEDED`, …); `limit` is the
 * refused limit of a `QUOTA_EXCEEDED` (`eventsPerDay`, `appendsPerSecond`, …).
 */
export interface AppendObserver {
  appendDone(source: AppendSource, outcome: string, seconds: number, limit?: string): void
}

/** Told of every connection the auth callout refuses: the contract code, and the quota when one was hit. */
export interface AuthObserver {
  authRefused(reason: string, quota?: string): void
}

/** Structured fields of a log line; never a secret (the logger redacts known paths as a second line of defence). */
export type LogFields = Readonly<Record<string, unknown>>

/**
 * A structured logger. `message` is the human text (kept stable: operators and tests grep it);
 * `fields` go beside it (`requestId`, `tenant`, `code`, …).
 */
export interface Logger {
  debug(message: string, fields?: LogFields): void
  info(message: string, fields?: LogFields): void
  warn(message: string, fields?: LogFields): void
  error(message: string, fields?: LogFields): void
  /** Whether `debug` lines are written (to skip building them on hot paths). */
  readonly debugEnabled: boolean
}

const ignore = (): void => undefined

/** A logger that writes nothing. */
export const silentLogger: Logger = { debug: ignore, info: ignore, warn: ignore, error: ignore, debugEnabled: false }

/** The spans AllSource makes (docs/observability.md). */
export type SpanName = 'allsource.append' | 'stream.actor' | 'jetstream.publish' | 'projection.fold'

/** One span in progress. */
export interface TraceSpan {
  /**
   * The W3C `traceparent` to hand on (a NATS header, the commit's header, the next span's parent):
   * this span's when tracing is on; the parent's, unchanged, when it is off.
   */
  readonly traceparent: string | undefined
  /** Ends the span; `error` marks it failed with that text (a contract code, never a secret). */
  end(error?: string): void
}

/**
 * Starts spans whose parent is given as a W3C `traceparent` string (`00-<trace>-<span>-<flags>`),
 * so contexts travel as plain text in NATS headers and commit headers. An unparsable parent
 * starts a new trace. When tracing is off, `start` costs a call and (with a parent) one small object.
 */
export interface Tracing {
  readonly enabled: boolean
  start(name: SpanName, parent: string | undefined, attributes?: Readonly<Record<string, string | number>>): TraceSpan
}

const unparented: TraceSpan = { traceparent: undefined, end: ignore }

/** Tracing off: spans are not recorded, and a parent's `traceparent` passes through unchanged. */
export const noTracing: Tracing = {
  enabled: false,
  start: (_name, parent) => (parent === undefined ? unparented : { traceparent: parent, end: ignore }),
}

/** What a request carries for observability: its id and its trace context (both optional on input). */
export interface RequestContext {
  /** 1–128 printable ASCII characters without spaces (AllSource-Request-Id / X-Request-Id). */
  readonly requestId?: string
  /** W3C trace context of the caller's span. */
  readonly traceparent?: string
}

const REQUEST_ID = /^[!-~]{1,128}$/

/** Whether a client's request id may be used as is (else a fresh one is made). */
export const isRequestId = (s: unknown): s is string => typeof s === 'string' && REQUEST_ID.test(s)
