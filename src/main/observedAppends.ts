import type * as E from 'fp-ts/lib/Either.js'
import type { StreamSupervisor } from '../../actors/streams/streamSupervisor.js'
import { appendOutcomeOf } from '../adapters/nats/service/appendOutcome.js'
import { SLOW_REQUEST_MS } from '../adapters/nats/service/endpoint.js'
import { toWireError } from '../adapters/nats/service/errorCodes.js'
import { newRequestId } from '../adapters/system/requestIds.js'
import { type AppendObserver, isRequestId, type Logger, type RequestContext, type Tracing } from '../application/observability/ports.js'
import type { AppendResult } from '../application/streams/appendResult.js'
import type { Appender } from '../application/streams/appender.js'

const ignore = (): void => undefined
import type { AppendError } from '../application/streams/errors.js'
import type { DomainError } from '../domain/streams/errors.js'
import type { AppendCommand } from '../domain/streams/appendRequest.js'

/** An appender whose every answer is observed as `source` (metrics); `appender` itself when there is no observer. */
export const observedAppender = (appender: Appender, observer: AppendObserver | undefined, source: 'ingest'): Appender =>
  observer === undefined
    ? appender
    : {
        append: async (command, caller) => {
          const started = performance.now()
          const r = await appender.append(command, caller)
          const outcome = appendOutcomeOf(r)
          observer.appendDone(source, outcome.outcome, (performance.now() - started) / 1_000, outcome.limit)
          return r
        },
      }

/**
 * The library's (and the HTTP gateway's) append: the `allsource.append` span (child of the
 * caller's `traceparent`), the request id (the caller's when usable, else a fresh one) into the
 * commit's headers, the metrics observation, and log lines for 5xx answers and (debug) slow ones.
 */
export const libraryAppend =
  (deps: { readonly supervisor: StreamSupervisor; readonly tracing: Tracing; readonly observer?: AppendObserver; readonly logger?: Logger }) =>
  async (tenant: string, stream: string, given: RequestContext | undefined, validate: () => E.Either<DomainError, AppendCommand>): Promise<E.Either<AppendError, AppendResult>> => {
    const { supervisor, tracing, observer, logger } = deps
    const started = performance.now()
    const requestId = isRequestId(given?.requestId) ? given.requestId : newRequestId()
    const span = tracing.start('allsource.append', given?.traceparent, tracing.enabled ? { 'allsource.request_id': requestId, 'allsource.door': 'library' } : undefined)
    const cmd = validate()
    const r = cmd._tag === 'Left' ? cmd : await supervisor.append(cmd.right, span.traceparent !== undefined ? { requestId, traceparent: span.traceparent } : { requestId })
    const outcome = appendOutcomeOf(r)
    const ms = performance.now() - started
    span.end(outcome.outcome === 'ok' || outcome.outcome === 'duplicate' ? undefined : outcome.outcome)
    observer?.appendDone('library', outcome.outcome, ms / 1_000, outcome.limit)
    if (r._tag === 'Left' && logger !== undefined && (outcome.outcome === 'INTERNAL' || outcome.outcome === 'UNAVAILABLE')) {
      logger.warn(`append answered ${outcome.outcome}: ${toWireError(r.left).message}`, { requestId, tenant, stream, code: outcome.outcome })
    }
    if (ms >= SLOW_REQUEST_MS && logger?.debugEnabled === true) logger.debug(`slow append: ${Math.round(ms)} ms`, { requestId, tenant, stream, ms: Math.round(ms) })
    return r
  }
