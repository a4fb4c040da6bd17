export { runAnalytics, type RunAnalytics, type ScopedEventScan } from './runAnalytics.js'
