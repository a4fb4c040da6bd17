export {
  answerAnalytics,
  runAnalytics,
  type AnalyticsAnswer,
  type AnalyticsSource,
  type AnswerAnalytics,
  type FrequencyReadModel,
  type RunAnalytics,
  type ScopedEventScan,
} from './runAnalytics.js'
