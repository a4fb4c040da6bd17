export { createOtelTracing, formatTraceparent, parseTraceparent } from './otelTracing.js'
export { tracingFromEnv, tracingWith } from './tracingFromEnv.js'
export type { ProcessorTracing } from './tracingFromEnv.js'
