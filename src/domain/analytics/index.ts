export { analyticsFold } from './analytics.js'
export {
  analyticsKinds,
  analyticsLimits,
  isAnalyticsKind,
  scopeFilter,
  validateAnalyticsRequest,
  type AnalyticsKind,
  type AnalyticsRequest,
  type AnalyticsScope,
  type AnomaliesRequest,
  type CorrelationRequest,
  type FrequencyRequest,
  type FunnelRequest,
  type RetentionRequest,
  type SummaryRequest,
} from './analyticsRequest.js'
export { buckets, indexOf, isoDayOf, isoStartOf, periods, startOfIndex, type Bucket, type Period } from './buckets.js'
export type { AnalyticsFold, AnalyticsReply, AnomaliesReply, CorrelationReply, FrequencyReply, FunnelReply, RetentionReply, SummaryReply } from './fold.js'
export { maxRetentionPeriods } from './retention.js'
export { frequencyOfCounts, frequencyReadModelShape, readModelCounts, typesOnly, type ReadModelTypes } from './frequencyReadModel.js'
export { anomaliesOfCounts } from './anomalies.js'
