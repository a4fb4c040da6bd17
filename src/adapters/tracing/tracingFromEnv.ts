import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http'
import { resourceFromAttributes } from '@opentelemetry/resources'
import { BasicTracerProvider, BatchSpanProcessor, type SpanProcessor } from '@opentelemetry/sdk-trace-base'
import { noTracing, type Tracing } from '../../application/observability/ports.js'
import { createOtelTracing } from './otelTracing.js'

/** Tracing for a processor, and how to flush and stop it at shutdown. */
export interface ProcessorTracing {
  readonly tracing: Tracing
  /** Where spans go, for the start-up log line (never holds credentials: only the URL's origin and path). */
  readonly exportingTo: string | undefined
  /** Exports what is buffered and stops. */
  shutdown(): Promise<void>
}

/** A tracer provider of our own (not the global one), spans going to `processors`. */
export const tracingWith = (processors: readonly SpanProcessor[], serviceName = 'allsource'): ProcessorTracing => {
  const provider = new BasicTracerProvider({ resource: resourceFromAttributes({ 'service.name': serviceName }), spanProcessors: [...processors] })
  return { tracing: createOtelTracing(provider.getTracer('allsource')), exportingTo: undefined, shutdown: () => provider.shutdown() }
}

const safeUrl = (url: string): string => {
  try {
    const u = new URL(url)
    return `${u.origin}${u.pathname}`
  } catch {
    return '(unparsable URL)'
  }
}

/**
 * Tracing as the environment asks: off (a no-op, {@link noTracing}) unless
 * `ALLSOURCE_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_ENDPOINT` is set, then spans are batched and
 * exported over OTLP/HTTP to `<endpoint>/v1/traces` (`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, the
 * exporter's headers and the sampler follow the standard OTEL_* variables).
 */
export const tracingFromEnv = (env: NodeJS.ProcessEnv = process.env): ProcessorTracing => {
  const ours = env.ALLSOURCE_OTLP_ENDPOINT
  const standard = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? env.OTEL_EXPORTER_OTLP_ENDPOINT
  if ((ours === undefined || ours === '') && (standard === undefined || standard === '')) {
    return { tracing: noTracing, exportingTo: undefined, shutdown: async () => undefined }
  }
  const url = ours !== undefined && ours !== '' ? `${ours.replace(/\/+$/, '')}/v1/traces` : undefined
  const exporter = new OTLPTraceExporter(url !== undefined ? { url } : {})
  const t = tracingWith([new BatchSpanProcessor(exporter)], env.OTEL_SERVICE_NAME ?? 'allsource')
  const where = url ?? env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? `${(env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').replace(/\/+$/, '')}/v1/traces`
  return { ...t, exportingTo: safeUrl(where) }
}
