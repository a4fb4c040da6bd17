import { isSpanContextValid, ROOT_CONTEXT, type SpanContext, SpanKind, SpanStatusCode, trace, type Tracer } from '@opentelemetry/api'
import type { SpanName, TraceSpan, Tracing } from '../../application/observability/ports.js'

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/

/**
 * The span context of a W3C `traceparent` (version 00, or a later one read as 00 as the spec
 * says), or undefined for anything unparsable (then a new trace starts).
 */
export const parseTraceparent = (s: string): SpanContext | undefined => {
  const m = TRACEPARENT.exec(s.trim())
  if (m === null || m[1] === 'ff' || (m[1] === '00' && m[5] !== undefined)) return undefined
  const sc: SpanContext = { traceId: m[2] as string, spanId: m[3] as string, traceFlags: parseInt(m[4] as string, 16) & 0xff, isRemote: true }
  return isSpanContextValid(sc) ? sc : undefined
}

/** A span context as a W3C `traceparent` (version 00). */
export const formatTraceparent = (sc: SpanContext): string => `00-${sc.traceId}-${sc.spanId}-${(sc.traceFlags & 0xff).toString(16).padStart(2, '0')}`

const kinds: Readonly<Record<SpanName, SpanKind>> = {
  'allsource.append': SpanKind.SERVER,
  'stream.actor': SpanKind.INTERNAL,
  'jetstream.publish': SpanKind.PRODUCER,
  'projection.fold': SpanKind.CONSUMER,
}

/**
 * {@link Tracing} over an OpenTelemetry tracer. Parents travel as `traceparent` strings, so no
 * context manager (async hooks) is needed: each span is started from the text its caller holds.
 */
export const createOtelTracing = (tracer: Tracer): Tracing => ({
  enabled: true,
  start(name, parent, attributes): TraceSpan {
    const sc = parent === undefined ? undefined : parseTraceparent(parent)
    const context = sc === undefined ? ROOT_CONTEXT : trace.setSpanContext(ROOT_CONTEXT, sc)
    const span = tracer.startSpan(name, attributes === undefined ? { kind: kinds[name] } : { kind: kinds[name], attributes }, context)
    return {
      traceparent: formatTraceparent(span.spanContext()),
      end(error) {
        if (error !== undefined) span.setStatus({ code: SpanStatusCode.ERROR, message: error })
        span.end()
      },
    }
  },
})
