import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base'
import { describe, expect, it } from 'vitest'
import { noTracing } from '../../../src/application/observability/ports.js'
import { formatTraceparent, parseTraceparent } from '../../../src/adapters/tracing/otelTracing.js'
import { tracingFromEnv, tracingWith } from '../../../src/adapters/tracing/tracingFromEnv.js'

const TP = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'

describe('tracing', () => {
  it('reads and writes W3C traceparent; refuses what is not one', () => {
    const sc = parseTraceparent(TP)
    expect(sc).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', traceFlags: 1, isRemote: true })
    expect(formatTraceparent(sc as NonNullable<typeof sc>)).toBe(TP)
    for (const bad of ['', 'garbage', TP.toUpperCase(), `ff${TP.slice(2)}`, `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`, `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`, `${TP}-extra`]) {
      expect(parseTraceparent(bad)).toBeUndefined()
    }
    // A later version may carry more fields; it is read as version 00.
    expect(parseTraceparent(`01${TP.slice(2)}-more`)?.spanId).toBe('00f067aa0ba902b7')
  })

  it('is off unless an OTLP endpoint is configured; off, a parent passes through unchanged', async () => {
    const off = tracingFromEnv({})
    expect(off.tracing).toBe(noTracing)
    expect(off.exportingTo).toBeUndefined()
    expect(noTracing.start('stream.actor', TP).traceparent).toBe(TP)
    expect(noTracing.start('stream.actor', undefined).traceparent).toBeUndefined()
    const on = tracingFromEnv({ ALLSOURCE_OTLP_ENDPOINT: 'http://user:secret@collector:4318/' })
    expect(on.tracing.enabled).toBe(true)
    expect(on.exportingTo).toBe('http://collector:4318/v1/traces') // no credentials in the log line
    await on.shutdown()
  })

  it('an unparsable parent starts a new trace; an error ends the span failed', async () => {
    const exporter = new InMemorySpanExporter()
    const t = tracingWith([new SimpleSpanProcessor(exporter)])
    const span = t.tracing.start('allsource.append', 'not-a-traceparent')
    expect(parseTraceparent(span.traceparent as string)).toBeDefined()
    span.end('UNAVAILABLE')
    const [finished] = exporter.getFinishedSpans()
    expect(finished?.parentSpanContext).toBeUndefined()
    expect(finished?.status).toMatchObject({ code: 2, message: 'UNAVAILABLE' })
    await t.shutdown()
  })
})
