export { createProcessorMetrics } from './processorMetrics.js'
export type { MetricSources, ProcessorMetrics, ProcessorMetricsOptions } from './processorMetrics.js'
